"""The plain and the corner-aligned cell grids."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from slavc_lite.cell_grid import CORNER_PAD, cell_coverage, corner_aligned_centres, shrink_to_corners
from slavc_lite.data.toy.objects import cell_labels


def test_shrink_to_corners_keeps_the_size_and_pads_half_a_cell_of_zeros():
    frame = torch.ones(2, 3, 224, 224)
    out = shrink_to_corners(frame)
    assert out.shape == frame.shape
    assert out[..., :CORNER_PAD, :].abs().max() == 0 and out[..., :, -CORNER_PAD:].abs().max() == 0
    assert torch.allclose(out[..., CORNER_PAD:-CORNER_PAD, CORNER_PAD:-CORNER_PAD], torch.ones(1))


def test_the_padded_frame_maps_back_onto_the_frame():
    # the padding's inner edge is the frame's edge, the middle stays the middle
    assert corner_aligned_centres([CORNER_PAD - 0.5, 111.5, 224 - CORNER_PAD - 0.5], 224) == \
        pytest.approx([-0.5, 111.5, 223.5])


def test_plain_coverage_counts_each_cells_own_pixels():
    mask = np.zeros((224, 224), np.uint8)
    mask[:48, :32] = 1  # the whole first cell and half of the one below
    coverage = cell_coverage(mask)
    assert coverage.shape == (7, 7)
    assert coverage[0, 0] == 1.0 and coverage[1, 0] == 0.5 and coverage.sum() == 1.5


def test_corner_aligned_coverage_counts_the_part_of_a_cell_inside_the_frame():
    full = cell_coverage(np.ones((224, 224)), corner_aligned=True)
    assert np.allclose(full, 1.0)  # border cells are half outside the frame, and fully covered inside
    mask = np.zeros((224, 224))
    mask[:, :112] = 1  # the left half of the frame: the left three columns and half of the middle one
    coverage = cell_coverage(mask, corner_aligned=True)
    assert np.allclose(coverage[:, :3], 1.0) and np.allclose(coverage[:, 4:], 0.0)
    assert coverage[3, 3] == pytest.approx(0.5, abs=0.02)


def test_cell_labels_use_the_grid_asked_for():
    mask = np.zeros((224, 224))
    mask[:, 200:] = 1  # a strip along the right border: 24 px, most of what the last aligned cell sees
    plain = cell_labels(mask, label=4, background=20)
    aligned = cell_labels(mask, label=4, background=20, corner_aligned=True)
    assert (plain[:, 6] == 4).all()  # 24 of the last plain cell's 32 pixels
    assert (aligned[:, 6] == 4).all() and (aligned[:, 5] == 20).all()
