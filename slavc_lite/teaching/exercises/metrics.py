"""Exercise checks of chapters 05 (training) and 06 (OGL, VSL and the metrics).

Chapter 05:

* :func:`check_run_steps` - how many optimizer steps a run makes: whole global batches per
  epoch (the loader drops the last incomplete one), the global batch being
  ``int(batch_size / world_size) * world_size`` under DDP
  (:class:`slavc_lite.training.data.ShardedLoader`,
  :func:`slavc_lite.training.distributed.per_process_batch`).
* :func:`check_init_weight_share` - the share of its initial weights a momentum network still
  holds after ``steps`` EMA updates ``theta_m <- m theta_m + (1 - m) theta``.
* :func:`check_throughput` - the training throughput (samples/s) of a run from the ``step``
  records of its ``metrics.jsonl``.

Chapter 06:

* :func:`check_max_f1` - the best F1 over the official confidence thresholds (reference
  :func:`slavc_lite.metrics.max_f1`).
* :func:`check_auc` - the AUC of the success curve over cIoU thresholds 0, 0.05, ..., 1
  (reference :func:`slavc_lite.metrics.auc`).
* :func:`check_universal_threshold` - one threshold on the maximum map value for every sample
  that best separates positive from negative audio (reference
  :func:`slavc_lite.evaluation.negative_audio.universal_threshold`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from slavc_lite import metrics
from slavc_lite.teaching.exercises._checking import call, passed

__all__ = [
    "check_auc",
    "check_init_weight_share",
    "check_max_f1",
    "check_run_steps",
    "check_throughput",
    "check_universal_threshold",
]



# ------------------------------------------------------------------------------------ chapter 05


def _reference_run_steps(n_train: int, batch_size: int, epochs: int, world_size: int) -> int:
    """``epochs * (n_train // global_batch)``, global batch ``int(batch_size / world_size) * world_size``."""
    from slavc_lite.training.distributed import per_process_batch

    return epochs * (n_train // (per_process_batch(batch_size, world_size) * world_size))


_RUNS = (  # n_train, batch_size, epochs, world_size
    (2000, 32, 6, 1),      # cpu-toy
    (144_000, 128, 20, 1),  # the paper, one process
    (144_000, 128, 20, 8),  # the paper on 8 GPUs
    (3000, 64, 10, 1),     # colab with 3,000 clips
    (1008, 128, 3, 3),     # 128 / 3 is not whole: 42 per process, global batch 126
    (100, 32, 2, 1),       # the last 4 pairs of each epoch are dropped
)


def check_run_steps(fn: Callable[[int, int, int, int], int]) -> bool:
    """Check ``fn(n_train, batch_size, epochs, world_size) -> optimizer steps of the run``.

    Each epoch has ``n_train // global_batch`` steps: the loader drops the last incomplete
    batch, and with ``world_size`` processes each one takes ``int(batch_size / world_size)``
    pairs (official ``train.py``), so ``global_batch = int(batch_size / world_size) * world_size``.
    """
    for n_train, batch, epochs, world in _RUNS:
        what = f"n_train={n_train}, batch_size={batch}, epochs={epochs}, world_size={world}"
        got = call(fn, n_train, batch, epochs, world, what=what)
        expected = _reference_run_steps(n_train, batch, epochs, world)
        if float(got) == expected:
            continue
        global_batch = batch // world * world
        hint = ""
        if math.isclose(float(got), epochs * n_train / global_batch) or not float(got).is_integer():
            hint = " (a step takes one whole global batch: count whole batches per epoch with //)"
        elif int(got) == epochs * math.ceil(n_train / global_batch):
            hint = " (you counted the last, incomplete batch: the loader drops it, drop_last=True)"
        elif int(got) == epochs * (n_train // batch):
            hint = (f" (with {world} processes each takes int({batch} / {world}) = {batch // world} pairs, "
                    f"so the global batch is {batch // world * world}, not {batch})")
        elif int(got) == epochs * (n_train // (batch * world)):
            hint = " (batch_size is the global batch, split over the processes, not a per-process batch)"
        raise AssertionError(f"{what}: {got} steps, expected {expected}{hint}")
    return passed("your step count matches the loader (whole global batches per epoch, global batch "
                  "int(batch_size / world_size) * world_size)")


def check_init_weight_share(fn: Callable[[float, int], float]) -> bool:
    """Check ``fn(m, steps) -> share of the initial weights left in a momentum network``.

    After ``steps`` updates ``theta_m <- m theta_m + (1 - m) theta`` the momentum network is
    ``m**steps * theta_0`` plus a weighted average of the online weights, so the share of its
    initialisation is ``m ** steps``.
    """
    cases = ((0.5, 3), (0.9, 10), (0.99, 372), (0.999, 460), (0.999, 22_500), (0.99, 0))
    for m, steps in cases:
        what = f"m = {m}, {steps} steps"
        got = float(call(fn, m, steps, what=what))
        expected = m**steps
        if math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-15):
            continue
        hint = ""
        if math.isclose(got, math.exp(-steps * (1 - m)), rel_tol=1e-9, abs_tol=1e-15):
            hint = (" (exp(-steps (1 - m)) is the approximation for m close to 1; the exact share is "
                    "m ** steps)")
        elif math.isclose(got, 1 - m**steps, rel_tol=1e-9, abs_tol=1e-15):
            hint = " (that is the share of the online weights; the question asks for the initial weights')"
        raise AssertionError(f"{what}: got {got:.6g}, expected {expected:.6g}{hint}")
    return passed("the momentum network keeps the share m ** steps of its initial weights")


def _reference_throughput(records: Sequence[dict]) -> float:
    steps = np.array([r["step"] for r in records], dtype=np.float64)
    rates = np.array([r["samples_per_s"] for r in records], dtype=np.float64)
    intervals = np.diff(np.concatenate([[0.0], steps]))  # steps per logging interval
    return float(intervals.sum() / (intervals / rates).sum())  # the global batch cancels out


def _fake_step_records(rng: np.random.Generator) -> list[dict]:
    """Step records of an uninterrupted run: log every 5 steps and at each epoch end, rates that vary."""
    steps_per_epoch, epochs, log_every = int(rng.integers(11, 23)), 3, 5
    records = []
    for epoch in range(epochs):
        first = epoch * steps_per_epoch
        for step in range(first + 1, first + steps_per_epoch + 1):
            if step % log_every == 0 or step == first + steps_per_epoch:
                rate = float(rng.uniform(20, 200))
                records.append({"event": "step", "step": step, "epoch": step / steps_per_epoch,
                                "loss": float(rng.uniform(3, 5)), "lr": 3e-4, "samples_per_s": rate})
    return records


def check_throughput(fn: Callable[[list[dict]], float], seed: int | None = None) -> bool:
    """Check ``fn(step_records) -> samples per second`` over a whole (uninterrupted) run.

    ``step_records`` are the ``step`` records of ``metrics.jsonl`` in order (``read_metrics(run,
    "step")``): each one covers the steps since the previous record (the first one since step 0)
    and gives their mean ``samples_per_s``. The run's throughput is total samples over total
    seconds; an interval of ``k`` steps of ``B`` pairs took ``k B / samples_per_s`` seconds.
    """
    rng = np.random.default_rng(seed)
    for trial in range(3):
        records = _fake_step_records(rng)
        what = f"throughput of {len(records)} step records (trial {trial + 1})"
        got = float(call(fn, [dict(r) for r in records], what=what))
        expected = _reference_throughput(records)
        if math.isclose(got, expected, rel_tol=1e-9):
            continue
        rates = [r["samples_per_s"] for r in records]
        hint = ""
        if math.isclose(got, float(np.mean(rates)), rel_tol=1e-9):
            hint = (" (the plain mean of samples_per_s weighs a 2-step interval like a 5-step one; weigh "
                    "each interval by its time: total samples / total seconds)")
        elif math.isclose(got, rates[-1], rel_tol=1e-9):
            hint = " (that is the last interval's rate only)"
        raise AssertionError(f"{what}: got {got:.4f} samples/s, expected {expected:.4f}{hint}")
    return passed("your throughput is total samples / total seconds over the logged intervals")


# ------------------------------------------------------------------------------------ chapter 06


def _max_f1_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` samples: a quarter non-sounding (NaN cIoU, 0 boxes), confidences that favour hits."""
    n_boxes = (rng.random(n) > 0.25).astype(np.int64)
    cious = np.where(n_boxes > 0, rng.uniform(0, 1, n), np.nan)
    confidences = np.round(0.4 + 0.3 * np.nan_to_num(cious) + rng.normal(0, 0.15, n), 3)
    return cious, confidences, n_boxes


def _f1_over(thresholds, cious, confidences, n_boxes) -> float:
    best = 0.0
    for t in thresholds:
        p, r = metrics.precision_recall(cious, confidences, n_boxes, t)
        best = max(best, 2 * p * r / (p + r) if p + r > 0 else 0.0)
    return best


def check_max_f1(fn: Callable[[np.ndarray, np.ndarray, np.ndarray], float], seed: int = 0) -> bool:
    """Check ``fn(cious, confidences, n_boxes) -> max-F1`` as the official evaluator computes it.

    ``cious`` holds NaN for the non-sounding samples (``n_boxes == 0``). At a confidence
    threshold ``c``: a confident (``>= c``) sounding sample with cIoU ``>= 0.5`` is a true
    positive, any other confident sample a false positive, a sounding sample that is not
    confident a false negative; precision and recall are 1 when undefined. F1 is taken at the
    thresholds ``sorted(confidences)[::max(1, n // 10)]``, and the largest is returned
    (reference :func:`slavc_lite.metrics.max_f1`).
    """
    rng = np.random.default_rng(seed)
    for trial, n in enumerate((8, 37, 64, 120)):
        cious, confidences, n_boxes = _max_f1_data(rng, n)
        what = f"max-F1 of {n} samples (trial {trial + 1})"
        got = float(call(fn, cious.copy(), confidences.copy(), n_boxes.copy(), what=what))
        expected = metrics.max_f1(cious, confidences, n_boxes)
        if math.isclose(got, expected, abs_tol=1e-9):
            continue
        hint = ""
        if math.isclose(got, _f1_over(np.unique(confidences), cious, confidences, n_boxes), abs_tol=1e-9):
            hint = (f" (you tried every confidence as a threshold; the official list takes every "
                    f"max(1, n // 10) = {max(1, n // 10)}-th of the sorted confidences)")
        else:
            sounding = n_boxes > 0
            wrong = metrics.max_f1(cious[sounding], confidences[sounding], n_boxes[sounding])
            if math.isclose(got, wrong, abs_tol=1e-9):
                hint = " (the non-sounding samples count too: when confident they are false positives)"
        raise AssertionError(f"{what}: got {got:.6f}, expected {expected:.6f}{hint}")
    return passed("your max-F1 matches slavc_lite.metrics.max_f1 (official thresholds and counting)")


def check_auc(fn: Callable[[np.ndarray], float], seed: int | None = None) -> bool:
    """Check ``fn(cious) -> AUC``: the area under the success curve ``t -> share of cious >= t`` for
    ``t = 0, 0.05, ..., 1``, by the trapezoid rule (the official evaluator's ``sklearn.metrics.auc``).

    ``cious`` are the cIoUs of sounding pairs (no NaN).
    """
    rng = np.random.default_rng(seed)
    on_thresholds = np.round(rng.integers(0, 21, size=12) * 0.05, 10)  # exactly on a threshold: >= counts
    just_below = np.clip(rng.integers(1, 21, size=12) * 0.05 - 0.001, 0, 1)  # just under one: mean != AUC
    spread = rng.uniform(0, 1, size=16)
    for trial, cious in enumerate((on_thresholds, just_below, spread, np.concatenate([spread, [0.0, 1.0]]))):
        what = f"AUC of {len(cious)} cIoUs (trial {trial + 1})"
        got = float(call(fn, cious.copy(), what=what))
        expected = metrics.auc(cious)
        if math.isclose(got, expected, abs_tol=1e-9):
            continue
        hint = ""
        thresholds = np.array(metrics.CIOU_THRESHOLDS)
        if math.isclose(got, float(np.mean(cious)), abs_tol=1e-9):
            hint = (" (that is the mean cIoU: the AUC approximates it, but counts a cIoU only at the 21 "
                    "thresholds it reaches)")
        elif math.isclose(got, float(np.trapezoid([np.mean(cious > t) for t in thresholds], thresholds)),
                          abs_tol=1e-9):
            hint = " (a sample succeeds at t when cIoU >= t, not > t)"
        elif math.isclose(got, float(np.mean([np.mean(cious >= t) for t in thresholds])), abs_tol=1e-9):
            hint = " (the mean success rate is not the area: use the trapezoid rule over t in [0, 1])"
        raise AssertionError(f"{what}: got {got:.6f}, expected {expected:.6f}{hint}")
    return passed("your AUC matches slavc_lite.metrics.auc (success rate at t = 0, 0.05, ..., 1, trapezoids)")


def _balanced_accuracy(threshold: float, positive: np.ndarray, negative: np.ndarray) -> float:
    return 0.5 * (float(np.mean(positive >= threshold)) + float(np.mean(negative < threshold)))


def check_universal_threshold(fn: Callable[[np.ndarray, np.ndarray], float], seed: int | None = None) -> bool:
    """Check ``fn(positive_peaks, negative_peaks) -> threshold``.

    A sample counts as "sounding" when its maximum map value is ``>= threshold``. The threshold
    must maximise the balanced accuracy ``(TPR + TNR) / 2`` (TPR: share of positives
    ``>= threshold``, TNR: share of negatives below it), one threshold for every sample. Any
    threshold reaching the best balanced accuracy passes (several may).
    """
    from slavc_lite.evaluation.negative_audio import universal_threshold

    rng = np.random.default_rng(seed)
    for trial in range(4):
        n_pos, n_neg = (30, 90) if trial % 2 == 0 else (80, 20)  # unbalanced: accuracy != balanced accuracy
        positive = rng.normal(0.70, 0.06, n_pos)
        negative = rng.normal(0.60 + 0.03 * trial, 0.05, n_neg)
        what = f"threshold for {n_pos} positive and {n_neg} negative maxima (trial {trial + 1})"
        got = float(call(fn, positive.copy(), negative.copy(), what=what))
        best = universal_threshold(positive, negative)["balanced_accuracy"]
        achieved = _balanced_accuracy(got, positive, negative)
        if achieved >= best - 1e-12:
            continue
        every = np.unique(np.concatenate([positive, negative]))
        plain = max(every, key=lambda t: np.mean(np.concatenate([positive >= t, negative < t])))
        hint = ""
        if math.isclose(got, float(plain)):
            hint = (" (you maximised the plain accuracy over all samples, which favours the larger group; "
                    "the balanced accuracy weighs positives and negatives equally)")
        elif math.isclose(got, float(positive.mean() + negative.mean()) / 2):
            hint = " (the midpoint of the two means is not the best separating threshold in general)"
        raise AssertionError(f"{what}: your threshold {got:.4f} reaches a balanced accuracy of "
                             f"{achieved:.4f}; the best threshold reaches {best:.4f}{hint}")
    return passed("your threshold reaches the best balanced accuracy, as "
                  "evaluation.negative_audio.universal_threshold")
