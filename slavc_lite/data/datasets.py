"""The official dataset layout as a torch ``Dataset``: ``root/frames/<id>.jpg`` + ``root/audio/<id>.wav``.

This rebuilds ``AudioVisualDataset``, ``get_train_dataset`` and ``get_test_dataset`` of the
official ``datasets.py`` (github.com/stoneMo/SLAVC), with the same transforms
(:func:`slavc_lite.images.train_transform` / :func:`~slavc_lite.images.test_transform`), the same
centred 3 s audio window and log-spectrogram (:func:`slavc_lite.audio.load_spectrogram`) and the
same ground-truth maps (:mod:`slavc_lite.ground_truth`). Deliberate differences:

* **Failing samples are never replaced.** The official ``__getitem__`` catches every exception
  and returns a random other sample. Here ``on_error="raise"`` raises
  :class:`~slavc_lite.errors.InputFileError` naming the file; ``on_error="skip"`` returns a
  :class:`BadSample` marker instead of the sample, records it in ``dataset.bad_samples`` and
  :func:`collate` drops it from the batch and lists it in ``batch["skipped"]``.
  With ``DataLoader(num_workers > 0)`` each worker holds its own copy of the dataset, so
  ``dataset.bad_samples`` of the main process stays empty: read ``batch["skipped"]`` there.
  (With workers and ``on_error="raise"``, torch re-raises a worker's InputFileError as a
  ``RuntimeError`` whose message still names the file: torch rebuilds worker exceptions from
  one message argument.)
* **Missing test ids are reported.** The official code intersects the test list with the files
  present and says nothing; :func:`build_test_set` warns (:class:`MissingSamplesWarning`, with
  the count and a few examples) and keeps the lists in ``dataset.missing_ids`` and
  ``dataset.missing_pairs``.
* **Deterministic order.** Test sets hold the sounding ids sorted, then the non-sounding
  pairs sorted by ``(video, audio)``; the official code shuffles the extended sets with
  ``random.shuffle``. Metrics do not depend on the order.
* The official parser of Flickr XML appends an empty box for every non-``bbox`` element;
  those are skipped (see :func:`slavc_lite.data.metadata.read_flickr_xml`).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from slavc_lite.audio import SAMPLE_RATE, TEST_SECONDS, TRAIN_SECONDS, load_spectrogram
from slavc_lite.data import metadata as md
from slavc_lite.errors import InputFileError
from slavc_lite.ground_truth import MAP_SIZE, flickr_gt_map, vggss_gt_map
from slavc_lite.images import load_image, test_transform, train_transform

__all__ = [
    "AudioVisualDataset",
    "BadSample",
    "MissingSamplesWarning",
    "OFFICIAL_TEST_SETS",
    "available_ids",
    "build_test_set",
    "collate",
    "train_ids",
]

logger = logging.getLogger(__name__)

FRAMES_DIR = "frames"
AUDIO_DIR = "audio"
IMAGE_SUFFIX = ".jpg"
AUDIO_SUFFIX = ".wav"
ON_ERROR = ("raise", "skip")
BOX_FORMATS = ("vggss", "flickr")

#: Official test sets: name -> (test list, box format, extended csv or None).
OFFICIAL_TEST_SETS: dict[str, tuple[str, str, str | None]] = {
    "flickr": ("flickr_test.csv", "flickr", None),
    "flickr_plus_silent": ("flickr_test.csv", "flickr", "flickr_test_plus_silent.csv"),
    "vggss": ("vggss_test.csv", "vggss", None),
    "vggss_plus_silent": ("vggss_test.csv", "vggss", "vggss_test_plus_silent.csv"),
    "vggss_heard": ("vggss_heard_test.csv", "vggss", None),
    "vggss_unheard": ("vggss_unheard_test.csv", "vggss", None),
}
VGGSS_BOXES = "vggss.json"
N_EXAMPLES = 5

Box = Sequence[float]


class MissingSamplesWarning(UserWarning):
    """Some listed samples have no frame or no audio file and were left out."""


@dataclass(frozen=True)
class BadSample:
    """A sample that could not be loaded (returned instead of it when ``on_error="skip"``)."""

    index: int
    id: str
    path: str
    problem: str


def _check_layout(root: Path) -> None:
    for sub in (FRAMES_DIR, AUDIO_DIR):
        if not (root / sub).is_dir():
            raise InputFileError(
                root / sub, f"folder not found: the dataset layout is {root}/{FRAMES_DIR}/<id>{IMAGE_SUFFIX} "
                f"and {root}/{AUDIO_DIR}/<id>{AUDIO_SUFFIX}"
            )


def _stems(folder: Path, suffix: str) -> set[str]:
    return {name[: -len(suffix)] for name in os.listdir(folder) if name.endswith(suffix)}


def _examples(items: Sequence) -> str:
    shown = ", ".join(str(x) for x in list(items)[:N_EXAMPLES])
    return shown + (", ..." if len(items) > N_EXAMPLES else "")


def available_ids(root: str | os.PathLike) -> set[str]:
    """Ids with both ``frames/<id>.jpg`` and ``audio/<id>.wav`` (official: intersection of listings)."""
    root = Path(root)
    _check_layout(root)
    return _stems(root / FRAMES_DIR, IMAGE_SUFFIX) & _stems(root / AUDIO_DIR, AUDIO_SUFFIX)


def train_ids(root: str | os.PathLike, list_file: str | os.PathLike | None = None) -> list[str]:
    """Sorted training ids: available files, intersected with ``list_file`` when given.

    Official ``get_train_dataset``: ``audio/*.wav`` ids ∩ ``frames/*.jpg`` ids, then ∩ the ids of
    ``metadata/<trainset>.txt`` (e.g. ``vggss_144k.txt``, see
    :func:`slavc_lite.data.metadata.metadata_file`), sorted. Listed ids without files are
    reported with a :class:`MissingSamplesWarning` (a partial download is normal, but you
    should know how partial).
    """
    available = available_ids(root)
    if list_file is None:
        ids = sorted(available)
    else:
        listed = set(md.read_id_list(list_file))
        ids = sorted(available & listed)
        missing = sorted(listed - available)
        if missing:
            warnings.warn(
                MissingSamplesWarning(
                    f"{len(missing)} of the {len(listed)} ids of {list_file} have no frame + audio pair "
                    f"in {root} and are not used, e.g. {_examples(missing)}"
                ),
                stacklevel=2,
            )
    if not ids:
        raise InputFileError(root, "no training samples: no id has both a frame and an audio file"
                             + (f" among the ids of {list_file}" if list_file is not None else ""))
    logger.info("%d training samples in %s", len(ids), root)
    return ids


class AudioVisualDataset(Dataset):
    """Frame + audio pairs of the official layout, transformed as the official code does.

    Args:
        root: dataset folder holding ``frames/`` and ``audio/``.
        ids: frame ids (``frames/<id>.jpg``), e.g. from :func:`train_ids`.
        mode: ``"train"`` (random crop and flip, official train transform) or ``"test"``
            (224x224 resize).
        boxes: per-sample boxes, a sequence parallel to ``ids`` or a mapping ``id -> boxes``;
            ``None`` for training (every sample then has ``n_boxes = 0``). VGG-SS boxes are
            normalised ``[x0, y0, x1, y1]``; Flickr boxes are on the 256 scale of its XML.
        box_format: ``"vggss"`` (binary union) or ``"flickr"`` (annotator consensus) ground truth.
        audio_seconds: length of the centred audio window (3 s for training and, in effect, for
            the official test: see :data:`slavc_lite.audio.TEST_SECONDS`).
        on_error: ``"raise"`` or ``"skip"`` (see the module docstring).
        audio_ids: audio ids (``audio/<id>.wav``) when they differ from the frame ids, as in
            the non-sounding pairs of the ``*_plus_silent`` sets; default ``ids``.
        sample_rate: audio rate in Hz (16 kHz, the rate of the official wavs).

    Each item is a dict: ``image`` float32 ``[3, 224, 224]`` (ImageNet-normalised), ``spec``
    float32 ``[1, 257, 200]`` (log-spectrogram / 12 for 3 s), ``gt_map`` float32 ``[224, 224]``
    (zeros without boxes), ``n_boxes`` int, ``id`` str, ``audio_id`` str, ``index`` int.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        ids: Sequence[str],
        mode: str = "train",
        boxes: Sequence[Sequence[Box]] | Mapping[str, Sequence[Box]] | None = None,
        box_format: str = "vggss",
        audio_seconds: float = TRAIN_SECONDS,
        on_error: str = "raise",
        audio_ids: Sequence[str] | None = None,
        sample_rate: int = SAMPLE_RATE,
    ) -> None:
        if mode not in ("train", "test"):
            raise ValueError(f"mode must be 'train' or 'test', not {mode!r}")
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {ON_ERROR}, not {on_error!r}")
        if box_format not in BOX_FORMATS:
            raise ValueError(f"box_format must be one of {BOX_FORMATS}, not {box_format!r}")
        self.root = Path(root)
        _check_layout(self.root)
        self.ids = [str(i) for i in ids]
        self.audio_ids = list(self.ids) if audio_ids is None else [str(a) for a in audio_ids]
        if len(self.audio_ids) != len(self.ids):
            raise ValueError(f"{len(self.ids)} ids but {len(self.audio_ids)} audio ids")
        self.boxes = self._per_sample_boxes(boxes)
        self.mode = mode
        self.box_format = box_format
        self.audio_seconds = float(audio_seconds)
        self.sample_rate = int(sample_rate)
        self.on_error = on_error
        self.image_transform = train_transform() if mode == "train" else test_transform()
        self.bad_samples: list[BadSample] = []
        # Filled by build_test_set; empty for datasets built directly.
        self.name: str | None = None
        self.missing_ids: list[str] = []
        self.missing_pairs: list[tuple[str, str]] = []

    def _per_sample_boxes(self, boxes) -> list[list[list[float]]]:
        if boxes is None:
            return [[] for _ in self.ids]
        if isinstance(boxes, Mapping):
            absent = [i for i in self.ids if i not in boxes]
            if absent:
                raise ValueError(f"no boxes for {len(absent)} ids, e.g. {_examples(absent)}")
            boxes = [boxes[i] for i in self.ids]
        if len(boxes) != len(self.ids):
            raise ValueError(f"{len(self.ids)} ids but {len(boxes)} box lists")
        return [[list(map(float, b)) for b in sample] for sample in boxes]

    def __len__(self) -> int:
        return len(self.ids)

    def image_path(self, index: int) -> Path:
        return self.root / FRAMES_DIR / f"{self.ids[index]}{IMAGE_SUFFIX}"

    def audio_path(self, index: int) -> Path:
        return self.root / AUDIO_DIR / f"{self.audio_ids[index]}{AUDIO_SUFFIX}"

    def gt_map(self, index: int) -> np.ndarray:
        """The ``[224, 224]`` float32 ground-truth map of sample ``index`` (zeros without boxes)."""
        boxes = self.boxes[index]
        if not boxes:
            return np.zeros((MAP_SIZE, MAP_SIZE), dtype=np.float32)
        make = vggss_gt_map if self.box_format == "vggss" else flickr_gt_map
        return make(boxes).astype(np.float32)

    def load(self, index: int) -> dict:
        """Sample ``index``, raising :class:`InputFileError` if a file cannot be read."""
        image = self.image_transform(load_image(self.image_path(index)))
        spec = load_spectrogram(self.audio_path(index), self.audio_seconds, self.sample_rate)
        return {
            "image": image,
            "spec": spec,
            "gt_map": torch.from_numpy(self.gt_map(index)),
            "n_boxes": len(self.boxes[index]),
            "id": self.ids[index],
            "audio_id": self.audio_ids[index],
            "index": index,
        }

    def __getitem__(self, index: int) -> dict | BadSample:
        try:
            return self.load(index)
        except InputFileError as exc:
            if self.on_error == "raise":
                raise
            bad = BadSample(index, self.ids[index], exc.path, exc.problem)
            if all(b.index != index for b in self.bad_samples):
                self.bad_samples.append(bad)
            logger.warning("skipping sample %d (%s): %s", index, self.ids[index], exc)
            return bad

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(root={str(self.root)!r}, n={len(self)}, mode={self.mode!r}, "
                f"box_format={self.box_format!r}, on_error={self.on_error!r})")


def collate(samples: Sequence[dict | BadSample]) -> dict:
    """Stack samples into a batch; :class:`BadSample` markers are dropped and listed.

    Returns ``image [B, 3, 224, 224]``, ``spec [B, 1, 257, T]``, ``gt_map [B, 224, 224]``,
    ``n_boxes`` (long ``[B]``), ``index`` (long ``[B]``), ``id`` and ``audio_id`` (lists of str),
    and ``skipped`` (the :class:`BadSample` of this batch). When every sample of the batch was
    skipped, the tensors are empty (``B = 0``): check ``len(batch["id"])``.
    """
    good = [s for s in samples if not isinstance(s, BadSample)]
    skipped = [s for s in samples if isinstance(s, BadSample)]
    if not good:
        empty = torch.empty(0)
        return {"image": empty, "spec": empty, "gt_map": empty,
                "n_boxes": torch.empty(0, dtype=torch.long), "index": torch.empty(0, dtype=torch.long),
                "id": [], "audio_id": [], "skipped": skipped}
    return {
        "image": torch.stack([s["image"] for s in good]),
        "spec": torch.stack([s["spec"] for s in good]),
        "gt_map": torch.stack([s["gt_map"] for s in good]),
        "n_boxes": torch.tensor([s["n_boxes"] for s in good], dtype=torch.long),
        "index": torch.tensor([s["index"] for s in good], dtype=torch.long),
        "id": [s["id"] for s in good],
        "audio_id": [s["audio_id"] for s in good],
        "skipped": skipped,
    }


# ------------------------------------------------------------------------------------ test sets


def _flickr_boxes(ids: Sequence[str], annotations_dir: Path) -> dict[str, list[list[int]]]:
    if not annotations_dir.is_dir():
        raise InputFileError(annotations_dir, "Flickr-SoundNet annotation folder not found "
                             "(pass annotations_dir=...; it holds <id>.xml files)")
    return {i: md.read_flickr_xml(annotations_dir / f"{i}.xml") for i in ids}


def build_test_set(
    name: str | None,
    root: str | os.PathLike,
    metadata: str | os.PathLike | None = None,
    *,
    test_csv: str | os.PathLike | None = None,
    boxes_json: str | os.PathLike | None = None,
    plus_silent_csv: str | os.PathLike | None = None,
    annotations_dir: str | os.PathLike | None = None,
    box_format: str | None = None,
    on_error: str = "raise",
    audio_seconds: float = TEST_SECONDS,
    cache_dir: str | os.PathLike | None = None,
) -> AudioVisualDataset:
    """A test set in the official format, as ``get_test_dataset`` builds it (minus its shuffle).

    Official sets (``name``): ``flickr``, ``flickr_plus_silent``, ``vggss``, ``vggss_plus_silent``,
    ``vggss_heard``, ``vggss_unheard``. Their metadata files come from ``metadata`` (a folder)
    or are downloaded and cached (:func:`slavc_lite.data.metadata.metadata_file`, ``cache_dir``).
    Flickr boxes are read from ``annotations_dir`` (default ``root/Annotations``, one
    ``<id>.xml`` per test id); VGG-SS boxes from ``vggss.json``.

    Any other name (e.g. ``"toy"`` or ``"toy_plus_silent"``) follows the same naming in the
    ``metadata`` folder: ``<base>_test.csv``, ``<base>.json`` (VGG-SS-style boxes) and, for
    ``*_plus_silent``, ``<base>_test_plus_silent.csv``. Explicit ``test_csv``, ``boxes_json`` and
    ``plus_silent_csv`` paths override the files found by name (``name=None`` needs them);
    ``annotations_dir`` alone selects Flickr XML boxes (and ``box_format="flickr"``).

    Steps: ids = first column of the test csv ∩ ids with both files (missing ones are warned
    about and kept in ``missing_ids``), sorted; boxes from the json/XML (an id without boxes
    is an error); for extended sets, the ``non-sounding`` rows ``(video, audio)`` of the
    ``*_plus_silent.csv`` whose two files exist (missing ones kept in ``missing_pairs``),
    sorted, appended with no boxes (``n_boxes = 0``, all-zero ground truth).
    """
    root = Path(root)
    base = name[: -len("_plus_silent")] if name and name.endswith("_plus_silent") else name
    extended = bool(name and name.endswith("_plus_silent")) or plus_silent_csv is not None

    def meta(file_name: str) -> Path:
        return md.metadata_file(file_name, folder=metadata, cache_dir=cache_dir)

    if name in OFFICIAL_TEST_SETS:
        csv_name, official_format, silent_name = OFFICIAL_TEST_SETS[name]
        test_csv = test_csv if test_csv is not None else meta(csv_name)
        box_format = box_format or official_format
        if silent_name is not None and plus_silent_csv is None:
            plus_silent_csv = meta(silent_name)
    elif name is not None and metadata is not None:
        test_csv = test_csv if test_csv is not None else meta(f"{base}_test.csv")
        if boxes_json is None and annotations_dir is None:
            boxes_json = meta(f"{base}.json")
        if extended and plus_silent_csv is None:
            plus_silent_csv = meta(f"{base}_test_plus_silent.csv")
    elif test_csv is None:
        known = ", ".join(OFFICIAL_TEST_SETS)
        raise ValueError(f"unknown test set {name!r} without a metadata folder or test_csv: the official "
                         f"sets are {known}; for others pass metadata=<folder> or test_csv=/boxes_json=")
    box_format = box_format or ("flickr" if annotations_dir is not None else "vggss")
    if box_format not in BOX_FORMATS:
        raise ValueError(f"box_format must be one of {BOX_FORMATS}, not {box_format!r}")
    label = name or str(test_csv)

    available = available_ids(root)
    listed = sorted(set(md.read_id_list(test_csv)))
    missing = [i for i in listed if i not in available]
    sounding = [i for i in listed if i in available]

    if boxes_json is None and (annotations_dir is not None or box_format == "flickr"):
        if box_format != "flickr":
            raise ValueError("boxes from Flickr XML files (annotations_dir) need box_format='flickr'")
        boxes = _flickr_boxes(sounding, Path(annotations_dir) if annotations_dir else root / "Annotations")
    else:
        boxes_json = boxes_json if boxes_json is not None else meta(VGGSS_BOXES)
        all_boxes = md.read_vggss_boxes(boxes_json)
        absent = [i for i in sounding if i not in all_boxes]
        if absent:
            raise InputFileError(boxes_json, f"no boxes for {len(absent)} test ids of {test_csv}, "
                                 f"e.g. {_examples(absent)}")
        boxes = {i: all_boxes[i] for i in sounding}

    pairs: list[tuple[str, str]] = []
    missing_pairs: list[tuple[str, str]] = []
    if plus_silent_csv is not None:
        audio_available = _stems(root / AUDIO_DIR, AUDIO_SUFFIX)
        frame_available = _stems(root / FRAMES_DIR, IMAGE_SUFFIX)
        for video, audio in sorted(set(md.read_plus_silent(plus_silent_csv))):
            ok = video in frame_available and audio in audio_available
            (pairs if ok else missing_pairs).append((video, audio))

    if missing:
        warnings.warn(MissingSamplesWarning(
            f"{label}: {len(missing)} of the {len(listed)} test ids of {test_csv} have no "
            f"{FRAMES_DIR}/<id>{IMAGE_SUFFIX} + {AUDIO_DIR}/<id>{AUDIO_SUFFIX} in {root} and are left out "
            f"(the official code drops them silently), e.g. {_examples(missing)}"), stacklevel=2)
    if missing_pairs:
        warnings.warn(MissingSamplesWarning(
            f"{label}: {len(missing_pairs)} non-sounding pairs of {plus_silent_csv} have no frame or no "
            f"audio file in {root} and are left out, e.g. {_examples(missing_pairs)}"), stacklevel=2)
    if not sounding and not pairs:
        raise InputFileError(root, f"none of the {len(listed)} test ids of {test_csv} has both a frame "
                             f"and an audio file here (e.g. {_examples(listed)})")

    dataset = AudioVisualDataset(
        root,
        ids=sounding + [v for v, _ in pairs],
        audio_ids=sounding + [a for _, a in pairs],
        boxes=[boxes[i] for i in sounding] + [[] for _ in pairs],
        box_format=box_format,
        mode="test",
        audio_seconds=audio_seconds,
        on_error=on_error,
    )
    dataset.name = label
    dataset.missing_ids = missing
    dataset.missing_pairs = missing_pairs
    logger.info("%s: %d sounding + %d non-sounding test samples (%d ids and %d pairs missing)",
                label, len(sounding), len(pairs), len(missing), len(missing_pairs))
    return dataset
