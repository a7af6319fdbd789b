"""The paper's negative-audio metrics (Juanola, Haro and Fuentes) against loop-by-loop
transcriptions of their code, on random maps, hand-built masks and small examples worked by
hand."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch

from slavc_lite.evaluation.negative_audio import (
    CURVE_THRESHOLDS,
    adaptive_threshold,
    auc_ciou,
    auc_pia,
    binarize,
    ciou_adaptive,
    ciou_at,
    f_score,
    map_iou,
    median_threshold,
    pia,
    universal_thresholds,
)
from tests import reference_vssl_eval as ref

SEEDS = [0, 1, 2, 3]
SHAPES = [(7, 7), (16, 16), (31, 17), (1, 50)]
DTYPES = [np.float64, np.float32]


def random_case(seed: int, shape: tuple[int, int], dtype=np.float64):
    """A map in [0, 1], a binary box-like ground truth and a consensus (0, .5, 1) one."""
    rng = np.random.default_rng(seed)
    pred = rng.random(shape).astype(dtype)
    h, w = shape
    y0, x0 = rng.integers(0, h), rng.integers(0, w)
    y1, x1 = rng.integers(y0, h) + 1, rng.integers(x0, w) + 1
    gt = np.zeros(shape)
    gt[y0:y1, x0:x1] = 1
    consensus = rng.choice([0.0, 0.5, 1.0], size=shape)
    return pred, gt, consensus


def same(a: float, b: float) -> bool:
    """Equal up to summation order, NaN equal to NaN."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == pytest.approx(b, rel=1e-12, abs=1e-15)


# ------------------------------------------------------------------------------ public API


def test_public_names_and_argument_order():
    expected = {
        ciou_at: ["pred", "gt_map", "threshold"],
        ciou_adaptive: ["pred", "gt_map"],
        pia: ["mask"],
        auc_pia: ["pia_values"],
        map_iou: ["mask_a", "mask_b"],
        f_score: ["a", "b"],
        universal_thresholds: ["positive_maxima"],
    }
    for function, names in expected.items():
        positional = [p.name for p in inspect.signature(function).parameters.values()
                      if p.kind is p.POSITIONAL_OR_KEYWORD]
        assert positional == names, function.__name__


# ------------------------------------------------------------------------------ random inputs


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_per_map_functions_match_the_reference_on_random_maps(seed, shape, dtype):
    pred, gt, consensus = random_case(seed, shape, dtype)
    rng = np.random.default_rng(100 + seed)
    # fixed thresholds, one drawn at random, and one equal to a pixel (a tie)
    thresholds = [0.5, 0.5201, float(rng.random()), pred.ravel()[rng.integers(pred.size)]]
    for g in (gt, consensus):
        for t in thresholds:
            assert same(ciou_at(pred, g, t), ref.ciou_loops(pred, g, t))
            assert same(ciou_at(pred, g, t, inclusive=True), ref.ciou_loops(pred, g, t, inclusive=True))
        assert adaptive_threshold(pred, g) == ref.adaptive_threshold_loops(pred, g)
        adaptive = ref.ciou_loops(pred, g, ref.adaptive_threshold_loops(pred, g))
        assert same(ciou_adaptive(pred, g), adaptive)
    assert median_threshold(pred) == ref.median_threshold_loops(pred)

    negative = rng.random(shape).astype(dtype) * rng.random()  # a dimmer map
    for t in thresholds:
        mask_pos, mask_neg = binarize(pred, t), binarize(negative, t)
        assert np.array_equal(mask_pos, (pred > t).astype(int))
        assert pia(mask_neg) == pytest.approx(ref.pia_loops(mask_neg), rel=1e-15)
        assert map_iou(mask_pos, mask_neg) == pytest.approx(ref.map_iou_loops(mask_pos, mask_neg), rel=1e-15)
        assert map_iou(mask_neg, mask_pos) == pytest.approx(ref.map_iou_loops(mask_neg, mask_pos), rel=1e-15)


def test_a_full_size_map_matches_the_reference():
    pred, gt, consensus = random_case(7, (224, 224), np.float32)
    for g in (gt, consensus):
        for t in (0.5, 0.5450):
            assert same(ciou_at(pred, g, t), ref.ciou_loops(pred, g, t))
        assert same(ciou_adaptive(pred, g), ref.ciou_loops(pred, g, ref.adaptive_threshold_loops(pred, g)))
    mask = binarize(pred, 0.5721)
    assert pia(mask) == pytest.approx(ref.pia_loops(mask), rel=1e-15)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [1, 2, 17, 300])
def test_per_sample_functions_match_the_reference(seed, n):
    rng = np.random.default_rng(seed)
    # pIAs and cIoUs with exact multiples of 1/20 mixed in, where the float thresholds bite
    values = rng.random(n)
    values[: n // 3] = rng.integers(0, 21, n // 3) / 20
    for v in (values, values.astype(np.float32)):
        assert auc_pia(v) == pytest.approx(ref.auc_pia_loops(v), rel=1e-12)
        assert auc_ciou(v) == pytest.approx(ref.auc_ciou_loops(v), rel=1e-12)
    a, b = rng.random(n) * 100, rng.random(n) * 100
    assert np.allclose(f_score(a, b), [ref.f_loops(x, y) for x, y in zip(a, b, strict=True)], rtol=1e-15)
    assert f_score(float(a[0]), float(b[0])) == pytest.approx(ref.f_loops(a[0], b[0]), rel=1e-15)
    for center in ("mean", "median"):
        got = universal_thresholds(values, center=center)
        want = ref.universal_thresholds_loops(values, center)
        assert got.keys() == {"max", "max10", "maxq3"}
        assert got == pytest.approx(want, rel=1e-12)


def test_curve_areas_match_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(5)
    values = np.concatenate([rng.random(40), np.arange(21) / 20])
    pia_rates = [np.sum(values <= 0.05 * i) / len(values) for i in range(21)]
    ciou_rates = [np.sum(values >= 0.05 * i) / len(values) for i in range(21)]
    assert auc_pia(values) == pytest.approx(metrics.auc(CURVE_THRESHOLDS, pia_rates), rel=1e-15)
    assert auc_ciou(values) == pytest.approx(metrics.auc(CURVE_THRESHOLDS, ciou_rates), rel=1e-15)
    assert ref.sklearn_auc_loops(CURVE_THRESHOLDS, pia_rates) == pytest.approx(
        metrics.auc(CURVE_THRESHOLDS, pia_rates), rel=1e-12)


def test_torch_inputs_give_the_numpy_results():
    pred, gt, _ = random_case(3, (16, 16), np.float32)
    tp, tg = torch.from_numpy(pred), torch.from_numpy(gt)
    assert ciou_at(tp, tg, 0.5) == ciou_at(pred, gt, 0.5)
    assert ciou_at(tp, tg, torch.tensor(0.5)) == ciou_at(pred, gt, 0.5)
    assert ciou_adaptive(tp, tg) == ciou_adaptive(pred, gt)
    mask = binarize(tp, 0.5)
    assert np.array_equal(mask, binarize(pred, 0.5))
    assert pia(torch.from_numpy(mask)) == pia(mask)
    assert map_iou(torch.from_numpy(mask), tg) == map_iou(mask, gt)
    values = torch.rand(30, generator=torch.Generator().manual_seed(0))
    assert auc_pia(values) == auc_pia(values.numpy())
    assert universal_thresholds(values) == universal_thresholds(values.numpy())


# ------------------------------------------------------------------------------ hand-built masks


def test_ciou_conventions_on_hand_built_maps():
    gt = np.zeros((4, 4))
    gt[1:3, 1:3] = 1
    full, empty = np.ones((4, 4)), np.zeros((4, 4))
    cases = [
        (full, full, 0.5, 1.0),  # everything marked, everything sounding
        (gt.copy(), gt, 0.5, 1.0),  # identical
        (1 - gt, gt, 0.5, 0.0),  # disjoint
        (full, empty, 0.5, 0.0),  # marked, nothing sounding: 0 / 16
        (empty, empty, 0.5, math.nan),  # nothing marked, nothing sounding: 0 / 0
        (empty, gt, 0.5, 0.0),  # nothing marked
    ]
    for pred, g, t, want in cases:
        assert same(ciou_at(pred, g, t), want)
        assert same(ref.ciou_loops(pred, g, t), want)
    # threshold edge: pixels equal to the threshold are not marked, unless inclusive
    at_threshold = np.full((4, 4), 0.5)
    assert ciou_at(at_threshold, gt, 0.5) == 0.0 and ref.ciou_loops(at_threshold, gt, 0.5) == 0.0
    assert ciou_at(at_threshold, gt, 0.5, inclusive=True) == 4 / 16
    assert ref.ciou_loops(at_threshold, gt, 0.5, inclusive=True) == 4 / 16
    with pytest.raises(ValueError, match="shapes"):
        ciou_at(np.zeros((4, 4)), np.zeros((4, 5)), 0.5)


def test_adaptive_threshold_edges():
    gt = np.zeros((4, 4))
    gt[0, :2] = 1
    constant = np.full((4, 4), 0.3)
    # a constant map: the threshold is its value and nothing lies strictly above it
    assert adaptive_threshold(constant, gt) == 0.3 == ref.adaptive_threshold_loops(constant, gt)
    assert ciou_adaptive(constant, gt) == 0.0
    ramp = np.arange(16, dtype=float).reshape(4, 4) / 16
    # empty ground truth: half the pixels, index 16 - 8 -> 8 / 16; full: index 0 -> the minimum
    assert adaptive_threshold(ramp, np.zeros((4, 4))) == 0.5
    assert adaptive_threshold(ramp, np.ones((4, 4))) == 0.0
    assert ciou_adaptive(ramp, np.ones((4, 4))) == 15 / 16  # all but the minimum
    assert median_threshold(ramp) == 0.5


def test_map_iou_empty_map_conventions():
    empty = np.zeros((3, 3), dtype=int)
    some = np.zeros((3, 3), dtype=int)
    some[0, 0] = 1
    other = np.zeros((3, 3), dtype=int)
    other[2, 2] = 1
    full = np.ones((3, 3), dtype=int)
    cases = [
        (empty, empty, 1.0),  # both empty: the maps agree
        (some, empty, 0.0),  # second empty, first not
        (empty, some, 0.0),  # first empty: intersection 0 over union 1
        (some, some, 1.0),  # identical
        (some, other, 0.0),  # disjoint
        (full, full, 1.0),
        (full, some, 1 / 9),
    ]
    for a, b, want in cases:
        assert map_iou(a, b) == want and ref.map_iou_loops(a, b) == want
        assert map_iou(a.astype(bool), b.astype(bool)) == want


def test_pia_and_its_curve_on_edge_values():
    assert pia(np.zeros((4, 5), dtype=int)) == 0.0
    assert pia(np.ones((4, 5), dtype=int)) == 1.0
    assert pia(np.eye(4, dtype=bool)) == 4 / 16
    # no negative marks anything: pIA <= 0 at every threshold, area 1
    assert auc_pia([0.0, 0.0, 0.0]) == pytest.approx(1.0, rel=1e-12)
    # every negative marks everything: only t = 1 counts, area 0.05 * (0 + 1) / 2
    assert auc_pia([1.0, 1.0]) == pytest.approx(0.025, rel=1e-12)
    # pIA = 0.3: counted from t = 0.05 * 6 = 0.30000000000000004 on, so 0.05 * (0.5 + 14) = 0.725
    assert auc_pia([0.3]) == pytest.approx(0.725, rel=1e-12)
    # cIoU = 0.3 is *not* >= 0.05 * 6: counted up to t = 0.25 only, 0.05 * (5 + 0.5) = 0.275
    # (with exact thresholds i / 20 it would be 0.325)
    assert auc_ciou([0.3]) == pytest.approx(0.275, rel=1e-12)
    assert ref.auc_ciou_loops([0.3]) == pytest.approx(0.275, rel=1e-12)
    assert math.isnan(auc_pia([])) and math.isnan(auc_ciou([]))


def test_f_score_and_universal_threshold_edges():
    assert math.isnan(f_score(0.0, 0.0)) and math.isnan(ref.f_loops(0.0, 0.0))
    assert f_score(0.0, 80.0) == 0.0
    assert f_score(50.0, 50.0) == 50.0
    out = f_score(np.array([0.0, 60.0]), np.array([0.0, 40.0]))
    assert math.isnan(out[0]) and out[1] == pytest.approx(48.0)
    assert universal_thresholds([0.7]) == pytest.approx({"max": 0.7, "max10": 0.77, "maxq3": 0.7})
    for bad in ([], [0.5, float("nan")]):
        with pytest.raises(ValueError):
            universal_thresholds(bad)
    with pytest.raises(ValueError, match="center"):
        universal_thresholds([0.5], center="mode")


def test_reference_constants_have_max10_ten_percent_above_max():
    # eval.py's constants, rounded to 4 decimals: max10 = 1.1 * max up to that rounding
    for th_max, th_max10, th_maxq3 in ref.REFERENCE_THRESHOLDS.values():
        assert abs(1.1 * th_max - th_max10) <= 1.1 * 5e-5 + 5e-5
        assert th_maxq3 > th_max


# ------------------------------------------------------------------------------ worked by hand

PRED = np.array([[0.9, 0.5, 0.2],
                 [0.7, 0.1, 0.6]])
GT = np.array([[1.0, 1.0, 0.0],
               [0.0, 0.0, 0.0]])


def test_ciou_at_by_hand():
    # > 0.5 marks 0.9, 0.7, 0.6: one in the box (0.9); sum(gt) = 2; two marked outside
    # cIoU = 1 / (2 + 2) = 0.25
    assert ciou_at(PRED, GT, 0.5) == 0.25
    # >= 0.5 also marks the 0.5 inside the box: 2 / (2 + 2) = 0.5
    assert ciou_at(PRED, GT, 0.5, inclusive=True) == 0.5
    # consensus ground truth [[1, .5, 0], [0, 0, 0]]: 1 / (1.5 + 2) = 2 / 7
    consensus = np.array([[1.0, 0.5, 0.0], [0.0, 0.0, 0.0]])
    assert ciou_at(PRED, consensus, 0.5) == pytest.approx(2 / 7, rel=1e-15)


def test_ciou_adaptive_by_hand():
    # sorted values 0.1 0.2 0.5 0.6 0.7 0.9; 2 ground-truth pixels -> index 6 - 2 = 4 -> 0.7
    assert adaptive_threshold(PRED, GT) == 0.7
    # > 0.7 marks only 0.9 (one pixel, not two), inside the box: 1 / (2 + 0) = 0.5
    assert ciou_adaptive(PRED, GT) == 0.5
    # empty ground truth: 6 // 2 = 3 pixels -> index 3 -> 0.6; marks 0.7 and 0.9: 0 / (0 + 2)
    assert adaptive_threshold(PRED, np.zeros((2, 3))) == 0.6
    assert ciou_adaptive(PRED, np.zeros((2, 3))) == 0.0
    # the official relative threshold: index int(6 * 0.5) = 3 -> 0.6
    assert median_threshold(PRED) == 0.6


def test_pia_by_hand():
    mask = np.zeros((4, 5), dtype=int)
    mask[0, :3] = 1
    assert pia(mask) == 3 / 20  # 3 of 20 pixels
    assert np.array_equal(binarize(PRED, 0.6), [[1, 0, 0], [1, 0, 0]])  # 0.6 itself is not above


def test_auc_pia_by_hand():
    # pIAs 0, 0.15, 0.5, 1; share <= t over the 21 thresholds:
    # t = 0 .. 0.1: 1/4; t = 0.15 .. 0.45: 2/4; t = 0.5 .. 0.95: 3/4; t = 1: 4/4
    # trapezoids / 0.05: 0.25 + 0.25 + 0.375 + 6 * 0.5 + 0.625 + 9 * 0.75 + 0.875 = 12.125
    assert auc_pia([0.0, 0.15, 0.5, 1.0]) == pytest.approx(0.05 * 12.125, rel=1e-12)


def test_auc_ciou_by_hand():
    # cIoUs 0, 0.5, 1; share >= t: t = 0: 1; t = 0.05 .. 0.5: 2/3; t = 0.55 .. 1: 1/3
    # trapezoids / 0.05: 5/6 + 9 * 2/3 + 1/2 + 9 * 1/3 = 31/3
    assert auc_ciou([0.0, 0.5, 1.0]) == pytest.approx(0.05 * 31 / 3, rel=1e-12)


def test_map_iou_by_hand():
    a = np.array([[1, 1, 0], [0, 1, 0]])
    b = np.array([[0, 1, 1], [0, 1, 0]])
    # both: (0, 1), (1, 1); either: (0, 0), (0, 1), (0, 2), (1, 1) -> 2 / 4
    assert map_iou(a, b) == 0.5


def test_f_score_by_hand():
    # 2 * 60 * 40 / (60 + 40) = 4800 / 100
    assert f_score(60.0, 40.0) == 48.0


def test_universal_thresholds_by_hand():
    maxima = [0.4, 0.5, 0.6, 0.9]
    # mean 2.4 / 4 = 0.6; 1.1 * 0.6 = 0.66; Q3 at position 0.75 * 3 = 2.25: 0.6 + 0.25 * 0.3
    assert universal_thresholds(maxima) == pytest.approx({"max": 0.6, "max10": 0.66, "maxq3": 0.675})
    # median (0.5 + 0.6) / 2 = 0.55, 1.1 * 0.55 = 0.605
    assert universal_thresholds(maxima, center="median") == pytest.approx(
        {"max": 0.55, "max10": 0.605, "maxq3": 0.675})
