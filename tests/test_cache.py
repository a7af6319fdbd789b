"""The fast data path: cached values equal the decode path, hashing, atomic builds, batched augmentation."""

from __future__ import annotations

import json
import os
import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader
from torchvision import transforms
from torchvision.transforms import InterpolationMode

from slavc_lite.data import cache as C
from slavc_lite.data.datasets import AudioVisualDataset, collate
from slavc_lite.errors import InputFileError
from slavc_lite.images import load_image, test_transform
from tests.test_datasets import make_pairs

IDS = ["a", "b", "c", "d", "e"]


@pytest.fixture
def root(tmp_path):
    return make_pairs(tmp_path / "data", IDS, size=(90, 160))


def _build(dataset, cache_dir, **options):
    options.setdefault("progress", False)
    options.setdefault("workers", 0)
    return C.CachedAudioVisualDataset.from_dataset(dataset, cache_dir, **options)


def test_test_mode_equals_decode_path(root, tmp_path):
    boxes = [[[0.1, 0.1, 0.5, 0.9]], [], [[0.0, 0.2, 1.0, 0.4], [0.3, 0.3, 0.6, 0.6]], [], []]
    ds = AudioVisualDataset(root, IDS, mode="test", boxes=boxes)
    cached = _build(ds, tmp_path / "cache")
    assert cached.cache.frames.dtype == np.uint8 and cached.cache.frames.shape == (5, 3, 224, 224)
    assert cached.cache.specs.dtype == np.float16 and cached.cache.specs.shape == (5, 257, 200)
    resize = transforms.Resize((224, 224), interpolation=InterpolationMode.BICUBIC)
    for i in range(len(IDS)):
        expected = np.asarray(resize(load_image(ds.image_path(i)))).transpose(2, 0, 1)
        np.testing.assert_array_equal(cached.cache.frames[i], expected)  # byte-identical
    batch = cached.get_batch([3, 0, 2])
    assert batch["id"] == ["a", "c", "d"]  # ascending positions
    for k, i in enumerate([0, 2, 3]):
        item = ds[i]
        assert torch.equal(batch["image"][k], item["image"])  # same float ops after the uint8 frame
        np.testing.assert_allclose(batch["spec"][k].numpy(), item["spec"].numpy(), rtol=2**-11, atol=1e-7)
        assert torch.equal(batch["gt_map"][k], item["gt_map"])
        assert batch["n_boxes"][k] == item["n_boxes"]
    single = cached[2]
    assert single["image"].shape == (3, 224, 224) and single["spec"].shape == (1, 257, 200)
    assert single["n_boxes"] == 2 and single["id"] == "c"


def test_to_normalized_float_matches_official_transform(root):
    image = load_image(root / "frames" / "a.jpg")
    resized = transforms.Resize((224, 224), InterpolationMode.BICUBIC)(image)
    frame = torch.from_numpy(np.asarray(resized).copy())
    assert torch.equal(C.to_normalized_float(frame.permute(2, 0, 1)), test_transform()(image))


def test_train_frames_keep_the_whole_resize(root, tmp_path):
    ds = AudioVisualDataset(root, IDS, mode="train")
    cached = _build(ds, tmp_path / "cache")
    arrays = cached.cache
    assert arrays.frames.shape == (5, 3, 246, 437)
    resize = transforms.Resize(246, interpolation=InterpolationMode.BICUBIC)
    for i in range(len(IDS)):
        expected = np.asarray(resize(load_image(ds.image_path(i)))).transpose(2, 0, 1)  # 246 x 437
        h, w = arrays.frame_sizes[i]
        assert (h, w) == expected.shape[1:]
        np.testing.assert_array_equal(arrays.frames[i, :, :h, :w], expected)
    # batched augmentation == manual crop of the same offsets (and flips)
    aug = C.BatchAugment()
    rows = np.array([0, 2, 4])
    params = aug.sample(arrays.frame_sizes[rows], torch.Generator().manual_seed(3))
    out = aug.crop_rows(arrays.frames, rows, params)
    assert out.shape == (3, 3, 224, 224) and out.dtype == torch.uint8
    for k, r in enumerate(rows):
        t, l, f = int(params.top[k]), int(params.left[k]), bool(params.flip[k])
        manual = arrays.frames[r, :, t : t + 224, l : l + 224]
        manual = manual[..., ::-1] if f else manual
        np.testing.assert_array_equal(out[k].numpy(), manual)
    assert torch.equal(aug.crop(torch.from_numpy(np.array(arrays.frames[rows])), params), out)


def test_batch_augment_flips_and_bounds():
    aug = C.BatchAugment()
    frames = torch.arange(300, dtype=torch.int32).repeat(8, 3, 250, 1)  # value = column index
    sizes = torch.tensor([[250, 300]] * 4 + [[224, 224]] * 4)
    out = aug(frames.to(torch.uint8).clamp(max=255), sizes, torch.Generator().manual_seed(0))
    assert out.shape == (8, 3, 224, 224) and out.dtype == torch.float32
    params = aug.sample(sizes.repeat(100, 1), torch.Generator().manual_seed(1))
    assert params.top.min() == 0 and params.top[:400].max() <= 26 and params.left[:400].max() <= 76
    assert (params.top.view(100, 8)[:, 4:] == 0).all() and (params.left.view(100, 8)[:, 4:] == 0).all()
    assert params.left.max() == 76 and 0.4 < params.flip.float().mean() < 0.6
    flipped = C.CropParams(torch.tensor([0]), torch.tensor([10]), torch.tensor([True]))
    crop = aug.crop(frames[:1], flipped)
    assert crop[0, 0, 0, 0] == 10 + 223 and crop[0, 0, 0, -1] == 10  # columns reversed
    same = [aug.sample(sizes, torch.Generator().manual_seed(5)) for _ in range(2)]
    assert all(torch.equal(a, b) for a, b in zip(*same, strict=True))
    with pytest.raises(ValueError, match="smaller"):
        aug.sample(torch.tensor([[200, 300]]))


def test_auto_canvas_fits_the_frames(tmp_path):
    assert C.resized_size(640, 360) == (246, 437) and C.resized_size(360, 640) == (437, 246)
    square = make_pairs(tmp_path / "sq", ["s1", "s2"], size=(224, 224))
    four_three = make_pairs(tmp_path / "sq", ["t"], size=(120, 160), seed=1)  # 4:3 -> 246 x 328
    ds = AudioVisualDataset(square, ["s1", "s2"], mode="train")
    assert C.CacheConfig.for_dataset(ds).resolve(ds).frame_size == (246, 246)
    mixed = AudioVisualDataset(four_three, ["s1", "t"], mode="train")
    assert C.auto_canvas(mixed) == (246, 328)
    cached = _build(ds, tmp_path / "cache")
    assert cached.cache.frames.shape == (2, 3, 246, 246)
    assert cached.cache.manifest["config"]["canvas"] == "auto"
    assert cached.get_batch([0, 1], torch.Generator().manual_seed(0))["image"].shape == (2, 3, 224, 224)


def test_wide_frames_are_centre_cropped_and_counted(tmp_path):
    root = make_pairs(tmp_path / "data", ["wide"], size=(90, 300))  # 246 x 820 after the resize
    ds = AudioVisualDataset(root, ["wide"], mode="train")
    with pytest.warns(UserWarning, match="centre-cropped"):
        cached = _build(ds, tmp_path / "cache")
    assert cached.cache.manifest["n_cropped_frames"] == 1
    assert tuple(cached.cache.frame_sizes[0]) == (246, 437)
    resized = np.asarray(transforms.Resize(246, InterpolationMode.BICUBIC)(load_image(ds.image_path(0))))
    left = int(round((resized.shape[1] - 437) / 2.0))
    np.testing.assert_array_equal(cached.cache.frames[0], resized[:, left : left + 437].transpose(2, 0, 1))


def test_manifest_hash_reuse_and_rebuild(root, tmp_path, monkeypatch):
    ds = AudioVisualDataset(root, IDS, mode="train")
    cache_dir = tmp_path / "cache"
    first = _build(ds, cache_dir).cache
    manifest = json.loads((cache_dir / "manifest.json").read_text())
    assert manifest["ids"] == IDS and manifest["config"]["mode"] == "train"
    assert manifest["arrays"]["frames"] == {"file": "frames.npy", "shape": [5, 3, 246, 437], "dtype": "uint8"}
    assert manifest["arrays"]["specs"]["dtype"] == "float16" and manifest["library_version"]
    assert len(manifest["config_hash"]) == 16

    calls = []
    real = C._decode_sample
    monkeypatch.setattr(C, "_decode_sample", lambda *a: calls.append(a[1]) or real(*a))
    assert _build(ds, cache_dir).cache.config_hash == first.config_hash and calls == []  # reused

    with pytest.warns(UserWarning, match="centre-cropped"):
        other_canvas = _build(ds, cache_dir, canvas=(246, 300)).cache  # config change -> rebuild
    assert other_canvas.config_hash != first.config_hash and len(calls) == 5
    assert other_canvas.frames.shape == (5, 3, 246, 300)

    audio = ds.audio_path(1)
    os.utime(audio, ns=(audio.stat().st_atime_ns, audio.stat().st_mtime_ns + 10**9))  # file changed
    calls.clear()
    with pytest.warns(UserWarning, match="centre-cropped"):
        rebuilt = _build(ds, cache_dir, canvas=(246, 300)).cache
    assert rebuilt.config_hash != other_canvas.config_hash and len(calls) == 5
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers

    short = AudioVisualDataset(root, IDS, mode="train", audio_seconds=2.0)
    assert C.config_hash(short, C.CacheConfig.for_dataset(short)) != rebuilt.config_hash


def test_interrupted_build_leaves_no_cache(root, tmp_path, monkeypatch):
    ds = AudioVisualDataset(root, IDS, mode="test")
    cache_dir = tmp_path / "cache"
    real = C._decode_sample

    def flaky(dataset, index, config):
        if index == 3:
            raise KeyboardInterrupt  # like Ctrl-C mid-way
        return real(dataset, index, config)

    monkeypatch.setattr(C, "_decode_sample", flaky)
    with pytest.raises(KeyboardInterrupt):
        _build(ds, cache_dir)
    assert list(tmp_path.iterdir()) == [tmp_path / "data"]  # neither the cache nor a temporary folder
    with pytest.raises(C.CacheError, match="not a complete cache"):
        C.FrameAudioCache(cache_dir)
    monkeypatch.setattr(C, "_decode_sample", real)
    assert len(_build(ds, cache_dir)) == 5


def test_refuses_to_replace_other_folders(root, tmp_path):
    with pytest.raises(C.CacheError, match="not a slavc-lite cache"):
        _build(AudioVisualDataset(root, IDS, mode="test"), root)  # the dataset itself!
    assert sorted(p.name for p in root.iterdir()) == ["audio", "frames"]


def test_not_enough_disk_space(root, tmp_path, monkeypatch):
    monkeypatch.setattr(C.shutil, "disk_usage", lambda path: SimpleNamespace(free=1000))
    with pytest.raises(OSError, match="GB are free"):
        _build(AudioVisualDataset(root, IDS, mode="test"), tmp_path / "cache")
    assert list(tmp_path.iterdir()) == [tmp_path / "data"]


def test_bad_file_raise_or_skip(root, tmp_path):
    bad = root / "frames" / "c.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(InputFileError, match=str(bad)):
        _build(AudioVisualDataset(root, IDS, mode="test"), tmp_path / "cache")
    assert not (tmp_path / "cache").exists()
    cached = _build(AudioVisualDataset(root, IDS, mode="test", on_error="skip"), tmp_path / "cache")
    assert len(cached) == 4 and cached.ids == ["a", "b", "d", "e"]
    assert [(b.id, b.path) for b in cached.bad_samples] == [("c", str(bad))]
    assert cached.cache.manifest["bad_samples"][0]["problem"]


def test_parallel_build_and_loader(root, tmp_path):
    ds = AudioVisualDataset(root, IDS, mode="train")
    cached = _build(ds, tmp_path / "cache", workers=2)
    serial = _build(ds, tmp_path / "serial")
    np.testing.assert_array_equal(cached.cache.frames, serial.cache.frames)
    np.testing.assert_array_equal(cached.cache.specs, serial.cache.specs)

    loader = cached.loader(batch_size=2, seed=7)
    assert len(loader) == 3 and len(cached.loader(2, drop_last=True)) == 2
    epoch0 = list(loader)
    assert sorted(i for b in epoch0 for i in b["id"]) == IDS
    assert epoch0[0]["image"].shape == (2, 3, 224, 224) and epoch0[-1]["spec"].shape == (1, 1, 257, 200)
    epoch1 = list(loader)
    loader.set_epoch(0)
    again = list(loader)
    assert [b["id"] for b in again] == [b["id"] for b in epoch0]
    assert all(torch.equal(a["image"], b["image"]) for a, b in zip(again, epoch0, strict=True))
    assert [b["id"] for b in epoch1] != [b["id"] for b in epoch0] or not all(
        torch.equal(a["image"], b["image"]) for a, b in zip(epoch1, epoch0, strict=True))
    plain = C.CachedAudioVisualDataset(cached.cache, augment=False).get_batch([0])
    assert plain["image"].shape == (1, 3, 224, 224)
    # pickled by path (spawned workers), and usable as a per-sample Dataset with collate
    clone = pickle.loads(pickle.dumps(cached))
    assert len(pickle.dumps(cached.cache)) < 10_000 and np.array_equal(clone.cache.specs, cached.cache.specs)
    batch = next(iter(DataLoader(clone, batch_size=3, collate_fn=collate)))
    assert batch["image"].shape == (3, 3, 224, 224) and batch["id"] == ["a", "b", "c"]
