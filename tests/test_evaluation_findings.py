"""The review's findings: coverage of each object by a map's relative prediction, the verdicts
written from the numbers, and the findings of a whole evaluation on a small toy world."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from slavc_lite.evaluation import evaluate
from slavc_lite.evaluation.findings import CoverageRecorder, box_coverage, findings
from tests.test_evaluation_support import tiny_model, tiny_object_net, write_world


def test_box_coverage_by_hand():
    mask = torch.zeros(8, 8, dtype=torch.bool)
    mask[:, :4] = True  # the left half
    assert box_coverage(mask, [0.0, 0.0, 0.5, 0.5]) == 1.0
    assert box_coverage(mask, [0.25, 0.0, 0.75, 1.0]) == 0.5
    assert box_coverage(mask, [0.5, 0.5, 1.0, 1.0]) == 0.0
    assert math.isnan(box_coverage(mask, [0.5, 0.5, 0.5, 0.9]))


def _scene_maps(left_hot: bool) -> torch.Tensor:
    """One 8 x 8 map whose top half of the values is on the left (or the right) half."""
    m = torch.zeros(1, 8, 8)
    if left_hot:
        m[0, :, :4] = 1.0
    else:
        m[0, :, 4:] = 1.0
    return m + torch.linspace(0, 1e-3, 64).reshape(1, 8, 8)  # no ties


def test_findings_verdicts_follow_the_numbers():
    left, right = [0.0, 0.0, 0.5, 1.0], [0.5, 0.0, 1.0, 1.0]
    objects = {
        "s": [{"class": "bell", "role": "sounding", "box": left, "level": 0.1},
              {"class": "vase", "role": "silent", "box": right, "level": None}],
        "m": [{"class": "bell", "role": "sounding", "box": left, "level": 0.05},
              {"class": "dog", "role": "sounding", "box": right, "level": 0.2}],
    }
    recorder = CoverageRecorder(objects, maps=("slavc", "ogl"), alphas=(0.0, 1.0))
    gt = torch.zeros(1, 8, 8)
    gt[0, :, :4] = 1
    # SLAVC lights the left half (the sounding bell, the quieter source), OGL the right half.
    recorder({"id": ["s"], "gt_map": gt}, {"slavc": _scene_maps(True), "ogl": _scene_maps(False)})
    recorder({"id": ["m"], "gt_map": gt}, {"slavc": _scene_maps(True), "ogl": _scene_maps(False)})
    assert recorder.coverage["slavc"]["s"] == [1.0, 0.0] and recorder.coverage["ogl"]["s"] == [0.0, 1.0]
    assert recorder.alpha_cious[1.0]["s"] == pytest.approx(1.0) and recorder.alpha_cious[0.0]["s"] == 0.0
    hard = {m: {"rows": {"offscreen": {"confident_share": 0.25}}} for m in ("slavc", "ogl")}
    out = findings(recorder, {"s": "silent", "m": "mixture"}, {}, hard, {"s": 32.0, "m": 64.0})
    assert out["silent"]["coverage"]["slavc"] == {"sounding": 1.0, "silent": 0.0}
    assert "SLAVC prefers the sounding object, OGL prefers the silent object" in out["silent"]["verdict"]
    from slavc_lite.evaluation.findings import PREFERENCE_MARGIN, _preference

    close = {"sounding": 0.74, "silent": 0.74 - PREFERENCE_MARGIN / 2}
    assert _preference(close) == "covers both about equally"
    assert out["mixture"]["coverage"]["slavc"] == {"louder": 0.0, "quieter": 1.0}
    assert "not less covered" in out["mixture"]["verdict"]
    assert out["mixture"]["coverage"]["ogl"] == {"louder": 1.0, "quieter": 0.0}
    assert "offscreen 25%" in out["negatives"]["verdict"]


def test_evaluation_writes_the_findings(tmp_path):
    world = write_world(tmp_path / "toy")
    result = evaluate(tiny_model(), world, "toy_plus_silent", object_net=tiny_object_net(),
                      negative_audio=False, out=tmp_path / "eval", batch_size=8)
    assert set(result.findings) == {"silent", "alpha", "mixture", "same_type", "small", "negatives"}
    assert all(f["verdict"] for f in result.findings.values())
    assert np.isfinite(result.findings["small"]["mean_cap"])
    text = (tmp_path / "eval" / "metrics.md").read_text()
    assert "## The review's findings" in text and result.findings["silent"]["verdict"] in text
