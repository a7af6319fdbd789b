"""Saving and loading SLAVC checkpoints: the official format, ours, and the released model.

The official training script (``train.py`` of github.com/stoneMo/SLAVC) saves

.. code-block:: python

    torch.save({'model': model.state_dict(), 'optimizer': optimizer.state_dict(),
                'epoch': epoch + 1, 'best_Precision': ..., 'best_AP': ..., 'best_F1': ...},
               'latest.pth')   # and 'best.pth' when the precision is the best so far

with keys prefixed ``module.`` when the model was wrapped in DistributedDataParallel. Our
format is the same dictionary plus a ``'config'`` entry (the model's hyper-parameters, the
training configuration and the library version), so the official code can read our files
and :func:`model_from_checkpoint` can rebuild the model without being told its shape.

Everything is read with ``torch.load(..., weights_only=True)``: a checkpoint never runs code.

The released SLAVC model (VGGSound-144k, Google Drive file id
``1wHufeLWZBv97IaE0cv0GrFk4pLX5NMUj``) comes in an unknown wrapping, so
:func:`load_official_checkpoint` accepts a ``.pth`` file, a zip or tar(.gz) archive holding
one, or a folder holding one.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import pickle
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import torch
from torch import nn

from slavc_lite.atomic_files import atomic_torch_save
from slavc_lite.errors import CheckpointError
from slavc_lite.model import SLAVC

__all__ = [
    "CHECKPOINT_SUFFIXES",
    "PREFERRED_NAMES",
    "save_checkpoint",
    "load_checkpoint",
    "model_from_checkpoint",
    "load_official_checkpoint",
    "load_model",
    "official_state_dict",
]

#: File names that count as a checkpoint inside a folder or an archive.
CHECKPOINT_SUFFIXES = (".pth", ".pt", ".tar")
#: When a folder or archive holds several checkpoints, the official run directory's names,
#: in order of preference (``best.pth``: the best validation precision; ``latest.pth``: the
#: last epoch).
PREFERRED_NAMES = ("best.pth", "latest.pth")
#: The metrics the official format stores, as ``best_<name>``; the official run starts them at 0.
OFFICIAL_METRICS = ("Precision", "AP", "F1")

_SCALARS = (type(None), bool, int, float, str)
_ZIP_MAGIC = b"PK\x03\x04"
_GZIP_MAGIC = b"\x1f\x8b"
_BZIP2_MAGIC = b"BZh"
_XZ_MAGIC = b"\xfd7zXZ\x00"


# ============================================================================ saving


def _unwrap(model: nn.Module) -> nn.Module:
    """The bare model inside DataParallel / DistributedDataParallel / ``torch.compile``."""
    while True:
        if isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            model = model.module
        elif hasattr(model, "_orig_mod") and isinstance(model._orig_mod, nn.Module):
            model = model._orig_mod
        else:
            return model


def _check_loadable(value: Any, where: str) -> None:
    """Refuse values that ``torch.load(weights_only=True)`` could not read back."""
    if isinstance(value, _SCALARS) or isinstance(value, torch.Tensor):
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_loadable(item, f"{where}[{i}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, _SCALARS):
                raise TypeError(f"{where} has a key of type {type(key).__name__}; use str or int keys")
            _check_loadable(item, f"{where}[{key!r}]")
        return
    if isinstance(value, os.PathLike):
        raise TypeError(f"{where} is a path object ({value!r}); store os.fspath(path) instead")
    raise TypeError(
        f"{where} is a {type(value).__name__}, which torch.load(weights_only=True) cannot read "
        "back; store None, bool, int, float, str, tensors, or lists/dicts of them"
    )


def _merged_config(model: nn.Module, config: Mapping[str, Any] | None) -> dict[str, Any]:
    from slavc_lite import __version__

    hyper = model.hyperparameters() if hasattr(model, "hyperparameters") else {}
    merged = dict(hyper)
    for key, value in (config or {}).items():
        if key in hyper and value != hyper[key]:
            raise ValueError(
                f"config[{key!r}] = {value!r} contradicts the model's hyper-parameter {hyper[key]!r}"
            )
        merged[key] = value
    merged["slavc_lite_version"] = __version__
    return merged


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    epoch: int = 0,
    metrics: Mapping[str, float] | None = None,
    config: Mapping[str, Any] | None = None,
    **extra: Any,
) -> Path:
    """Write a checkpoint in the official format plus our ``'config'``, atomically.

    The file holds ``{'model', 'optimizer', 'epoch', 'best_Precision', 'best_AP', 'best_F1',
    'config', **extra}`` (official ``train.py`` plus ``config``). ``best_*`` come from
    ``metrics['Precision'|'AP'|'F1']`` and are 0.0 when not given, the official run's initial
    values. ``config`` is ``model.hyperparameters()`` merged with ``config`` (a key that
    contradicts a hyper-parameter raises ``ValueError``) plus ``'slavc_lite_version'``.

    A wrapped model (DDP, DataParallel, ``torch.compile``) is saved without its wrapper's key
    prefix. The file is first written to a temporary file in the same folder, flushed and
    fsynced, then renamed over ``path`` (:mod:`slavc_lite.atomic_files`): an interrupted save leaves
    the old checkpoint untouched and no temporary file behind.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    model = _unwrap(model)
    metrics = dict(metrics or {})
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "epoch": int(epoch),
        **{f"best_{name}": float(metrics.pop(name, 0.0)) for name in OFFICIAL_METRICS},
        "config": _merged_config(model, config),
    }
    if metrics:
        state["metrics"] = {k: float(v) for k, v in metrics.items()}
    clash = set(extra) & set(state)
    if clash:
        raise ValueError(f"extra entries {sorted(clash)} would overwrite the checkpoint's own entries")
    state.update(extra)
    for key in ("config", "metrics", *extra):
        if key in state:
            _check_loadable(state[key], f"checkpoint[{key!r}]")

    return atomic_torch_save(state, path)


# ============================================================================ finding the file


def _head(path: Path, n: int = 512) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def _is_torch_zip(names: list[str]) -> bool:
    """A ``torch.save`` file is a zip whose entries share one top folder holding ``data.pkl``."""
    return any(PurePosixPath(n).parts[1:] == ("data.pkl",) for n in names)


def _file_kind(path: Path) -> str:
    """``'torch'`` (a torch.save file), ``'zip'``/``'tar'`` (an archive) or ``'unknown'``."""
    head = _head(path)
    if head.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as zf:
                return "torch" if _is_torch_zip(zf.namelist()) else "zip"
        except (zipfile.BadZipFile, OSError):
            return "torch"  # let torch.load report the damage
    if head.startswith((_GZIP_MAGIC, _BZIP2_MAGIC, _XZ_MAGIC)) or head[257:262] == b"ustar":
        return "tar"
    if head[:1] == b"\x80":  # a pickle protocol opcode: the legacy (pre-1.6) torch.save format
        return "torch"
    return "unknown"


def _is_candidate_name(name: str) -> bool:
    """A ``.pth``/``.pt``/``.tar`` name that is not a macOS resource fork."""
    p = PurePosixPath(name.replace("\\", "/"))
    if "__MACOSX" in p.parts or p.name.startswith("._"):  # macOS resource forks in zips
        return False
    return p.name.lower().endswith(CHECKPOINT_SUFFIXES)


def _choose(candidates: list[str], container: Path) -> str:
    """The single candidate, else the single preferred name, else a CheckpointError."""
    if not candidates:
        raise CheckpointError(
            f"{container}: holds no checkpoint file (looked for {', '.join(CHECKPOINT_SUFFIXES)} files)"
        )
    if len(candidates) == 1:
        return candidates[0]
    for preferred in PREFERRED_NAMES:
        named = [c for c in candidates if PurePosixPath(c.replace("\\", "/")).name == preferred]
        if len(named) == 1:
            return named[0]
    listing = ", ".join(sorted(candidates))
    raise CheckpointError(
        f"{container}: holds {len(candidates)} checkpoint files and none is uniquely named "
        f"{' or '.join(PREFERRED_NAMES)}: {listing}. Pass the one you want directly."
    )


def _folder_candidates(folder: Path) -> list[str]:
    """Checkpoint files anywhere under ``folder`` (relative POSIX paths); tar archives excluded."""
    found = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_file() and _is_candidate_name(rel):
            if p.suffix.lower() == ".tar" and p.stat().st_size > 0 and _file_kind(p) != "torch":
                continue  # a tar archive, not a checkpoint saved with a .tar name
            found.append(rel)
    return found


def _extract_member(archive: Path, kind: str, workdir: Path) -> tuple[Path, str]:
    """Copy the archive's checkpoint member into ``workdir``; returns (file, member name)."""
    target = workdir / "checkpoint.pth"
    try:
        if kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                names = [i.filename for i in zf.infolist() if not i.is_dir()]
                member = _choose([n for n in names if _is_candidate_name(n)], archive)
                with zf.open(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        else:
            with tarfile.open(archive, "r:*") as tf:
                files = {m.name: m for m in tf.getmembers() if m.isfile()}
                member = _choose([n for n in files if _is_candidate_name(n)], archive)
                src = tf.extractfile(files[member])
                with src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise CheckpointError(f"{archive}: corrupt or unreadable {kind} archive ({exc})") from exc
    return target, member


@contextlib.contextmanager
def _located(path: str | os.PathLike) -> Iterator[tuple[Path, str]]:
    """Yield ``(file to torch.load, name for messages)`` for a file, archive or folder.

    Archive members are extracted to a temporary folder that is removed afterwards.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint not found")
    if path.is_dir():
        path = path / _choose(_folder_candidates(path), path)
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: checkpoint file is empty (0 bytes; an interrupted download?)")
    kind = _file_kind(path)
    if kind in ("zip", "tar"):
        with tempfile.TemporaryDirectory(prefix="slavc_lite_ckpt_") as tmp:
            extracted, member = _extract_member(path, kind, Path(tmp))
            if extracted.stat().st_size == 0:
                raise CheckpointError(f"{path}: archive member {member} is empty (0 bytes)")
            yield extracted, f"{path} (archive member {member})"
        return
    yield path, str(path)


def _torch_load(file: Path, name: str, map_location: Any) -> Any:
    try:
        return torch.load(file, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{name}: cannot be read with torch.load(weights_only=True): not a torch checkpoint, "
            f"or one holding objects other than tensors and plain values ({exc})"
        ) from exc
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"{name}: not a torch checkpoint or a corrupt/truncated one ({exc})") from exc


def _read(path: str | os.PathLike, map_location: Any) -> tuple[Any, str]:
    with _located(path) as (file, name):
        return _torch_load(file, name, map_location), name


# ============================================================================ state dicts


def official_state_dict(checkpoint: Any, name: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The model's state dict inside a loaded checkpoint, without a DDP ``module.`` prefix.

    Accepts the official dictionary (state dict under ``'model'``), a dictionary with
    ``'state_dict'``, or a bare state dict.
    """
    state = checkpoint
    if isinstance(state, Mapping):
        for key in ("model", "state_dict"):
            if isinstance(state.get(key), Mapping):
                state = state[key]
                break
    if not isinstance(state, Mapping) or not state:
        raise CheckpointError(f"{name}: holds no model state dict (expected a dict with a 'model' entry)")
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(
            f"{name}: the model entry is not a state dict of tensors ({len(bad)} non-tensor "
            f"entries, e.g. {bad[:3]})"
        )
    return {str(k).removeprefix("module."): v for k, v in state.items()}


def _check_fits(model: nn.Module, state: Mapping[str, torch.Tensor], name: str) -> None:
    """What ``load_state_dict(strict=True)`` checks, with counts and examples of each mismatch."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [
        f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys (e.g. {missing[:3]})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys (e.g. {unexpected[:3]})")
    if wrong:
        problems.append(f"{len(wrong)} keys of the wrong shape (checkpoint vs model, e.g. {wrong[:3]})")
    if problems:
        raise CheckpointError(
            f"{name}: state dict does not fit SLAVC({_describe(model)}): " + "; ".join(problems)
        )


def _describe(model: nn.Module) -> str:
    hyper = model.hyperparameters() if hasattr(model, "hyperparameters") else {}
    return ", ".join(f"{k}={hyper[k]!r}" for k in ("backbone", "dim") if k in hyper)


def _instantiate(
    kwargs: Mapping[str, Any], state: Mapping[str, torch.Tensor], name: str, map_location: Any
) -> SLAVC:
    """``SLAVC(image_weights=None, **kwargs)`` holding ``state`` (strict), in eval mode.

    The model is first built on the ``meta`` device (no memory, no random init), so a state
    dict that does not fit is reported at once; then its storage is allocated on the target
    device and every entry is filled by ``load_state_dict(strict=True)``.
    """
    try:
        with torch.device("meta"):
            skeleton = SLAVC(image_weights=None, **kwargs)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{name}: its config does not describe a valid SLAVC ({exc})") from exc
    _check_fits(skeleton, state, name)
    device = map_location if isinstance(map_location, (str, torch.device)) else "cpu"
    entries = {n for n, _ in skeleton.named_parameters()} | {n for n, _ in skeleton.named_buffers()}
    if entries == set(skeleton.state_dict()):
        model = skeleton.to_empty(device=device)  # every entry is overwritten just below
    else:  # non-persistent buffers would stay uninitialised: build it for real
        model = SLAVC(image_weights=None, **kwargs).to(device)
    model.load_state_dict(state, strict=True)
    return model.eval()


# ============================================================================ public loaders


def _read_dict(path: str | os.PathLike, map_location: Any) -> tuple[dict[str, Any], str]:
    checkpoint, name = _read(path, map_location)
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{name}: holds a {type(checkpoint).__name__}, not a checkpoint dictionary")
    return checkpoint, name


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint dictionary (ours or the official one) with ``weights_only=True``.

    ``path`` may also be an archive or a folder holding the file (see
    :func:`load_official_checkpoint`). The state dict is returned as saved (no prefix
    stripping); use :func:`model_from_checkpoint` to get a model.
    """
    return _read_dict(path, map_location)[0]


def _model_kwargs(config: Any, name: str) -> dict[str, Any]:
    """The SLAVC constructor arguments stored in our ``'config'`` (all of them are required)."""
    params = [p for p in inspect.signature(SLAVC).parameters if p != "image_weights"]
    if not isinstance(config, Mapping):
        raise CheckpointError(
            f"{name}: has no 'config' entry (an official checkpoint? use load_official_checkpoint)"
        )
    missing = [p for p in params if p not in config]
    if missing:
        raise CheckpointError(f"{name}: 'config' lacks the hyper-parameters {missing}")
    return {p: config[p] for p in params}


def model_from_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> SLAVC:
    """Rebuild the SLAVC saved by :func:`save_checkpoint` from its ``config``; strict load, eval mode.

    The image trunk is built with ``image_weights=None``: every weight comes from the file.
    """
    checkpoint, name = _read_dict(path, map_location)
    kwargs = _model_kwargs(checkpoint.get("config"), name)
    return _instantiate(kwargs, official_state_dict(checkpoint, name), name, map_location)


def load_official_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> SLAVC:
    """The released (or any official-format) SLAVC checkpoint as a model in eval mode.

    ``path`` may be a ``.pth`` file, a zip or tar(.gz/.bz2/.xz) archive holding one, or a
    folder holding one. In a folder or an archive the single ``.pth``/``.pt``/``.tar``
    checkpoint is used; with several, the one named ``best.pth`` (else ``latest.pth``, the
    official run directory's names), otherwise :class:`CheckpointError` lists them. Archive
    members are extracted to a temporary folder that is removed afterwards.

    The model is ``SLAVC()`` with the official hyper-parameters (ResNet-18, dim 512, tau
    0.03) and ``image_weights=None`` (the checkpoint supplies all weights); a DDP ``module.``
    prefix is stripped, and the state dict is loaded with ``strict=True``.

    Raises:
        CheckpointError: naming the file, for a missing path, an empty file, a file that is
            not a torch checkpoint (or a corrupt one, or a corrupt archive), an archive or
            folder without a checkpoint, or a state dict whose keys or shapes do not match.
    """
    checkpoint, name = _read(path, map_location)
    return _instantiate({}, official_state_dict(checkpoint, name), name, map_location)


def load_model(path: str | os.PathLike, map_location: Any = "cpu") -> tuple[SLAVC, str]:
    """Any SLAVC checkpoint: ours (rebuilt from its ``config``) or the official format.

    A dictionary with a ``'config'`` entry is read as ours (:func:`model_from_checkpoint`),
    anything else as the official format (:func:`load_official_checkpoint`).

    Returns:
        ``(model, description)``: the model in eval mode and a short description of the
        weights for result files and figure titles.
    """
    checkpoint, name = _read(path, map_location)
    state = official_state_dict(checkpoint, name)
    label = _short_label(Path(path), name)
    if isinstance(checkpoint, Mapping) and isinstance(checkpoint.get("config"), Mapping):
        model = _instantiate(_model_kwargs(checkpoint["config"], name), state, name, map_location)
        kind = f"slavc_lite checkpoint, {_describe(model)}, epoch {checkpoint.get('epoch')}"
    else:
        model = _instantiate({}, state, name, map_location)
        kind = "official-format checkpoint"
    return model, f"{label} ({kind})"


def _short_label(path: Path, name: str) -> str:
    """``best.pth``, ``download/best.pth`` (folder) or ``slavc.zip:SLAVC/best.pth`` (archive)."""
    if name == str(path):
        return path.name
    if " (archive member " in name:
        return f"{path.name}:{name.split(' (archive member ', 1)[1][:-1]}"
    return f"{path.name}/{Path(name).relative_to(path).as_posix()}"
