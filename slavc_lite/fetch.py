"""Fetch the released weights in one call: the SLAVC VGGSound-144k model and ImageNet's ResNet-18.

:func:`fetch_official` downloads the released SLAVC checkpoint (Google Drive file
:data:`~slavc_lite.localize.RELEASED_CHECKPOINT_ID`) with ``gdown`` into the folder the chapters
look in (:func:`official_weights_dir`: ``data/weights/`` of the clone), as
``slavc_vggsound144k.pth``. The promise to the user:

* **Atomic.** The bytes go to a hidden staging name (gdown writes them to a ``.part`` file
  first); the file only takes its final name after it has been read back with
  :func:`~slavc_lite.checkpoints.load_official_checkpoint`. A partial download never looks like
  a checkpoint, to :func:`slavc_lite.teaching.tutorial.best_weights` or to anyone.
* **Resumable.** An interrupted transfer keeps its received bytes in the ``.part`` file; the
  next call asks the server for the rest (an HTTP range request) instead of starting again.
* **Recorded and checked.** After the first download the file's size and SHA-256 are written
  beside it (``slavc_vggsound144k.pth.record.json``). Later calls check the file against that
  record; a mismatch is a :class:`WeightsMismatchError` and the file is left where it is.
* **Not a checkpoint.** A downloaded file that does not load (an HTML error page, a truncated
  archive) is renamed ``slavc_vggsound144k.pth.not-a-checkpoint`` for inspection, and the error
  says so: it never sits in the cache under the checkpoint's name.
* **Offline.** One message naming the file, the Drive id and the folder to put it in.

:func:`fetch_imagenet` does the same for torchvision's ImageNet weights (torchvision's own
download into the torch hub cache, with its hash check).

``gdown`` is an optional dependency (``pip install "slavc-lite[weights]"``; Colab has it).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from slavc_lite.atomic_files import atomic_write_text
from slavc_lite.errors import CheckpointError, WeightsUnavailableError

__all__ = [
    "OFFICIAL_FILE_NAME",
    "WeightsMismatchError",
    "fetch_imagenet",
    "fetch_official",
    "file_record",
    "official_weights_dir",
    "record_path",
]

OFFICIAL_CHECKPOINT_NAME = "slavc_vggsound144k"
"""Stem of the released checkpoint's file in the weights folder."""
OFFICIAL_FILE_NAME = f"{OFFICIAL_CHECKPOINT_NAME}.pth"
"""The released checkpoint's name in the weights folder (what the chapters look for)."""

RECORD_SUFFIX = ".record.json"
REJECTED_SUFFIX = ".not-a-checkpoint"
_CHUNK = 1 << 20


class WeightsMismatchError(WeightsUnavailableError):
    """A cached weights file no longer matches the size and SHA-256 recorded at its download."""


def official_weights_dir() -> Path:
    """The folder the chapters look in for the released model: ``data_dir()/weights``."""
    from slavc_lite.folders import data_dir

    return data_dir() / "weights"


def record_path(path: str | os.PathLike) -> Path:
    """Where the size and SHA-256 of a downloaded file are recorded: ``<file>.record.json``."""
    path = Path(path)
    return path.with_name(path.name + RECORD_SUFFIX)


def file_record(path: str | os.PathLike) -> dict[str, int | str]:
    """``{"size": bytes, "sha256": hex digest}`` of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
            size += len(block)
    return {"size": size, "sha256": digest.hexdigest()}


def _write_json_atomic(path: Path, payload: dict) -> None:
    atomic_write_text(path, json.dumps(payload, indent=1) + "\n")


def _check_against_record(path: Path) -> None:
    """Raise :class:`WeightsMismatchError` if ``path`` differs from its record (kept in place)."""
    record_file = record_path(path)
    try:
        recorded = json.loads(record_file.read_text(encoding="utf-8"))
        expected = {"size": int(recorded["size"]), "sha256": str(recorded["sha256"])}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WeightsMismatchError(
            f"{record_file}: unreadable download record ({exc}). The weights file {path} is left "
            "as it is; delete the record to have the file checked and recorded anew."
        ) from exc
    actual = file_record(path)
    if actual != expected:
        raise WeightsMismatchError(
            f"{path}: does not match the record of its download ({record_file}): size "
            f"{actual['size']} bytes, SHA-256 {actual['sha256']}; recorded {expected['size']} bytes, "
            f"SHA-256 {expected['sha256']}. The file was changed or damaged after it was downloaded. "
            "It is left in place: delete it (and its record) and fetch again, or restore it."
        )


def _offline_message(target: Path, source: str, exc: BaseException) -> str:
    from slavc_lite.localize import RELEASED_CHECKPOINT_ID

    return (
        f"Cannot download the released SLAVC model ({source}): {exc}. Offline? On a machine with "
        f"internet access, download Google Drive file id {RELEASED_CHECKPOINT_ID} "
        f"(https://drive.google.com/file/d/{RELEASED_CHECKPOINT_ID}) and put it in {target.parent} "
        f"as {target.name} (or set SLAVC_LITE_CHECKPOINT to its path)."
    )


def _import_gdown(target: Path):
    try:
        import gdown
    except ImportError as exc:
        from slavc_lite.localize import RELEASED_CHECKPOINT_ID

        raise WeightsUnavailableError(
            "Downloading the released SLAVC model needs gdown, which is not installed: "
            'pip install "slavc-lite[weights]" (or pip install gdown). Or download Google Drive file '
            f"id {RELEASED_CHECKPOINT_ID} by hand and put it in {target.parent} as {target.name}."
        ) from exc
    return gdown


def _download(target: Path, staging: Path, url: str | None, quiet: bool) -> None:
    """gdown ``url`` (default: the Drive id) into ``staging``, resuming a previous ``.part``."""
    from slavc_lite.localize import RELEASED_CHECKPOINT_ID

    gdown = _import_gdown(target)
    import requests
    from gdown.exceptions import DownloadError

    source = url or f"Google Drive id {RELEASED_CHECKPOINT_ID}"
    where = {"url": url} if url else {"id": RELEASED_CHECKPOINT_ID}
    try:
        result = gdown.download(output=str(staging), quiet=quiet, resume=True, **where)
    except (DownloadError, requests.exceptions.RequestException) as exc:
        parts = [p for p in sorted(staging.parent.glob(f"{staging.name}*.part")) if p.stat().st_size]
        if isinstance(exc, requests.exceptions.ConnectionError):
            message = _offline_message(target, source, exc)
        else:
            message = f"Downloading the released SLAVC model ({source}) to {target} failed: {exc}."
        if parts:
            message += f" The bytes received so far are kept in {parts[0]}; run the fetch again to resume."
        raise WeightsUnavailableError(message) from exc
    if result is None or not staging.is_file():
        raise WeightsUnavailableError(
            f"Downloading the released SLAVC model ({source}) to {target} failed: the server gave no "
            "file (Google Drive's download quota or permissions?). Try again later, or download it by hand."
        )


def _accept(target: Path, staging: Path, source: str) -> None:
    """Check ``staging`` is a SLAVC checkpoint, record it, then give it the final name."""
    from slavc_lite.checkpoints import load_official_checkpoint

    try:
        load_official_checkpoint(staging)
    except CheckpointError as exc:
        rejected = target.with_name(target.name + REJECTED_SUFFIX)
        os.replace(staging, rejected)
        raise CheckpointError(
            f"{source}: the downloaded file is not a SLAVC checkpoint ({exc}). It was kept for "
            f"inspection as {rejected}; {target} was not written."
        ) from exc
    record = {**file_record(staging), "source": source,
              "recorded": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    _write_json_atomic(record_path(target), record)
    os.replace(staging, target)


def fetch_official(folder: str | os.PathLike | None = None, *, url: str | None = None,
                   quiet: bool = False) -> Path:
    """The released SLAVC VGGSound-144k checkpoint, downloaded once and checked; returns its path.

    Args:
        folder: where to keep it (default :func:`official_weights_dir`, where the chapters look).
        url: download from this address instead of the Google Drive id (a mirror; tests).
        quiet: no progress bar.

    A file already in place is checked against its record (size, SHA-256) and returned; one
    without a record (put there by hand) is loaded once and then recorded. Otherwise the file is
    downloaded (resuming a previous partial download), loaded with
    :func:`~slavc_lite.checkpoints.load_official_checkpoint`, recorded and renamed into place.

    Raises:
        WeightsUnavailableError: offline, gdown missing, or an interrupted transfer (its bytes
            are kept for the next call to resume).
        WeightsMismatchError: the file in place differs from its record (it is left in place).
        CheckpointError: the downloaded file is not a SLAVC checkpoint (kept aside under
            ``<name>.not-a-checkpoint``, never under the checkpoint's name).
    """
    from slavc_lite.localize import RELEASED_CHECKPOINT_ID

    folder = Path(folder) if folder is not None else official_weights_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / OFFICIAL_FILE_NAME
    source = url or f"gdrive:{RELEASED_CHECKPOINT_ID}"
    if target.is_file():
        if record_path(target).exists():
            _check_against_record(target)
        else:
            _accept_in_place(target, "placed by hand")
        return target
    if target.exists():
        raise WeightsUnavailableError(f"{target}: exists but is not a file; move it away to fetch the model")
    staging = folder / f".{OFFICIAL_FILE_NAME}.download"
    if not staging.is_file():  # else a finished download that was not checked yet
        _download(target, staging, url, quiet)
    _accept(target, staging, source)
    if not quiet:
        print(f"Saved {target} ({target.stat().st_size / 1e6:.1f} MB), SHA-256 recorded in "
              f"{record_path(target).name}")
    return target


def _accept_in_place(target: Path, source: str) -> None:
    """Record a checkpoint that is already in place after checking that it loads."""
    from slavc_lite.checkpoints import load_official_checkpoint

    load_official_checkpoint(target)  # a CheckpointError names the file; it is left as it is
    record = {**file_record(target), "source": source,
              "recorded": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    _write_json_atomic(record_path(target), record)


def fetch_imagenet(backbone: str = "resnet18") -> Path:
    """torchvision's ImageNet weights for ``backbone`` in the torch hub cache; returns the file.

    torchvision downloads them (checking the hash in the file name) when they are not cached;
    offline, :class:`WeightsUnavailableError` names the file and where to put it.
    """
    import torch

    from slavc_lite.weights import IMAGENET_WEIGHT_URLS, download_imagenet_state_dict

    download_imagenet_state_dict(backbone)
    name = IMAGENET_WEIGHT_URLS[backbone].rsplit("/", 1)[-1]
    return Path(torch.hub.get_dir()) / "checkpoints" / name
