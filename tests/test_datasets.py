"""The official dataset layout: train ids, test sets (VGG-SS, Flickr, plus_silent), bad samples."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image
from torch.utils.data import DataLoader

from slavc_lite.data.datasets import (
    AudioVisualDataset,
    BadSample,
    MissingSamplesWarning,
    build_test_set,
    collate,
    train_ids,
)
from slavc_lite.errors import InputFileError
from slavc_lite.ground_truth import flickr_gt_map, vggss_gt_map

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "slavc-metadata"


def make_pairs(root: Path, ids, size=(90, 160), seconds: float = 4.0, seed: int = 0,
               audio_ids=None) -> Path:
    """Write ``frames/<id>.jpg`` (size = (h, w)) and ``audio/<id>.wav`` (16 kHz) for ``ids``."""
    rng = np.random.default_rng(seed)
    (root / "frames").mkdir(parents=True, exist_ok=True)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    h, w = size
    y, x = np.mgrid[0:h, 0:w]
    for i in ids:
        base = np.stack([x * 255 / w, y * 255 / h, rng.uniform(0, 255) + 0 * x], -1)
        frame = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(frame).save(root / "frames" / f"{i}.jpg", quality=90)
    for i in audio_ids if audio_ids is not None else ids:
        wave = 0.2 * rng.standard_normal(int(16000 * seconds))
        sf.write(root / "audio" / f"{i}.wav", wave.astype(np.float32), 16000, subtype="PCM_16")
    return root


def write_toy_metadata(folder: Path, boxes: dict, test_ids, silent_rows) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "toy.json").write_text(json.dumps(
        [{"file": k, "class": "thing", "bbox": v} for k, v in boxes.items()]))
    (folder / "toy_test.csv").write_text("".join(f"{i}\n" for i in test_ids))
    (folder / "toy_test_plus_silent.csv").write_text(
        "video,audio,label\n" + "".join(f"{v},{a},{label}\n" for v, a, label in silent_rows))


def test_train_ids(tmp_path):
    root = make_pairs(tmp_path / "d", ["b", "a", "c"])
    (root / "frames" / "lonely.jpg").write_bytes((root / "frames" / "a.jpg").read_bytes())  # no audio
    assert train_ids(root) == ["a", "b", "c"]
    listed = tmp_path / "list.txt"
    listed.write_text("c\na\nzz\n")
    with pytest.warns(MissingSamplesWarning, match="1 of the 3 ids"):
        assert train_ids(root, listed) == ["a", "c"]
    with pytest.raises(InputFileError, match="frames"):
        train_ids(tmp_path / "nowhere")


def test_train_item_shapes(tmp_path):
    root = make_pairs(tmp_path / "d", ["a", "b"], size=(100, 180), seconds=1.0)  # short audio is tiled
    ds = AudioVisualDataset(root, ["a", "b"], mode="train")
    item = ds[0]
    assert item["image"].shape == (3, 224, 224) and item["image"].dtype == torch.float32
    assert item["spec"].shape == (1, 257, 200) and item["spec"].dtype == torch.float32
    assert item["gt_map"].shape == (224, 224) and item["gt_map"].dtype == torch.float32
    assert not item["gt_map"].any() and item["n_boxes"] == 0
    assert (item["id"], item["audio_id"], item["index"]) == ("a", "a", 0)
    batch = collate([ds[0], ds[1]])
    assert batch["image"].shape == (2, 3, 224, 224) and batch["spec"].shape == (2, 1, 257, 200)
    assert batch["id"] == ["a", "b"] and batch["skipped"] == []


def test_vggss_style_set_with_plus_silent(tmp_path):
    root = make_pairs(tmp_path / "d", ["v2", "v1", "n1"], audio_ids=["v2", "v1", "n1", "x9"])
    boxes = {"v1": [[0.1, 0.2, 0.5, 0.6]], "v2": [[0.0, 0.0, 0.3, 0.3], [0.5, 0.5, 1.2, 1.0]],
             "gone": [[0, 0, 1, 1]]}
    meta = tmp_path / "meta"
    rows = [("n1", "x9", "non-sounding"), ("v1", "v2", "sounding"), ("n1", "missing", "non-sounding")]
    write_toy_metadata(meta, boxes, ["v2", "v1", "gone"], rows)
    with pytest.warns(MissingSamplesWarning) as record:
        ds = build_test_set("toy_plus_silent", root, metadata=meta)
    messages = " ".join(str(w.message) for w in record)
    assert "1 of the 3 test ids" in messages and "gone" in messages and "('n1', 'missing')" in messages
    assert ds.missing_ids == ["gone"] and ds.missing_pairs == [("n1", "missing")]
    # sorted sounding ids, then the non-sounding pairs
    assert ds.ids == ["v1", "v2", "n1"] and ds.audio_ids == ["v1", "v2", "x9"]
    items = [ds[i] for i in range(len(ds))]
    assert [it["n_boxes"] for it in items] == [1, 2, 0]
    for it, key in zip(items[:2], ["v1", "v2"], strict=True):
        np.testing.assert_array_equal(it["gt_map"].numpy(), vggss_gt_map(boxes[key]).astype(np.float32))
    assert items[2]["gt_map"].dtype == torch.float32 and not items[2]["gt_map"].any()
    assert items[0]["image"].shape == (3, 224, 224) and items[2]["spec"].shape == (1, 257, 200)
    # the same set from explicit paths, without plus_silent
    with pytest.warns(MissingSamplesWarning):
        plain = build_test_set(None, root, test_csv=meta / "toy_test.csv", boxes_json=meta / "toy.json")
    assert plain.ids == ["v1", "v2"]


def test_flickr_style_set(tmp_path):
    root = make_pairs(tmp_path / "d", ["111", "222"])
    meta = tmp_path / "meta"
    meta.mkdir()
    (meta / "flickr_test.csv").write_text("222,5\n111,7\n")
    ann = root / "Annotations"
    ann.mkdir()
    one = "<bbox><idx>0</idx><xmin>10</xmin><ymin>20</ymin><xmax>100</xmax><ymax>200</ymax></bbox>"
    two = "<bbox><idx>1</idx><xmin>50</xmin><ymin>60</ymin><xmax>150</xmax><ymax>250</ymax></bbox>"
    (ann / "111.xml").write_text(f"<annotation><object>{one}<name>dog</name></object></annotation>")
    (ann / "222.xml").write_text(f"<annotation><object>{one}</object><object>{two}</object></annotation>")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing missing: no warning
        ds = build_test_set("flickr", root, metadata=meta)
    assert ds.ids == ["111", "222"] and ds.box_format == "flickr"
    first, second = ds[0], ds[1]
    assert first["n_boxes"] == 1 and second["n_boxes"] == 2
    gt = first["gt_map"].numpy()
    np.testing.assert_array_equal(gt, flickr_gt_map([[10, 20, 100, 200]]).astype(np.float32))
    assert set(np.unique(gt)) == {0.0, 0.5}  # one annotator: consensus 1/2
    assert second["gt_map"].max() == 1.0  # overlap of two annotators
    generic = build_test_set(None, root, test_csv=meta / "flickr_test.csv", annotations_dir=ann)
    assert generic.box_format == "flickr" and generic.boxes == ds.boxes
    (ann / "111.xml").unlink()
    with pytest.raises(InputFileError, match="111.xml"):
        build_test_set("flickr", root, metadata=meta)


def test_official_vggss_metadata_missing_ids_reported(tmp_path):
    if not (REFERENCE / "vggss.json").is_file():
        pytest.skip(f"reference metadata not found at {REFERENCE}")
    root = make_pairs(tmp_path / "d", ["zpWuikVorYg_000032", "9PmzQI8ZYpg_000147"])
    with pytest.warns(MissingSamplesWarning, match="5157 of the 5158 test ids"):
        ds = build_test_set("vggss", root, metadata=REFERENCE)
    assert ds.ids == ["zpWuikVorYg_000032"] and len(ds.missing_ids) == 5157
    np.testing.assert_array_equal(ds.gt_map(0), vggss_gt_map([[0.403125, 0.253125, 0.6, 0.75]]))
    with pytest.warns(MissingSamplesWarning):
        extended = build_test_set("vggss_plus_silent", root, metadata=REFERENCE)
    assert extended.ids == ["zpWuikVorYg_000032", "9PmzQI8ZYpg_000147"]
    assert [len(b) for b in extended.boxes] == [1, 0]
    assert len(extended.missing_pairs) == 5157


def test_unknown_test_set_needs_metadata(tmp_path):
    root = make_pairs(tmp_path / "d", ["a"])
    with pytest.raises(ValueError, match="vggss_heard"):
        build_test_set("toy", root)


def _corrupt(root: Path, ident: str) -> Path:
    path = root / "frames" / f"{ident}.jpg"
    path.write_bytes(path.read_bytes()[:200])  # truncated JPEG
    return path


def test_bad_sample_raises_naming_the_file(tmp_path):
    root = make_pairs(tmp_path / "d", ["a", "b"])
    bad = _corrupt(root, "b")
    ds = AudioVisualDataset(root, ["a", "b"], mode="test")
    with pytest.raises(InputFileError, match=str(bad)):
        ds[1]
    (root / "audio" / "a.wav").write_bytes(b"")
    with pytest.raises(InputFileError, match="a.wav"):
        ds[0]


def test_bad_sample_skipped_and_listed(tmp_path):
    root = make_pairs(tmp_path / "d", ["a", "b", "c"])
    bad = _corrupt(root, "b")
    ds = AudioVisualDataset(root, ["a", "b", "c"], mode="train", on_error="skip")
    marker = ds[1]
    assert isinstance(marker, BadSample) and marker.path == str(bad) and marker.id == "b"
    assert ds.bad_samples == [marker]
    batch = collate([ds[i] for i in range(3)])
    assert batch["id"] == ["a", "c"] and batch["image"].shape[0] == 2
    assert [s.index for s in batch["skipped"]] == [1]
    assert len(ds.bad_samples) == 1  # recorded once
    empty = collate([marker])
    assert empty["id"] == [] and empty["image"].numel() == 0 and len(empty["skipped"]) == 1


def test_skip_through_dataloader_workers(tmp_path):
    root = make_pairs(tmp_path / "d", ["a", "b", "c", "d"])
    _corrupt(root, "c")
    ds = AudioVisualDataset(root, ["a", "b", "c", "d"], mode="test", on_error="skip")
    loader = DataLoader(ds, batch_size=2, num_workers=2, collate_fn=collate)
    batches = list(loader)
    assert [i for b in batches for i in b["id"]] == ["a", "b", "d"]
    assert [s.id for b in batches for s in b["skipped"]] == ["c"]
