"""slavc_lite.video: stream detection and the middle frame of a clip."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from slavc_lite.video import has_audio_stream, has_video_stream, read_middle_frame
from tests import media_factory as mf


def grey_level(im: Image.Image) -> float:
    return float(np.asarray(im).mean())


@pytest.mark.parametrize(("n_frames", "fps", "expected_index"), [
    (20, 10, 10),  # 2.0 s: middle at 1.0 s = frame 10
    (21, 10, 10),  # 2.1 s: middle at 1.05 s, frames 10 (1.0 s) and 11 (1.1 s) tie; the first wins
    (25, 5, 12),   # 5.0 s: middle at 2.5 s = frame 12 (2.4 s) is nearest
    (1, 10, 0),    # a single frame
])
def test_middle_frame_is_the_frame_nearest_the_middle(tmp_path, n_frames, fps, expected_index):
    path = mf.write_video(tmp_path / f"count_{n_frames}_{fps}.mp4", n_frames=n_frames, fps=fps)
    im = read_middle_frame(path)
    assert im.mode == "RGB" and im.size == (64, 48)
    assert abs(grey_level(im) - 10 * expected_index) <= 3


def test_middle_frame_of_a_clip_with_audio_and_faststart(tmp_path):
    path = mf.write_video(tmp_path / "av.mp4", n_frames=30, fps=10, with_audio=True, faststart=True)
    assert abs(grey_level(read_middle_frame(path)) - 150) <= 3


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_middle_of_the_video_stream_not_of_the_longer_audio(tmp_path, suffix):
    # mkv stores no per-stream duration and the container's is the audio's 6 s: the middle
    # must still be that of the 2 s of video (frame 10), not 3 s (past the last frame).
    path = mf.write_video(tmp_path / f"short_video{suffix}", n_frames=20, fps=10, with_audio=True,
                          audio_seconds=6.0)
    assert abs(grey_level(read_middle_frame(path)) - 100) <= 3


def test_stream_detection(tmp_path):
    av_clip = mf.write_video(tmp_path / "av.mp4", n_frames=10, with_audio=True)
    video_only = mf.write_video(tmp_path / "video_only.mp4", n_frames=10)
    audio_only = mf.write_aac(tmp_path / "audio_only.m4a", seconds=0.5)
    wav = mf.write_audio(tmp_path / "tone.wav", mf.tone(seconds=0.2), 16000)
    assert has_audio_stream(av_clip) and has_video_stream(av_clip)
    assert not has_audio_stream(video_only) and has_video_stream(video_only)
    assert has_audio_stream(audio_only) and not has_video_stream(audio_only)
    assert has_audio_stream(wav) and not has_video_stream(wav)


def test_a_still_image_is_a_one_frame_video(tmp_path):
    path = mf.write_image(tmp_path / "still.jpg", "RGB", size=(40, 30))
    assert has_video_stream(path) and not has_audio_stream(path)
    assert read_middle_frame(path).size == (40, 30)
