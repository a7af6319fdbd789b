"""The official SLAVC metadata files: where to get them and how to read them.

The official repository (github.com/stoneMo/SLAVC, folder ``metadata/``, Apache-2.0) holds the
VGG-Sound Sources boxes (``vggss.json``), the test lists (``*_test.csv``), the extended test
sets with non-sounding pairs (``*_test_plus_silent.csv``) and the training subsets
(``vggss_10k.txt``, ``vggss_144k.txt``). slavc_lite does not ship them: :func:`metadata_file`
reads them from a folder you give, or downloads them once from a pinned commit of the
official repository into a cache.

The cache root is ``$SLAVC_LITE_CACHE`` when set, else ``~/.cache/slavc-lite``; metadata
files live in its ``metadata/`` sub-folder. Downloads are atomic
(:mod:`slavc_lite.atomic_files`): an interrupted or failed download leaves nothing behind.

Readers (each raises :class:`~slavc_lite.errors.InputFileError` naming the file when it is
empty or malformed):

* :func:`read_id_list` - one id per line (``.txt``) or the first column of a csv, as the
  official code reads both (``open(...).read().splitlines()`` / ``item[0] for item in csv.reader``).
* :func:`read_vggss_annotations`, :func:`read_vggss_boxes` - ``vggss.json``.
* :func:`read_plus_silent` - the ``(video, audio)`` pairs labelled ``non-sounding``.
* :func:`read_flickr_xml` - one Flickr-SoundNet annotation file, boxes on its 256 scale.
"""

from __future__ import annotations

import csv
import http.client
import json
import os
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from slavc_lite.atomic_files import atomic_path
from slavc_lite.errors import InputFileError, SlavcLiteError

#: Where the metadata files are downloaded from: the official repository at a pinned commit.
#: Tests monkeypatch this to a loopback server.
METADATA_BASE_URL = (
    "https://raw.githubusercontent.com/stoneMo/SLAVC/05b429c6f474ca6f1070d08e1d0142948d1625bf/metadata/"
)

#: The files of the official ``metadata/`` folder that slavc_lite knows how to use.
KNOWN_FILES = (
    "vggss.json",
    "vggss_test.csv",
    "vggss_heard_test.csv",
    "vggss_unheard_test.csv",
    "vggss_test_plus_silent.csv",
    "flickr_test.csv",
    "flickr_test_plus_silent.csv",
    "vggss_10k.txt",
    "vggss_144k.txt",
)

CACHE_ENV = "SLAVC_LITE_CACHE"
DOWNLOAD_TIMEOUT_S = 60.0

Box = list[float]


class MetadataUnavailableError(SlavcLiteError, RuntimeError):
    """A metadata file is neither in the given folder nor in the cache, and cannot be downloaded."""


def cache_root() -> Path:
    """``$SLAVC_LITE_CACHE`` if set, else ``~/.cache/slavc-lite``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "slavc-lite"


def default_metadata_cache() -> Path:
    """The folder downloaded metadata files are kept in: ``cache_root() / "metadata"``."""
    return cache_root() / "metadata"


def metadata_url(name: str) -> str:
    """The download address of one metadata file (read from :data:`METADATA_BASE_URL` at call time)."""
    return METADATA_BASE_URL.rstrip("/") + "/" + name


def metadata_file(
    name: str, folder: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None
) -> Path:
    """The path of metadata file ``name``, downloading it into the cache when needed.

    * ``folder`` given: the file must be there (no download, no cache), else
      :class:`InputFileError` naming the missing path. Any file name is accepted, so a folder
      written by the toy world (``toy.json``, ``toy_test.csv``...) works the same way.
    * otherwise ``name`` must be one of :data:`KNOWN_FILES`; it is read from ``cache_dir``
      (default :func:`default_metadata_cache`) or downloaded there from :func:`metadata_url`.
      Offline, :class:`MetadataUnavailableError` says which address failed and that a local
      folder can be passed instead.
    """
    if folder is not None:
        path = Path(folder).expanduser() / name
        if not path.is_file():
            raise InputFileError(
                path, f"metadata file {name!r} not found in the folder given ({Path(folder).expanduser()})"
            )
        return path
    if name not in KNOWN_FILES:
        raise ValueError(
            f"unknown metadata file {name!r}: the official files are {', '.join(KNOWN_FILES)}; "
            "other files must be read from a folder (folder=...)"
        )
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_metadata_cache()
    path = cache / name
    if path.is_file() and path.stat().st_size > 0:
        return path
    return download(metadata_url(name), path, validate=_reader_for(name))


def _reader_for(name: str) -> Callable[[Path], object]:
    """The reader that checks a downloaded file (an HTML error page must not land in the cache)."""
    if name.endswith(".json"):
        return read_vggss_annotations
    if name.endswith("_plus_silent.csv"):
        return read_plus_silent
    return read_id_list


def download(url: str, destination: str | os.PathLike, timeout: float = DOWNLOAD_TIMEOUT_S,
             validate: Callable[[Path], object] | None = None) -> Path:
    """Download ``url`` to ``destination`` atomically (:func:`slavc_lite.atomic_files.atomic_path`).

    ``validate`` (e.g. a reader) is called on the downloaded temporary file before it is moved
    into place; an :class:`InputFileError` from it fails the download. A failed, empty or
    invalid download leaves no file at ``destination`` and no temporary file.
    """
    destination = Path(destination)
    with atomic_path(destination) as tmp:
        try:
            with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            raise MetadataUnavailableError(
                f"could not download {url} ({exc}). If you are offline, download the official "
                f"metadata folder (github.com/stoneMo/SLAVC, metadata/) yourself and pass it as "
                f"folder=..., or copy the file to {destination}."
            ) from exc
        if tmp.stat().st_size == 0:
            raise MetadataUnavailableError(f"downloading {url} gave an empty file")
        if validate is not None:
            try:
                validate(tmp)
            except InputFileError as exc:
                raise MetadataUnavailableError(f"{url} did not return a valid {destination.name}: "
                                               f"{exc.problem}") from exc
    return destination


# --------------------------------------------------------------------------------------- readers


def _read_text(path: str | os.PathLike) -> str:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(path, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"cannot be read as text ({exc})") from exc
    if not text.strip():
        raise InputFileError(path, "file is empty")
    return text


def read_id_list(path: str | os.PathLike) -> list[str]:
    """Ids from a list file: one per line, or the first column of a csv (file order kept).

    The official code reads ``.txt`` lists with ``splitlines()`` and test csvs with
    ``item[0] for item in csv.reader(...)``; both amount to the first comma-separated field
    of each non-empty line. Surrounding whitespace (and Windows line ends) is removed.
    """
    rows = csv.reader(_read_text(path).splitlines())
    ids = [row[0].strip() for row in rows if row and row[0].strip()]
    if not ids:
        raise InputFileError(path, "no ids in the file")
    return ids


class VggssAnnotation(NamedTuple):
    """One entry of ``vggss.json``: normalised ``[x0, y0, x1, y1]`` boxes and the class name."""

    boxes: list[Box]
    label: str


def read_vggss_annotations(path: str | os.PathLike) -> dict[str, VggssAnnotation]:
    """``vggss.json`` (a list of ``{"file", "class", "bbox"}``) as ``{id: VggssAnnotation}``.

    Boxes are kept as written (normalised, possibly slightly outside ``[0, 1]``): the official
    loader clips them to ``[0, 1]`` and scales by 224 when it builds ground-truth maps, which
    :func:`slavc_lite.ground_truth.vggss_gt_map` does.
    """
    try:
        entries = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise InputFileError(path, f"not valid JSON ({exc})") from exc
    if not isinstance(entries, list):
        raise InputFileError(path, "expected a JSON list of {file, class, bbox} entries")
    annotations: dict[str, VggssAnnotation] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "file" not in entry or "bbox" not in entry:
            raise InputFileError(path, f"entry {i} has no 'file' or no 'bbox' field")
        boxes = entry["bbox"]
        if not isinstance(boxes, list) or not all(
            isinstance(b, list) and len(b) == 4 and all(isinstance(v, int | float) for v in b) for b in boxes
        ):
            raise InputFileError(path, f"entry {i} ({entry['file']!r}): 'bbox' must be lists of 4 numbers")
        annotations[str(entry["file"])] = VggssAnnotation(
            [[float(v) for v in b] for b in boxes], str(entry.get("class", ""))
        )
    if not annotations:
        raise InputFileError(path, "no annotations in the file")
    return annotations


def read_vggss_boxes(path: str | os.PathLike) -> dict[str, list[Box]]:
    """``vggss.json`` as ``{id: [[x0, y0, x1, y1], ...]}`` (normalised boxes)."""
    return {key: ann.boxes for key, ann in read_vggss_annotations(path).items()}


def read_vggss_classes(path: str | os.PathLike) -> dict[str, str]:
    """``vggss.json`` as ``{id: class name}``."""
    return {key: ann.label for key, ann in read_vggss_annotations(path).items()}


def read_plus_silent(path: str | os.PathLike) -> list[tuple[str, str]]:
    """The non-sounding pairs of a ``*_test_plus_silent.csv`` as ``[(video_id, audio_id), ...]``.

    The file has a header ``video,audio,label``; like the official loader, only rows whose
    label is ``non-sounding`` are kept (file order).
    """
    pairs = []
    for line_no, row in enumerate(csv.reader(_read_text(path).splitlines()), start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) < 3:
            raise InputFileError(path, f"line {line_no}: expected video,audio,label, got {row!r}")
        video, audio, label = (cell.strip() for cell in row[:3])
        if label == "non-sounding":
            pairs.append((video, audio))
    return pairs


def read_flickr_xml(path: str | os.PathLike) -> list[list[int]]:
    """The boxes of one Flickr-SoundNet annotation file, on its 256-pixel scale.

    Official parser: for each child of the root, for each grandchild tagged ``bbox``, skip its
    first child (the annotator index) and read the others as ints: ``[xmin, ymin, xmax, ymax]``.
    The official parser also appends an *empty* box for every grandchild that is not a
    ``bbox`` (which would crash its ground-truth code); those are skipped here. Rescale to 224
    with :func:`slavc_lite.ground_truth.flickr_boxes_to_pixels`.
    """
    path = Path(path)
    _read_text(path)  # clear errors for a missing or empty file
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise InputFileError(path, f"not valid XML ({exc})") from exc
    boxes = []
    for child in root:
        for grandchild in child:
            if grandchild.tag != "bbox":
                continue
            fields = list(grandchild)[1:]
            if len(fields) != 4:
                raise InputFileError(path, f"a <bbox> has {len(fields)} values after its index, expected 4")
            try:
                boxes.append([int((field.text or "").strip()) for field in fields])
            except ValueError as exc:
                raise InputFileError(path, f"a <bbox> value is not an integer ({exc})") from exc
    return boxes
