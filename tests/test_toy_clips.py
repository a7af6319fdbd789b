"""The toy video world: motion follows envelopes, ground truth holds every frame, files round-trip."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from slavc_lite.data.toy import ToyWorld
from slavc_lite.data.toy.classes import CLASS_NAMES
from slavc_lite.data.toy.clip_writer import CLIPS_FILE, VIDEO_MANIFEST, split_clip, write_toy_videos
from slavc_lite.data.toy.clips import CLIP_KINDS, make_clip
from slavc_lite.data.toy.motion import (
    CLASS_MOTION,
    MOTION_STYLES,
    frame_envelope,
    normalise_envelope,
    pose,
)
from slavc_lite.data.toy.sizes import place_in_row
from slavc_lite.video_writer import write_mp4


def test_every_class_has_a_motion_style():
    assert set(CLASS_MOTION) == set(CLASS_NAMES)
    assert set(CLASS_MOTION.values()) <= set(MOTION_STYLES)


@pytest.mark.parametrize("style", MOTION_STYLES)
@pytest.mark.parametrize("e", [0.0, 0.4, 1.0])
def test_poses_stay_inside_the_box(style, e):
    box = (30, 40, 80, 60)
    p = pose(style, box, e)
    x0, y0, w, h = p.box
    assert x0 >= 30 and y0 >= 40 and x0 + w <= 110 and y0 + h <= 100


def test_rest_and_full_poses_differ():
    box = (0, 0, 100, 100)
    for style in MOTION_STYLES:
        assert pose(style, box, 0.0) != pose(style, box, 1.0), style


def test_envelope_is_the_rms_per_frame_interval_scaled_to_unit_range():
    sr, fps = 1000, 10.0
    x = np.concatenate([np.full(100, a) for a in (0.1, 0.5, 0.3)])
    rms = frame_envelope(x, sr, 4, fps)
    np.testing.assert_allclose(rms, [0.1, 0.5, 0.3, 0.0])
    np.testing.assert_allclose(normalise_envelope(rms), [0.2, 1.0, 0.6, 0.0])
    flat = normalise_envelope(np.array([1.0, 1.01, 0.99]))
    assert flat.max() < 0.1  # a steady sound hardly moves its object


def test_sounding_objects_follow_their_own_sound():
    clip = ToyWorld(seed=0).clip("single", 2)
    (source,) = [o for o in clip.objects if o.role == "sounding"]
    audio = normalise_envelope(frame_envelope(clip.waveform, clip.sample_rate, len(clip.frames), clip.fps))
    assert np.corrcoef(source.envelope, audio)[0, 1] > 0.95


@pytest.mark.parametrize("kind", CLIP_KINDS)
def test_every_kind_builds_with_its_ground_truth(kind):
    clip = make_clip(kind, np.random.default_rng(7), "x")
    assert clip.frames.shape == (24, 224, 224, 3) and clip.frames.dtype == np.uint8
    assert clip.waveform.shape == (48000,)
    sounding = [o for o in clip.objects if o.role == "sounding"]
    assert [o.box for o in sounding] == clip.boxes
    if kind == "same_type_one_sounding":
        assert len(sounding) == 1
        silent = [o for o in clip.objects if o.role == "silent"]
        assert 1 <= len(silent) <= 2 and all(o.cls == sounding[0].cls for o in silent)
        assert clip.audio_classes == [sounding[0].cls]
    if kind == "same_type_two_sounding":
        assert len(sounding) == 2 and clip.audio_classes == [sounding[0].cls] * 2
    if kind in ("offscreen", "silence", "noise"):
        assert not clip.is_sounding


@pytest.mark.parametrize("n", [1, 2, 3])
def test_a_row_of_instances_fills_more_than_half_the_frame_without_overlap(n):
    for seed in range(20):
        boxes = place_in_row(np.random.default_rng(seed), n, 224)
        assert len(boxes) == n
        for k, (x0, y0, w, h) in enumerate(boxes):
            assert k * 224 / n <= x0 and x0 + w <= (k + 1) * 224 / n  # inside its own slot
            assert 0 <= y0 and y0 + h <= 224
        assert sum(w * h for _, _, w, h in boxes) > 0.5 * 224 * 224
    with pytest.raises(ValueError, match="at least one"):
        place_in_row(np.random.default_rng(0), 0, 224)


@pytest.mark.parametrize("kind", ["same_type_one_sounding", "same_type_two_sounding"])
def test_same_type_instances_stand_in_a_row_with_the_heard_one_anywhere(kind):
    heard_first, heard_last = 0, 0
    for seed in range(12):
        clip = make_clip(kind, np.random.default_rng(seed), "x")
        row = sorted((o for o in clip.objects if o.role in ("sounding", "silent")), key=lambda o: o.box[0])
        assert sum((o.box[2] - o.box[0]) * (o.box[3] - o.box[1]) for o in row) > 0.5
        for k in range(1, len(row)):
            assert row[k - 1].box[2] <= row[k].box[0]  # side by side, never overlapping
        heard_first += row[0].role == "sounding"
        heard_last += row[-1].role == "sounding"
    assert heard_first > 0 and heard_last > 0


def test_objects_stay_inside_their_ground_truth_box_in_every_frame():
    clip = make_clip("same_type_one_sounding", np.random.default_rng(11), "x")
    still = np.median(clip.frames.astype(np.int16), axis=0)
    moving = (np.abs(clip.frames.astype(np.int16) - still).max(axis=(0, 3)) > 40)
    inside = np.zeros_like(moving)
    for o in clip.objects:
        x0, y0, x1, y1 = o.box_px
        inside[y0:y1, x0:x1] = True
    assert moving.any()
    assert not (moving & ~inside).any()


def test_clips_are_deterministic():
    a = split_clip(0, "test", "mixture", 3)
    b = split_clip(0, "test", "mixture", 3)
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_array_equal(a.waveform, b.waveform)


def test_write_mp4_round_trips_frames_and_sound(tmp_path):
    av = pytest.importorskip("av")
    clip = make_clip("single", np.random.default_rng(1), "x")
    path = write_mp4(tmp_path / "c.mp4", clip.frames, clip.fps, clip.waveform, clip.sample_rate)
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        assert v.codec_context.name == "h264" and v.codec_context.pix_fmt == "yuv420p"
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 24
    assert np.abs(frames[5].astype(int) - clip.frames[5].astype(int)).mean() < 4
    from slavc_lite.audio import load_audio

    audio, sr = load_audio(path)
    assert sr == 16000 and abs(audio.size - 48000) < 2048
    assert [p.name for p in tmp_path.iterdir()] == ["c.mp4"]  # no temporary file left


def test_write_mp4_refuses_bad_frames_and_leaves_no_partial_file(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        write_mp4(tmp_path / "a.mp4", np.zeros((2, 8, 8, 3), np.float32), 8.0)
    with pytest.raises(ValueError, match="no frame"):
        write_mp4(tmp_path / "a.mp4", np.zeros((0, 8, 8, 3), np.uint8), 8.0)
    assert list(tmp_path.iterdir()) == []


def test_toy_video_world_on_disk(tmp_path):
    out = tmp_path / "videos"
    summary = write_toy_videos(out, n_per_kind=1)
    assert not summary.skipped
    manifest = json.loads((out / VIDEO_MANIFEST).read_text())
    assert manifest["kinds"] == list(CLIP_KINDS)
    records = json.loads((out / "test" / CLIPS_FILE).read_text())
    assert [r["kind"] for r in records] == list(CLIP_KINDS)
    for r in records:
        assert (out / "test" / r["file"]).stat().st_size > 0
        assert len(r["boxes"]) == sum(o["role"] == "sounding" for o in r["objects"])
    assert write_toy_videos(out, n_per_kind=1).skipped
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "mine.txt").write_text("keep")
    with pytest.raises(FileExistsError):
        write_toy_videos(tmp_path / "other", n_per_kind=1)
    assert (tmp_path / "other" / "mine.txt").read_text() == "keep"


def test_write_mp4_is_reproducible(tmp_path):
    clip = make_clip("silent", np.random.default_rng(3), "x")
    digests = {hashlib.sha256(write_mp4(tmp_path / f"c{i}.mp4", clip.frames, clip.fps, clip.waveform,
                                        clip.sample_rate).read_bytes()).hexdigest() for i in range(4)}
    assert len(digests) == 1
