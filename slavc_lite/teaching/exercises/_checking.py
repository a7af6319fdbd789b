"""Shared helpers of the exercise checks: compare, explain, confirm."""

from __future__ import annotations

import numpy as np
import torch


def as_numpy(x) -> np.ndarray:
    """A numpy copy of a tensor, array or number."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def assert_close(got, expected, what: str, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Raise ``AssertionError`` naming ``what`` if shapes differ or values are not close."""
    g, e = as_numpy(got), as_numpy(expected)
    if g.shape != e.shape:
        raise AssertionError(f"{what}: shape {tuple(g.shape)}, expected {tuple(e.shape)}")
    if not np.allclose(g, e, atol=atol, rtol=rtol, equal_nan=True):
        worst = float(np.nanmax(np.abs(g - e)))
        raise AssertionError(f"{what}: values differ from the reference (largest difference {worst:.3g}, "
                             f"tolerance {atol:g} + {rtol:g} * |reference|)")


def call(fn, *args, what: str):
    """Call the student's ``fn``; a ``NotImplementedError`` becomes an ``AssertionError`` that says
    the function is not written yet."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise AssertionError(f"{what}: the function is not written yet (it raises NotImplementedError)") \
            from None


def passed(message: str) -> bool:
    """Print a confirmation and return True (so a check can end a cell)."""
    print(f"Correct: {message}")
    return True
