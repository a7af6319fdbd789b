"""The official evaluation metrics, computed exactly as the reference evaluator does.

Per sample: ``cIoU = sum(pred * gt) / (sum(gt) + sum(pred * (gt == 0)))`` for a binary
prediction and a ground-truth map (binary for VGG-SS, annotator consensus in {0, .5, 1}
for Flickr-SoundNet).

Over a test set (``cious``, ``confidences`` and ``n_boxes``, the number of annotated boxes,
0 for a non-sounding pair):

* AUC: area under "fraction of sounding samples with cIoU >= t", t = 0, 0.05, ..., 1
  (trapezoid rule, as ``sklearn.metrics.auc``).
* precision/recall at a confidence threshold: a sounding sample is a true positive when
  confident and cIoU >= 0.5, a false positive when confident but misplaced, a false
  negative when not confident; a confident non-sounding sample is a false positive.
* AP: precision over thresholds taken from the sorted confidences (without the largest),
  descending, stride ``max(1, n // 200)``; precision made monotone from the right;
  ``AP = sum p_max[i] * (r[i+1] - r[i])``.
* max-F1: the best F1 over thresholds every ``max(1, n // 10)`` ascending confidences.
* Precision: the precision when every sample counts as confident (threshold -1000).
* Size subsets (sounding samples only) by ground-truth area in pixels:
  small < 32^2 <= medium < 96^2 <= large < 144^2 <= huge.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ArrayLike = Sequence[float] | np.ndarray

CIOU_THRESHOLDS = [0.05 * i for i in range(21)]
SIZE_RANGES: dict[str, tuple[float, float]] = {
    "small": (0, 32**2),
    "medium": (32**2, 96**2),
    "large": (96**2, 144**2),
    "huge": (144**2, 10000**2),
}
SUBSETS = ("all", "visible", "small", "medium", "large", "huge")

def _numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def ciou(pred_mask, gt_map) -> float:
    """Consensus IoU of one binary prediction with one ground-truth map.

    ``pred_mask`` is made binary with ``> 0`` (a bool mask or 0/1 values). Returns NaN
    when both maps are empty (0 / 0), as the official evaluator does.
    """
    pred = (_numpy(pred_mask) > 0).astype(np.float64)
    gt = _numpy(gt_map).astype(np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} differ in shape")
    inter = np.sum(pred * gt)
    union = np.sum(gt) + np.sum(pred * (gt == 0))
    return float(inter / union) if union != 0 else float("nan")


def _sounding(values: np.ndarray, n_boxes) -> np.ndarray:
    return values if n_boxes is None else values[_numpy(n_boxes) > 0]


def auc(cious: ArrayLike, n_boxes: ArrayLike | None = None) -> float:
    """Area under the success-rate curve over cIoU thresholds 0, 0.05, ..., 1.

    With ``n_boxes`` given, only sounding samples (``n_boxes > 0``) count, as in the
    extended evaluation.
    """
    values = _sounding(_numpy(cious).astype(np.float64), n_boxes)
    if values.size == 0:
        return float("nan")
    rates = [np.sum(values >= t) / len(values) for t in CIOU_THRESHOLDS]
    return float(np.trapezoid(rates, CIOU_THRESHOLDS))


def precision_recall(
    cious: ArrayLike,
    confidences: ArrayLike,
    n_boxes: ArrayLike,
    confidence_threshold: float,
    ciou_threshold: float = 0.5,
) -> tuple[float, float]:
    """Precision and recall at one confidence threshold (1.0 when undefined, as official)."""
    c = _numpy(cious)
    conf = _numpy(confidences)
    boxes = _numpy(n_boxes)
    if not len(c) == len(conf) == len(boxes):
        raise ValueError("cious, confidences and n_boxes must have the same length")
    confident = conf >= confidence_threshold
    sounding = boxes > 0
    hit = c >= ciou_threshold  # NaN compares False, as in the official loop
    tp = int(np.sum(sounding & confident & hit))
    fp = int(np.sum(sounding & confident & ~hit) + np.sum(~sounding & confident))
    fn = int(np.sum(sounding & ~confident))
    precision = 1.0 if tp + fp == 0 else tp / (tp + fp)
    recall = 1.0 if tp + fn == 0 else tp / (tp + fn)
    return precision, recall


def average_precision(
    cious: ArrayLike, confidences: ArrayLike, n_boxes: ArrayLike, ciou_threshold: float = 0.5
) -> float:
    """The official AP over confidence thresholds (see the module docstring)."""
    conf = _numpy(confidences)
    skip = max(1, len(conf) // 200)
    thresholds = np.sort(conf)[:-1][::-skip]
    pr = [precision_recall(cious, conf, n_boxes, t, ciou_threshold) for t in thresholds]
    precision = [p for p, _ in pr]
    recall = [r for _, r in pr]
    precision_max = [np.max(precision[i:]) for i in range(len(precision))]
    return float(
        sum(precision_max[i] * (recall[i + 1] - recall[i]) for i in range(len(precision_max) - 1))
    )


def f1_scores(
    cious: ArrayLike, confidences: ArrayLike, n_boxes: ArrayLike, ciou_threshold: float = 0.5
) -> list[float]:
    """F1 at thresholds every ``max(1, n // 10)`` of the ascending confidences (official list)."""
    conf = _numpy(confidences)
    thresholds = sorted(conf.tolist())[:: max(1, len(conf) // 10)]
    scores = []
    for t in thresholds:
        p, r = precision_recall(cious, conf, n_boxes, t, ciou_threshold)
        scores.append(2 * r * p / (r + p) if r + p > 0 else 0.0)
    return scores


def max_f1(
    cious: ArrayLike, confidences: ArrayLike, n_boxes: ArrayLike, ciou_threshold: float = 0.5
) -> float:
    """The largest of :func:`f1_scores` (the official tables print the whole list)."""
    scores = f1_scores(cious, confidences, n_boxes, ciou_threshold)
    return float(max(scores)) if scores else float("nan")


def precision(
    cious: ArrayLike, confidences: ArrayLike, n_boxes: ArrayLike, ciou_threshold: float = 0.5
) -> float:
    """Precision when every sample counts as confident (official threshold -1000)."""
    return float(precision_recall(cious, confidences, n_boxes, -1000, ciou_threshold)[0])


def subset_indices(subset: str, n_boxes: ArrayLike, areas: ArrayLike | None = None) -> np.ndarray:
    """Indices of ``all``, ``visible`` (sounding) or a size subset (sounding only)."""
    boxes = _numpy(n_boxes)
    if subset == "all":
        return np.flatnonzero(boxes >= 0)
    if subset == "visible":
        return np.flatnonzero(boxes > 0)
    if subset not in SIZE_RANGES:
        raise ValueError(f"unknown subset {subset!r}; choose from {SUBSETS}")
    if areas is None:
        raise ValueError("size subsets need the ground-truth areas")
    low, high = SIZE_RANGES[subset]
    area = _numpy(areas)
    return np.flatnonzero((low <= area) & (area < high) & (boxes > 0))


def summary(
    cious: ArrayLike,
    confidences: ArrayLike,
    n_boxes: ArrayLike,
    areas: ArrayLike | None = None,
    ciou_threshold: float = 0.5,
) -> dict[str, dict[str, float]]:
    """The official table: per subset, cIoU mean, AUC, AP, max-F1 and Precision.

    Subsets without samples get NaN. ``cIoU`` (mean over sounding samples) is not in the
    official extended table but is what the non-extended tables report.
    """
    c, conf, boxes = _numpy(cious), _numpy(confidences), _numpy(n_boxes)
    table: dict[str, dict[str, float]] = {}
    for subset in SUBSETS:
        if subset in SIZE_RANGES and areas is None:
            continue
        idx = subset_indices(subset, boxes, areas)
        if idx.size == 0:
            nan = float("nan")
            table[subset] = {"n": 0, "cIoU": nan, "AUC": nan, "AP": nan, "max-F1": nan,
                             "Precision": nan}
            continue
        sc, sconf, sb = c[idx], conf[idx], boxes[idx]
        visible = sc[sb > 0]
        table[subset] = {
            "n": int(idx.size),
            "cIoU": float(np.nanmean(visible)) if visible.size else float("nan"),
            "AUC": auc(sc, sb),
            "AP": average_precision(sc, sconf, sb, ciou_threshold),
            "max-F1": max_f1(sc, sconf, sb, ciou_threshold),
            "Precision": precision(sc, sconf, sb, ciou_threshold),
        }
    return table
