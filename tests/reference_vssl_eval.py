"""Slow, independent implementations of the negative-audio metrics of Juanola, Haro and Fuentes.

Each follows one function of their evaluation code, github.com/xavijuanola/vssl_eval at commit
e8ebbc90d51318cd2ca7ac2993dfc6af75d90d18 (named in each docstring), step by step with
explicit loops over pixels and samples, so that the vectorised library code can be checked
against something obviously right. Pixel values stay numpy scalars, so comparisons with a
threshold follow the same numpy promotion rules as in the reference.

One deliberate change: the reference builds its 0/1 prediction map as a fixed 224 x 224
array; here it takes the shape of the prediction, so that small maps can be tested.
"""

from __future__ import annotations

import math

import numpy as np

#: ``eval.py``, ``main``: the per-model thresholds (max, max10, maxq3) as constants.
REFERENCE_THRESHOLDS = {
    "ezvsl": (0.6041, 0.6645, 0.6382),
    "slavc": (0.5201, 0.5721, 0.5450),
    "fnac": (0.5311, 0.5842, 0.5538),
    "lvs": (0.5527, 0.6080, 0.6077),
    "ssltie": (0.2641, 0.2906, 0.3338),
    "sslalign": (0.2660, 0.2926, 0.3175),
}


def _pixels(x) -> list:
    return list(np.ravel(np.asarray(x)))


def ciou_loops(infer, gtmap, thres, inclusive: bool = False) -> float:
    """``utils_dir/utils.py: Evaluator_iiou.cal_CIOU`` (strict ``>``); with ``inclusive``,
    ``utils_dir/eval_utils.py: cal_CIOU`` (``>=``). Marked pixels count 1.0; the intersection
    weighs the ground truth, the union adds the whole ground truth and the marked pixels
    where the ground truth is 0; 0 / 0 is NaN."""
    inter = gt_sum = outside = 0.0
    for v, g in zip(_pixels(infer), _pixels(gtmap), strict=True):
        marked = 1.0 if ((v >= thres) if inclusive else (v > thres)) else 0.0
        inter += marked * g
        gt_sum += g
        outside += marked * (1.0 if g == 0 else 0.0)
    union = gt_sum + outside
    return inter / union if union != 0 else math.nan


def adaptive_threshold_loops(pred, gt_map):
    """``eval.py``, ``threshold_ciouadap_wogl``: count the non-zero ground-truth pixels (half
    the pixels when there are none) and take, in the ascending list of map values, the one at
    position (number of pixels - that count)."""
    values = _pixels(pred)
    count = 0
    for g in _pixels(gt_map):
        if g != 0:
            count += 1
    if count == 0:
        count = len(values) // 2
    return sorted(values)[len(values) - count]


def median_threshold_loops(pred):
    """``eval.py``, ``threshold_ciou_wogl``: the ascending map values at position
    ``int(number of pixels * 0.5)``."""
    values = _pixels(pred)
    return sorted(values)[int(len(values) * 0.5)]


def pia_loops(mask) -> float:
    """``utils_dir/eval_utils.py: compute_pIA``: sum of the mask over its number of elements."""
    values = _pixels(mask)
    total = 0
    for m in values:
        total += m
    return total / len(values)


def map_iou_loops(map1, map2) -> float:
    """``utils_dir/eval_utils.py: compute_IOU_maps``, its three cases in its order: second
    empty and first not -> 0.0; both empty -> 1.0; else intersection over union of the
    non-zero pixels."""
    a, b = _pixels(map1), _pixels(map2)
    sum_a = sum_b = 0
    for x in a:
        sum_a += x
    for y in b:
        sum_b += y
    if sum_b == 0 and sum_a > 0:
        return 0.0
    if sum_a == 0 and sum_b == 0:
        return 1.0
    inter = union = 0
    for x, y in zip(a, b, strict=True):
        inter += 1 if (x != 0 and y != 0) else 0
        union += 1 if (x != 0 or y != 0) else 0
    return inter / union


def sklearn_auc_loops(x: list[float], y: list[float]) -> float:
    """``sklearn.metrics.auc``: trapezoid rule, sign flipped for a decreasing ``x``."""
    steps = [x[i + 1] - x[i] for i in range(len(x) - 1)]
    direction = 1
    if any(s < 0 for s in steps):
        if not all(s <= 0 for s in steps):
            raise ValueError("x is neither increasing nor decreasing")
        direction = -1
    area = 0.0
    for i, s in enumerate(steps):
        area += s * (y[i] + y[i + 1]) / 2
    return direction * area


def _curve_loops(values, below: bool) -> float:
    values = _pixels(values)
    thresholds = [0.05 * i for i in range(21)]
    rates = []
    for t in thresholds:
        hits = 0
        for v in values:
            if (v <= t) if below else (v >= t):
                hits += 1
        rates.append(hits / len(values))
    return sklearn_auc_loops(thresholds, rates)


def auc_pia_loops(metric) -> float:
    """``utils_dir/eval_utils.py: compute_AUC_pIA``: share of values ``<= 0.05 * i``."""
    return _curve_loops(metric, below=True)


def auc_ciou_loops(metric) -> float:
    """``utils_dir/eval_utils.py: compute_AUC``: share of values ``>= 0.05 * i``."""
    return _curve_loops(metric, below=False)


def f_loops(metric1: float, metric2: float) -> float:
    """``utils_dir/eval_utils.py: compute_f``: the harmonic mean; 0 / 0 is NaN (numpy floats)."""
    total = metric1 + metric2
    if total == 0:
        return math.nan
    return 2 * (metric1 * metric2) / total


def universal_thresholds_loops(maxima, center: str = "mean") -> dict[str, float]:
    """The thresholds as the library defines them from the paper's constants: the mean (or
    median) of the positive maxima, 1.1 times it, and the third quartile with linear
    interpolation between the two neighbouring sorted values."""
    values = sorted(float(v) for v in _pixels(maxima))
    n = len(values)
    if center == "mean":
        base = 0.0
        for v in values:
            base += v
        base /= n
    else:
        base = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
    position = 0.75 * (n - 1)
    low = math.floor(position)
    high = min(low + 1, n - 1)
    q3 = values[low] + (position - low) * (values[high] - values[low])
    return {"max": base, "max10": 1.1 * base, "maxq3": q3}
