"""How a run picks best.pth (official rule: at least the best so far, never NaN), the official
best_* entries, and the resume progress record."""

from __future__ import annotations

import math

import pytest
import torch

from slavc_lite.training.state import Progress
from slavc_lite.training.validation import is_improvement, official_best_metrics, score_from_table

TABLE = {
    "all": {"n": 10, "cIoU": 0.4, "AUC": 0.41, "AP": 0.3, "max-F1": 0.5, "Precision": 0.2},
    "visible": {"n": 8, "cIoU": 0.4, "AUC": 0.41, "AP": 0.35, "max-F1": 0.55, "Precision": 0.25},
    "small": {"n": 0, "cIoU": math.nan, "AUC": math.nan, "AP": math.nan, "max-F1": math.nan,
              "Precision": math.nan},
}


def test_best_rule_is_at_least_the_best_so_far():
    assert is_improvement(0.1, None)
    assert is_improvement(0.3, 0.3)  # a tie moves best.pth to the later epoch, as official train.py
    assert is_improvement(0.31, 0.3) and not is_improvement(0.29, 0.3)
    assert not is_improvement(math.nan, None) and not is_improvement(math.nan, 0.1)


def test_score_and_official_entries_from_a_table():
    assert score_from_table(TABLE, "visible.Precision") == 0.25
    assert score_from_table(TABLE, "all.AP") == 0.3
    assert math.isnan(score_from_table(TABLE, "small.cIoU"))
    with pytest.raises(KeyError, match="no subset 'huge'"):
        score_from_table(TABLE, "huge.AP")
    assert official_best_metrics(TABLE) == {"Precision": 0.25, "AP": 0.3, "F1": 0.5}


def test_progress_round_trips_through_a_weights_only_file(tmp_path):
    progress = Progress(step=7, epoch=1, position=3, samples=28, train_seconds=1.5, best_score=0.25,
                        best_epoch=1, best_step=4, best_table=TABLE, last_table=TABLE)
    torch.save({"progress": progress.to_entry()}, tmp_path / "p.pth")
    back = Progress.from_entry(torch.load(tmp_path / "p.pth", weights_only=True)["progress"])
    assert (back.step, back.epoch, back.position, back.best_score) == (7, 1, 3, 0.25)
    assert back.has_best and math.isnan(back.best_table["small"]["cIoU"])
    assert not Progress(best_score=math.nan).has_best
