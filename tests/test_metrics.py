"""Official metrics on hand-built cases with known answers and against explicit loops."""

import math

import numpy as np
import pytest

from slavc_lite import ground_truth, metrics
from tests.reference_impl import auc_loops, average_precision_loops, ciou_loops, precision_recall_loops


def test_ciou_known_cases():
    gt = np.zeros((4, 4))
    gt[:2, :2] = 1  # 4 pixels
    pred = np.zeros((4, 4))
    pred[:2, :] = 1  # covers the box and 4 more pixels
    assert metrics.ciou(pred, gt) == pytest.approx(4 / (4 + 4))
    assert metrics.ciou(gt, gt) == 1.0
    assert metrics.ciou(np.zeros((4, 4)), gt) == 0.0
    assert math.isnan(metrics.ciou(np.zeros((4, 4)), np.zeros((4, 4))))


def test_ciou_consensus_map_counts_half_pixels():
    gt = np.array([[1.0, 0.5], [0.5, 0.0]])
    pred = np.array([[1, 1], [0, 1]])
    # inter = 1 + .5 ; union = sum(gt)=2 + pred on gt==0 = 1
    assert metrics.ciou(pred, gt) == pytest.approx(1.5 / 3)
    assert metrics.ciou(pred, gt) == pytest.approx(ciou_loops(pred, gt))


def test_ciou_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="shape"):
        metrics.ciou(np.zeros((2, 2)), np.zeros((3, 3)))


def test_auc_known_answers():
    assert metrics.auc([1.0, 1.0]) == pytest.approx(1.0)
    assert metrics.auc([0.0, 0.0]) == pytest.approx(0.025)  # only t = 0 succeeds: half a step
    assert metrics.auc([0.5]) == pytest.approx(0.5 + 0.025)
    # non-sounding samples are left out when n_boxes is given
    assert metrics.auc([1.0, 0.0], n_boxes=[1, 0]) == pytest.approx(1.0)


def _random_set(seed: int, n: int, silent_share=0.3):
    rng = np.random.default_rng(seed)
    cious = rng.random(n)
    confs = rng.random(n).astype(np.float32)
    boxes = (rng.random(n) > silent_share).astype(int) * rng.integers(1, 4, n)
    return cious, confs, boxes


@pytest.mark.parametrize("n", [1, 2, 7, 150, 450])
def test_ap_f1_precision_match_loops(n):
    cious, confs, boxes = _random_set(n, n)
    assert metrics.average_precision(cious, confs, boxes) == average_precision_loops(
        list(cious), list(confs), list(boxes))
    thresholds = sorted(confs.tolist())[:: max(1, n // 10)]
    f1 = []
    for t in thresholds:
        p, r = precision_recall_loops(cious, confs, boxes, t)
        f1.append(2 * r * p / (r + p) if r + p > 0 else 0.0)
    assert metrics.f1_scores(cious, confs, boxes) == f1
    assert metrics.max_f1(cious, confs, boxes) == max(f1)
    assert metrics.precision(cious, confs, boxes) == precision_recall_loops(cious, confs, boxes, -1000)[0]
    visible = [c for c, b in zip(cious, boxes, strict=True) if b > 0]
    if visible:
        assert metrics.auc(cious, boxes) == pytest.approx(auc_loops(visible), abs=1e-12)


def test_precision_recall_known_case():
    cious = [0.9, 0.2, 0.8, 0.0, 0.7]
    confs = [0.9, 0.8, 0.3, 0.95, 0.6]
    boxes = [1, 1, 1, 0, 1]
    # thr 0.5: confident = 0, 1, 3, 4 -> tp: 0, 4; fp: 1 (misplaced), 3 (silent); fn: 2
    assert metrics.precision_recall(cious, confs, boxes, 0.5) == (0.5, 2 / 3)
    assert metrics.precision(cious, confs, boxes) == pytest.approx(3 / 5)


def test_perfect_detector_has_ap_one():
    cious = [0.9, 0.8, 0.7, 0.0, 0.0]
    confs = [0.9, 0.8, 0.7, 0.1, 0.2]
    boxes = [1, 1, 1, 0, 0]
    # thresholds (descending, without the largest): .8, .7, .2, .1 -> recall 2/3, 1, 1, 1
    assert metrics.average_precision(cious, confs, boxes) == pytest.approx(1 / 3)
    assert metrics.max_f1(cious, confs, boxes) == pytest.approx(1.0)


def test_undefined_precision_and_recall_are_one():
    assert metrics.precision_recall([0.9], [0.1], [1], 0.5) == (1.0, 0.0)
    assert metrics.precision_recall([0.0], [0.1], [0], 0.5) == (1.0, 1.0)


def test_subsets_by_ground_truth_area():
    areas = [10, 32**2, 96**2 - 1, 96**2, 144**2, 0]
    boxes = [1, 1, 1, 1, 1, 0]
    assert metrics.subset_indices("small", boxes, areas).tolist() == [0]
    assert metrics.subset_indices("medium", boxes, areas).tolist() == [1, 2]
    assert metrics.subset_indices("large", boxes, areas).tolist() == [3]
    assert metrics.subset_indices("huge", boxes, areas).tolist() == [4]
    assert metrics.subset_indices("visible", boxes).tolist() == [0, 1, 2, 3, 4]
    assert metrics.subset_indices("all", boxes).tolist() == [0, 1, 2, 3, 4, 5]
    with pytest.raises(ValueError):
        metrics.subset_indices("tiny", boxes, areas)


def test_summary_table():
    cious, confs, boxes = _random_set(3, 60)
    areas = np.where(boxes > 0, np.random.default_rng(0).integers(0, 224 * 224, 60), 0)
    table = metrics.summary(cious, confs, boxes, areas)
    assert set(table) == set(metrics.SUBSETS)
    vis = metrics.subset_indices("visible", boxes)
    assert table["visible"]["cIoU"] == pytest.approx(float(np.mean(cious[vis])))
    assert table["all"]["AP"] == metrics.average_precision(cious, confs, boxes)
    assert table["all"]["n"] == 60


def test_vggss_ground_truth_map():
    boxes = [[0.1, 0.2, 0.5, 0.6], [-0.2, 0.9, 0.3, 1.4]]
    gt = ground_truth.vggss_gt_map(boxes)
    expected = np.zeros((224, 224))
    expected[int(0.2 * 224):int(0.6 * 224), int(0.1 * 224):int(0.5 * 224)] = 1
    expected[int(0.9 * 224):224, 0:int(0.3 * 224)] = 1
    np.testing.assert_array_equal(gt, expected)


def test_flickr_ground_truth_map_is_annotator_consensus():
    boxes_256 = [[0, 0, 128, 128], [0, 0, 64, 64], [0, 0, 64, 64]]
    gt = ground_truth.flickr_gt_map(boxes_256)
    assert gt[0, 0] == 1.0  # three annotators: 3 / 2 clipped to 1
    assert gt[100, 100] == 0.5  # one annotator
    assert gt[200, 200] == 0.0
    assert ground_truth.flickr_boxes_to_pixels([[0, 0, 255, 256]]) == [[0, 0, 223, 224]]
