"""Evaluation of localization maps over test sets, as the official benchmark does it, and more.

Modules, one concept each:

* ``inference``: score a test set (SLAVC, OGL, VSL and further maps; per-sample cIoU,
  confidence) into :class:`TestSetScores`; ``.table()`` gives the official metrics;
* ``baselines``: centre prior, seeded random map, ground-truth oracle and its 7 x 7 version;
* ``testsets``: test sets by name (official and toy) and per-sample kinds and classes;
* ``hard_cases``: the per-kind table of the toy world;
* ``negative_audio``: silence, noise and off-screen audio (Juanola et al., 2024), our views;
* ``negative_audio_reference``: the paper's metrics as its code computes them (pIA, AUC_pIA,
  map IoU, F-score, universal thresholds);
* ``paper_negative_audio``: the paper's tables for a model, SLAVC alone and with OGL;
* ``report``: ``metrics.json`` and ``metrics.md``;
* ``visualize``: per-sample figures with the ground-truth boxes, negative-audio histograms;
* ``pipeline``: :func:`evaluate`, a checkpoint on a test set end to end.

Quick start::

    from slavc_lite.evaluation import evaluate
    result = evaluate("runs/toy", "data/toy", "toy_plus_silent", out="eval/toy")
    result.main_table["slavc"]["AP"], result.hard_cases["slavc"]["rows"]["small"]
"""

from __future__ import annotations

from slavc_lite.evaluation.baselines import BASELINES, baseline_maps
from slavc_lite.evaluation.hard_cases import hard_case_table, hard_case_tables
from slavc_lite.evaluation.inference import CORE_MAPS, TestSetScores, compute_maps, score_test_set
from slavc_lite.evaluation.negative_audio import (
    NegativeAudioResult,
    negative_audio_table,
    score_negative_audio,
)
from slavc_lite.evaluation.paper_negative_audio import PaperNegativeAudio, score_paper_negative_audio
from slavc_lite.evaluation.pipeline import (
    EVALUATION_ALPHA,
    EvaluationResult,
    evaluate,
    evaluate_run,
    load_networks,
)
from slavc_lite.evaluation.testsets import TEST_SETS, load_test_set, sample_info

__all__ = [
    "BASELINES", "CORE_MAPS", "EVALUATION_ALPHA", "EvaluationResult", "NegativeAudioResult",
    "PaperNegativeAudio", "TEST_SETS", "TestSetScores", "baseline_maps", "compute_maps", "evaluate",
    "evaluate_run", "hard_case_table", "hard_case_tables", "load_networks", "load_test_set",
    "negative_audio_table", "sample_info", "score_negative_audio", "score_paper_negative_audio",
    "score_test_set",
]
