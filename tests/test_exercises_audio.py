"""Chapter 01's exercise checks: the reference answers pass, typical wrong answers fail with a hint."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch

from slavc_lite import audio
from slavc_lite.teaching.exercises import check_centered_window, check_log_spectrogram, check_num_frames


def test_reference_answers_pass(capsys):
    assert check_centered_window(audio.centered_window, seed=0)
    assert check_num_frames(audio.num_frames, seed=0)
    assert check_log_spectrogram(audio.log_spectrogram, seed=0)
    assert capsys.readouterr().out.count("Correct") == 3


def test_checks_draw_fresh_inputs_without_a_seed():
    assert check_log_spectrogram(audio.log_spectrogram)


# ------------------------------------------------------------------------------------ window


def window_not_clipped(x, rate, seconds):
    n = int(rate * seconds)
    start = max((len(x) - n) // 2, 0)
    seg = x[start:start + n]
    return np.tile(seg, n // len(seg) + 1)[:n]


def window_from_the_start(x, rate, seconds):
    n = int(rate * seconds)
    seg = np.clip(x[:n], -1, 1)
    return np.tile(seg, n // len(seg) + 1)[:n]


def window_not_tiled(x, rate, seconds):
    n = int(rate * seconds)
    start = max((len(x) - n) // 2, 0)
    return np.clip(x[start:start + n], -1, 1)


@pytest.mark.parametrize(("wrong", "message"), [
    (window_not_clipped, "clipped"),
    (window_from_the_start, "centred"),
    (window_not_tiled, "np.tile"),
])
def test_wrong_windows_fail(wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_centered_window(wrong, seed=1)


def test_an_unwritten_exercise_says_so():
    def todo(*args):
        raise NotImplementedError("Exercise: write your solution here")

    with pytest.raises(AssertionError, match="not written yet"):
        check_centered_window(todo)


# ------------------------------------------------------------------------------------ frames


@pytest.mark.parametrize("wrong", [lambda n: n // 238, lambda n: (n - 512) // 238, lambda n: n / 238])
def test_wrong_frame_counts_fail(wrong):
    with pytest.raises(AssertionError, match="238"):
        check_num_frames(wrong, seed=2)


def test_equivalent_frame_formula_passes():
    assert check_num_frames(lambda n: (n - 512) // 238 + 1, seed=3)


# ------------------------------------------------------------------------------------ spectrogram


def torch_float32_spectrogram(x, rate):
    return audio.LogSpectrogram(rate)(torch.as_tensor(x, dtype=torch.float32))


def spec_with(**options):
    def fn(x, rate):
        x = np.asarray(x, np.float64)
        _, _, s = scipy.signal.spectrogram(x, rate, nperseg=512, noverlap=274, **options)
        return np.log(s + 1e-7)
    return fn


def test_a_float32_torch_implementation_passes():
    assert check_log_spectrogram(torch_float32_spectrogram, seed=4)


@pytest.mark.parametrize(("wrong", "message"), [
    (lambda x, r: audio.log_spectrogram(x, r) / 12, "divided by 12"),
    (lambda x, r: audio.log_spectrogram(x, r).T, "transpose"),
    (lambda x, r: audio.log_spectrogram(x, r) / np.log(10), "log10"),
    (lambda x, r: np.log(scipy.signal.spectrogram(np.float64(x), r, nperseg=512, noverlap=274)[2]), "1e-7"),
    (spec_with(window="hann"), "Tukey"),
    (spec_with(detrend=False), "detrend"),
    (spec_with(scaling="spectrum"), "constant"),
    # the sample rate hard-coded: a constant offset at 22.05 kHz
    (lambda x, r: spec_with()(x, 16000), "constant"),
    (lambda x, r: np.log(np.abs(np.asarray(torch.stft(torch.as_tensor(x, dtype=torch.float64), 512, 238,
                                                      window=torch.hann_window(512, dtype=torch.float64),
                                                      return_complex=True))) ** 2 + 1e-7), "frames"),
])
def test_wrong_spectrograms_fail(wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_log_spectrogram(wrong, seed=5)
