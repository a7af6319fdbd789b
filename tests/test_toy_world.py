"""The toy audio-visual world: determinism, ground truth of every scene kind, VGG-SS-like
sizes, separable classes, the official layout on disk, atomic writes, the command, and the
object-classification set."""

from __future__ import annotations

import argparse
import csv
import json
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import signal

from slavc_lite.data.toy import (
    CLASS_NAMES,
    KINDS,
    NON_SOUNDING_KINDS,
    SILENT_CLASS_NAMES,
    SOUNDING_CLASS_NAMES,
    SOUNDING_KINDS,
    TEST_PROPORTIONS,
    TRAIN_PROPORTIONS,
    ToyWorld,
    command,
    write_toy_world,
    writer,
)
from slavc_lite.data.toy.scenes import normalise_box
from slavc_lite.data.toy.sizes import SIZE_NAMES, VGGSS_SIZE_SHARES, size_class
from slavc_lite.data.toy.world import kind_counts
from slavc_lite.ground_truth import vggss_boxes_to_pixels, vggss_gt_map

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "slavc-metadata"
OFFICIAL_PLUS_SILENT = REFERENCE / "vggss_test_plus_silent.csv"


@pytest.fixture(scope="module")
def world() -> ToyWorld:
    return ToyWorld(seed=0)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("toy") / "world"
    write_toy_world(out, n_train=12, n_val=10, n_test=24, seed=3, workers=1, progress=False, verbose=False)
    return out


def files_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def mean_log_spectrum(x: np.ndarray, sr: int = 16000) -> np.ndarray:
    """Time-averaged log spectrogram, computed like the official audio front end."""
    _, _, spec = signal.spectrogram(x, sr, nperseg=512, noverlap=274)
    return np.log(spec + 1e-7).mean(axis=1)


# --- determinism ----------------------------------------------------------------------------

def test_same_seed_same_scene_other_seed_other_scene(world):
    for kind in KINDS:
        a, b = world.scene(kind, 5), ToyWorld(seed=0).scene(kind, 5)
        assert np.array_equal(a.image, b.image) and np.array_equal(a.waveform, b.waveform)
        assert a.boxes == b.boxes and a.visible_classes == b.visible_classes
        c = ToyWorld(seed=1).scene(kind, 5)
        assert not np.array_equal(a.image, c.image)
        assert not np.array_equal(a.waveform, c.waveform)
    assert not np.array_equal(world.scene("single", 0).image, world.scene("single", 1).image)


def test_written_bytes_identical_whatever_the_workers(tmp_path, written):
    again = tmp_path / "again"
    write_toy_world(again, n_train=12, n_val=10, n_test=24, seed=3, workers=2, progress=False, verbose=False)
    assert files_of(again) == files_of(written)
    other = tmp_path / "other"
    write_toy_world(other, n_train=12, n_val=10, n_test=24, seed=4, workers=1, progress=False, verbose=False)
    a, b = files_of(written), files_of(other)
    assert a.keys() == b.keys()
    assert a["train/frames/train_000000.jpg"] != b["train/frames/train_000000.jpg"]
    assert a["test/audio/test_000000.wav"] != b["test/audio/test_000000.wav"]


def test_disk_matches_memory(written):
    world = ToyWorld(seed=3)
    kinds = world.split_kinds("test", 24)
    for i in (0, 7, 23):
        scene = world.split_scene("test", i, kinds[i])
        with wave.open(str(written / "test" / "audio" / f"{scene.id}.wav")) as f:
            assert (f.getnchannels(), f.getsampwidth(), f.getframerate()) == (1, 2, 16000)
            pcm = np.frombuffer(f.readframes(f.getnframes()), "<i2")
        assert np.array_equal(pcm, writer.to_pcm16(scene.waveform))
        jpg = np.asarray(Image.open(written / "test" / "frames" / f"{scene.id}.jpg"), dtype=np.float32)
        assert np.abs(jpg - scene.image).mean() < 6  # JPEG quality 90


# --- ground truth of every kind --------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_ground_truth_of_each_kind(world, kind):
    for index in range(6):
        s = world.scene(kind, index)
        assert s.image.shape == (224, 224, 3) and s.image.dtype == np.uint8
        assert s.waveform.shape == (48000,) and s.waveform.dtype == np.float32 and s.sample_rate == 16000
        assert np.abs(s.waveform).max() <= 1.0
        np.testing.assert_allclose(s.waveform, sum((x for _, x in s.sources), s.background), atol=1e-6)
        assert s.visible_classes == [o.cls for o in s.objects]
        assert [c for c, _ in s.sources] == s.audio_classes
        assert len(s.boxes) == len(s.sounding_classes)
        for o in s.objects:
            x0, y0, x1, y1 = o.box_px
            assert 0 <= x0 < x1 <= 224 and 0 <= y0 < y1 <= 224
            assert all(0.0 <= v <= 1.0 for v in o.box)
            assert vggss_boxes_to_pixels([o.box]) == [list(o.box_px)]
            ys, xs = np.nonzero(s.label_map == o.label)
            assert ys.size > 0.4 * (x1 - x0) * (y1 - y0)  # objects roughly fill their boxes
            assert xs.min() >= x0 and xs.max() < x1 and ys.min() >= y0 and ys.max() < y1
            if o.role in ("sounding", "silent"):  # key objects are never occluded: the box is tight
                assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x0, y0, x1, y1)
            if o.role in ("distractor", "silent", "visible"):
                assert o.cls not in s.audio_classes
        sounding = [o for o in s.objects if o.role == "sounding"]
        assert s.boxes == [o.box for o in sounding]
        if kind in NON_SOUNDING_KINDS:
            assert s.boxes == [] and not s.is_sounding and s.gt_map().sum() == 0
            assert s.visible_classes
        else:
            assert s.is_sounding and s.gt_map().sum() > 0
        if kind == "single":
            assert len(s.boxes) == 1 and s.audio_classes == s.sounding_classes
        elif kind == "mixture":
            assert len(s.boxes) == 2 and len(set(s.sounding_classes)) == 2
            assert sorted(s.audio_classes) == sorted(s.sounding_classes)
        elif kind == "small":
            assert len(s.boxes) == 1 and vggss_gt_map(s.boxes).sum() < 32**2
            x0, y0, x1, y1 = sounding[0].box_px
            assert x1 - x0 < 32 and y1 - y0 < 32
        elif kind == "silent":
            (silent,) = [o for o in s.objects if o.role == "silent"]
            assert len(s.boxes) == 1 and silent.cls in SILENT_CLASS_NAMES  # the review's vacuum cleaner
            assert s.audio_classes == s.sounding_classes and silent.cls not in s.audio_classes
        elif kind == "offscreen":
            assert len(s.audio_classes) == 1 and s.audio_classes[0] not in s.visible_classes
        elif kind == "same_type":
            assert len(s.boxes) >= 2 and len(set(s.sounding_classes)) == 1
            assert len(s.audio_classes) == len(s.boxes)  # every instance sounds
        elif kind == "silence":
            rms = float(np.sqrt(np.mean(s.waveform.astype(np.float64) ** 2)))
            assert 0 < rms < 1e-3 and s.sources == []
            assert np.count_nonzero(writer.to_pcm16(s.waveform)) > 0.5 * s.waveform.size  # not exact zeros
        elif kind == "noise":
            assert s.sources == [] and np.sqrt(np.mean(s.waveform**2)) > 0.03
            spec = np.exp(mean_log_spectrum(s.waveform))[5:]
            assert (spec > 1e-3 * spec.max()).all()  # energy over the whole band


def test_silent_object_is_not_heard(world):
    """The silent object's class sound is absent: the clip is closer (log spectrum) to the
    sounding class's typical sound than to the silent class's."""
    centroids = {c: np.mean([mean_log_spectrum(world.object_sound(c, i)) for i in range(3)], axis=0)
                 for c in SOUNDING_CLASS_NAMES}
    for index in range(8):
        s = world.scene("single", index)
        feat = mean_log_spectrum(s.waveform)
        d_sounding = np.sum((feat - centroids[s.sounding_classes[0]]) ** 2)
        for o in s.objects:
            if o.role == "distractor" and o.cls in SOUNDING_CLASS_NAMES:
                assert d_sounding < np.sum((feat - centroids[o.cls]) ** 2)


def test_silent_classes_never_sound_and_fill_the_frames(world):
    """Never-sounding classes are never heard, appear in most training-like frames, and the
    ``silent`` kind's silent object is always one of them."""
    with_silent = 0
    for index in range(40):
        s = world.scene("single", index)
        assert not set(s.audio_classes) & set(SILENT_CLASS_NAMES)
        with_silent += any(o.role != "sounding" for o in s.objects)
        for kind in ("offscreen", "silence", "noise", "mixture", "same_type"):
            assert not set(world.scene(kind, index).audio_classes) & set(SILENT_CLASS_NAMES)
    assert with_silent >= 0.6 * 40
    with pytest.raises(ValueError, match="never makes a sound"):
        world.object_sound(SILENT_CLASS_NAMES[0])


# --- sizes -------------------------------------------------------------------------------------

def test_sounding_box_sizes_follow_vggss(world):
    areas = []
    for i in range(300):
        s = world.scene("single", i)
        areas.append(vggss_gt_map(s.boxes).sum())
    areas = np.array(areas)
    shares = {name: np.mean([size_class(a) == name for a in areas]) for name in SIZE_NAMES}
    for name in SIZE_NAMES:
        assert abs(shares[name] - VGGSS_SIZE_SHARES[name]) < 0.10, shares
    assert 0.15 <= np.median(areas) / 224**2 <= 0.35


def test_small_boxes_are_small(world):
    for i in range(40):
        s = world.scene("small", i)
        assert vggss_gt_map(s.boxes).sum() < 32**2


def test_normalised_boxes_round_trip_through_the_official_conversion():
    for c in range(225):
        assert vggss_boxes_to_pixels([normalise_box((c, c, c, c), 224)]) == [[c, c, c, c]]


# --- separable classes ---------------------------------------------------------------------------

def test_sounds_of_classes_are_separable(world):
    feats = {c: [mean_log_spectrum(world.object_sound(c, i)) for i in range(6)] for c in SOUNDING_CLASS_NAMES}
    centroids = {c: np.mean(v[:3], axis=0) for c, v in feats.items()}
    hits = [min(centroids, key=lambda k: np.sum((centroids[k] - x) ** 2)) == c
            for c, v in feats.items() for x in v[3:]]
    assert np.mean(hits) > 0.8


def test_looks_of_classes_are_separable(world):
    """Nearest class mean of a trivial feature (object colour statistics + box fill ratio)."""
    feats: dict[str, list[np.ndarray]] = {c: [] for c in CLASS_NAMES}
    i = 0
    while min(len(v) for v in feats.values()) < 6 and i < 600:
        s = world.scene("silent", i)
        i += 1
        for o in s.objects:
            if len(feats[o.cls]) >= 6:
                continue
            pix = s.image[s.label_map == o.label].astype(np.float64) / 255
            x0, y0, x1, y1 = o.box_px
            fill = len(pix) / ((x1 - x0) * (y1 - y0))
            feats[o.cls].append(np.concatenate([pix.mean(0), pix.std(0), [fill]]))
    centroids = {c: np.mean(v[:3], axis=0) for c, v in feats.items()}
    hits = [min(centroids, key=lambda k: np.sum((centroids[k] - x) ** 2)) == c
            for c, v in feats.items() for x in v[3:]]
    assert np.mean(hits) > 0.8


def test_teaching_helpers(world):
    assert world.classes == list(CLASS_NAMES) and len(world.classes) == 20
    assert world.sounding_classes == list(SOUNDING_CLASS_NAMES) and len(world.sounding_classes) == 10
    assert world.silent_classes == list(SILENT_CLASS_NAMES) and len(world.silent_classes) == 10
    assert world.classes == world.sounding_classes + world.silent_classes
    for c in SOUNDING_CLASS_NAMES[:3]:
        img = world.render_object(c)
        assert img.shape == (224, 224, 3) and img.dtype == np.uint8
        assert np.array_equal(img, world.render_object(c))
        plain = world.render_object(c, with_background=False)
        assert (np.abs(plain.astype(int) - 128).sum(-1) < 30).mean() > 0.4  # mostly grey backdrop
        x = world.object_sound(c)
        assert x.dtype == np.float32 and x.shape == (48000,) and 0 < np.abs(x).max() <= 0.99
    with pytest.raises(KeyError, match="known"):
        world.object_sound("unicorn")
    with pytest.raises(ValueError, match="known"):
        world.scene("explosion")


# --- splits ----------------------------------------------------------------------------------------

def test_kind_counts():
    counts = kind_counts(500, TEST_PROPORTIONS)
    assert counts == {"single": 200, "mixture": 50, "small": 50, "silent": 50, "same_type": 50,
                      "offscreen": 50, "silence": 25, "noise": 25}
    for n in (8, 9, 30, 31, 101):
        c = kind_counts(n, TEST_PROPORTIONS)
        assert sum(c.values()) == n and min(c.values()) >= 1
    assert sum(kind_counts(3, TEST_PROPORTIONS).values()) == 3
    assert kind_counts(2000, TRAIN_PROPORTIONS) == {"single": 1400, "mixture": 300, "offscreen": 300}


def test_val_and_test_splits_differ_but_hold_the_same_kinds():
    world = ToyWorld(seed=0)
    test_counts = world.split_counts("test", 500)
    assert world.split_counts("val", 300) == {k: v * 3 // 5 for k, v in test_counts.items()}
    val = world.split_scene("val", 0, "single")
    test = world.split_scene("test", 0, "single")
    assert val.id == "val_000000" and not np.array_equal(val.image, test.image)


# --- the official layout on disk ------------------------------------------------------------------------

def test_written_layout_loads(written):
    manifest = json.loads((written / "toy_world.json").read_text())
    assert manifest["seed"] == 3 and manifest["counts"] == {"train": 12, "val": 10, "test": 24}
    assert json.loads((written / "val" / "toy.json").read_text())
    assert (written / "val" / "toy_test_plus_silent.csv").is_file()
    assert len((written / "val" / "scenes.csv").read_text().splitlines()) == 10 + 1
    assert manifest["classes"] == list(CLASS_NAMES)
    train_ids = (written / "train" / "toy_train.txt").read_text().split()
    assert len(train_ids) == 12
    for split, ids in (("train", train_ids),):
        for i in ids:
            assert (written / split / "frames" / f"{i}.jpg").is_file()
            assert (written / split / "audio" / f"{i}.wav").is_file()
    with open(written / "test" / "scenes.csv") as f:
        scenes = list(csv.DictReader(f))
    assert len(scenes) == 24 and set(scenes[0]) >= {"id", "kind", "classes", "n_boxes"}
    kinds = {r["id"]: r["kind"] for r in scenes}
    assert set(kinds.values()) == set(KINDS)
    assert {k: sum(v == k for v in kinds.values()) for k in KINDS} == manifest["kinds"]["test"]
    test_ids = (written / "test" / "toy_test.csv").read_text().split()
    assert test_ids and all(kinds[i] in SOUNDING_KINDS for i in test_ids)
    entries = json.loads((written / "test" / "toy.json").read_text())
    assert [e["file"] for e in entries] == test_ids
    for e in entries:
        assert e["kind"] == kinds[e["file"]] and isinstance(e["class"], str) and e["bbox"]
        for box in e["bbox"]:
            assert len(box) == 4 and all(0 <= v <= 1 for v in box) and box[0] < box[2] and box[1] < box[3]
    with open(written / "test" / "toy_test_plus_silent.csv") as f:
        header = f.readline().strip()
        rows = list(csv.reader(f))
    assert header == "video,audio,label"
    if OFFICIAL_PLUS_SILENT.is_file():
        assert header == OFFICIAL_PLUS_SILENT.read_text().splitlines()[0].strip()
    assert rows and all(r[2] == "non-sounding" and kinds[r[0]] in NON_SOUNDING_KINDS for r in rows)
    assert len(rows) + len(test_ids) == 24
    for i in list(kinds):
        assert (written / "test" / "frames" / f"{i}.jpg").is_file()
    image = Image.open(written / "test" / "frames" / f"{test_ids[0]}.jpg")
    assert image.size == (224, 224) and image.mode == "RGB"
    from slavc_lite.audio import load_audio

    audio, rate = load_audio(written / "test" / "audio" / f"{test_ids[0]}.wav")
    assert rate == 16000 and audio.shape == (48000,) and -1 <= audio.min() < audio.max() <= 1


# --- atomic writes, skip, refuse, overwrite --------------------------------------------------------------

def test_interrupted_write_leaves_nothing_that_looks_complete(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = writer.write_pair

    def flaky(scene, split_dir):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt("simulated interruption")
        real(scene, split_dir)

    monkeypatch.setattr(writer, "write_pair", flaky)
    out = tmp_path / "toy"
    with pytest.raises(KeyboardInterrupt):
        write_toy_world(out, n_train=6, n_val=2, n_test=8, workers=1, progress=False, verbose=False)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # the temporary folder is gone too


def test_skip_refuse_overwrite(tmp_path, monkeypatch):
    out = tmp_path / "toy"
    first = write_toy_world(out, n_train=4, n_val=2, n_test=8, workers=1, progress=False, verbose=False)
    assert not first.skipped and (out / "toy_world.json").is_file()
    before = files_of(out)
    again = write_toy_world(out, n_train=4, n_val=2, n_test=8, workers=1, progress=False, verbose=False)
    assert again.skipped and "already holds" in again.message and files_of(out) == before
    with pytest.raises(FileExistsError, match="overwrite"):
        write_toy_world(out, n_train=4, n_val=2, n_test=8, seed=1, workers=1, progress=False, verbose=False)
    assert files_of(out) == before
    # An interrupted overwrite keeps the old world intact.
    monkeypatch.setattr(writer, "write_pair", lambda *a: (_ for _ in ()).throw(RuntimeError("disk full")))
    with pytest.raises(RuntimeError):
        write_toy_world(out, n_train=4, n_val=2, n_test=8, seed=1, overwrite=True, workers=1, progress=False,
                        verbose=False)
    assert files_of(out) == before
    monkeypatch.undo()
    replaced = write_toy_world(out, n_train=4, n_val=2, n_test=8, seed=1, overwrite=True, workers=1,
                               progress=False,
                               verbose=False)
    assert not replaced.skipped and json.loads((out / "toy_world.json").read_text())["seed"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        write_toy_world(other, n_train=2, n_val=2, n_test=2, workers=1, progress=False, verbose=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    summary = write_toy_world(empty, n_train=2, n_val=2, n_test=2, workers=1, progress=False, verbose=False)
    assert not summary.skipped


# --- the command ---------------------------------------------------------------------------------------

def test_command_runs_on_a_tiny_world(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="slavc-lite data")
    command.add_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "toy"
    args = parser.parse_args(["toy", "--out", str(out), "--train", "20", "--val", "8", "--test", "30",
                              "--workers", "1", "--no-progress"])
    assert args.func is command.run
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "pairs/s" in text and "silent" in text and "test: 30 pairs" in text
    assert len((out / "train" / "toy_train.txt").read_text().split()) == 20
    assert args.func(args) == 0 and "skipped" in capsys.readouterr().out
    args = parser.parse_args(["toy", "--out", str(out), "--train", "21", "--val", "8", "--test", "30",
                              "--no-progress"])
    assert args.func(args) == 1 and "--overwrite" in capsys.readouterr().err


# --- the object-classification set ------------------------------------------------------------------

def test_object_dataset():
    import torch

    from slavc_lite.data.toy import ToyObjectDataset
    from slavc_lite.images import denormalize

    ds = ToyObjectDataset(25, seed=0)
    assert len(ds) == 25 and ds.classes == list(CLASS_NAMES)
    x, y = ds[13]
    assert x.shape == (3, 224, 224) and x.dtype == torch.float32 and y == 13
    assert torch.equal(x, ToyObjectDataset(25, seed=0)[13][0])
    assert not torch.equal(x, ToyObjectDataset(25, seed=1)[13][0])
    raw, y_raw = ToyObjectDataset(25, seed=0, raw=True)[13]
    assert raw.dtype == np.uint8 and raw.shape == (224, 224, 3) and y_raw == y
    torch.testing.assert_close(denormalize(x), torch.from_numpy(raw).permute(2, 0, 1).float() / 255,
                               atol=1e-5, rtol=0)
    seen = []
    ToyObjectDataset(2, transform=lambda im: seen.append(im.size) or 0)[1]
    assert seen == [(224, 224)]
    assert ds.targets == [i % 20 for i in range(25)]
    with pytest.raises(IndexError):
        ds[25]


def test_objects_file_lists_every_drawn_object(written):
    world = ToyWorld(seed=3)
    kinds = world.split_kinds("test", 24)
    objects = json.loads((written / "test" / writer.OBJECTS_FILE).read_text())
    assert len(objects) == 24 and (written / "val" / writer.OBJECTS_FILE).is_file()
    for i in (0, 5, 17):
        scene = world.split_scene("test", i, kinds[i])
        listed = objects[scene.id]
        assert [o["class"] for o in listed] == scene.visible_classes
        assert [o["box"] for o in listed if o["role"] == "sounding"] == scene.boxes
        for o in listed:
            assert (o["level"] is not None) == (o["role"] == "sounding")
            assert o["level"] is None or o["level"] > 0


def test_an_outdated_world_is_replaced_and_other_folders_are_not(tmp_path):
    out = tmp_path / "toy"
    write_toy_world(out, n_train=2, n_val=2, n_test=4, workers=1, progress=False, verbose=False)
    manifest = json.loads((out / "toy_world.json").read_text())
    (out / "toy_world.json").write_text(json.dumps({**manifest, "version": manifest["version"] - 1}))
    with pytest.raises(FileExistsError):
        write_toy_world(out, n_train=2, n_val=2, n_test=4, workers=1, progress=False, verbose=False,
                        replace_outdated=False)
    again = write_toy_world(out, n_train=2, n_val=2, n_test=4, workers=1, progress=False, verbose=False)
    assert not again.skipped
    assert json.loads((out / "toy_world.json").read_text())["version"] == manifest["version"]
