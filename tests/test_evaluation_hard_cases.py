"""The per-hard-case table of the toy world: counts from scenes.csv, the stated threshold."""

from __future__ import annotations

import csv
from collections import Counter

import numpy as np
import pytest

from slavc_lite import metrics
from slavc_lite.evaluation import hard_case_table, hard_case_tables, score_test_set
from slavc_lite.evaluation.hard_cases import HARD_CASE_KINDS, max_f1_threshold
from slavc_lite.evaluation.testsets import load_test_set, read_toy_scenes
from tests.test_evaluation_support import tiny_model, tiny_object_net, write_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return write_world(tmp_path_factory.mktemp("eval_hard") / "toy")


@pytest.fixture(scope="module")
def scores(world):
    dataset = load_test_set(world, "toy_plus_silent")
    return score_test_set(tiny_model(), dataset, object_net=tiny_object_net(), alpha=0.9, batch_size=8)


@pytest.fixture(scope="module")
def scenes(world):
    with open(world / "test" / "scenes.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_counts_per_kind_match_scenes_csv(scores, scenes, world):
    kinds = read_toy_scenes(world / "test" / "scenes.csv").kinds
    table = hard_case_table(scores, kinds, "slavc")
    rows = table["rows"]
    expected = Counter(r["kind"] for r in scenes)
    assert {k: r["n"] for k, r in rows.items()} == dict(expected)
    assert list(rows) == [k for k in HARD_CASE_KINDS if k in expected]  # the review's order
    for kind, row in rows.items():
        boxes = sum(int(r["n_boxes"]) for r in scenes if r["kind"] == kind)
        assert row["n_boxes"] == boxes
        if kind in ("offscreen", "silence", "noise"):
            assert not row["has_boxes"] and "cIoU" not in row
            assert row["false_positive_rate"] == row["confident_share"]
        else:
            assert row["has_boxes"] and "false_positive_rate" not in row
            assert 0.0 <= row["cIoU"] <= 1.0 and 0.0 <= row["AUC"] <= 1.0


def test_rows_are_computed_from_the_samples_of_each_kind(scores, world):
    kinds = read_toy_scenes(world / "test" / "scenes.csv").kinds
    threshold = float(np.median(scores.confidences["vsl"]))
    table = hard_case_table(scores, kinds, "vsl", confidence_threshold=threshold)
    assert table["confidence_threshold"] == threshold and table["threshold_rule"] == "given"
    for kind, row in table["rows"].items():
        idx = [i for i, s in enumerate(scores.ids) if kinds[s] == kind]
        conf = scores.confidences["vsl"][idx]
        assert row["confidence"] == pytest.approx(conf.mean())
        assert row["confident_share"] == pytest.approx(np.mean(conf >= threshold))
        if row["has_boxes"]:
            c = scores.cious["vsl"][idx]
            assert row["cIoU"] == pytest.approx(np.mean(c))
            assert row["AUC"] == metrics.auc(c)
            assert row["cIoU@0.5"] == pytest.approx(np.mean(c >= 0.5))


def test_default_threshold_is_the_max_f1_operating_point(scores, world):
    kinds = read_toy_scenes(world / "test" / "scenes.csv").kinds
    thr = max_f1_threshold(scores, "slavc")
    p, r = metrics.precision_recall(scores.cious["slavc"], scores.confidences["slavc"], scores.n_boxes, thr)
    best = metrics.max_f1(scores.cious["slavc"], scores.confidences["slavc"], scores.n_boxes)
    assert (2 * p * r / (p + r) if p + r else 0.0) == pytest.approx(best)
    tables = hard_case_tables(scores, kinds)
    assert set(tables) == {"slavc", "ogl", "vsl"}
    assert tables["slavc"]["confidence_threshold"] == thr
    assert "max-F1" in tables["slavc"]["threshold_rule"]


def test_sounding_only_set_and_missing_kinds(world):
    dataset = load_test_set(world, "toy")
    scores = score_test_set(tiny_model(), dataset, batch_size=8, limit=6)
    kinds = read_toy_scenes(world / "test" / "scenes.csv").kinds
    rows = hard_case_table(scores, kinds)["rows"]
    assert sum(r["n"] for r in rows.values()) == 6
    assert all(r["has_boxes"] for r in rows.values())
    with pytest.raises(KeyError, match="no kind"):
        hard_case_table(scores, {})
