"""The official log-spectrogram: scipy call, an independent loop version, the torch version."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
import torch

from slavc_lite import audio
from slavc_lite.audio import LogSpectrogram, log_spectrogram
from tests import media_factory as mf

FS = 16000


def tukey_periodic(n: int, alpha: float) -> np.ndarray:
    """Periodic Tukey window from its definition: a symmetric one of n + 1 points, last dropped."""
    m = n + 1
    w = np.empty(n)
    for i in range(n):
        x = i / (m - 1)
        if x < alpha / 2:
            w[i] = 0.5 * (1 - math.cos(2 * math.pi * x / alpha))
        elif x <= 1 - alpha / 2:
            w[i] = 1.0
        else:
            w[i] = 0.5 * (1 - math.cos(2 * math.pi * (1 - x) / alpha))
    return w


def psd_loops(x: np.ndarray, fs: float, nperseg: int = 512, noverlap: int = 274) -> np.ndarray:
    """scipy.signal.spectrogram's defaults, one segment at a time, in float64.

    detrend='constant' (segment mean removed before the window), Tukey(0.25) window,
    one-sided density: |rfft|^2 / (fs * sum(w^2)), doubled except DC and Nyquist.
    """
    x = np.asarray(x, dtype=np.float64)
    win = tukey_periodic(nperseg, 0.25)
    scale = 1.0 / (fs * np.sum(win * win))
    step = nperseg - noverlap
    n_segments = (len(x) - noverlap) // step
    out = np.empty((nperseg // 2 + 1, n_segments))
    for k in range(n_segments):
        segment = x[k * step:k * step + nperseg]
        segment = segment - segment.mean()
        spectrum = np.fft.rfft(segment * win)
        power = (spectrum.real**2 + spectrum.imag**2) * scale
        power[1:-1] *= 2.0  # even nperseg: bin nperseg/2 is Nyquist, counted once
        out[:, k] = power
    return out


def test_tukey_window_from_its_definition_is_scipys():
    np.testing.assert_allclose(tukey_periodic(512, 0.25), scipy.signal.get_window(("tukey", 0.25), 512),
                               rtol=0, atol=1e-14)


def test_log_spectrogram_is_exactly_the_official_scipy_call():
    x = mf.real_looking_audio(3.0, FS, seed=1)
    _, _, spec = scipy.signal.spectrogram(x.astype(np.float64), FS, nperseg=512, noverlap=274)
    expected = np.log(spec + 1e-7)
    got = log_spectrogram(x, FS)
    assert got.shape == (257, 200) and got.dtype == np.float64
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(("seconds", "frames"), [(3.0, 200), (5.0, 334), (1.0, 66)])
def test_shapes(seconds, frames):
    n = int(seconds * FS)
    assert audio.num_frames(n) == frames
    assert log_spectrogram(np.zeros(n, np.float32), FS).shape == (257, frames)


def test_independent_loop_implementation_matches_scipy():
    x = mf.real_looking_audio(3.0, FS, seed=2)
    _, _, spec = scipy.signal.spectrogram(x.astype(np.float64), FS, nperseg=512, noverlap=274)
    loops = psd_loops(x, FS)
    assert loops.shape == spec.shape == (257, 200)
    # Relative 1e-6, with an absolute floor far below the 1e-7 added before the log.
    np.testing.assert_allclose(loops, spec, rtol=1e-6, atol=1e-15)
    np.testing.assert_allclose(np.log(loops + 1e-7), log_spectrogram(x, FS), rtol=0, atol=1e-9)


def test_too_short_input_is_refused_rather_than_reshaped():
    with pytest.raises(ValueError, match="512"):
        log_spectrogram(np.zeros(511), FS)
    with pytest.raises(ValueError, match="512"):
        LogSpectrogram()(torch.zeros(2, 511))


def test_torch_path_matches_scipy_on_real_looking_audio(capsys):
    silence = np.zeros(48000, np.float32)
    clips = np.stack([mf.real_looking_audio(3.0, FS, seed=s) for s in range(4)] + [silence])
    reference = np.stack([log_spectrogram(c, FS) for c in clips])
    module = LogSpectrogram(FS)
    got = module(torch.from_numpy(clips))  # float32 batch [5, 48000]
    assert got.shape == (5, 257, 200) and got.dtype == torch.float32
    max_diff = float(np.abs(got.numpy().astype(np.float64) - reference).max())
    with capsys.disabled():
        print(f"\n[LogSpectrogram float32 vs scipy float64] max |diff| of log-spectrograms: {max_diff:.3e}")
    assert max_diff <= 1e-3

    # In float64 the two are the same computation up to rounding.
    got64 = module(torch.from_numpy(clips.astype(np.float64)))
    assert got64.dtype == torch.float64
    np.testing.assert_allclose(got64.numpy(), reference, rtol=0, atol=1e-6)


def test_torch_path_other_lengths_and_normalisation():
    clip = mf.real_looking_audio(5.0, FS, seed=7)
    out = LogSpectrogram(FS, normalize=True)(torch.from_numpy(clip)[None, None])  # [1, 1, n]
    assert out.shape == (1, 1, 257, audio.num_frames(len(clip)))
    np.testing.assert_allclose(out[0, 0].numpy(), log_spectrogram(clip, FS) / 12.0, atol=1e-4)
    # The module has no state to save, and follows .to(device)
    assert LogSpectrogram().state_dict() == {}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_torch_path_on_cuda():  # pragma: no cover - run where a GPU is present
    clips = np.stack([mf.real_looking_audio(3.0, FS, seed=s) for s in range(3)])
    reference = np.stack([log_spectrogram(c, FS) for c in clips])
    got = LogSpectrogram().cuda()(torch.from_numpy(clips).cuda())
    assert got.device.type == "cuda"
    assert float(np.abs(got.cpu().numpy() - reference).max()) <= 1e-3
