"""Audio-visual synchrony: where does the picture change when the sound changes?

Hershey & Movellan ("Audio Vision: Using Audio-Visual Synchrony to Locate Sounds", NeurIPS
1999; reference [7] of the IPOL review of SLAVC) locate a sound without any training: a pixel
belongs to the source when its intensity over time is correlated with the audio energy.
This module measures that correlation between two *changes*, which is what a moving source
produces:

* the audio side, :func:`audio_energy`: ``a_k``, the RMS of the waveform over frame ``k``'s
  display interval ``[t_k, t_{k+1})``, and its change ``d_k = |a_k - a_{k-1}|``;
* the visual side, :func:`visual_change`: ``v_k(x) = |g_k(x) - g_{k-1}(x)|``, the change of
  the grey level ``g`` between consecutive frames, averaged over ``cell`` x ``cell`` pixel
  blocks (a coarse grid, robust to sensor noise and compression);
* the synchrony map, :func:`synchrony_map`: the Pearson correlation over ``k`` of ``d`` and
  ``v(x)`` at every grid cell, negative values set to 0, smoothed, bilinearly upsampled to
  224 x 224. It lies in [0, 1] like the official maps.

Differencing both sides matters: a loud steady sound and a still object do not correlate, a
drum hit and the drum's squash do. A still frame (or a silent clip) gives a map of zeros.

:func:`gated_map` combines a semantic map (SLAVC or VSL: "a guitar") with the synchrony map
("this one"): ``rel(semantic) * ((1 - w) + w * s / max(s))``, where ``rel`` is the per-map
min-max normalisation the official relative prediction applies.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from slavc_lite.envelope import interval_rms

__all__ = [
    "DEFAULT_CELL",
    "DEFAULT_SMOOTH",
    "audio_energy",
    "visual_change",
    "correlation_map",
    "clip_correlation",
    "synchrony_from_correlation",
    "synchrony_map",
    "windowed_synchrony_maps",
    "relative",
    "gated_map",
    "gated_maps",
]

DEFAULT_CELL = 4
"""Side, in pixels of a 224 x 224 frame, of the blocks whose mean grey level is followed."""
DEFAULT_SMOOTH = 1.0
"""Standard deviation, in grid cells, of the Gaussian that smooths the correlation grid."""
_GREY = np.array([0.299, 0.587, 0.114], np.float32)


def _intervals(times: np.ndarray) -> np.ndarray:
    """``[t_k, t_{k+1})`` for each frame; the last lasts as long as the median frame."""
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 1 or t.size < 2:
        raise ValueError(f"synchrony needs at least two frame times, got {t.size}")
    if np.any(np.diff(t) <= 0):
        raise ValueError("frame times must increase strictly")
    step = float(np.median(np.diff(t)))
    return np.stack([t, np.append(t[1:], t[-1] + step)], axis=1)


def audio_energy(waveform: np.ndarray, sample_rate: int, times: np.ndarray) -> np.ndarray:
    """``a_k``: RMS of ``waveform`` (time 0 at sample 0) over each frame's display interval
    (:func:`slavc_lite.envelope.interval_rms`, the envelope that moves the toy clips' objects).

    An interval outside the waveform gets 0."""
    intervals = _intervals(times)
    return interval_rms(waveform, sample_rate, intervals[:, 0], intervals[:, 1])


def _grey_grid(frames: np.ndarray, cell: int) -> np.ndarray:
    """``[T, H // cell, W // cell]`` mean grey level (in [0, 1]) of each block of each frame."""
    f = np.asarray(frames)
    if f.ndim != 4 or f.shape[-1] != 3:
        raise ValueError(f"frames must be [T, H, W, 3], got shape {f.shape}")
    grey = f.astype(np.float32) @ _GREY / 255.0
    t, h, w = grey.shape
    h2, w2 = h // cell, w // cell
    return grey[:, : h2 * cell, : w2 * cell].reshape(t, h2, cell, w2, cell).mean(axis=(2, 4))


def visual_change(frames: np.ndarray, cell: int = DEFAULT_CELL) -> np.ndarray:
    """``v_k(x) = |g_k(x) - g_{k-1}(x)|`` for ``k = 1 .. T-1``: ``[T - 1, H // cell, W // cell]``."""
    return np.abs(np.diff(_grey_grid(frames, cell), axis=0))


def correlation_map(signal: np.ndarray, change: np.ndarray) -> np.ndarray:
    """Pearson correlation over time of ``signal`` ``[K]`` with ``change[:, i, j]`` ``[K, h, w]``.

    A constant series (no change at a cell, or a constant signal) has correlation 0."""
    s = np.asarray(signal, dtype=np.float64)
    v = np.asarray(change, dtype=np.float64)
    if v.shape[0] != s.shape[0]:
        raise ValueError(f"signal has {s.shape[0]} steps but change has {v.shape[0]}")
    s = s - s.mean()
    v = v - v.mean(axis=0)
    norm = np.sqrt((s**2).sum() * (v**2).sum(axis=0))
    cov = np.tensordot(s, v, axes=(0, 0))
    out = np.zeros_like(cov)
    ok = norm > 1e-12
    out[ok] = cov[ok] / norm[ok]
    return out


def _smooth(grid: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return grid
    radius = max(1, int(round(3 * sigma)))
    x = np.arange(-radius, radius + 1)
    kernel = np.exp(-(x**2) / (2 * sigma**2))
    kernel /= kernel.sum()
    padded = np.pad(grid, radius, mode="edge")
    rows = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="valid"), 1, padded)
    return np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="valid"), 0, rows)


def _upsample(grid: np.ndarray, size: int) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(grid, dtype=np.float32))[None, None]
    return F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)[0, 0].numpy()


def synchrony_map(frames: np.ndarray, times: np.ndarray, waveform: np.ndarray, sample_rate: int,
                  cell: int = DEFAULT_CELL, smooth: float = DEFAULT_SMOOTH, size: int = 224) -> np.ndarray:
    """The synchrony map of a clip (module docstring): ``[size, size]`` float32 in [0, 1].

    Args:
        frames: ``[T, H, W, 3]`` uint8 frames (T >= 3), shown at ``times`` seconds.
        times: presentation time of each frame (strictly increasing; variable rates are fine).
        waveform: mono audio, sample 0 at time 0.
        sample_rate: its rate in Hz.
        cell: block side in pixels (:data:`DEFAULT_CELL`).
        smooth: Gaussian smoothing of the correlation grid, in cells (0: none).
        size: side of the returned map.
    """
    if len(frames) != len(times):
        raise ValueError(f"{len(frames)} frames but {len(times)} times")
    if len(frames) < 3:
        raise ValueError(f"synchrony needs at least 3 frames (2 changes), got {len(frames)}")
    grid = clip_correlation(frames, times, waveform, sample_rate, cell)
    return synchrony_from_correlation(grid, smooth, size)


def clip_correlation(frames: np.ndarray, times: np.ndarray, waveform: np.ndarray, sample_rate: int,
                     cell: int = DEFAULT_CELL) -> np.ndarray:
    """The raw correlation grid ``rho`` of a clip (``[H // cell, W // cell]``, in [-1, 1]): the
    audio energy change against each cell's visual change, before clipping and smoothing."""
    energy = audio_energy(waveform, sample_rate, times)
    return correlation_map(np.abs(np.diff(energy)), visual_change(frames, cell))


def synchrony_from_correlation(grid: np.ndarray, smooth: float = DEFAULT_SMOOTH,
                               size: int = 224) -> np.ndarray:
    """The synchrony map from a correlation grid: ``max(rho, 0)``, a Gaussian of ``smooth`` cells,
    bilinear upsampling to ``size`` x ``size``; float32 in [0, 1].

    A wider Gaussian spreads the evidence of an object's moving edges (a squashing drum changes
    only at its top) over the object itself."""
    smoothed = _smooth(np.clip(np.asarray(grid), 0.0, None), smooth)
    return np.clip(_upsample(smoothed, size), 0.0, 1.0).astype(np.float32)


def windowed_synchrony_maps(frames: np.ndarray, times: np.ndarray, waveform: np.ndarray, sample_rate: int,
                            centres: np.ndarray, seconds: float = 3.0, **kwargs) -> np.ndarray:
    """One synchrony map per centre time, from the frames within ``seconds`` around it.

    The window matches the 3 s audio window SLAVC hears for a frame; at the clip's ends it
    holds fewer frames (at least 3: the nearest ones). Returns ``[len(centres), size, size]``.
    """
    t = np.asarray(times, dtype=np.float64)
    out = []
    for c in np.asarray(centres, dtype=np.float64):
        idx = np.flatnonzero(np.abs(t - c) <= seconds / 2)
        if idx.size < 3:
            idx = np.sort(np.argsort(np.abs(t - c), kind="stable")[:3])
        out.append(synchrony_map(frames[idx], t[idx], waveform, sample_rate, **kwargs))
    return np.stack(out)


def relative(maps_: np.ndarray) -> np.ndarray:
    """Per-map min-max normalisation to [0, 1] (``[H, W]`` or ``[B, H, W]``); a constant map gives 0.

    The official relative prediction normalises each map this way before keeping its top 50%."""
    x = np.asarray(maps_, dtype=np.float32)
    flat = x.reshape(-1, x.shape[-2] * x.shape[-1])
    low = flat.min(axis=1).reshape(x.shape[:-2] + (1, 1))
    span = (flat.max(axis=1) - flat.min(axis=1)).reshape(x.shape[:-2] + (1, 1))
    return np.divide(x - low, span, out=np.zeros_like(x), where=span > 0)


def gated_map(semantic: np.ndarray | torch.Tensor, synchrony: np.ndarray | torch.Tensor,
              weight: float) -> np.ndarray:
    """SLAVC with synchrony: ``rel(semantic) * ((1 - weight) + weight * s / max(s))``.

    The semantic map (SLAVC or VSL) says *what* sounds; the synchrony map ``s``, relative to its
    own maximum, says *which one* moves with the sound. The semantic map enters on its relative
    scale (:func:`relative`, as the official relative prediction sees it): on the fixed scale a
    trained map may span only a few hundredths, and any gate would then override it. ``weight =
    0`` gives the relative semantic map (the same official prediction as the map itself), ``1``
    the product. Where nothing moves with the sound (``max(s) = 0``) the gate is ``1 - weight``
    everywhere, so the ranking of the semantic map is kept. The result lies in [0, 1] but is
    not on the fixed scale of the official maps. Maps are ``[H, W]`` or ``[B, H, W]`` (one
    normalisation and one maximum per map).
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be in [0, 1], not {weight}")
    sem = np.asarray(semantic, dtype=np.float32)
    syn = np.asarray(synchrony, dtype=np.float32)
    if sem.shape != syn.shape:
        raise ValueError(f"semantic map {sem.shape} and synchrony map {syn.shape} differ in shape")
    peak = syn.reshape(-1, *syn.shape[-2:]).max(axis=(1, 2)).reshape(syn.shape[:-2] + (1, 1))
    rel = np.divide(syn, peak, out=np.zeros_like(syn), where=peak > 0)
    return relative(sem) * ((1.0 - weight) + weight * rel)


def gated_maps(semantic_maps: dict, synchrony: np.ndarray | torch.Tensor, weight: float,
               names: tuple[str, ...] = ("slavc", "vsl")) -> dict[str, np.ndarray]:
    """``{"<name>+sync": gated_map(semantic_maps[name], synchrony, weight)}`` for each of ``names``:
    the semantic maps of one clip (or frame batch) gated by the same synchrony map."""
    return {f"{name}+sync": gated_map(semantic_maps[name], synchrony, weight) for name in names}
