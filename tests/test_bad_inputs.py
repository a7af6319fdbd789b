"""Every loader refuses a bad file with an InputFileError that names it (never garbage, never
a random other sample as the official loader does)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from slavc_lite.audio import load_audio, load_spectrogram
from slavc_lite.errors import InputFileError
from slavc_lite.images import load_image, load_image_tensor
from slavc_lite.video import has_audio_stream, has_video_stream, read_middle_frame
from tests import media_factory as mf

# --- makers: each writes one bad file into a folder and returns its path ---------------------


def missing(d: Path) -> Path:
    return d / "does_not_exist.wav"


def empty(d: Path) -> Path:
    p = d / "empty_file.wav"
    p.write_bytes(b"")
    return p


def text(d: Path) -> Path:
    p = d / "notes_not_media.wav"
    p.write_text("this is a text file, not audio or a picture\n" * 50)
    return p


def directory(d: Path) -> Path:
    p = d / "a_folder.jpg"
    p.mkdir()
    return p


def jpeg_as_audio(d: Path) -> Path:
    return mf.write_image(d / "photo_given_as_audio.jpg", "RGB")


def wav_as_image(d: Path) -> Path:
    return mf.write_audio(d / "sound_given_as_image.wav", mf.tone(seconds=0.2), 16000)


def truncated_wav(d: Path) -> Path:
    return mf.truncate(mf.write_audio(d / "cut_audio.wav", mf.tone(seconds=1.0), 16000, "PCM_16"))


def truncated_flac(d: Path) -> Path:
    return mf.truncate(mf.write_audio(d / "cut_audio.flac", mf.real_looking_audio(1.0), 16000))


def truncated_ogg(d: Path) -> Path:
    # long enough that libsndfile alone would read the first half as a valid, shorter file
    return mf.truncate(mf.write_audio(d / "cut_audio.ogg", mf.real_looking_audio(5.0), 16000))


def truncated_mp3(d: Path) -> Path:
    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile cannot write mp3")
    return mf.truncate(mf.write_audio(d / "cut_audio.mp3", mf.real_looking_audio(2.0), 16000))


def zero_length_wav(d: Path) -> Path:
    p = mf.write_audio(d / "no_frames.wav", np.zeros(0, np.float32), 16000, "PCM_16")
    assert sf.info(p).frames == 0 and p.stat().st_size > 0  # a valid header, nothing else
    return p


def nan_wav(d: Path) -> Path:
    x = mf.tone(seconds=0.2)
    x[100] = np.nan
    return mf.write_audio(d / "has_nan.wav", x, 16000, "FLOAT")


def truncated_mp4(d: Path) -> Path:  # the index (moov) is at the end: the cut file cannot be opened
    return mf.truncate(mf.write_video(d / "cut_clip.mp4", n_frames=30, with_audio=True))


def truncated_faststart_mp4(d: Path) -> Path:  # the index is first: the file opens, data is missing
    return mf.truncate(mf.write_video(d / "cut_fast.mp4", n_frames=40, with_audio=True, faststart=True))


def video_only_mp4(d: Path) -> Path:
    return mf.write_video(d / "silent_movie.mp4", n_frames=10)


def audio_only_m4a(d: Path) -> Path:
    return mf.write_aac(d / "podcast_only_audio.m4a", seconds=0.5)


def truncated_jpeg(d: Path) -> Path:
    return mf.truncate(mf.write_image(d / "cut_photo.jpg", "RGB", size=(200, 150), quality=95))


def truncated_png(d: Path) -> Path:
    return mf.truncate(mf.write_image(d / "cut_picture.png", "RGB", size=(200, 150)))


def corrupt_jpeg(d: Path) -> Path:  # right magic bytes, garbage after
    p = d / "garbage_after_header.jpg"
    p.write_bytes(b"\xff\xd8\xff\xe0" + np.random.default_rng(0).integers(0, 256, 2000, np.uint8).tobytes())
    return p


COMMON = [missing, empty, text, directory]
BAD_AUDIO = COMMON + [jpeg_as_audio, truncated_wav, truncated_flac, truncated_ogg, truncated_mp3,
                      zero_length_wav, nan_wav, truncated_mp4, truncated_faststart_mp4, video_only_mp4]
BAD_IMAGE = COMMON + [wav_as_image, truncated_jpeg, truncated_png, corrupt_jpeg, truncated_mp4]
BAD_VIDEO = COMMON + [truncated_mp4, truncated_faststart_mp4, audio_only_m4a, wav_as_image]


def assert_refused(loader: Callable, path: Path) -> InputFileError:
    with pytest.raises(InputFileError, match=re.escape(path.name)) as info:
        loader(path)
    assert str(info.value).startswith(str(path))  # the message leads with the path
    return info.value


@pytest.mark.parametrize("loader", [load_audio, load_spectrogram], ids=lambda f: f.__name__)
@pytest.mark.parametrize("make", BAD_AUDIO, ids=lambda f: f.__name__)
def test_audio_loaders_refuse(tmp_path, loader, make):
    assert_refused(loader, make(tmp_path))


@pytest.mark.parametrize("loader", [load_image, load_image_tensor], ids=lambda f: f.__name__)
@pytest.mark.parametrize("make", BAD_IMAGE, ids=lambda f: f.__name__)
def test_image_loaders_refuse(tmp_path, loader, make):
    assert_refused(loader, make(tmp_path))


@pytest.mark.parametrize("make", BAD_VIDEO, ids=lambda f: f.__name__)
def test_read_middle_frame_refuses(tmp_path, make):
    assert_refused(read_middle_frame, make(tmp_path))


@pytest.mark.parametrize("make", [missing, empty, text, truncated_mp4], ids=lambda f: f.__name__)
def test_stream_probes_refuse_unreadable_files(tmp_path, make):
    path = make(tmp_path)
    assert_refused(has_audio_stream, path)
    assert_refused(has_video_stream, path)


def test_messages_say_what_is_wrong(tmp_path):
    cases = {
        missing: "not found",
        empty: "empty",
        truncated_wav: "truncated",
        zero_length_wav: "no audio samples",
        video_only_mp4: "no audio stream",
        truncated_faststart_mp4: "truncated",
    }
    for make, words in cases.items():
        assert words in str(assert_refused(load_audio, make(tmp_path))), make.__name__
    assert "truncated" in str(assert_refused(load_image, truncated_jpeg(tmp_path)))
    assert "no video stream" in str(assert_refused(read_middle_frame, audio_only_m4a(tmp_path)))
