"""Which test set to evaluate, where its files are, and what is known about each sample.

Test sets by name (``--testset``):

* the official ones (:data:`slavc_lite.data.datasets.OFFICIAL_TEST_SETS`): ``vggss``,
  ``vggss_plus_silent``, ``vggss_heard``, ``vggss_unheard``, ``flickr``,
  ``flickr_plus_silent``: ``data`` is the folder with ``frames/`` and ``audio/``; the metadata
  comes from ``metadata`` (a folder) or is downloaded and cached;
* the toy world's: ``toy`` (sounding pairs) and ``toy_plus_silent`` (plus the offscreen,
  silence and noise pairs): ``data`` is the toy world's root (or its ``test/`` folder), which
  holds the frames, the audio and the metadata (``toy_test.csv``, ``toy.json``,
  ``toy_test_plus_silent.csv``), so no ``metadata`` is needed.

:class:`SampleInfo` holds per-sample facts the official metrics do not use: the toy scene
kind (for the hard-case table) and the classes seen and heard (to pick off-screen audio for
the negative-audio analysis).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

from slavc_lite.data.datasets import OFFICIAL_TEST_SETS, AudioVisualDataset, build_test_set
from slavc_lite.errors import InputFileError

__all__ = ["TEST_SETS", "TOY_TEST_SETS", "SampleInfo", "load_test_set", "read_toy_scenes", "sample_info",
           "toy_test_folder"]

TOY_TEST_SETS = ("toy", "toy_plus_silent")
TEST_SETS = tuple(OFFICIAL_TEST_SETS) + TOY_TEST_SETS
TOY_SCENES = "scenes.csv"


@dataclass
class SampleInfo:
    """Per-sample facts beyond the boxes, by frame or audio id.

    Attributes:
        kinds: toy scene kind of each frame id (empty for real data).
        visible_classes: classes drawn/annotated in each frame.
        audio_classes: classes heard in each audio clip (empty set: silence or noise).
        source: where the facts come from (for reports).
    """

    kinds: dict[str, str] = field(default_factory=dict)
    visible_classes: dict[str, frozenset[str]] = field(default_factory=dict)
    audio_classes: dict[str, frozenset[str]] = field(default_factory=dict)
    source: str = ""


def toy_test_folder(data: str | os.PathLike) -> Path:
    """The folder of a toy world's test pairs: ``data/test`` (a world root) or ``data`` itself."""
    data = Path(data)
    if not data.is_dir():
        raise InputFileError(data, "data folder not found (for the toy test sets pass the toy world's "
                             "root, written by `slavc-lite data toy --out DIR`)")
    for folder in (data / "test", data):
        if (folder / "toy_test.csv").is_file():
            return folder
    raise InputFileError(data, "not a toy world: neither it nor its test/ subfolder holds toy_test.csv "
                         "(write one with `slavc-lite data toy --out DIR`)")


def load_test_set(
    data: str | os.PathLike,
    testset: str,
    metadata: str | os.PathLike | None = None,
    on_error: str = "raise",
    cache_dir: str | os.PathLike | None = None,
) -> AudioVisualDataset:
    """The test-mode dataset of ``testset`` (see the module docstring) under ``data``.

    Raises:
        ValueError: an unknown test set name (the message lists the known ones).
        InputFileError: a missing data folder, or missing frames/audio/metadata files.
    """
    if testset not in TEST_SETS:
        raise ValueError(f"unknown test set {testset!r}; choose from {', '.join(TEST_SETS)}")
    data = Path(data)
    if testset in TOY_TEST_SETS:
        root = toy_test_folder(data)
        return build_test_set(testset, root, metadata=metadata if metadata is not None else root,
                              on_error=on_error)
    if not data.is_dir():
        raise InputFileError(data, f"data folder not found (the {testset} test set needs a folder with "
                             "frames/<id>.jpg and audio/<id>.wav)")
    return build_test_set(testset, data, metadata=metadata, on_error=on_error, cache_dir=cache_dir)


def _split(cell: str) -> frozenset[str]:
    return frozenset(c for c in cell.split(";") if c)


def read_toy_scenes(path: str | os.PathLike) -> SampleInfo:
    """A toy world's ``scenes.csv``: kind, visible and heard classes of each pair."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "toy scenes file not found (the hard-case table needs the toy world's "
                             "test/scenes.csv)")
    info = SampleInfo(source=str(path))
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        needed = {"id", "kind", "audio_classes", "visible_classes"}
        if reader.fieldnames is None or not needed <= set(reader.fieldnames):
            raise InputFileError(path, f"expected the columns {sorted(needed)}, got {reader.fieldnames}")
        for row in reader:
            info.kinds[row["id"]] = row["kind"]
            info.visible_classes[row["id"]] = _split(row["visible_classes"])
            info.audio_classes[row["id"]] = _split(row["audio_classes"])
    return info


def sample_info(
    dataset: AudioVisualDataset,
    testset: str,
    metadata: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> SampleInfo:
    """What is known about the samples of ``dataset``: toy ``scenes.csv``, or VGG-SS classes.

    VGG-SS: the ``class`` of ``vggss.json`` is both the visible and the heard class of a
    sounding clip. Flickr-SoundNet has no classes: an empty :class:`SampleInfo`.
    """
    if testset in TOY_TEST_SETS:
        return read_toy_scenes(Path(dataset.root) / TOY_SCENES)
    if testset.startswith("vggss"):
        from slavc_lite.data import metadata as md

        path = md.metadata_file("vggss.json", folder=metadata, cache_dir=cache_dir)
        labels = md.read_vggss_classes(path)
        classes = {k: frozenset([v]) for k, v in labels.items() if v}
        return SampleInfo(visible_classes=classes, audio_classes=dict(classes), source=str(path))
    return SampleInfo(source="none (no class labels for this test set)")
