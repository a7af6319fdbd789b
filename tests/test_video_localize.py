"""Localizing a video over time: frame sampling by timestamp, per-frame audio windows, batched
maps, the rendered video / timeline / result.json, and ``slavc-lite localize --video``.

Clips come from ``tests/video_factory.py``: frame ``i`` has a colour that encodes ``i`` and the
sound is a tone of ``300 + 100 * floor(t)`` Hz, so which frame and which stretch of sound were
used can be read back.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from matplotlib import colormaps
from PIL import Image

from slavc_lite import maps
from slavc_lite.audio import SAMPLE_RATE, log_spectrogram, normalize_log_spectrogram
from slavc_lite.cli import main
from slavc_lite.errors import InputFileError
from slavc_lite.localize import RANDOM_TITLE, Localizer
from slavc_lite.video_clip import TruncatedClipWarning, read_clip, read_clip_samplings
from slavc_lite.video_localize import (
    audio_window,
    frame_images,
    frame_spectrograms,
    localize_video,
    peak_locations,
)
from slavc_lite.video_output import (
    FILES,
    overlay_frames,
    timeline_figure,
    write_localized_video,
    write_outputs,
)
from tests import video_factory as vf

SMALL = ["--backbone", "mobilenet_v3_small"]
WINDOW = 3 * SAMPLE_RATE


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory) -> Path:
    """4 s, 10 frames/s, 64 x 48, stereo AAC at 44.1 kHz."""
    return vf.write_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", seconds=4.0, fps=10).path


@pytest.fixture(scope="module")
def localizer() -> Localizer:
    torch.manual_seed(0)
    return Localizer.from_weights(random_weights=True, backbone="mobilenet_v3_small", device="cpu")


@pytest.fixture(scope="module")
def localized(localizer, clip_path):
    return localize_video(localizer, read_clip(clip_path, fps=4), alpha=0.4, batch_size=5)


def indices(frames: np.ndarray) -> list[int]:
    return [vf.frame_index_of(frame[frame.shape[0] // 2, frame.shape[1] // 2]) for frame in frames]


def write_vfr_clip(path: Path, times: list[float], seconds: float, size=(64, 48)) -> Path:
    """A clip whose frame ``i`` (colour ``i``) starts at ``times[i]`` seconds (millisecond clock)."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=1000)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "18", "bf": "0"}
        audio = out.add_stream("aac", rate=16000, layout="mono")
        for i, t in enumerate(times):
            rgb = np.empty((size[1], size[0], 3), np.uint8)
            rgb[...] = vf.frame_colour(i)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = int(round(t * 1000)), Fraction(1, 1000)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        sound = vf.tone(seconds, 16000)[None]
        for start in range(0, sound.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(sound[:, start:start + 1024]),
                                               format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 16000, start, Fraction(1, 16000)
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))
    return path


# ---------------------------------------------------------------------------- reading a clip


def test_frames_are_sampled_by_presentation_time(clip_path):
    clip = read_clip(clip_path, fps=3)
    # Targets k/3 s before the 4.0 s end; the frame on screen at k/3 is floor(10 k / 3).
    assert len(clip) == 12
    np.testing.assert_allclose(clip.times, np.arange(12) / 3)
    assert indices(clip.frames) == [10 * k // 3 for k in range(12)]
    np.testing.assert_allclose(clip.source_times, [(10 * k // 3) / 10 for k in range(12)])
    assert clip.native_fps == 10 and clip.duration == pytest.approx(4.0)
    assert clip.frames.dtype == np.uint8 and clip.frames.shape[1:] == (48, 64, 3)
    assert clip.sample_rate == SAMPLE_RATE and clip.audio_seconds == pytest.approx(4.0, abs=0.01)
    assert clip.audio_offset == 0.0 and clip.decoded_frames == 40


def test_every_frame_and_faster_than_native_sampling(clip_path):
    every = read_clip(clip_path, fps=None)
    assert indices(every.frames) == list(range(40))
    np.testing.assert_allclose(every.times, np.arange(40) / 10)
    fast = read_clip(clip_path, fps=25)  # each frame shown 2 or 3 times
    assert len(fast) == 100 and indices(fast.frames) == [10 * k // 25 for k in range(100)]


def test_resize_on_decode(clip_path):
    assert read_clip(clip_path, fps=2, size=32).frames.shape[1:] == (24, 32, 3)
    assert read_clip(clip_path, fps=2, size=(20, 30)).frames.shape[1:] == (30, 20, 3)
    assert read_clip(clip_path, fps=2, size=1000).frames.shape[1:] == (48, 64, 3)  # never enlarged


def test_variable_frame_rate_uses_the_timestamps(tmp_path):
    times = [0.0, 0.1, 0.15, 0.5, 0.55, 1.2, 1.3, 2.0]
    path = write_vfr_clip(tmp_path / "vfr.mp4", times, seconds=2.5)
    clip = read_clip(path, fps=4)
    on_screen = [max(i for i, t in enumerate(times) if t <= k / 4 + 1e-9) for k in range(len(clip))]
    assert indices(clip.frames) == on_screen
    assert on_screen[:7] == [0, 2, 3, 4, 4, 5, 6]  # 0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5 s
    np.testing.assert_allclose(clip.source_times, [times[i] for i in on_screen], atol=1e-3)
    every = read_clip(path, fps=None)
    np.testing.assert_allclose(every.times, times, atol=1e-3)
    assert indices(every.frames) == list(range(len(times)))


@pytest.mark.parametrize("variable_rate", [False, True])
def test_one_decoding_pass_gives_every_sampling_read_clip_gives(clip_path, tmp_path, variable_rate):
    path = clip_path
    if variable_rate:
        path = write_vfr_clip(tmp_path / "vfr.mp4", [0.0, 0.1, 0.15, 0.5, 0.55, 1.2, 1.3, 2.0], seconds=2.5)
    samplings = [(3.0, None), (None, (32, 24)), (25.0, 40), (None, None)]
    clips = read_clip_samplings(path, samplings)
    assert len(clips) == len(samplings)
    for clip, (fps, size) in zip(clips, samplings, strict=True):
        alone = read_clip(path, fps=fps, size=size)
        for field in ("frames", "times", "source_times", "audio"):
            np.testing.assert_array_equal(getattr(clip, field), getattr(alone, field), err_msg=field)
        assert (clip.fps, clip.duration, clip.original_size, clip.decoded_frames, clip.audio_offset) == \
            (alone.fps, alone.duration, alone.original_size, alone.decoded_frames, alone.audio_offset)
    assert clips[0].audio is clips[1].audio  # the sound is decoded once


def test_samplings_are_checked_before_the_file_is_read(tmp_path):
    missing = tmp_path / "missing.mp4"
    with pytest.raises(ValueError, match="empty"):
        read_clip_samplings(missing, [])
    with pytest.raises(ValueError, match="fps"):
        read_clip_samplings(missing, [(2.0, None), (0.0, None)])
    with pytest.raises(ValueError, match="size"):
        read_clip_samplings(missing, [(2.0, (0, 10))])


def test_truncated_clip_is_read_as_far_as_it_decodes_with_a_warning(tmp_path):
    full = vf.write_clip(tmp_path / "full.mp4", seconds=4.0, fps=10, faststart=True).path
    cut = vf.write_truncated(full, tmp_path / "cut.mp4", fraction=0.8)
    with pytest.warns(TruncatedClipWarning, match="cut.mp4") as caught:
        clip = read_clip(cut, fps=2)
    assert any("video frames stop" in str(w.message) for w in caught)
    assert 2 <= len(clip) < 8 and clip.duration < 3.9
    assert indices(clip.frames) == [5 * k for k in range(len(clip))]
    assert 0 < clip.audio_seconds < 3.9


@pytest.mark.parametrize(("case", "problem"), [
    ("no_video", "has no video stream"),
    ("no_audio", "has no audio stream"),
    ("one_frame", "a video needs at least 2 frames"),
    ("empty", "empty"),
    ("text", "not a readable"),
    ("truncated", "not a readable"),  # moov atom at the end: nothing decodes
])
def test_bad_clips_are_refused_naming_the_file(tmp_path, case, problem):
    path = bad_clip(tmp_path, case)
    with pytest.raises(InputFileError, match=problem) as info:
        read_clip(path, fps=2)
    assert info.value.path == str(path)


def bad_clip(folder: Path, case: str) -> Path:
    path = folder / f"{case}.mp4"
    if case == "no_video":
        return vf.write_clip(folder / "no_video.m4a", video_codec=None, seconds=1.0).path
    if case == "no_audio":
        return vf.write_clip(path, audio_codec=None, seconds=1.0).path
    if case == "one_frame":
        return vf.write_clip(path, seconds=0.1, fps=10).path
    if case == "empty":
        return vf.write_empty(path)
    if case == "text":
        return vf.write_text_as_video(path)
    full = vf.write_clip(folder / "whole.mp4", seconds=2.0).path
    return vf.write_truncated(full, path, fraction=0.6)


# ---------------------------------------------------------------------------- audio windows


def test_each_frame_gets_the_three_seconds_centred_on_it(tmp_path):
    clip = read_clip(vf.write_clip(tmp_path / "long.mp4", seconds=6.0, fps=10).path, fps=2)
    i = int(np.flatnonzero(np.isclose(clip.times, 2.5))[0])
    window = audio_window(clip.audio, clip.sample_rate, clip.times[i])
    assert window.shape == (WINDOW,)
    half = SAMPLE_RATE // 2
    # [1.0, 1.5) s is 400 Hz, the centre 2.5 s is 500 Hz, [3.5, 4.0) s is 600 Hz.
    assert vf.dominant_hz(window[:half], SAMPLE_RATE) == pytest.approx(400, abs=5)
    assert vf.dominant_hz(window[WINDOW // 2 - half // 2:WINDOW // 2 + half // 2], SAMPLE_RATE) == \
        pytest.approx(500, abs=5)
    assert vf.dominant_hz(window[-half:], SAMPLE_RATE) == pytest.approx(600, abs=5)
    np.testing.assert_array_equal(window, clip.audio[SAMPLE_RATE:4 * SAMPLE_RATE])


def test_windows_past_the_ends_tile_what_exists(clip_path):
    clip = read_clip(clip_path, fps=4)
    audio, rate = clip.audio, clip.sample_rate
    first = audio_window(audio, rate, 0.0)  # [-1.5, 1.5]: 1.5 s exist, tiled twice
    np.testing.assert_array_equal(first, np.tile(audio[:24000], 2))
    last = audio_window(audio, rate, 3.75)  # [2.25, 5.25]: 2.25..4.0 s exist (1.75 s)
    existing = audio[36000:]
    assert existing.shape[0] == pytest.approx(28000, abs=20)
    np.testing.assert_array_equal(last, np.tile(existing, 2)[:WINDOW])
    assert vf.dominant_hz(last[:8000], rate) == pytest.approx(500, abs=5)  # 2.25..2.75 s
    assert vf.dominant_hz(last[existing.shape[0]:existing.shape[0] + 8000], rate) == pytest.approx(500, abs=5)


def test_window_without_audio_is_refused():
    with pytest.raises(ValueError, match="audio samples"):
        audio_window(np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE, 3.0)


def test_frame_spectrograms_are_the_official_ones(clip_path):
    clip = read_clip(clip_path, fps=2)
    specs = frame_spectrograms(clip)
    assert specs.shape == (len(clip), 1, 257, 200) and specs.dtype == torch.float32
    for i in (0, 3, len(clip) - 1):
        window = audio_window(clip.audio, clip.sample_rate, clip.times[i])
        expected = normalize_log_spectrogram(log_spectrogram(window, clip.sample_rate))
        np.testing.assert_allclose(specs[i, 0].numpy(), expected, rtol=1e-6, atol=1e-6)


def test_frame_images_are_the_official_test_transform():
    from slavc_lite.images import test_transform

    frames = np.random.default_rng(0).integers(0, 256, (3, 50, 70, 3), dtype=np.uint8)
    expected = torch.stack([test_transform()(Image.fromarray(frame)) for frame in frames])
    assert torch.equal(frame_images(frames), expected)


# ---------------------------------------------------------------------------- batched maps


def test_batch_and_single_localization_agree(localizer):
    generator = torch.Generator().manual_seed(3)
    images = torch.randn(3, 3, 224, 224, generator=generator)
    specs = torch.randn(3, 1, 257, 200, generator=generator)
    batch = localizer.localize_batch(images, specs, alpha=0.3)
    assert set(batch) == {"slavc", "ogl", "vsl"}
    for i in range(3):
        single = localizer.localize(images[i], specs[i], alpha=0.3)
        for name in ("slavc", "ogl", "vsl"):
            np.testing.assert_allclose(batch[name][i].numpy(), getattr(single, name), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="spectrograms"):
        localizer.localize_batch(images, specs[:2])


def test_video_maps_are_the_still_pipeline_frame_by_frame(localizer, clip_path, localized):
    clip = read_clip(clip_path, fps=4)
    assert len(localized) == 16 and set(localized.maps) == {"slavc", "ogl", "vsl"}
    specs = frame_spectrograms(clip)
    images = frame_images(clip.frames)
    for i in (0, 7, 15):
        single = localizer.localize(images[i], specs[i], alpha=0.4)
        for name in ("slavc", "ogl", "vsl"):
            assert localized.maps[name].shape == (16, 224, 224) and localized.maps[name].dtype == np.float32
            np.testing.assert_allclose(localized.maps[name][i], getattr(single, name), atol=1e-5, rtol=0)
            assert localized.confidences[name][i] == pytest.approx(single.confidences[name], abs=1e-5)
    for name, values in localized.maps.items():
        np.testing.assert_allclose(localized.confidences[name], maps.confidence(torch.from_numpy(values)))
        assert localized.peaks[name].shape == (16, 2)
        assert ((localized.peaks[name] > 0) & (localized.peaks[name] < 1)).all()
    assert localized.random_weights and localized.source == clip_path and localized.fps == 4


def test_batch_size_does_not_change_the_maps(localizer, clip_path, localized):
    one = localize_video(localizer, clip_path, fps=4, alpha=0.4, batch_size=1)
    for name in localized.maps:
        np.testing.assert_allclose(one.maps[name], localized.maps[name], atol=1e-5, rtol=0)


def test_peaks_reblend_and_added_maps(localized):
    scores = np.zeros((2, 224, 224), np.float32)
    scores[0, 10, 200] = 1.0
    scores[1, 223, 0] = 1.0
    np.testing.assert_allclose(peak_locations(scores), [[200.5 / 224, 10.5 / 224], [0.5 / 224, 223.5 / 224]])
    other = localized.with_alpha(0.9)
    np.testing.assert_allclose(other.maps["vsl"], 0.9 * localized.maps["slavc"] + 0.1 * localized.maps["ogl"],
                               atol=1e-6)
    assert other.alpha == 0.9 and localized.alpha == 0.4
    assert not np.allclose(other.confidences["vsl"], localized.confidences["vsl"])
    other.add_map("centre", np.broadcast_to(scores[:1], (len(other), 224, 224)))
    assert other.peaks["centre"][0].tolist() == pytest.approx([200.5 / 224, 10.5 / 224])
    assert "centre" not in localized.maps
    with pytest.raises(ValueError, match="must be"):
        other.add_map("wrong", scores)


# ---------------------------------------------------------------------------- outputs


def test_overlay_uses_the_still_figures_colours():
    frames = np.full((2, 4, 6, 3), 100, np.uint8)
    scores = np.stack([np.zeros((224, 224)), np.full((224, 224), 1.7)]).astype(np.float32)
    out = overlay_frames(frames, scores)
    low = np.asarray(colormaps["jet"](0.0, bytes=True)[:3], np.float64)
    high = np.asarray(colormaps["jet"](1.0, bytes=True)[:3], np.float64)  # 1.7 is drawn as 1
    np.testing.assert_array_equal(out[0], np.broadcast_to(np.rint(50 + low / 2), (4, 6, 3)))
    np.testing.assert_array_equal(out[1], np.broadcast_to(np.rint(50 + high / 2), (4, 6, 3)))


def test_outputs_decode_back(localized, tmp_path):
    paths = write_outputs(localized, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(FILES.values())
    with av.open(str(paths["video"])) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "h264" and video.codec_context.pix_fmt == "yuv420p"
        assert (video.width, video.height) == (64, 48)
        assert audio.codec_context.name == "aac" and audio.rate == 44100 and audio.channels == 2
        assert float(audio.duration * audio.time_base) == pytest.approx(4.0, abs=0.05)
        decoded = [(frame.time, frame.to_ndarray(format="rgb24")) for frame in container.decode(video)]
    assert [t for t, _ in decoded] == pytest.approx(list(np.arange(16) / 4))
    rendered = overlay_frames(localized.frames, localized.maps["vsl"])
    bottom = slice(36, 48)  # below the caption band (two lines: the map and the random-weights warning)
    assert np.abs(decoded[5][1][bottom].astype(int) - rendered[5][bottom]).mean() < 6
    record = json.loads(paths["result"].read_text())
    assert record["random_weights"] is True and record["fps"] == 4 and record["alpha"] == 0.4
    assert record["source"] == str(localized.source) and record["maps"] == ["ogl", "slavc", "vsl"]
    assert record["synchrony_gate"] is None
    assert len(record["frames"]) == 16 and record["frames"][3]["time"] == 0.75
    frame = record["frames"][3]
    assert frame["confidence"]["vsl"] == pytest.approx(localized.confidences["vsl"][3], abs=1e-6)
    assert frame["peak"]["slavc"]["x"] == pytest.approx(localized.peaks["slavc"][3, 0], abs=1e-6)
    with Image.open(paths["timeline"]) as png:
        assert RANDOM_TITLE in png.text["Title"]


def test_odd_sizes_are_cropped_even_and_the_title_names_real_weights(localized, tmp_path):
    odd = localized.with_alpha(0.4)
    odd.frames = np.ascontiguousarray(np.pad(localized.frames, ((0, 0), (0, 1), (0, 1), (0, 0))))
    odd.random_weights, odd.weights = False, {"slavc": "run.pth", "ogl": "objects.pth"}
    path = write_localized_video(odd, tmp_path / "odd.mp4")
    with av.open(str(path)) as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == (64, 48)
    title = timeline_figure(odd).get_suptitle()
    assert "run.pth" in title and "random" not in title


def test_a_failed_write_leaves_the_previous_file_untouched(localized, tmp_path, monkeypatch):
    path = write_localized_video(localized, tmp_path / "localized.mp4")
    before = path.read_bytes()
    import slavc_lite.video_output as output

    calls = {"n": 0}
    real = output._caption

    def failing(frame, lines):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("disk full")
        return real(frame, lines)

    monkeypatch.setattr(output, "_caption", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        write_localized_video(localized, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["localized.mp4"]  # no temporary file left


# ---------------------------------------------------------------------------- command line


def test_cli_video_end_to_end(clip_path, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["localize", "--video", str(clip_path), "--out", str(out), "--random-weights", "--fps", "2.5",
            "--alpha", "0.6", "--batch-size", "4", "--device", "cpu", *SMALL]
    assert main(args) == 0
    streams = capsys.readouterr()
    assert RANDOM_TITLE in streams.err
    assert "localized 10 frames of clip.mp4" in streams.out and "localized.mp4" in streams.out
    record = json.loads((out / "result.json").read_text())
    assert record["fps"] == 2.5 and record["alpha"] == 0.6 and record["random_weights"] is True
    assert record["device"] == "cpu" and record["backbone"] == "mobilenet_v3_small"
    assert [f["time"] for f in record["frames"]] == pytest.approx(list(np.arange(10) / 2.5))
    with av.open(str(out / "localized.mp4")) as container:
        assert container.streams.video[0].frames == 10 and len(container.streams.audio) == 1


@pytest.mark.parametrize("case", ["no_video", "no_audio", "one_frame", "empty", "text", "truncated"])
def test_cli_refuses_bad_clips_in_one_line(tmp_path, capsys, case):
    path = bad_clip(tmp_path, case)
    out = tmp_path / "out"
    assert main(["localize", "--video", str(path), "--out", str(out), "--random-weights", *SMALL]) == 2
    err = " ".join(capsys.readouterr().err.split())  # the message is wrapped at 100 columns
    assert "Traceback" not in err and str(path) in err
    assert not out.exists()


def test_cli_usage_errors(clip_path, tmp_path, capsys):
    out = str(tmp_path / "out")
    assert main(["localize", "--video", str(clip_path), "--image", "x.jpg", "--out", out]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["localize", "--out", out, "--random-weights"]) == 2
    assert "--video" in capsys.readouterr().err
    for fps in ("0", "-1", "nan", "inf", "two"):
        assert main(["localize", "--video", str(clip_path), "--out", out, "--fps", fps]) == 2
        assert "positive" in capsys.readouterr().err
    assert main(["localize", "--video", str(clip_path), "--out", out]) == 2  # no weights
    assert "--random-weights" in capsys.readouterr().err


def test_cli_uses_a_truncated_clip_as_far_as_it_decodes(tmp_path, capsys):
    full = vf.write_clip(tmp_path / "full.mp4", seconds=4.0, fps=10, faststart=True).path
    cut = vf.write_truncated(full, tmp_path / "cut.mp4", fraction=0.8)
    out = tmp_path / "out"
    assert main(["localize", "--video", str(cut), "--out", str(out), "--random-weights", *SMALL]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"warning: {cut}: video frames stop at" in err
    record = json.loads((out / "result.json").read_text())
    assert 2 <= len(record["frames"]) < 8


def test_frames_far_past_the_end_of_the_sound_are_refused(tmp_path, capsys):
    from tests import media_factory as mf

    path = mf.write_video(tmp_path / "short_sound.mkv", n_frames=50, fps=10, with_audio=True,
                          audio_seconds=1.0)
    out = tmp_path / "out"
    assert main(["localize", "--video", str(path), "--out", str(out), "--random-weights", *SMALL]) == 2
    err = " ".join(capsys.readouterr().err.split())  # the message is wrapped at 100 columns
    assert "Traceback" not in err and str(path) in err
    assert "no sound around the frame at 2.50 s" in err and "audio samples lie within 1.5 s" in err
    assert not out.exists()


def test_every_frame_of_a_variable_frame_rate_clip_keeps_its_times_in_the_video(localizer, tmp_path):
    times = [0.0, 0.1, 0.15, 0.5, 0.55, 1.2, 1.3, 2.0]
    path = write_vfr_clip(tmp_path / "vfr.mp4", times, seconds=2.5)
    result = localize_video(localizer, path, fps=None)
    assert result.fps is None and len(result) == len(times)
    written = write_localized_video(result, tmp_path / "out.mp4")
    with av.open(str(written)) as container:
        decoded = [frame.time for frame in container.decode(video=0)]
    assert decoded == pytest.approx(times, abs=1e-3)


def test_another_sound_track_or_none_to_put_back(localized, tmp_path):
    from tests import media_factory as mf

    wav = mf.write_audio(tmp_path / "other.wav", mf.tone(seconds=2.0), 16000)
    path = write_localized_video(localized, tmp_path / "other.mp4", audio_source=wav)
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        assert audio.rate == 16000 and audio.channels == 1
        assert float(audio.duration * audio.time_base) == pytest.approx(2.0, abs=0.05)
    silent = vf.write_clip(tmp_path / "silent.mp4", audio_codec=None, seconds=1.0).path
    with pytest.raises(InputFileError, match="no audio stream"):
        write_localized_video(localized, tmp_path / "none.mp4", audio_source=silent)
    assert not (tmp_path / "none.mp4").exists() and not list(tmp_path.glob(".none*"))


def test_video_options_without_a_video_are_refused(tmp_path, capsys):
    args = ["localize", "--image", "x.jpg", "--audio", "y.wav", "--out", str(tmp_path / "out"), "--fps", "3"]
    assert main(args) == 2
    assert "--synchrony and --synchrony-smooth go with --video" in capsys.readouterr().err
    for option in (["--synchrony", "0.5"], ["--synchrony-smooth", "4"]):
        args[-2:] = option
        assert main(args) == 2
        assert "go with --video" in capsys.readouterr().err


def test_cli_video_with_synchrony(clip_path, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["localize", "--video", str(clip_path), "--out", str(out), "--random-weights", "--fps", "2",
            "--synchrony", "0.5", "--device", "cpu", *SMALL]
    assert main(args) == 0
    record = json.loads((out / "result.json").read_text())
    frame = record["frames"][0]
    assert {"synchrony", "slavc+sync", "vsl+sync"} <= set(frame["confidence"])
    assert record["synchrony_gate"] == {"weight": 0.5, "smooth": 1.0}
    smoothed = tmp_path / "smoothed"
    assert main([*args[:4], str(smoothed), *args[5:-len(SMALL)], "--synchrony-smooth", "4", *SMALL]) == 0
    wide = json.loads((smoothed / "result.json").read_text())
    assert wide["synchrony_gate"] == {"weight": 0.5, "smooth": 4.0}
    assert main([*args[:-len(SMALL) - 4], "--synchrony", "1.5", *SMALL]) == 2
    assert "synchrony weight" in capsys.readouterr().err
    no_weight = [a for a in args if a not in ("--synchrony", "0.5")]
    assert main([*no_weight[:-len(SMALL)], "--synchrony-smooth", "4", *SMALL]) == 2
    assert "--synchrony-smooth goes with --synchrony" in capsys.readouterr().err


def test_add_synchrony_finds_the_square_that_moves_with_the_sound(localizer, tmp_path):
    """A clip whose left square brightens with the sound's loudness and whose right square
    flickers on its own: the synchrony map of every sampled frame peaks on the left one."""
    from slavc_lite.data.toy.motion import frame_envelope
    from slavc_lite.video_localize import add_synchrony
    from slavc_lite.video_writer import write_mp4

    rng = np.random.default_rng(0)
    n, fps, sr = 32, 8.0, 16000
    heard, other = rng.random(n), rng.random(n)
    frames = np.full((n, 224, 224, 3), 40, np.uint8)
    for k in range(n):
        frames[k, 80:140, 20:80] = int(60 + 190 * heard[k])
        frames[k, 80:140, 144:204] = int(60 + 190 * other[k])
    tone = np.sin(2 * np.pi * 330 * np.arange(int(sr / fps)) / sr)
    waveform = np.concatenate([(0.05 + 0.6 * heard[k]) * tone for k in range(n)]).astype(np.float32)
    assert np.corrcoef(frame_envelope(waveform, sr, n, fps), heard)[0, 1] > 0.99
    path = write_mp4(tmp_path / "squares.mp4", frames, fps, waveform, sr)
    result = localize_video(localizer, read_clip(path, fps=2), batch_size=8)
    add_synchrony(result, read_clip(path, fps=None), weight=1.0)
    assert result.maps["synchrony"].shape == (len(result), 224, 224)
    for x, y in result.peaks["synchrony"]:
        assert 20 / 224 <= x < 80 / 224 and 80 / 224 <= y < 140 / 224
    wide = localize_video(localizer, read_clip(path, fps=2), batch_size=8)
    add_synchrony(wide, read_clip(path, fps=None), weight=1.0, smooth=4.0)
    for x, y in wide.peaks["synchrony"]:
        assert 20 / 224 <= x < 80 / 224 and 80 / 224 <= y < 140 / 224
    # A wider Gaussian spreads the square's edges over it: lower peaks, more of the square lit.
    assert wide.maps["synchrony"].max() < result.maps["synchrony"].max()
    inside = (slice(None), slice(90, 130), slice(30, 70))
    assert (wide.maps["synchrony"][inside] > 0.5 * wide.maps["synchrony"].max()).mean() >= \
        (result.maps["synchrony"][inside] > 0.5 * result.maps["synchrony"].max()).mean()
