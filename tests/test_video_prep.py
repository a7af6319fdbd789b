"""Video clips -> frames/<id>.jpg + audio/<id>.wav (slavc_lite.data.video_prep).

The clips come from tests/video_factory.py: frame i has a colour that encodes i, and the tone's
frequency says which second of the source a stretch of audio comes from.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from slavc_lite.data import video_prep
from slavc_lite.data.commands import add_prepare_parser
from slavc_lite.data.video_prep import (
    FAILURES_CSV,
    PARTIAL_DIR,
    completed_ids,
    decode_clip,
    exclusive_output,
    find_videos,
    prepare_clip,
    prepare_videos,
    read_failures,
    sample_paths,
)
from slavc_lite.errors import InputFileError, SlavcLiteError
from tests.video_factory import (
    dominant_hz,
    frame_index_of,
    tone_hz,
    write_clip,
    write_empty,
    write_text_as_video,
    write_truncated,
)

SR = 16000
REPO = Path(__file__).resolve().parents[1]

GOOD = {  # id -> (seconds, fps, expected middle frame index)
    "twelve": (12.0, 10, 60),
    "four": (4.0, 10, 20),
    "mkv_mp3": (6.0, 10, 30),
    "mov_pcm": (6.0, 10, 30),
}
BAD = {  # id -> expected words in the reason
    "no_audio": "no audio stream",
    "no_video": "no video stream",
    "truncated": "cannot open",
    "truncated_faststart": "truncated",
    "empty": "empty file",
    "text": "cannot open",
}


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """A folder of good and bad clips (plus a README that is not a video)."""
    folder = tmp_path_factory.mktemp("clips")
    write_clip(folder / "twelve.mp4", seconds=12.0)
    write_clip(folder / "four.mp4", seconds=4.0)
    write_clip(folder / "mkv_mp3.mkv", seconds=6.0, video_codec="mpeg4", audio_codec="mp3")
    write_clip(folder / "mov_pcm.mov", seconds=6.0, audio_codec="pcm_s16le", right_gain=0.0)
    write_clip(folder / "no_audio.mp4", seconds=3.0, audio_codec=None)
    write_clip(folder / "no_video.mp4", seconds=3.0, video_codec=None)
    scratch = tmp_path_factory.mktemp("scratch")
    write_clip(scratch / "full.mp4", seconds=12.0)
    write_clip(scratch / "full_faststart.mp4", seconds=12.0, faststart=True)
    write_truncated(scratch / "full.mp4", folder / "truncated.mp4", 0.5)
    write_truncated(scratch / "full_faststart.mp4", folder / "truncated_faststart.mp4", 0.5)
    write_empty(folder / "empty.mp4")
    write_text_as_video(folder / "text.mp4")
    (folder / "README.txt").write_text("not a clip\n")
    return folder


def _clip_path(folder: Path, clip_id: str) -> Path:
    (path,) = [p for p in folder.iterdir() if p.stem == clip_id]
    return path


def _frame_index(jpg: Path) -> int:
    image = np.asarray(Image.open(jpg))
    assert image.ndim == 3 and image.shape[2] == 3
    h, w, _ = image.shape
    return frame_index_of(image[h // 2, w // 2])


def _read_wav(path: Path) -> np.ndarray:
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.subtype, info.format) == (SR, 1, "PCM_16", "WAV")
    audio, _ = sf.read(path, dtype="float32")
    return audio


def _source_second(audio: np.ndarray, at: int) -> int:
    """Which second of the source the 100 ms of audio starting at sample ``at`` come from."""
    hz = dominant_hz(audio[at : at + SR // 10], SR)
    return int(round((hz - 300) / 100))


def _assert_clean(out: Path) -> None:
    """No half samples: every wav has its jpg and vice versa, and no temporary files."""
    jpgs = {p.stem for p in (out / "frames").glob("*.jpg")}
    wavs = {p.stem for p in (out / "audio").glob("*.wav")}
    assert jpgs == wavs
    partial = out / PARTIAL_DIR
    assert not partial.exists() or not any(partial.iterdir())


# ---------------------------------------------------------------------------------------------
# One clip


def test_twelve_second_clip_gives_middle_frame_and_ten_centred_seconds(clips, tmp_path):
    result = prepare_clip(clips / "twelve.mp4", tmp_path)
    assert result.clip_id == "twelve"
    assert (result.frame_path, result.audio_path) == sample_paths(tmp_path, "twelve")
    assert _frame_index(result.frame_path) == 60  # 120 frames: frame 60 at 6.0 s
    audio = _read_wav(result.audio_path)
    assert len(audio) == 10 * SR  # 10 s around the middle: source 1 s .. 11 s
    assert result.audio_start == pytest.approx(1.0, abs=1e-3)
    assert _source_second(audio, 0) == 1
    assert _source_second(audio, len(audio) - SR // 10) == 10
    # The source's 5 s -> 6 s frequency step sits at the centre of the wav, where the frame is.
    centre = len(audio) // 2
    assert _source_second(audio, centre - SR // 10 - 80) == 5
    assert _source_second(audio, centre + 80) == 6
    assert np.sqrt(np.mean(audio**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_short_clip_keeps_all_of_its_audio(clips, tmp_path):
    result = prepare_clip(clips / "four.mp4", tmp_path)
    assert _frame_index(result.frame_path) == 20
    audio = _read_wav(result.audio_path)
    assert len(audio) == 4 * SR  # whole clip; AAC end padding dropped
    assert _source_second(audio, 0) == 0
    assert _source_second(audio, len(audio) - SR // 10) == 3


@pytest.mark.parametrize("clip_id", ["mkv_mp3", "mov_pcm"])
def test_other_containers_and_codecs(clips, tmp_path, clip_id):
    result = prepare_clip(_clip_path(clips, clip_id), tmp_path)
    assert _frame_index(result.frame_path) == GOOD[clip_id][2]
    audio = _read_wav(result.audio_path)
    assert len(audio) == 6 * SR
    assert _source_second(audio, 2 * SR) == 2


def test_mono_is_the_channel_mean(clips):
    clip = decode_clip(clips / "mov_pcm.mov")  # right channel silent
    rms = np.sqrt(np.mean(clip.audio**2))
    assert rms == pytest.approx(0.5 * 0.5 / np.sqrt(2), rel=0.02)  # half the left channel's rms


def test_file_object_source_gives_the_same_result(clips):
    from_path = decode_clip(clips / "twelve.mp4")
    from_bytes = decode_clip(io.BytesIO((clips / "twelve.mp4").read_bytes()), name="member")
    assert from_bytes.frame_time == from_path.frame_time
    np.testing.assert_array_equal(from_bytes.audio, from_path.audio)


def test_audio_matches_load_audio_and_frame_matches_read_middle_frame(clips):
    from slavc_lite.audio import load_audio
    from slavc_lite.video import read_middle_frame

    for name in ("four.mp4", "mkv_mp3.mkv", "mov_pcm.mov"):
        clip = decode_clip(clips / name)
        reference, rate = load_audio(clips / name)
        assert rate == SR
        np.testing.assert_allclose(clip.audio, reference[: len(clip.audio)], atol=1e-5)
        expected = np.asarray(read_middle_frame(clips / name))
        assert frame_index_of(np.asarray(clip.frame)[24, 32]) == frame_index_of(expected[24, 32])


def test_long_clip_seeks_and_matches_a_full_decode(tmp_path, monkeypatch):
    path = write_clip(tmp_path / "long.mkv", seconds=21.0, video_codec="mpeg4", audio_codec="aac").path
    full = decode_clip(path)
    monkeypatch.setattr(video_prep, "_SEEK_AFTER_S", 1.0)  # seek to ~4.5 s instead of decoding from 0
    sought = decode_clip(path)
    assert frame_index_of(np.asarray(sought.frame)[24, 32]) == 105
    assert frame_index_of(np.asarray(full.frame)[24, 32]) == 105
    # Matroska declares no stream duration: the container's (21 s + AAC padding) sets the middle.
    assert sought.audio_start == pytest.approx(full.audio_start, abs=1e-6)
    assert full.audio_start == pytest.approx(5.5, abs=0.05)
    assert len(sought.audio) == len(full.audio) == 10 * SR
    np.testing.assert_allclose(sought.audio[SR:-SR], full.audio[SR:-SR], atol=2e-3)
    assert _source_second(sought.audio, 0) == 5


@pytest.mark.parametrize("clip_id", sorted(BAD))
def test_bad_clips_raise_named_errors_and_write_nothing(clips, tmp_path, clip_id):
    path = _clip_path(clips, clip_id)
    with pytest.raises(InputFileError, match=BAD[clip_id]) as info:
        prepare_clip(path, tmp_path)
    assert str(info.value).startswith(str(path))
    assert completed_ids(tmp_path) == set()
    assert not list(tmp_path.rglob("*.wav")) and not list(tmp_path.rglob("*.jpg"))


def test_a_failed_write_leaves_no_half_sample(clips, tmp_path, monkeypatch):
    prepare_clip(clips / "four.mp4", tmp_path)  # an old complete sample, about to be redone
    real_place = video_prep._place

    def broken_place(tmp, final):
        if final.suffix == ".jpg":
            raise OSError("disk full")
        real_place(tmp, final)

    monkeypatch.setattr(video_prep, "_place", broken_place)
    with pytest.raises(OSError, match="disk full"):
        prepare_clip(clips / "four.mp4", tmp_path)
    jpg, wav = sample_paths(tmp_path, "four")
    assert not jpg.exists() and not wav.exists()
    _assert_clean(tmp_path)


def test_a_kill_between_the_two_renames_is_redone_by_the_next_run(clips, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "four.mp4").write_bytes((clips / "four.mp4").read_bytes())
    out = tmp_path / "out"
    script = textwrap.dedent(f"""
        import os
        from slavc_lite.data import video_prep
        real_place = video_prep._place
        def place_then_die(tmp, final):
            if final.suffix == ".jpg":
                os._exit(9)  # killed after the wav is in place, before the jpg
            real_place(tmp, final)
        video_prep._place = place_then_die
        video_prep.prepare_clip({str(videos / 'four.mp4')!r}, {str(out)!r})
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, env={"PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 9, proc.stderr
    jpg, wav = sample_paths(out, "four")
    assert wav.exists() and not jpg.exists()  # an orphan wav: incomplete by the rule
    assert any((out / PARTIAL_DIR).iterdir())  # the kill left a temporary jpg
    assert completed_ids(out) == set()
    report = prepare_videos(videos, out, workers=1, progress=False)
    assert (report.prepared, report.skipped, report.failed) == (1, 0, 0)
    assert completed_ids(out) == {"four"}
    _assert_clean(out)


# ---------------------------------------------------------------------------------------------
# Folders of clips


def test_prepare_videos_counts_logs_failures_and_resumes(clips, tmp_path):
    out = tmp_path / "out"
    report = prepare_videos(clips, out, workers=2, progress=False)
    assert report.found == len(GOOD) + len(BAD)  # README.txt is not a video
    assert (report.prepared, report.skipped, report.failed) == (len(GOOD), 0, len(BAD))
    assert completed_ids(out) == set(GOOD)
    for clip_id, (_, _, middle) in GOOD.items():
        assert _frame_index(sample_paths(out, clip_id)[0]) == middle
    logged = {f.clip_id: f for f in read_failures(out)}
    assert set(logged) == set(BAD)
    for clip_id, words in BAD.items():
        assert words in logged[clip_id].reason
        assert logged[clip_id].path == str(_clip_path(clips, clip_id))
    assert {f.clip_id for f in report.failures} == set(BAD)
    assert "failures are listed in" in report.summary()
    _assert_clean(out)

    again = prepare_videos(clips, out, workers=2, progress=False)
    assert (again.prepared, again.skipped, again.failed) == (0, len(GOOD), len(BAD))
    assert {f.clip_id for f in read_failures(out)} == set(BAD)  # failures are retried and logged again


def test_failures_csv_has_a_header_even_without_failures(clips, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "four.mp4").write_bytes((clips / "four.mp4").read_bytes())
    report = prepare_videos(videos, tmp_path / "out", workers=1, progress=False)
    assert (report.prepared, report.failed) == (1, 0)
    assert (tmp_path / "out" / FAILURES_CSV).read_text().strip() == "id,path,reason"


def test_two_files_with_the_same_id_are_refused(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"x")
    (tmp_path / "a.mkv").write_bytes(b"x")
    with pytest.raises(SlavcLiteError, match="same id|sample id 'a'"):
        find_videos(tmp_path)


def test_missing_videos_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputFileError, match="not a folder"):
        prepare_videos(tmp_path / "nope", tmp_path / "out", progress=False)


def test_one_run_per_output_folder(tmp_path):
    with exclusive_output(tmp_path):
        with pytest.raises(SlavcLiteError, match="another slavc-lite run"):
            with exclusive_output(tmp_path):
                pass
    with exclusive_output(tmp_path):  # released
        pass


def test_prepare_command_end_to_end(clips, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="slavc-lite data")
    add_prepare_parser(parser.add_subparsers(dest="command", required=True))
    out = tmp_path / "out"
    args = parser.parse_args(["prepare", "--videos", str(clips), "--out", str(out), "--workers", "1",
                              "--no-progress"])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert f"{len(GOOD)} prepared, 0 skipped (already done), {len(BAD)} failed" in printed
    assert "no audio stream" in printed
    assert completed_ids(out) == set(GOOD)
    args = parser.parse_args(["prepare", "--videos", str(tmp_path / "missing"), "--out", str(out)])
    assert args.func(args) == 1
    assert "not a folder" in capsys.readouterr().err


def test_tone_helper_is_what_the_checks_assume():
    assert tone_hz(0.5) == 300 and tone_hz(5.99) == 800 and tone_hz(6.0) == 900
