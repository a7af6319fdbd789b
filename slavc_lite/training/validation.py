"""Validation during training, and how ``best.pth`` is chosen.

The official ``train.py`` scores the held-out set before training and after every epoch and
keeps ``best.pth`` when the precision is at least the best so far (``>=``: a tie moves
``best.pth`` to the later epoch); it never stops early, and neither do we (the paper's point:
SLAVC does not overfit the way EZ-VSL does, so the last epoch is as good as any).

Scores come from :func:`slavc_lite.evaluation.inference.score_test_set` (the SLAVC map of the
momentum encoders, review Eq. 6) as the table of :func:`slavc_lite.metrics.summary`. The
official selection metric, ``precision_at_50``, is the share of sounding pairs with cIoU > 0.5;
our default ``visible.Precision`` is that share with cIoU >= 0.5 (the official tables'
Precision), which differs only for a cIoU of exactly 0.5.
"""

from __future__ import annotations

import math

import torch

from slavc_lite.training.precision import Precision, autocast

__all__ = ["is_improvement", "official_best_metrics", "score_from_table", "validate"]


def validate(model: torch.nn.Module, dataset, *, batch_size: int, device: torch.device, precision: Precision,
             limit: int | None = None, progress: bool = False) -> dict[str, dict[str, float]]:
    """The validation table of ``model`` (unwrapped SLAVC) on the cached test-mode ``dataset``."""
    from slavc_lite.evaluation.inference import score_test_set

    with autocast(precision):
        scores = score_test_set(model, dataset, batch_size=batch_size, device=device, limit=limit,
                                progress=progress)
    return scores.table("slavc")


def score_from_table(table: dict[str, dict[str, float]], metric: str) -> float:
    """``table[subset][name]`` for ``metric = "subset.name"`` (NaN when the subset is empty)."""
    subset, _, name = metric.partition(".")
    if subset not in table:
        raise KeyError(f"validation table has no subset {subset!r} (has {sorted(table)}); "
                       "check run.best_metric")
    return float(table[subset].get(name, float("nan")))


def is_improvement(score: float, best: float | None) -> bool:
    """Official rule: the score is at least the best so far; NaN never is."""
    if math.isnan(score):
        return False
    return best is None or score >= best


def official_best_metrics(table: dict[str, dict[str, float]]) -> dict[str, float]:
    """The official checkpoint's ``best_Precision``, ``best_AP``, ``best_F1`` values from a table.

    Precision: sounding pairs only (the official ``precision_at_50``); AP and F1 over all pairs
    (with the non-sounding ones of an extended set). Our F1 is the maximum over confidence
    thresholds (the official tables' max-F1); the official training log's F1 is at confidence 0.5.
    """
    visible, every = table.get("visible", {}), table.get("all", {})
    return {"Precision": visible.get("Precision", float("nan")), "AP": every.get("AP", float("nan")),
            "F1": every.get("max-F1", float("nan"))}
