"""Where the official map's maximum lands, against where the best cell of the grid looks.

The SLAVC map (review Eq. 6) is computed on the trunk's ``h x w`` grid and upsampled to
``H x W`` bicubically with ``align_corners=True``, as the official test does
(:func:`slavc_lite.maps.upsample`). Two things happen on the way, and the pointing game (is the
map's maximum inside the sounding box?) sees both:

* **Placement.** ``align_corners=True`` puts the value of cell ``i`` at pixel
  ``i (H - 1) / (h - 1)``, its *node*: the corner cells on the frame's corners, 37.2 pixels
  apart for 7 cells on 224 pixels. What the cell describes is the window it sees. In a plain
  stride-32 trunk the windows are 32 pixels apart, so the two agree at one cell at most and the
  gap grows towards the borders; the toy world's trunk centres its windows on the nodes
  (:mod:`slavc_lite.cell_grid`, :func:`slavc_lite.encoders.window_centres`).
* **Overshoot.** Bicubic interpolation rings at a steep edge: where a plateau of high cells meets
  low ones, the upsampled map rises a little above the plateau just inside its edge. When the best
  cells form a plateau (cosines near their top on every cell that sees the object), the maximum
  lands near the plateau's border, wherever the ringing is largest, and not at the best cell.

:func:`pointing_by_placement` plays the pointing game on one set of grids in three ways: the
maximum of the official map (what the pointing game scores), the best cell at its node (where the
official map puts it), and the best cell at the centre of its window (where what it saw is).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from slavc_lite.evaluation.inference import pointing_hits
from slavc_lite.maps import upsample

__all__ = ["PLACEMENTS", "map_peak_placement", "pointing_by_placement"]

#: The placements :func:`pointing_by_placement` scores, in table order.
PLACEMENTS = ("official map", "best cell at its node", "best cell at its window")


def _hits_at(rows: np.ndarray, cols: np.ndarray, gt_maps: torch.Tensor) -> np.ndarray:
    """1.0 where the pixel (row, col) of each sample lies in its ground truth, NaN where it is empty."""
    size = gt_maps.shape[-1]
    r = np.clip(np.rint(rows), 0, size - 1).astype(int)
    c = np.clip(np.rint(cols), 0, size - 1).astype(int)
    gt = gt_maps.cpu().numpy()
    hit = (gt[np.arange(len(gt)), r, c] > 0).astype(np.float64)
    hit[(gt.reshape(len(gt), -1) > 0).sum(1) == 0] = np.nan
    return hit


def pointing_by_placement(grids: torch.Tensor, gt_maps: torch.Tensor,
                          centres: Sequence[float]) -> dict[str, float]:
    """The pointing game of ``grids`` ``[N, h, w]`` against ``gt_maps`` ``[N, H, W]`` (``> 0`` in
    the box), in the three placements of :data:`PLACEMENTS`.

    ``centres`` are the window centres of the trunk's cells along one axis, in pixels
    (:func:`slavc_lite.encoders.window_centres`; square cells). The best cell is the first
    maximum in row-major order, as ``argmax`` picks. Samples with an empty ground truth are left
    out. Returns ``{placement: share of samples whose point lies in the box}``.
    """
    _, h, w = grids.shape
    size_y, size_x = gt_maps.shape[-2:]
    if h != w or size_y != size_x:
        raise ValueError(f"square grids and maps only, not {h} x {w} grids and {size_y} x {size_x} maps")
    if len(centres) != h:
        raise ValueError(f"{len(centres)} window centres for a {h} x {w} grid")
    grids = grids.float()
    best = grids.flatten(1).argmax(1).cpu().numpy()
    row, col = best // w, best % w
    node = (size_y - 1) / max(h - 1, 1)
    centre = np.asarray(centres, dtype=np.float64)
    placed = {
        "official map": pointing_hits(upsample(grids, size_y), gt_maps),
        "best cell at its node": _hits_at(row * node, col * node, gt_maps),
        "best cell at its window": _hits_at(centre[row], centre[col], gt_maps),
    }
    return {name: float(np.nanmean(hits)) if np.isfinite(hits).any() else float("nan")
            for name, hits in placed.items()}


@torch.no_grad()
def map_peak_placement(model: nn.Module, batch: Mapping[str, Any]) -> dict[str, float]:
    """:func:`pointing_by_placement` for the SLAVC map (``S1 + S2`` of the momentum networks with
    each pair's own clip, Eq. 6 up to its fixed scale) of a model whose image trunk is the local
    CNN, on a batch of sounding pairs (``image``, ``spec``, ``gt_map``)."""
    from slavc_lite.encoders import window_centres
    from slavc_lite.evaluation.heads import pair_similarity_grids

    s1, s2 = pair_similarity_grids(model, batch)
    grids = s1 + s2
    centres = window_centres(model.imgnet, grids.shape[-1])
    return pointing_by_placement(grids, torch.as_tensor(batch["gt_map"]).float(), centres)
