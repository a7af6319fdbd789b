"""Sound synthesis for the toy world: one model per class, plus the negative audio.

Each class's model (see :mod:`slavc_lite.data.toy.classes` for the parameter ranges) has
its own spectral signature, so the classes are separable from a log-spectrogram, which is
what the audio encoder sees:

* ``bell``: inharmonic decaying partials, struck periodically;
* ``drum``: low thumps with a falling pitch (energy below 200 Hz);
* ``siren``: a slowly sweeping tone (frequency modulation);
* ``bird``: phrases of fast upward chirps (4-5 kHz);
* ``engine``: a low buzzy sawtooth with amplitude modulation (a throb);
* ``whistle``: a nearly pure high tone with vibrato;
* ``rain``: a noise band with droplet clicks;
* ``dog``: short harmonic barks with a formant;
* ``violin``: harmonic bowed notes with vibrato;
* ``frog``: pulsed low croaks.

Every clip draws its parameters afresh (pitch, rate, timing), and clips are returned with
unit active RMS: levels, mixing and background noise are the scene's business
(:mod:`slavc_lite.data.toy.scenes`). Everything is vectorised numpy: harmonic stacks use the
Chebyshev recurrence ``sin((k+1)p) = 2 cos(p) sin(kp) - sin((k-1)p)`` (one ``sin`` and one
``cos`` per stack), repeated events are one template overlap-added at jittered times, and
noise bands are shaped in the Fourier domain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.signal import lfilter

from slavc_lite.data.toy.classes import get_class

TWO_PI = 2.0 * np.pi


def harmonic_stack(phase: np.ndarray, amplitudes: Sequence[float]) -> np.ndarray:
    """``sum_k amplitudes[k-1] * sin(k * phase)`` for k = 1..K, via the Chebyshev recurrence."""
    s_prev = np.zeros_like(phase)
    s = np.sin(phase)
    two_cos = 2.0 * np.cos(phase)
    out = amplitudes[0] * s
    for a in amplitudes[1:]:
        s_prev, s = s, two_cos * s - s_prev
        out += a * s
    return out


def _phase(freq: np.ndarray, sr: int) -> np.ndarray:
    """Instantaneous phase of a frequency track (Hz per sample)."""
    return TWO_PI * np.cumsum(freq) / sr


def _event_starts(rng: np.random.Generator, n: int, period: float, sr: int,
                  jitter: float = 0.15) -> list[int]:
    """Event onsets (samples): a random first onset, then ``period`` seconds apart +-jitter."""
    t = rng.uniform(0.0, period)
    starts = []
    while t < n / sr:
        starts.append(int(t * sr))
        t += period * (1.0 + rng.uniform(-jitter, jitter))
    return starts


def _overlay(out: np.ndarray, template: np.ndarray, start: int, gain: float = 1.0) -> None:
    end = min(out.size, start + template.size)
    if end > start:
        out[start:end] += gain * template[: end - start]


def _band_filter(n: int, sr: int, low: float, high: float, order: float = 4.0) -> np.ndarray:
    """A smooth band-pass magnitude response on ``rfft`` bins (Butterworth-like edges)."""
    f = np.fft.rfftfreq(n, 1.0 / sr)
    hp = 1.0 if low <= 0 else 1.0 / (1.0 + (low / np.maximum(f, 1e-3)) ** order)
    lp = 1.0 / (1.0 + (f / high) ** order)
    return hp * lp


def colored_noise(rng: np.random.Generator, n: int, exponent: float = 0.0) -> np.ndarray:
    """Unit-RMS noise with power spectrum ~ 1/f**exponent (0 white, 1 pink, 2 brown)."""
    white = rng.standard_normal(n)
    if exponent == 0.0:
        return white / np.sqrt(np.mean(white**2))
    spec = np.fft.rfft(white)
    f = np.fft.rfftfreq(n)
    f[0] = f[1]
    x = np.fft.irfft(spec / f ** (exponent / 2.0), n)
    return x / np.sqrt(np.mean(x**2))


def _bell(rng: np.random.Generator, p: dict, n: int, sr: int) -> np.ndarray:
    f0 = rng.uniform(*p["f0"])
    tau = rng.uniform(*p["decay"])
    length = min(n, int(1.2 * sr))
    t = np.arange(length) / sr
    ratios = (1.0, 2.0, 2.76, 4.07, 5.40)
    amps = (1.0, 0.6, 0.5, 0.3, 0.2)
    template = np.zeros(length)
    for k, (r, a) in enumerate(zip(ratios, amps, strict=True)):
        if f0 * r < sr / 2:
            template += a * np.sin(TWO_PI * f0 * r * t) * np.exp(-t * (1 + 0.6 * k) / tau)
    template *= np.minimum(t / 0.002, 1.0)
    out = np.zeros(n)
    for s in _event_starts(rng, n, rng.uniform(*p["period"]), sr):
        _overlay(out, template, s, rng.uniform(0.7, 1.0))
    return out


def _drum(rng: np.random.Generator, p: dict, n: int, sr: int) -> np.ndarray:
    f_start, f_end = rng.uniform(*p["f_start"]), rng.uniform(*p["f_end"])
    decay = rng.uniform(*p["decay"])
    length = int(0.4 * sr)
    t = np.arange(length) / sr
    freq = f_end + (f_start - f_end) * np.exp(-t / 0.03)
    body = np.sin(_phase(freq, sr)) * np.exp(-t / decay)
    click = 0.25 * rng.standard_normal(length) * np.exp(-t / 0.006)
    template = body + click
    out = np.zeros(n)
    for s in _event_starts(rng, n, rng.uniform(*p["period"]), sr, jitter=0.05):
        _overlay(out, template, s, rng.uniform(0.6, 1.0))
    return out


def _siren(rng: np.random.Generator, p: dict, n: int, sr: int) -> np.ndarray:
    lo, hi, rate = rng.uniform(*p["f_low"]), rng.uniform(*p["f_high"]), rng.uniform(*p["rate"])
    t = np.arange(n) / sr
    freq = lo + (hi - lo) * (0.5 + 0.5 * np.sin(TWO_PI * rate * t + rng.uniform(0, TWO_PI)))
    return harmonic_stack(_phase(freq, sr), (1.0, 0.3, 0.15))


def _bird(rng: np.random.Generator, p: dict, n: int, sr: int) -> np.ndarray:
    out = np.zeros(n)
    t0 = rng.uniform(0.0, 0.3)
    while t0 < n / sr:
        f_start, f_end = rng.uniform(*p["f_start"]), rng.uniform(*p["f_end"])
        dur = rng.uniform(*p["chirp"])
        m = int(dur * sr)
        tt = np.arange(m) / sr
        freq = f_start * (f_end / f_start) ** (tt / dur)
        chirp = np.sin(_phase(freq, sr)) * np.hanning(m)
        for _ in range(int(rng.integers(3, 7))):
            _overlay(out, chirp, int(t0 * sr), rng.uniform(0.6, 1.0))
            t0 += dur + rng.uniform(*p["gap"])
        t0 += rng.uniform(0.15, 0.45)
    return out


def _engine(rng: np.random.Generator, p: dict, n: int, sr: int) -> np.ndarray:
    f0, am, cutoff = rng.uniform(*p["f0"]), rng.uniform(*p["am_rate"]), rng.uniform(*p["cutoff"])
    t = np.arange(n) / sr
    freq = f0 * (1.0 + 0.03 * np.sin(TWO_PI * rng.uniform(0.2, 0.6) * t + rng.uniform(0, TWO_PI)))
    saw = 2.0 * ((np.cumsum(freq) / sr) % 1.0) - 1.0
    rumble = rng.standard_normal(n)
    spec = np.fft.rfft(saw) * _band_filter(n, sr, 0.0, cutoff) + 0.5 * np.fft.rfft(rumble) * _band_filter(
        n, sr, 20.0, 300.0)
    x = np.fft.irfft(spec, n)
    return x * (1.0 + 0.6 * np.sin(TWO_PI * am * t)) / 1.6


def _whistle(rng: np.random.Generator, p: dict, n: int, sr: int) -> np.ndarray:
    f0, vib = rng.uniform(*p["f0"]), rng.uniform(*p["vibrato"])
    t = np.arange(n) / sr
    freq = f0 * (1.0 + 0.01 * np.sin(TWO_PI * vib * t))
    tone = harmonic_stack(_phase(freq, sr), (1.0, 0.08))
    env = np.zeros(n)
    start = rng.uniform(0.0, 0.2)
    ramp = int(0.02 * sr)
    while start < n / sr:
        a, b = int(start * sr), int((start + rng.uniform(*p["blow"])) * sr)
        seg = np.ones(b - a)
        r = min(ramp, seg.size // 2)
        if r > 0:
            seg[:r] = np.linspace(0, 1, r)
            seg[-r:] = np.linspace(1, 0, r)
        _overlay(env, seg, a)
        start = b / sr + rng.uniform(0.1, 0.3)
    return tone * env


def _rain(rng: np.random.Generator, p: dict, n: int, sr: int) -> np.ndarray:
    low, high = rng.uniform(*p["low"]), rng.uniform(*p["high"])
    x = rng.standard_normal(n)
    drops = rng.random(n) < rng.uniform(*p["drops"]) / sr
    x[drops] += rng.uniform(3.0, 6.0, int(drops.sum()))
    y = np.fft.irfft(np.fft.rfft(x) * _band_filter(n, sr, low, high), n)
    t = np.arange(n) / sr
    return y * (1.0 + 0.3 * np.sin(TWO_PI * rng.uniform(0.3, 1.0) * t + rng.uniform(0, TWO_PI)))


def _dog(rng: np.random.Generator, p: dict, n: int, sr: int) -> np.ndarray:
    f0, formant = rng.uniform(*p["f0"]), rng.uniform(*p["formant"])
    k = np.arange(1, int(0.45 * sr / (1.2 * f0)) + 1)
    amps = (1.0 / k) * (0.3 + 2.0 * np.exp(-(((k * f0 - formant) / 400.0) ** 2)))
    out = np.zeros(n)
    t0 = rng.uniform(0.0, 0.3)
    while t0 < n / sr:
        for _ in range(int(rng.integers(1, 4))):
            dur = rng.uniform(*p["bark"])
            m = int(dur * sr)
            tt = np.arange(m) / sr
            freq = f0 * (1.15 - 0.3 * tt / dur)
            env = np.minimum(tt / 0.01, 1.0) * np.exp(-tt / (0.5 * dur))
            bark = (harmonic_stack(_phase(freq, sr), amps) + 0.3 * rng.standard_normal(m)) * env
            _overlay(out, bark, int(t0 * sr))
            t0 += dur + rng.uniform(0.08, 0.15)
        t0 += rng.uniform(0.4, 0.8)
    return out


def _violin(rng: np.random.Generator, p: dict, n: int, sr: int) -> np.ndarray:
    f0, vib = rng.uniform(*p["f0"]), rng.uniform(*p["vibrato"])
    scale = np.array([0, 2, 4, 5, 7, 9])
    freq = np.empty(n)
    env = np.empty(n)
    ramp = int(0.04 * sr)
    a = 0
    while a < n:
        b = min(n, a + int(rng.uniform(*p["note"]) * sr))
        freq[a:b] = f0 * 2.0 ** (rng.choice(scale) / 12.0)
        seg = np.ones(b - a)
        r = min(ramp, seg.size // 2)
        if r > 0:
            seg[:r] = np.linspace(0.2, 1, r)
            seg[-r:] = np.linspace(1, 0.2, r)
        env[a:b] = seg
        a = b
    t = np.arange(n) / sr
    freq *= 1.0 + 0.006 * np.sin(TWO_PI * vib * t)
    k = np.arange(1, int(7000 / (1.4 * f0)) + 1)
    return harmonic_stack(_phase(freq, sr), 1.0 / k) * env


def _frog(rng: np.random.Generator, p: dict, n: int, sr: int) -> np.ndarray:
    f0, pulse, croak = rng.uniform(*p["f0"]), rng.uniform(*p["pulse"]), rng.uniform(*p["croak"])
    m = int(croak * sr)
    tt = np.arange(m) / sr
    tone = harmonic_stack(TWO_PI * f0 * tt, 1.0 / np.arange(1, 9))
    template = tone * (0.5 + 0.5 * np.cos(TWO_PI * pulse * tt)) ** 4 * np.hanning(m)
    out = np.zeros(n)
    for s in _event_starts(rng, n, rng.uniform(*p["period"]), sr, jitter=0.1):
        _overlay(out, template, s, rng.uniform(0.7, 1.0))
    return out


MODELS: dict[str, Callable[[np.random.Generator, dict, int, int], np.ndarray]] = {
    "bell": _bell, "drum": _drum, "siren": _siren, "bird": _bird, "engine": _engine,
    "whistle": _whistle, "rain": _rain, "dog": _dog, "violin": _violin, "frog": _frog,
}


def class_sound(name: str, rng: np.random.Generator, n_samples: int, sample_rate: int) -> np.ndarray:
    """One float64 clip, unit :func:`active_rms`, of class ``name`` (fresh parameters drawn from ``rng``)."""
    sound = get_class(name).sound
    if sound is None:
        raise ValueError(f"toy class {name!r} never makes a sound (it is one of the silent classes)")
    x = MODELS[sound.model](rng, sound.params, n_samples, sample_rate)
    level = active_rms(x, sample_rate)
    return x / level if level > 0 else x


def active_rms(x: np.ndarray, sample_rate: int, frame_s: float = 0.02) -> float:
    """RMS over the louder half of 20 ms frames: the level of a sound *while it sounds*, so
    sparse sounds (barks, croaks) and continuous ones (siren, rain) come out equally loud."""
    m = max(1, int(frame_s * sample_rate))
    k = x.size // m
    if k == 0:
        return float(np.sqrt(np.mean(x**2)))
    energy = np.mean(x[: k * m].reshape(k, m) ** 2, axis=1)
    loud = np.sort(energy)[k // 2 :]
    return float(np.sqrt(np.mean(loud)))


def background_noise(rng: np.random.Generator, n_samples: int) -> np.ndarray:
    """Unit-RMS room noise: white noise plus a one-pole low-passed copy (a warm, pink-ish
    hiss; cheaper than Fourier shaping); scaled by the scene."""
    white = rng.standard_normal(n_samples)
    a = rng.uniform(0.9, 0.99)
    x = white * rng.uniform(0.1, 0.4) + lfilter([1.0 - a], [1.0, -a], white) * 4.0
    return x / np.sqrt(np.mean(x**2))
