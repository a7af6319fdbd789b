"""Exercise checks of chapters 05 and 06: reference answers pass, plausible mistakes fail with a reason."""

import math

import numpy as np
import pytest

from slavc_lite import metrics
from slavc_lite.teaching import exercises
from slavc_lite.teaching.exercises import metrics as checks

# ------------------------------------------------------------------------------------ chapter 05


def run_steps(n_train, batch_size, epochs, world_size):
    return epochs * (n_train // (int(batch_size / world_size) * world_size))


def test_checks_are_exported():
    for name in ("check_run_steps", "check_init_weight_share", "check_throughput", "check_max_f1",
                 "check_auc", "check_universal_threshold"):
        assert getattr(exercises, name) is getattr(checks, name)


def test_run_steps_reference_passes():
    assert checks.check_run_steps(run_steps)


def test_run_steps_matches_the_sharded_loader():
    from slavc_lite.training.data import ShardedLoader

    class Pairs:  # the loader only needs the length until it is iterated
        def __init__(self, n):
            self.n = n

        def __len__(self):
            return self.n

    for n_train, batch, epochs, world in checks._RUNS:
        per_process = int(batch / world)
        loader = ShardedLoader(Pairs(n_train), per_process, world_size=world)
        assert checks._reference_run_steps(n_train, batch, epochs, world) == epochs * len(loader)


@pytest.mark.parametrize("wrong, reason", [
    (lambda n, b, e, w: e * math.ceil(n / (int(b / w) * w)), "incomplete"),
    (lambda n, b, e, w: e * (n // b), "global batch"),
    (lambda n, b, e, w: e * (n // (b * w)), "split over the processes"),
    (lambda n, b, e, w: e * n / b, "whole global batch"),
])
def test_run_steps_mistakes_fail(wrong, reason):
    with pytest.raises(AssertionError, match=reason):
        checks.check_run_steps(wrong)


def test_init_weight_share():
    assert checks.check_init_weight_share(lambda m, steps: m**steps)
    with pytest.raises(AssertionError, match="approximation"):
        checks.check_init_weight_share(lambda m, steps: math.exp(-steps * (1 - m)))
    with pytest.raises(AssertionError, match="online weights"):
        checks.check_init_weight_share(lambda m, steps: 1 - m**steps)


def throughput(records):
    steps = np.array([r["step"] for r in records], dtype=float)
    rates = np.array([r["samples_per_s"] for r in records], dtype=float)
    intervals = np.diff(np.concatenate([[0], steps]))
    return intervals.sum() / (intervals / rates).sum()


def test_throughput_reference_passes_with_any_global_batch():
    assert checks.check_throughput(throughput, seed=1)

    def with_batch(records, batch=32):  # samples and seconds both scale with the batch
        steps = np.array([r["step"] for r in records], dtype=float)
        samples = np.diff(np.concatenate([[0], steps])) * batch
        return samples.sum() / sum(s / r["samples_per_s"] for s, r in zip(samples, records, strict=True))

    assert checks.check_throughput(with_batch, seed=2)


def test_throughput_mistakes_fail():
    with pytest.raises(AssertionError, match="plain mean"):
        checks.check_throughput(lambda records: np.mean([r["samples_per_s"] for r in records]), seed=3)
    with pytest.raises(AssertionError, match="last interval"):
        checks.check_throughput(lambda records: records[-1]["samples_per_s"], seed=3)


def test_throughput_agrees_with_a_real_interval_log():
    # intervals of 5, 5, 2 steps at known rates: 12 steps of B pairs in 5B/100 + 5B/50 + 2B/10 seconds
    records = [{"step": 5, "samples_per_s": 100.0}, {"step": 10, "samples_per_s": 50.0},
               {"step": 12, "samples_per_s": 10.0}]
    assert checks._reference_throughput(records) == pytest.approx(12 / (5 / 100 + 5 / 50 + 2 / 10))


def test_not_written_yet_is_explained():
    def todo(*args):
        raise NotImplementedError

    with pytest.raises(AssertionError, match="not written yet"):
        checks.check_run_steps(todo)


# ------------------------------------------------------------------------------------ chapter 06


def max_f1(cious, confidences, n_boxes):
    hit = (n_boxes > 0) & (np.nan_to_num(cious) >= 0.5)
    best = 0.0
    for t in np.sort(confidences)[:: max(1, len(confidences) // 10)]:
        confident = confidences >= t
        tp = np.sum(confident & hit)
        fp = np.sum(confident & ~hit)
        fn = np.sum(~confident & (n_boxes > 0))
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        best = max(best, 2 * p * r / (p + r) if p + r else 0.0)
    return best


def test_max_f1_reference_passes():
    for seed in range(3):
        assert checks.check_max_f1(max_f1, seed=seed)
    assert checks.check_max_f1(lambda c, conf, b: metrics.max_f1(c, conf, b))


def test_max_f1_mistakes_fail():
    def every_threshold(cious, confidences, n_boxes):
        pr = [metrics.precision_recall(cious, confidences, n_boxes, t) for t in confidences]
        return max(2 * p * r / (p + r) if p + r else 0.0 for p, r in pr)

    def sounding_only(cious, confidences, n_boxes):
        keep = n_boxes > 0
        return metrics.max_f1(cious[keep], confidences[keep], n_boxes[keep])

    with pytest.raises(AssertionError, match="every confidence"):
        checks.check_max_f1(every_threshold)
    with pytest.raises(AssertionError, match="non-sounding samples count"):
        checks.check_max_f1(sounding_only)
    with pytest.raises(AssertionError, match="expected"):
        checks.check_max_f1(lambda c, conf, b: 1.0)


def auc(cious):
    thresholds = np.linspace(0, 1, 21)
    return np.trapezoid([np.mean(cious >= t) for t in thresholds], thresholds)


def test_auc_reference_passes():
    for seed in range(3):
        assert checks.check_auc(auc, seed=seed)


def test_auc_mistakes_fail():
    with pytest.raises(AssertionError, match="mean cIoU"):
        checks.check_auc(lambda c: float(np.mean(c)), seed=0)
    thresholds = np.linspace(0, 1, 21)
    with pytest.raises(AssertionError, match=">= t"):
        checks.check_auc(lambda c: np.trapezoid([np.mean(c > t) for t in thresholds], thresholds), seed=0)
    with pytest.raises(AssertionError, match="trapezoid"):
        checks.check_auc(lambda c: np.mean([np.mean(c >= t) for t in thresholds]), seed=0)


def best_threshold(positive, negative):
    candidates = np.unique(np.concatenate([positive, negative]))
    scores = [np.mean(positive >= t) + np.mean(negative < t) for t in candidates]
    return candidates[int(np.argmax(scores))]


def test_universal_threshold_reference_passes():
    for seed in range(3):
        assert checks.check_universal_threshold(best_threshold, seed=seed)


def test_universal_threshold_mistakes_fail():
    def plain_accuracy(positive, negative):
        candidates = np.unique(np.concatenate([positive, negative]))
        return max(candidates, key=lambda t: np.mean(np.concatenate([positive >= t, negative < t])))

    with pytest.raises(AssertionError, match="plain accuracy"):
        checks.check_universal_threshold(plain_accuracy, seed=0)
    with pytest.raises(AssertionError, match="best threshold reaches"):
        checks.check_universal_threshold(lambda p, n: 0.0, seed=0)  # everything "sounding"
