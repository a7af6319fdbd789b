"""Per-hard-case table on the toy world: how each map copes with each case of the IPOL review.

The toy world's test pairs have a kind (``scenes.csv``, see :mod:`slavc_lite.data.toy.scenes`):
``single``, ``mixture``, ``small``, ``silent`` and ``same_type`` have ground-truth boxes;
``offscreen``, ``silence`` and ``noise`` have none (the non-sounding pairs of the extended
evaluation). Per kind and map:

* with boxes: mean cIoU (official relative prediction, top 50%), AUC (:func:`slavc_lite.metrics.auc`)
  and ``cIoU@0.5`` (the share of samples with cIoU >= 0.5); the pointing game (share of maps
  whose maximum is inside a box) and the median contrast (mean inside the boxes minus mean
  outside, on the map's own scale), two views of ours (:mod:`slavc_lite.evaluation.inference`);
* always: the mean official confidence and the share of *confident* predictions
  (confidence >= the table's threshold). Without boxes every confident prediction is a false
  positive of the official extended metrics, so that share is the false-positive rate.

``single`` scenes come again split by whether the frame holds silent objects beside the
sounding one (rows ``single+silent`` and ``single alone``, :func:`single_scene_groups`): an
object prior helps only when the sounding object is the salient one.

The confidence threshold is stated with the table. By default it is the threshold at which
the map's official F1 list peaks on the whole test set (:func:`max_f1_threshold`): the
operating point that max-F1 reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from slavc_lite import metrics
from slavc_lite.evaluation.inference import TestSetScores

__all__ = ["HARD_CASE_KINDS", "SINGLE_GROUPS", "hard_case_table", "hard_case_tables", "max_f1_threshold",
           "single_scene_groups"]

#: Row order (the toy world's kinds, :data:`slavc_lite.data.toy.KINDS`).
HARD_CASE_KINDS = ("single", "mixture", "small", "silent", "offscreen", "same_type", "silence", "noise")
#: The two groups of ``single`` scenes, rows after ``single``.
SINGLE_GROUPS = ("single+silent", "single alone")


def single_scene_groups(kinds: Mapping[str, str], visible_classes: Mapping[str, frozenset[str]],
                        audio_classes: Mapping[str, frozenset[str]]) -> dict[str, str]:
    """``{id: "single+silent" or "single alone"}`` for the ``single`` scenes: whether the
    frame shows any object whose class is not heard."""
    return {i: SINGLE_GROUPS[0] if visible_classes.get(i, frozenset()) - audio_classes.get(i, frozenset())
            else SINGLE_GROUPS[1] for i, k in kinds.items() if k == "single"}


def max_f1_threshold(scores: TestSetScores, map_name: str = "slavc") -> float:
    """The confidence threshold of the official max-F1: F1 is computed at every
    ``max(1, n // 10)``-th ascending confidence (:func:`slavc_lite.metrics.f1_scores`); the
    first threshold with the largest F1."""
    conf = scores.confidences[map_name]
    thresholds = sorted(conf.tolist())[:: max(1, len(conf) // 10)]
    f1 = metrics.f1_scores(scores.cious[map_name], conf, scores.n_boxes)
    return float(thresholds[int(np.argmax(f1))])


def _mean(x: np.ndarray) -> float:
    return float(np.nanmean(x)) if x.size and not np.all(np.isnan(x)) else float("nan")


def hard_case_table(
    scores: TestSetScores,
    kinds: Mapping[str, str],
    map_name: str = "slavc",
    confidence_threshold: float | None = None,
    order: Sequence[str] = HARD_CASE_KINDS,
    groups: Mapping[str, str] | None = None,
) -> dict:
    """The hard-case table of one map.

    Args:
        scores: a scored test set (e.g. ``toy_plus_silent``).
        kinds: ``{frame id: kind}`` (:func:`slavc_lite.evaluation.testsets.read_toy_scenes`).
        map_name: which map.
        confidence_threshold: default :func:`max_f1_threshold` of this map.
        order: row order; kinds not in it come after, kinds without samples are left out.
        groups: ``{id: group}`` further rows over subsets (e.g. :func:`single_scene_groups`),
            placed after the rows of the kinds, in order of first appearance of
            :data:`SINGLE_GROUPS` then the rest.

    Returns:
        ``{"map", "confidence_threshold", "threshold_rule", "rows": {kind: {...}}}``; a row
        holds ``n``, ``n_boxes`` (total boxes), ``has_boxes``, ``confidence`` (mean),
        ``confident_share`` and, with boxes, ``cIoU``, ``AUC``, ``cIoU@0.5``, ``pointing``
        (share of hits) and ``contrast`` (median), the last two where the scores hold them; without boxes,
        ``false_positive_rate`` (= ``confident_share``).

    Raises:
        KeyError: a sample id without a kind.
    """
    missing = [i for i in scores.ids if i not in kinds]
    if missing:
        raise KeyError(f"{len(missing)} scored samples have no kind (not a toy test set?), "
                       f"e.g. {missing[:3]}")
    rule = "given"
    if confidence_threshold is None:
        confidence_threshold = max_f1_threshold(scores, map_name)
        rule = "max-F1 operating point of this map on the whole test set"
    sample_kinds = np.array([kinds[i] for i in scores.ids])
    present = [k for k in order if k in set(sample_kinds)] + sorted(set(sample_kinds) - set(order))
    subsets = [(kind, np.flatnonzero(sample_kinds == kind)) for kind in present]
    if groups:
        sample_groups = np.array([groups.get(i, "") for i in scores.ids])
        named = [g for g in SINGLE_GROUPS if g in set(sample_groups)]
        named += sorted(set(sample_groups) - set(SINGLE_GROUPS) - {""})
        subsets += [(g, np.flatnonzero(sample_groups == g)) for g in named]
    cious = scores.cious[map_name]
    conf = scores.confidences[map_name]
    rows: dict[str, dict] = {}
    for kind, idx in subsets:
        boxes = scores.n_boxes[idx]
        confident = conf[idx] >= confidence_threshold
        row = {"n": int(idx.size), "n_boxes": int(boxes.sum()), "has_boxes": bool((boxes > 0).all()),
               "confidence": float(conf[idx].mean()), "confident_share": float(confident.mean())}
        sounding = idx[boxes > 0]
        if sounding.size:
            c = cious[sounding]
            row.update({"cIoU": _mean(c), "AUC": metrics.auc(c), "cIoU@0.5": float(np.mean(c >= 0.5))})
            if map_name in scores.pointing:
                row["pointing"] = _mean(scores.pointing[map_name][sounding])
                contrast = scores.contrasts[map_name][sounding]
                finite = np.isfinite(contrast).any()
                row["contrast"] = float(np.nanmedian(contrast)) if finite else float("nan")
        if (boxes == 0).any():
            row["false_positive_rate"] = float(np.mean(confident[boxes == 0]))
        rows[kind] = row
    return {"map": map_name, "confidence_threshold": float(confidence_threshold), "threshold_rule": rule,
            "rows": rows}


def hard_case_tables(scores: TestSetScores, kinds: Mapping[str, str],
                     maps: Sequence[str] | None = None,
                     groups: Mapping[str, str] | None = None) -> dict[str, dict]:
    """:func:`hard_case_table` of every map (or of ``maps``), each at its own max-F1 threshold."""
    return {m: hard_case_table(scores, kinds, m, groups=groups) for m in (maps or scores.maps)}
