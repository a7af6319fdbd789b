"""Exercise checks of chapter 09 (beyond still frames: audio-visual synchrony).

* :func:`check_correlation_map` - the Pearson correlation over time of one signal with the
  visual change of every grid cell (reference :func:`slavc_lite.synchrony.correlation_map`).
* :func:`check_gated_map` - SLAVC with synchrony, ``rel(semantic) * ((1 - w) + w * s / max(s))``
  with ``rel`` the per-map min-max normalisation (reference :func:`slavc_lite.synchrony.gated_map`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from slavc_lite.synchrony import correlation_map, gated_map
from slavc_lite.teaching.exercises._checking import as_numpy, assert_close, call, passed

__all__ = ["check_correlation_map", "check_gated_map"]



def check_correlation_map(fn: Callable, seed: int | None = None) -> bool:
    """Check ``fn(signal [K], change [K, h, w]) -> [h, w]``: Pearson correlation per cell.

    A cell whose change is constant over time has correlation 0 (not NaN)."""
    rng = np.random.default_rng(seed)
    signal = rng.random(21)
    change = rng.random((21, 6, 7))
    change[:, 2, 3] = 0.25
    change[:, 0, 0] = 2.0 * signal + 0.1
    what = "correlation map"
    got = as_numpy(call(fn, signal.copy(), change.copy(), what=what))
    expected = correlation_map(signal, change)
    same_shape = got.shape == expected.shape
    if same_shape and np.isnan(got[2, 3]):
        raise AssertionError(f"{what}: a cell that never changes gave NaN; make it 0 (no evidence)")
    if same_shape and np.allclose(got[0, 0], 1.0) and not np.allclose(got, expected, atol=1e-6):
        cov = ((signal - signal.mean())[:, None, None] * (change - change.mean(0))).mean(0)
        if np.allclose(got, cov, atol=1e-6):
            raise AssertionError(f"{what}: that is the covariance; divide by both standard deviations")
    assert_close(got, expected, what, atol=1e-6)
    return passed("your correlation map is Pearson's r per cell, 0 where nothing changes")


def check_gated_map(fn: Callable, seed: int | None = None) -> bool:
    """Check ``fn(semantic, synchrony, weight) -> map`` for one ``[H, W]`` map pair."""
    rng = np.random.default_rng(seed)
    semantic = rng.random((32, 32)).astype(np.float32)
    sync = (rng.random((32, 32)) * 0.6).astype(np.float32)
    for weight in (0.0, 0.5, 1.0, float(rng.uniform(0.1, 0.9))):
        what = f"gated map at weight {weight:g}"
        got = as_numpy(call(fn, semantic.copy(), sync.copy(), weight, what=what))
        expected = gated_map(semantic, sync, weight)
        rel = (semantic - semantic.min()) / (semantic.max() - semantic.min())
        unscaled = rel * ((1 - weight) + weight * sync)
        if got.shape == expected.shape and weight > 0 and np.allclose(got, unscaled, atol=1e-6) \
                and not np.allclose(got, expected, atol=1e-6):
            raise AssertionError(f"{what}: divide the synchrony map by its maximum first (s / max(s))")
        raw = semantic * ((1 - weight) + weight * sync / sync.max())
        if got.shape == raw.shape and np.allclose(got, raw, atol=1e-6) and not np.allclose(got, expected):
            raise AssertionError(f"{what}: min-max normalise the semantic map first (its relative scale)")
        assert_close(got, expected, what, atol=1e-6)
    return passed("your gate is rel(semantic) * ((1 - w) + w * s / max(s)) for four weights")
