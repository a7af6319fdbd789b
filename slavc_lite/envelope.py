"""The loudness of a sound over time: the RMS of its waveform over each of a series of intervals.

Two places need it, and must agree on it to the sample:

* the toy video world moves each object with the envelope of its own sound over each frame's
  display interval (:mod:`slavc_lite.data.toy.motion`);
* the synchrony map of Hershey & Movellan ("Audio Vision", NeurIPS 1999) correlates the change
  seen at each place of the frame with the envelope of the heard sound (:mod:`slavc_lite.synchrony`).

Numpy only, so that the toy world does not import torch.
"""

from __future__ import annotations

import numpy as np

__all__ = ["interval_rms"]


def interval_rms(waveform: np.ndarray, sample_rate: float, starts: np.ndarray,
                 ends: np.ndarray) -> np.ndarray:
    """RMS of ``waveform`` (sample 0 at time 0) over each interval ``[starts[k], ends[k])`` seconds.

    The interval covers the samples ``round(start * sample_rate)`` up to, not including,
    ``round(end * sample_rate)``, clipped to the waveform; an interval with no sample gets 0.
    """
    x = np.asarray(waveform, dtype=np.float64).ravel()
    starts, ends = np.asarray(starts, dtype=np.float64), np.asarray(ends, dtype=np.float64)
    if starts.shape != ends.shape or starts.ndim != 1:
        raise ValueError(f"starts and ends must be two 1-D arrays of one length, got {starts.shape} and "
                         f"{ends.shape}")
    out = np.zeros(starts.size)
    for k, (t0, t1) in enumerate(zip(starts, ends, strict=True)):
        a, b = max(0, int(round(t0 * sample_rate))), min(x.size, int(round(t1 * sample_rate)))
        if b > a:
            out[k] = float(np.sqrt(np.mean(x[a:b] ** 2)))
    return out
