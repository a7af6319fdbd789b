"""Exercise checks of chapter 01 (audio-visual data): the official audio front end.

* :func:`check_centered_window` - the centred window of the official ``load_spectrogram``
  (reference :func:`slavc_lite.audio.centered_window`);
* :func:`check_num_frames` - how many spectrogram frames a clip gives
  (reference :func:`slavc_lite.audio.num_frames`);
* :func:`check_log_spectrogram` - ``log(scipy.signal.spectrogram(x, fs, nperseg=512,
  noverlap=274) + 1e-7)`` (reference :func:`slavc_lite.audio.log_spectrogram`).

Each check calls the student's function on fresh random clips (``seed`` makes them
repeatable) and raises ``AssertionError`` saying what differs from the reference.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from slavc_lite import audio
from slavc_lite.teaching.exercises._checking import as_numpy, call, passed

__all__ = ["check_centered_window", "check_log_spectrogram", "check_num_frames"]

# A float32 implementation (e.g. with torch) agrees with scipy's float64 to about 1e-5 in the
# log domain; log values are about -25 .. 0, so this still catches any real mistake.
_LOG_ATOL = 1e-3
_LOG_RTOL = 1e-4


def _test_clip(rng: np.random.Generator, seconds: float, sample_rate: int, peak: float) -> np.ndarray:
    """A few random tones plus noise, scaled to ``peak`` (above 1 to exercise the clipping)."""
    n = int(round(seconds * sample_rate))
    t = np.arange(n) / sample_rate
    x = 0.05 * rng.standard_normal(n)
    for _ in range(3):
        f = rng.uniform(100, 0.4 * sample_rate)
        x += rng.uniform(0.2, 1.0) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    x = x / np.max(np.abs(x)) * peak
    return x.astype(np.float32)


def _call(fn: Callable, what: str, *args) -> np.ndarray:
    return as_numpy(call(fn, *args, what=what))


def check_centered_window(fn: Callable, seed: int | None = None) -> bool:
    """Check ``fn(waveform, sample_rate, seconds) -> window`` against the official centred window.

    The window has ``int(sample_rate * seconds)`` samples, starts at sample
    ``max((len - sample_rate * seconds) / 2, 0)`` (rounded down), is clipped to [-1, 1], and a
    clip shorter than the window is repeated (``np.tile``) and cut. Tried on a long clip, a
    short one and one of exactly the window's length, at two sample rates.
    """
    rng = np.random.default_rng(seed)
    cases = [(5.3, 16000, 3.0), (1.1, 16000, 3.0), (3.0, 16000, 3.0), (4.0, 22050, 2.5)]
    for clip_seconds, rate, seconds in cases:
        x = _test_clip(rng, clip_seconds, rate, peak=1.5)
        what = f"centered_window of a {clip_seconds} s clip at {rate} Hz, {seconds} s window"
        got = _call(fn, what, x.copy(), rate, seconds)
        expected = audio.centered_window(x, rate, seconds)
        length = int(rate * seconds)
        if got.ndim != 1 or got.shape[0] != length:
            hint = (" A clip shorter than the window is repeated (np.tile) and then cut."
                    if clip_seconds < seconds else "")
            raise AssertionError(f"{what}: got shape {tuple(got.shape)}, expected ({length},): the window "
                                 f"has int(sample_rate * seconds) = {length} samples.{hint}")
        if np.max(np.abs(got)) > 1.0 + 1e-6:
            raise AssertionError(f"{what}: values reach {np.max(np.abs(got)):.3f}; the official window is "
                                 "clipped to [-1, 1] (np.clip)")
        if not np.allclose(got, expected, atol=1e-6):
            start = max((x.shape[0] - length) // 2, 0)
            raise AssertionError(f"{what}: the samples are not the reference's. The window is centred: it "
                                 f"starts at sample max((n - rate * seconds) / 2, 0) = {start} here "
                                 "(n = number of samples)")
    return passed("your centred window matches slavc_lite.audio.centered_window "
                  "(long, short and exact clips)")


def check_num_frames(fn: Callable, seed: int | None = None) -> bool:
    """Check ``fn(num_samples) -> number of spectrogram frames`` (nperseg 512, noverlap 274)."""
    rng = np.random.default_rng(seed)
    sizes = [512, 749, 750, 48000, 80000, *map(int, rng.integers(512, 200000, size=20))]
    for n in sizes:
        got = _call(fn, f"num_frames({n})", n)
        expected = audio.num_frames(n)
        if got.shape != () or int(got) != got or int(got) != expected:
            raise AssertionError(f"num_frames({n}) = {got!r}, expected {expected}: segments of 512 samples "
                                 "start every 512 - 274 = 238 samples, without padding, and only whole "
                                 "segments count")
    return passed(f"your frame count matches slavc_lite.audio.num_frames ({audio.num_frames(48000)} frames "
                  "for 3 s at 16 kHz)")


def _spectrogram_hint(got: np.ndarray, expected: np.ndarray) -> str:
    """What a typical mistake looks like in the output, if it looks like one."""
    if np.allclose(got * audio.SPEC_SCALE, expected, atol=_LOG_ATOL * 12, rtol=_LOG_RTOL):
        return ("your values are the reference divided by 12: this function returns the log-spectrogram "
                "before the normalisation (/ 12 is a separate step)")
    if np.allclose(got * np.log(10), expected, atol=1e-2, rtol=1e-3):
        return "you took log10: the official code uses the natural log (np.log)"
    inner = (got - expected)[1:-1]
    offset = float(np.median(inner))
    if abs(offset) > 1e-2 and np.allclose(inner, offset, atol=1e-2):
        return (f"your values differ from the reference by a constant {offset:+.3f} in the log domain, "
                f"i.e. a factor {np.exp(offset):.4g} in power: check the scaling (scipy's density scaling "
                "divides |X|^2 by fs * sum(window^2) and doubles every bin but DC and Nyquist)")
    return ("check scipy.signal.spectrogram's defaults: a periodic Tukey window with alpha 0.25, each "
            "segment's mean removed before the window (detrend='constant'), one-sided density scaling, "
            "then np.log(power + 1e-7)")


def check_log_spectrogram(fn: Callable, seed: int | None = None) -> bool:
    """Check ``fn(waveform, sample_rate) -> [257, T]`` against the official log-spectrogram.

    The reference is ``np.log(scipy.signal.spectrogram(x, fs, nperseg=512, noverlap=274)[2] +
    1e-7)`` (:func:`slavc_lite.audio.log_spectrogram`), before the division by 12. Tried on
    3 s at 16 kHz (the model's input, 257 x 200), on an odd length at 22.05 kHz, and on a clip
    with a stretch of exact silence. Float32 implementations pass (tolerance 1e-3 in log units).
    """
    rng = np.random.default_rng(seed)
    clips = [(_test_clip(rng, 3.0, 16000, 0.8), 16000), (_test_clip(rng, 1.37, 22050, 0.5), 22050)]
    with_silence = _test_clip(rng, 2.0, 16000, 0.3)
    with_silence[8000:20000] = 0.0
    clips.append((with_silence, 16000))
    for x, rate in clips:
        what = f"log-spectrogram of {x.shape[0]} samples at {rate} Hz"
        got = _call(fn, what, x.copy(), rate)
        expected = audio.log_spectrogram(x, rate)
        if got.shape != expected.shape:
            if got.shape == expected.shape[::-1]:
                raise AssertionError(f"{what}: shape {got.shape}, expected {expected.shape}: transpose it, "
                                     "frequencies first ([257, T])")
            raise AssertionError(f"{what}: shape {got.shape}, expected {expected.shape}: nperseg = 512 gives "
                                 "512 // 2 + 1 = 257 frequencies; hop 512 - 274 = 238 and no padding give "
                                 f"(n - 274) // 238 = {expected.shape[1]} frames (torch.stft pads and "
                                 "centres by default)")
        if not np.all(np.isfinite(got)):
            raise AssertionError(f"{what}: your output has infinite or NaN values (here on silent segments): "
                                 "the official code adds 1e-7 before the log, np.log(power + 1e-7)")
        if not np.allclose(got, expected, atol=_LOG_ATOL, rtol=_LOG_RTOL):
            worst = float(np.max(np.abs(got - expected)))
            raise AssertionError(f"{what}: values differ from the reference (largest difference "
                                 f"{worst:.3g}); " + _spectrogram_hint(got, expected))
    return passed("your log-spectrogram matches slavc_lite.audio.log_spectrogram "
                  "(16 kHz, 22.05 kHz, silence)")
