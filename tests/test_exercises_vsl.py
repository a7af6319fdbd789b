"""Exercise checks of chapters 07 and 08: reference answers pass, plausible mistakes fail with a hint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from slavc_lite import maps, metrics
from slavc_lite.ground_truth import vggss_gt_map
from slavc_lite.teaching import exercises
from slavc_lite.teaching.exercises import vsl


def test_checks_are_exported():
    for name in ("check_reblend", "check_alpha_sweep", "check_box_share", "check_mean_by_kind"):
        assert getattr(exercises, name) is getattr(vsl, name)


# ------------------------------------------------------------------------------------ reblend


def test_reblend_reference_passes():
    assert vsl.check_reblend(lambda s, o, a: a * s + (1 - a) * o, seed=0)
    assert vsl.check_reblend(maps.vsl_map, seed=1)


def test_reblend_swapped_alpha_fails_with_a_hint():
    with pytest.raises(AssertionError, match="other way|OGL by alpha"):
        vsl.check_reblend(lambda s, o, a: a * o + (1 - a) * s, seed=0)


def test_reblend_clipped_fails_with_a_hint():
    with pytest.raises(AssertionError, match="clip"):
        vsl.check_reblend(lambda s, o, a: np.clip(a * s + (1 - a) * o, 0, 1), seed=0)


def test_reblend_not_written_says_so():
    def todo(s, o, a):
        raise NotImplementedError

    with pytest.raises(AssertionError, match="not written yet"):
        vsl.check_reblend(todo)


# ------------------------------------------------------------------------------------ alpha sweep


def _sweep(slavc, ogl, gt, alphas):
    rows = []
    for a in alphas:
        pred = maps.relative_prediction(a * slavc + (1 - a) * ogl)
        rows.append([metrics.ciou(pred[i], gt[i]) for i in range(len(slavc))])
    return np.array(rows)


def test_alpha_sweep_reference_passes():
    assert vsl.check_alpha_sweep(_sweep, seed=0)


def test_alpha_sweep_absolute_threshold_fails_with_a_hint():
    def absolute(slavc, ogl, gt, alphas):
        return np.array([[metrics.ciou((a * slavc + (1 - a) * ogl)[i] >= 0.5, gt[i]) for i in range(len(gt))]
                         for a in alphas])

    with pytest.raises(AssertionError, match="relative prediction"):
        vsl.check_alpha_sweep(absolute, seed=0)


def test_alpha_sweep_transposed_fails():
    with pytest.raises(AssertionError, match="one row per alpha"):
        vsl.check_alpha_sweep(lambda *args: _sweep(*args).T, seed=0)


def test_alpha_sweep_swapped_alpha_fails():
    with pytest.raises(AssertionError, match="other way round"):
        vsl.check_alpha_sweep(lambda s, o, g, alphas: _sweep(s, o, g, [1 - a for a in alphas]), seed=0)


# ------------------------------------------------------------------------------------ box share


def _share(scores, boxes):
    pred = maps.relative_prediction(scores).numpy()
    inside = vggss_gt_map(boxes, scores.shape[-1]) > 0
    return (pred & inside).sum() / pred.sum()


def test_box_share_reference_passes():
    assert vsl.check_box_share(_share, seed=0)


def test_box_share_recall_instead_of_share_fails_with_a_hint():
    def recall(scores, boxes):
        pred = maps.relative_prediction(scores).numpy()
        inside = vggss_gt_map(boxes, scores.shape[-1]) > 0
        return (pred & inside).sum() / inside.sum()

    with pytest.raises(AssertionError, match="share of the prediction"):
        vsl.check_box_share(recall, seed=0)


def test_box_share_absolute_threshold_fails():
    def absolute(scores, boxes):
        pred = (scores >= 0.5).numpy()
        inside = vggss_gt_map(boxes, scores.shape[-1]) > 0
        return (pred & inside).sum() / max(pred.sum(), 1)

    with pytest.raises(AssertionError, match="expected"):
        vsl.check_box_share(absolute, seed=0)


def test_box_share_x_y_swapped_fails():
    def transposed(scores, boxes):
        return _share(scores.T.contiguous(), boxes)

    with pytest.raises(AssertionError):
        vsl.check_box_share(transposed, seed=0)


# ------------------------------------------------------------------------------------ mean by kind


def _mean_by_kind(kinds, values):
    kinds = np.asarray(kinds)
    out = {}
    for kind in dict.fromkeys(kinds.tolist()):
        chosen = values[kinds == kind]
        out[kind] = float(np.nanmean(chosen)) if np.any(~np.isnan(chosen)) else float("nan")
    return out


def test_mean_by_kind_reference_passes():
    assert vsl.check_mean_by_kind(_mean_by_kind, seed=0)


def test_mean_by_kind_nan_not_ignored_fails_with_a_hint():
    def plain_mean(kinds, values):
        kinds = np.asarray(kinds)
        return {k: float(np.mean(values[kinds == k])) for k in set(kinds.tolist())}

    with pytest.raises(AssertionError, match="leave the NaN values out"):
        vsl.check_mean_by_kind(plain_mean, seed=0)


def test_mean_by_kind_nan_as_zero_fails():
    def nan_as_zero(kinds, values):
        return _mean_by_kind(kinds, np.nan_to_num(values))

    with pytest.raises(AssertionError):
        vsl.check_mean_by_kind(nan_as_zero, seed=0)


def test_mean_by_kind_missing_kind_fails():
    def drop_offscreen(kinds, values):
        out = _mean_by_kind(kinds, values)
        out.pop("offscreen")
        return out

    with pytest.raises(AssertionError, match="keys"):
        vsl.check_mean_by_kind(drop_offscreen, seed=0)


def test_checks_accept_torch_outputs():
    assert vsl.check_reblend(lambda s, o, a: torch.from_numpy(a * s + (1 - a) * o), seed=2)
