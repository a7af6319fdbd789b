"""Where the official map's maximum lands against where the best cell looks."""

from __future__ import annotations

import math

import pytest
import torch

from slavc_lite.evaluation.peak_placement import PLACEMENTS, map_peak_placement, pointing_by_placement
from slavc_lite.model import SLAVC

SIZE = 224
CENTRES = [1.5 + 32 * i for i in range(7)]  # windows of a plain stride-32 grid, 14 pixels up-left


def _box_map(x0: int, x1: int, y0: int = 0, y1: int = SIZE) -> torch.Tensor:
    gt = torch.zeros(1, SIZE, SIZE)
    gt[0, y0:y1, x0:x1] = 1
    return gt


def test_one_bright_cell_is_found_at_its_node_and_missed_at_its_window():
    grid = torch.zeros(1, 7, 7)
    grid[0, 3, 3] = 1.0  # its node is pixel (111.5, 111.5), its window centred at (97.5, 97.5)
    hits = pointing_by_placement(grid, _box_map(104, 120, 104, 120), CENTRES)
    assert list(hits) == list(PLACEMENTS)
    assert hits == {"official map": 1.0, "best cell at its node": 1.0, "best cell at its window": 0.0}


def test_a_plateau_moves_the_official_maximum_off_the_best_cell():
    grid = torch.zeros(1, 7, 7)
    grid[0, :, 2], grid[0, :, 3], grid[0, :, 4] = 1.0, 1.01, 1.0  # best column 3, node x = 111.5
    hits = pointing_by_placement(grid, _box_map(100, 124), CENTRES)
    # bicubic overshoot puts the maximum between the nodes, more than 12 pixels from column 3's node
    assert hits["official map"] == 0.0
    assert hits["best cell at its node"] == 1.0


def test_pairs_without_a_box_are_left_out_and_bad_shapes_refused():
    grid = torch.zeros(2, 7, 7)
    grid[:, 3, 3] = 1.0
    gt = torch.cat([_box_map(104, 120, 104, 120), torch.zeros(1, SIZE, SIZE)])
    assert pointing_by_placement(grid, gt, CENTRES)["official map"] == 1.0
    assert all(math.isnan(v) for v in pointing_by_placement(grid[1:], gt[1:], CENTRES).values())
    with pytest.raises(ValueError, match="7 x 7"):
        pointing_by_placement(grid, gt, CENTRES[:6])
    with pytest.raises(ValueError, match="square"):
        pointing_by_placement(torch.zeros(2, 7, 5), gt, CENTRES)


def test_it_runs_on_a_local_cnn_model_and_refuses_other_trunks():
    torch.manual_seed(0)
    batch = {"image": torch.randn(2, 3, SIZE, SIZE), "spec": torch.randn(2, 1, 257, 300),
             "gt_map": torch.cat([_box_map(40, 120), _box_map(100, 200)]).numpy()}
    hits = map_peak_placement(SLAVC(backbone="local_cnn", image_weights=None, dim=16), batch)
    assert set(hits) == set(PLACEMENTS) and all(v in (0.0, 0.5, 1.0) for v in hits.values())
    with pytest.raises(TypeError, match="local CNN"):
        map_peak_placement(SLAVC(backbone="mobilenet_v3_small", image_weights=None, dim=16), batch)
