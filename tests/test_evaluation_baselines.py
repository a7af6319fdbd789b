"""Baselines scored like the maps: the oracle, the centre prior on a hand-made set with known
values, the seeded random map."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from slavc_lite import metrics
from slavc_lite.data.datasets import build_test_set
from slavc_lite.evaluation import score_test_set
from slavc_lite.evaluation.baselines import (
    baseline_maps,
    center_prior_map,
    grid_oracle_map,
    oracle,
    oracle_map,
    random_map,
    random_noise,
)
from slavc_lite.ground_truth import boxes_to_map
from slavc_lite.maps import upsample
from tests.test_evaluation_support import tiny_model, write_world

N = 224 * 224


class HandMadeSet(Dataset):
    """Test-mode samples with chosen ground-truth maps (random images and sounds)."""

    mode = "test"

    def __init__(self, gt_maps: list[np.ndarray]) -> None:
        self.gt_maps = gt_maps
        generator = torch.Generator().manual_seed(0)
        self.images = torch.randn(len(gt_maps), 3, 224, 224, generator=generator)
        self.specs = torch.randn(len(gt_maps), 1, 257, 200, generator=generator)

    def __len__(self) -> int:
        return len(self.gt_maps)

    def __getitem__(self, i: int) -> dict:
        gt = self.gt_maps[i]
        return {"image": self.images[i], "spec": self.specs[i], "gt_map": torch.from_numpy(gt).float(),
                "n_boxes": int(gt.any()), "id": f"s{i}", "audio_id": f"s{i}", "index": i}


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def test_center_prior_on_a_hand_made_set_gives_the_known_values(model):
    full = boxes_to_map([[0, 0, 224, 224]])
    centre = boxes_to_map([[62, 62, 162, 162]])  # 100 x 100, corners 70 px from the centre
    corner = boxes_to_map([[0, 0, 40, 40]])  # nearest pixel 102 px from the centre
    silent = np.zeros((224, 224))
    scores = score_test_set(model, HandMadeSet([full, centre, corner, silent]), batch_size=3,
                            extra_maps=baseline_maps(["center"]))
    # The relative prediction of a radial map is a centred disk of (just over) half the pixels:
    prior = center_prior_map().numpy().astype(np.float64)
    n_disk = int((prior >= np.sort(prior.ravel())[N // 2]).sum())
    assert N // 2 <= n_disk < N // 2 + 300  # radius sqrt(224^2 / 2 / pi) = 89.4 px > 70 px
    c = scores.cious["center"]
    assert c[0] == n_disk / N  # whole-image box: the disk over the image
    assert c[1] == 10000 / n_disk  # a box inside the disk: |box| / |disk|
    assert c[1] == pytest.approx(0.3986, abs=0.005)
    assert c[2] == 0.0
    assert c[3] == 0.0  # no box: 0 / |disk| (not counted by cIoU and AUC, which use sounding samples)
    table = scores.table("center")["all"]
    # Constant confidence: every AP threshold marks all confident, recall never increases.
    assert np.all(scores.confidences["center"] == scores.confidences["center"][0])
    assert table["AP"] == 0.0
    assert table["Precision"] == 1 / 4  # one hit (cIoU >= 0.5) among four confident samples
    assert table["max-F1"] == pytest.approx(2 * 0.25 / 1.25)
    assert table["AUC"] == metrics.auc(c[:3])


def test_oracle_reproduces_the_ground_truth_in_absolute_mode_on_single_scenes(model, tmp_path):
    world = write_world(tmp_path / "toy")
    dataset = build_test_set("toy", world / "test", metadata=world / "test")
    kinds = dict(line.split(",")[:2] for line in (world / "test" / "scenes.csv").read_text().splitlines()[1:])
    scores = score_test_set(model, dataset, batch_size=8, extra_maps={"oracle": oracle()})
    single = np.array([kinds[i] == "single" for i in scores.ids])
    assert single.sum() >= 5
    # Absolute mode (>= 0.5): exactly the box, cIoU 1, AUC 1.
    assert np.all(scores.absolute_cious["oracle"][single] == 1.0)
    assert metrics.auc(scores.absolute_cious["oracle"][single]) == pytest.approx(1.0)
    # Relative mode (top 50%): the box plus its nearest surroundings, cIoU = |box| / |top 50%|,
    # the cap of the official protocol for boxes under half the image.
    areas = scores.areas[single]
    expected = np.minimum(1.0, areas / (N // 2))
    np.testing.assert_allclose(scores.cious["oracle"][single], expected, atol=0.01)
    big = areas >= N // 2
    assert np.all(scores.cious["oracle"][single][big] == 1.0)


def test_oracle_map_values():
    gt = boxes_to_map([[10, 20, 50, 60]])
    m = oracle_map(gt).numpy()
    assert np.all(m[gt > 0] == 1.0) and m[gt == 0].max() < 0.5 and m[gt == 0].min() > 0.0
    assert m[20, 9] > m[20, 0]  # falls with the distance to the box
    assert np.all(oracle_map(np.zeros((224, 224))).numpy() == 0)


def test_grid_oracle_is_the_box_share_of_each_feature_cell_upsampled():
    gt = boxes_to_map([[40, 70, 150, 200]])
    # 224 / 7 = 32: cell (i, j) holds the pixels [32 i, 32 i + 32) x [32 j, 32 j + 32).
    cells = np.array([[gt[32 * i:32 * (i + 1), 32 * j:32 * (j + 1)].mean() for j in range(7)]
                      for i in range(7)])
    assert cells[3, 2] == 1.0 and cells[0, 0] == 0.0 and 0 < cells[2, 1] < 1  # inside, outside, edge
    expected = upsample(torch.from_numpy(cells).float()[None])[0]
    torch.testing.assert_close(grid_oracle_map(gt), expected, rtol=0, atol=1e-4)
    assert np.all(grid_oracle_map(np.zeros((224, 224))).numpy() == 0)
    # Fully covered rows form a plateau of exactly 1.0, without the interpolation's float noise.
    assert torch.all(grid_oracle_map(boxes_to_map([[0, 0, 224, 160]]))[:100] == 1.0)


def test_grid_oracle_sits_between_the_centre_prior_and_the_oracle(model):
    gts = [boxes_to_map(b) for b in ([[0, 0, 224, 160]], [[20, 30, 120, 200]], [[100, 0, 224, 90]],
                                     [[10, 10, 60, 60], [150, 140, 220, 210]])]
    scores = score_test_set(model, HandMadeSet(gts), batch_size=4, extra_maps=baseline_maps())
    c = scores.cious
    # A box over 71% of the image: the oracle's top half lies inside it; the grid's edge falls at
    # grid point 4 (pixel 4 * 223 / 6 = 148.7 with align_corners=True), 11 rows short of the box.
    assert c["oracle"][0] == 1.0 and c["grid_oracle"][0] > 0.9
    # A 7 x 7 grid cannot place edges finely (the oracle's own ties, at equal distances from a box,
    # can cost it a few pixels: hence the tolerance).
    assert np.all(c["grid_oracle"] <= c["oracle"] + 1e-3)
    assert np.all(c["grid_oracle"] > c["center"])  # but it knows where the boxes are
    assert c["grid_oracle"].mean() > 0.8 * c["oracle"].mean()


def test_random_map_is_seeded_per_sample_and_upsampled():
    a = random_map(5, seed=0)
    assert a.shape == (224, 224)
    assert torch.equal(a, random_map(5, seed=0))
    assert not torch.equal(a, random_map(6, seed=0)) and not torch.equal(a, random_map(5, seed=1))
    assert -0.3 < float(a.min()) and float(a.max()) < 1.3  # bicubic overshoot of uniform [0, 1) noise
    # smooth like an upsampled 7 x 7 grid: neighbouring pixels differ little
    assert float((a[:, 1:] - a[:, :-1]).abs().max()) < 0.1
    batch = {"index": torch.tensor([5, 7]), "id": ["a", "b"]}
    out = random_noise(seed=0)(batch, {})
    assert torch.equal(out[0], a) and torch.equal(out[1], random_map(7, seed=0))


def test_random_baseline_does_not_depend_on_the_batch_size(model):
    gts = [boxes_to_map([[i * 10, i * 10, 150, 150]]) for i in range(5)]
    data = HandMadeSet(gts)
    one = score_test_set(model, data, batch_size=1, extra_maps=baseline_maps(["random"]))
    five = score_test_set(model, data, batch_size=5, extra_maps=baseline_maps(["random"]))
    np.testing.assert_array_equal(one.cious["random"], five.cious["random"])
    np.testing.assert_array_equal(one.confidences["random"], five.confidences["random"])


def test_unknown_baseline_is_refused():
    with pytest.raises(ValueError, match="unknown baselines"):
        baseline_maps(["centre"])
