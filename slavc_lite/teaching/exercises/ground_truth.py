"""Exercise check of chapter 00 (overview): the VGG-SS ground-truth map of a sample's boxes.

* :func:`check_vggss_gt_map` - boxes normalised ``[x0, y0, x1, y1]`` -> a binary 224 x 224 map,
  the official rule (reference :func:`slavc_lite.ground_truth.vggss_gt_map`): each coordinate is
  clipped to [0, 1], multiplied by 224 and cast to int (truncated); a box covers rows
  ``y0 .. y1 - 1`` and columns ``x0 .. x1 - 1``; the map is the union of the boxes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from slavc_lite.ground_truth import MAP_SIZE, vggss_gt_map
from slavc_lite.teaching.exercises._checking import as_numpy, call, passed

__all__ = ["check_vggss_gt_map"]


def _cases(rng: np.random.Generator) -> list[list[list[float]]]:
    """One box; two overlapping boxes; boxes reaching outside [0, 1]; coordinates that fall
    between pixels (so truncation and rounding differ)."""
    def box() -> list[float]:
        x0, y0 = rng.uniform(0.0, 0.6, size=2)
        return [float(x0), float(y0), float(x0 + rng.uniform(0.15, 0.4)), float(y0 + rng.uniform(0.1, 0.35))]

    a, b = box(), box()
    overlapping = [a, [a[0] + 0.05, a[1] + 0.05, a[2] + 0.1, a[3] + 0.1]]
    outside = [[-0.08, float(rng.uniform(0.1, 0.3)), 0.3, 0.7],
               [0.6, -0.05, 1.12, float(rng.uniform(0.4, 0.6))]]
    between = [[(k + 0.7) / MAP_SIZE for k in (20, 30, 120, 90)]]
    return [[b], overlapping, outside, between, [a, b, box()]]


def check_vggss_gt_map(fn: Callable, seed: int | None = None) -> bool:
    """Check ``fn(boxes) -> [224, 224]`` (0/1 values) against the official VGG-SS ground truth.

    ``boxes`` is a list of ``[x0, y0, x1, y1]`` normalised to [0, 1] (as in ``vggss.json`` and
    ``assets/examples/boxes.json``); some test boxes reach outside the frame.
    """
    rng = np.random.default_rng(seed)
    for boxes in _cases(rng):
        what = f"ground truth of boxes {[[round(v, 3) for v in b] for b in boxes]}"
        got = as_numpy(call(fn, [list(b) for b in boxes], what=what))
        expected = vggss_gt_map(boxes)
        if got.shape != expected.shape:
            raise AssertionError(f"{what}: shape {got.shape}, expected {expected.shape} (the official maps "
                                 "are 224 x 224)")
        if np.array_equal(got, expected):
            continue
        if np.array_equal(got, expected.T):
            raise AssertionError(f"{what}: your map is transposed: rows are y, columns are x, "
                                 "gt[y0:y1, x0:x1] = 1")
        if got.max() > 1:
            raise AssertionError(f"{what}: values up to {got.max():g}: where boxes overlap the map is "
                                 "still 1 (the union of the boxes, not their sum)")
        wrong = int(np.sum(got != expected))
        raise AssertionError(f"{what}: {wrong} pixels differ from the reference. The official rule: clip "
                             "each coordinate to [0, 1], multiply by 224, cast to int (truncation, not "
                             "rounding), then gt[y0:y1, x0:x1] = 1 (end excluded)")
    return passed("your ground-truth maps match slavc_lite.ground_truth.vggss_gt_map")
