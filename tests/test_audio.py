"""slavc_lite.audio: reading files, the official centred window, the model's audio input."""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest
import soundfile as sf
import torch

from slavc_lite import audio
from slavc_lite.audio import centered_window, load_audio, load_spectrogram, log_spectrogram
from slavc_lite.errors import InputFileError
from tests import media_factory as mf


def peak_hz(x: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * sample_rate / len(x))


# ------------------------------------------------------------------------------------ load_audio


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resamples_to_16k_keeping_length_and_pitch(tmp_path, rate):
    path = mf.write_audio(tmp_path / f"tone_{rate}.wav", mf.tone(440.0, 1.0, rate), rate, "PCM_16")
    x, sr = load_audio(path)
    assert sr == audio.SAMPLE_RATE == 16000
    assert x.dtype == np.float32 and x.ndim == 1
    assert abs(len(x) - 16000) <= 1
    assert abs(peak_hz(x, sr) - 440.0) <= 2.0
    # The resampler keeps the amplitude (no gain change) and adds no NaN.
    assert np.all(np.isfinite(x))
    assert 0.45 < np.abs(x[1000:-1000]).max() < 0.55


def test_native_rate_is_kept_when_asked_and_16k_is_untouched(tmp_path):
    x44 = mf.tone(440.0, 0.5, 44100)
    y, sr = load_audio(mf.write_audio(tmp_path / "native.wav", x44, 44100, "FLOAT"), sample_rate=None)
    assert sr == 44100
    np.testing.assert_array_equal(y, x44)
    x16 = mf.tone(440.0, 0.5, 16000)
    y, sr = load_audio(mf.write_audio(tmp_path / "at16k.wav", x16, 16000, "FLOAT"))
    assert sr == 16000
    np.testing.assert_array_equal(y, x16)  # no resampling pass at the target rate


def test_stereo_is_the_channel_mean(tmp_path):
    left = mf.tone(440.0, 0.5, 16000, amplitude=0.6)
    right = mf.tone(1000.0, 0.5, 16000, amplitude=0.2)
    path = mf.write_audio(tmp_path / "stereo.wav", np.stack([left, right], axis=1), 16000, "FLOAT")
    y, _ = load_audio(path)
    np.testing.assert_allclose(y, (left + right) / 2, atol=1e-7)


@pytest.mark.parametrize(("subtype", "tolerance"), [
    ("PCM_U8", 1 / 64),  # 8-bit WAV is unsigned: must come back centred on 0
    ("PCM_16", 1 / 16384),
    ("PCM_24", 1e-6),
    ("FLOAT", 0.0),
])
def test_wav_sample_formats(tmp_path, subtype, tolerance):
    x = mf.tone(440.0, 0.25, 16000, amplitude=0.7)
    y, sr = load_audio(mf.write_audio(tmp_path / f"fmt_{subtype}.wav", x, 16000, subtype))
    assert sr == 16000 and y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_allclose(y, x, atol=tolerance)
    if subtype == "PCM_U8":
        assert abs(float(y.mean())) < 0.01  # not shifted by +0.5 as a naive uint8 reader would


@pytest.mark.parametrize("suffix", [".flac", ".ogg", ".mp3"])
def test_compressed_formats(tmp_path, suffix):
    if suffix == ".mp3" and "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile cannot write mp3")
    x = mf.tone(440.0, 1.0, 22050)
    path = mf.write_audio(tmp_path / f"tone{suffix}", x, 22050)
    y, sr = load_audio(path)
    assert sr == 16000
    assert abs(len(y) - 16000) <= (1 if suffix == ".flac" else 1200)  # mp3 adds encoder padding
    assert abs(peak_hz(y, sr) - 440.0) <= 2.0
    if suffix == ".flac":  # lossless 16-bit: the same as the resampled original up to quantisation
        y_native, _ = load_audio(path, sample_rate=None)
        np.testing.assert_allclose(y_native, x, atol=1e-4)


@pytest.mark.parametrize("suffix", [".m4a", ".mp4"])
def test_aac_in_mp4_container_via_pyav(tmp_path, suffix):
    path = mf.write_aac(tmp_path / f"tone{suffix}", seconds=2.0, sample_rate=22050)
    y, sr = load_audio(path)
    assert sr == 16000 and y.dtype == np.float32
    assert abs(len(y) / sr - 2.0) < 0.05
    assert abs(peak_hz(y, sr) - 440.0) <= 2.0
    assert 0.4 < np.abs(y[4000:-4000]).max() < 0.6


def test_audio_track_of_a_video(tmp_path):
    path = mf.write_video(tmp_path / "clip.mp4", n_frames=20, fps=10, with_audio=True)
    y, sr = load_audio(path)
    assert abs(len(y) / sr - 2.0) < 0.05
    assert abs(peak_hz(y, sr) - 440.0) <= 2.0


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".webm"])
def test_audio_track_shorter_than_the_video_is_read_with_a_warning(tmp_path, suffix):
    """``-shortest`` muxing and WebM recordings: the container's duration is the video's (4 s)."""
    path = mf.write_video(tmp_path / f"short_audio{suffix}", n_frames=40, fps=10, with_audio=True,
                          audio_seconds=1.5)
    with pytest.warns(audio.ShortAudioWarning, match=r"holds 1\.5\d s, shorter than the 4\.00 s") as caught:
        y, sr = load_audio(path)
    assert str(path) in str(caught[0].message)
    assert abs(len(y) / sr - 1.5) < 0.05
    assert abs(peak_hz(y, sr) - 440.0) <= 2.0


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".webm"])
def test_audio_track_as_long_as_the_video_gives_no_warning(tmp_path, suffix):
    path = mf.write_video(tmp_path / f"clip{suffix}", n_frames=20, fps=10, with_audio=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", audio.ShortAudioWarning)
        y, sr = load_audio(path)
    assert abs(len(y) / sr - 2.0) < 0.1


@pytest.mark.parametrize("suffix", [".mkv", ".webm"])
def test_a_truncated_matroska_file_is_still_refused(tmp_path, suffix):
    """No per-stream duration in Matroska: a cut file shows as data that stop before the declared end."""
    path = mf.truncate(mf.write_video(tmp_path / f"clip{suffix}", n_frames=40, fps=10, with_audio=True))
    with pytest.raises(InputFileError, match=r"file truncated\?") as info:
        load_audio(path)
    assert str(info.value).startswith(str(path))


def test_wav_with_an_unusual_suffix_is_still_read(tmp_path):
    path = mf.write_audio(tmp_path / "tone.wav", mf.tone(), 16000)
    renamed = path.rename(tmp_path / "tone.dat")
    y, sr = load_audio(renamed)
    assert sr == 16000 and len(y) == 16000


# ------------------------------------------------------------------------------- centered_window


def official_window(x: np.ndarray, rate: int, dur: float) -> np.ndarray:
    """The official steps written out: centred start, clip, tile, cut (mono input).

    The start is computed in exact arithmetic, as the official reader effectively does (it
    seeks to the start and counts samples from there) and as float arithmetic may not.
    """
    audio_dur = Fraction(len(x), rate)
    audio_ss = max(audio_dur / 2 - Fraction(dur) / 2, 0)
    ss = int(audio_ss * rate)
    t = int(min(Fraction(dur), audio_dur - audio_ss) * rate)
    a = np.clip(x[ss:ss + t], -1.0, 1.0)
    if a.shape[0] < rate * dur:
        n = int(rate * dur / a.shape[0]) + 1
        a = np.tile(a, n)
    return a[:int(rate * dur)]


def test_window_of_a_long_clip_is_centred():
    rate = 100
    x = np.arange(500, dtype=np.float32) / 1000  # 5 s
    w = centered_window(x, rate, 3.0)
    np.testing.assert_array_equal(w, x[100:400])
    np.testing.assert_array_equal(w, official_window(x, rate, 3.0))


def test_window_start_is_computed_exactly():
    # 4.3 s at 16 kHz: (68800 - 48000) / 2 = 10400; float arithmetic gives int(10399.999...).
    x = np.arange(68800, dtype=np.float32) / 1e5
    assert centered_window(x, 16000, 3.0)[0] == x[10400]


def test_window_of_an_exact_clip_is_the_clip():
    x = np.linspace(-0.5, 0.5, 300).astype(np.float32)
    np.testing.assert_array_equal(centered_window(x, 100, 3.0), x)


def test_short_clip_is_tiled_like_the_official_code_and_clipped():
    rate = 100
    x = np.linspace(-2.0, 2.0, 130).astype(np.float32)  # 1.3 s, values beyond [-1, 1]
    w = centered_window(x, rate, 3.0)
    expected = np.tile(np.clip(x, -1, 1), int(300 / 130) + 1)[:300]
    np.testing.assert_array_equal(w, expected)
    assert w.shape == (300,) and w.min() == -1.0 and w.max() == 1.0
    # The clip restarts from its first sample after 130 samples (np.tile, no cross-fade).
    np.testing.assert_array_equal(w[130:260], w[:130])


@pytest.mark.parametrize("n", [1, 7, 299, 301, 302, 450, 1001, 48000 * 2 + 17])
def test_window_matches_the_official_steps_for_many_lengths(n):
    rate = 100
    x = np.random.default_rng(n).uniform(-1.5, 1.5, n).astype(np.float32)
    np.testing.assert_array_equal(centered_window(x, rate, 3.0), official_window(x, rate, 3.0))


def test_window_rejects_bad_input():
    with pytest.raises(ValueError):
        centered_window(np.zeros(0, np.float32), 16000, 3.0)
    with pytest.raises(ValueError):
        centered_window(np.zeros((2, 100), np.float32), 16000, 3.0)


# ------------------------------------------------------------------ against the official reader


def official_load_spectrogram(path, dur: float = 3.0) -> np.ndarray:
    """The official ``load_spectrogram`` + ``load_audio_av`` (PyAV, s16p mono, native rate),
    with the one fix current PyAV needs: ``resample`` returns a list of frames."""
    from fractions import Fraction

    import av
    import scipy.signal

    container = av.open(str(path))
    stream = container.streams.audio[0]
    audio_dur = stream.duration * stream.time_base
    start_time = max(float(audio_dur) / 2 - dur / 2, 0)
    _ss = stream.start_time * stream.time_base if stream.start_time is not None else 0.0
    duration = min(dur, _ss + audio_dur - start_time)
    end_time = start_time + duration
    rate = stream.rate
    resampler = av.AudioResampler(format="s16p", layout="mono", rate=rate)
    chunks = []
    container.seek(int(start_time * av.time_base))
    for frame in container.decode(audio=0):
        chunk_start = frame.pts * frame.time_base
        chunk_end = chunk_start + Fraction(frame.samples, frame.rate)
        if chunk_end < start_time:
            continue
        if chunk_start > end_time:
            break
        frame.pts = None
        chunks.append((chunk_start, np.concatenate([f.to_ndarray() for f in resampler.resample(frame)], 1)))
    container.close()
    x = np.concatenate([c[1] for c in chunks], 1)
    ss = int((start_time - chunks[0][0]) * rate)
    x = x[:, ss:ss + int(duration * rate)] / np.iinfo(x.dtype).max
    x = np.clip(x, -1.0, 1.0).mean(0)
    if x.shape[0] < rate * dur:
        x = np.tile(x, int(rate * dur / x.shape[0]) + 1)
    x = x[:int(rate * dur)]
    _, _, spec = scipy.signal.spectrogram(x, rate, nperseg=512, noverlap=274)
    return np.log(spec + 1e-7) / 12.0


@pytest.mark.parametrize(("seconds", "channels", "rate"),
                         [(10.0, 2, 16000), (4.3, 1, 16000), (4.30006, 1, 16000), (1.7, 2, 16000),
                          (3.5, 2, 44100)])
def test_matches_the_official_reader_on_16bit_wavs(tmp_path, seconds, channels, rate):
    rng = np.random.default_rng(int(seconds * 10))
    x = np.stack([mf.real_looking_audio(seconds, rate, seed=int(rng.integers(100))) * 0.9
                  for _ in range(channels)], axis=1)
    path = mf.write_audio(tmp_path / f"vggsound_like_{channels}ch.wav", x, rate, "PCM_16")
    official = official_load_spectrogram(path)
    ours = load_spectrogram(path, sample_rate=None)[0].numpy()  # the official keeps the native rate
    assert ours.shape == official.shape == (257, audio.num_frames(int(3 * rate)))
    # Same samples up to float32 rounding, so the same log-spectrogram up to ~1e-6.
    assert float(np.abs(ours - official).max()) < 1e-4
    if rate == 16000:
        np.testing.assert_array_equal(ours, load_spectrogram(path).numpy()[0])


def test_sixteen_bit_pcm_is_divided_by_32767_like_the_official_reader(tmp_path):
    ints = np.array([0, 1, -1, 32767, -32768, 12345], np.int16)
    path = mf.write_audio(tmp_path / "ints.wav", ints, 16000, "PCM_16")
    y, _ = load_audio(path)
    np.testing.assert_array_equal(y, ints.astype(np.float32) / np.float32(32767))


# ------------------------------------------------------------------------------ load_spectrogram


def test_load_spectrogram_is_the_official_chain(tmp_path):
    x = mf.real_looking_audio(5.0, 16000, seed=3)
    path = mf.write_audio(tmp_path / "scene.wav", x, 16000, "FLOAT")
    spec = load_spectrogram(path)
    assert isinstance(spec, torch.Tensor) and spec.dtype == torch.float32
    assert spec.shape == (1, 257, 200)
    expected = log_spectrogram(x[16000:64000], 16000) / 12.0
    np.testing.assert_allclose(spec[0].numpy(), expected, rtol=1e-6, atol=1e-6)


def test_load_spectrogram_other_window_lengths(tmp_path):
    path = mf.write_audio(tmp_path / "long.wav", mf.real_looking_audio(6.0, 16000, seed=4), 16000)
    assert load_spectrogram(path, seconds=5.0).shape == (1, 257, audio.num_frames(80000))
    assert load_spectrogram(path, seconds=audio.TEST_SECONDS).shape == (1, 257, 200)


def test_short_clip_gives_a_full_size_spectrogram(tmp_path):
    path = mf.write_audio(tmp_path / "short.wav", mf.tone(440.0, 0.4, 44100), 44100)
    assert load_spectrogram(path).shape == (1, 257, 200)


def test_silent_audio_gives_a_finite_spectrogram(tmp_path):
    path = mf.write_audio(tmp_path / "silence.wav", np.zeros(48000, np.float32), 16000)
    spec = load_spectrogram(path)
    assert torch.isfinite(spec).all()
    np.testing.assert_allclose(spec.numpy(), np.log(1e-7) / 12, rtol=1e-6)
    torch_spec = audio.LogSpectrogram(normalize=True)(torch.zeros(1, 48000))
    assert torch.isfinite(torch_spec).all()
    np.testing.assert_allclose(torch_spec.numpy(), np.log(1e-7) / 12, rtol=1e-6)


def test_constants():
    assert (audio.SAMPLE_RATE, audio.TRAIN_SECONDS, audio.TEST_SECONDS) == (16000, 3.0, 3.0)
    assert (audio.NPERSEG, audio.NOVERLAP, audio.HOP, audio.N_FREQS) == (512, 274, 238, 257)
    assert audio.SPEC_SCALE == 12.0
    assert audio.normalize_log_spectrogram(np.array([12.0, -24.0])).tolist() == [1.0, -2.0]
