"""Baseline maps, scored exactly like the SLAVC, OGL and VSL maps.

Each baseline is a :data:`slavc_lite.evaluation.inference.MapFunction` (``(batch, maps) ->
[B, 224, 224]`` scores on the [0, 1] scale), passed to
:func:`~slavc_lite.evaluation.inference.score_test_set` as ``extra_maps``, so it goes through
the same relative prediction (top 50%), cIoU, confidence and official metrics.

* ``center``: a fixed isotropic Gaussian centred in the image (a centre-bias prior: objects
  of interest tend to be framed in the middle). Its map, hence its confidence, is the same
  for every image. **What that means for the confidence metrics**: every threshold of the
  official AP sweep then marks *all* samples confident, so recall is already at its final
  value at the first threshold and never increases: the official AP (a sum over recall
  increments) is exactly 0. Precision is the share of sounding samples whose fixed centre
  prediction reaches cIoU 0.5 among all samples, and max-F1 equals ``2P / (1 + P)`` (recall
  1). Compare a centre prior on cIoU and AUC, not on AP.
* ``random``: uniform noise on a 7 x 7 grid (the resolution of the networks' maps),
  upsampled like them (bicubic, ``align_corners=True``); seeded per sample from
  ``(seed, dataset index)``, so it does not depend on the batch size or on which samples are
  scored. Its confidence varies at random: it gives the chance level of AP and max-F1.
* ``ogl`` (no function here): the OGL map of the object network alone, a baseline that never
  hears the audio; :func:`score_test_set` computes it with every evaluation.
* ``oracle``: built from the ground truth: 1 inside the boxes, below 0.5 outside, falling
  with the distance to the nearest box; all zeros without boxes. It is the best any map can
  do under the official relative prediction (top 50% of the pixels): its cIoU is
  ``min(1, |gt| / |top 50%|)``, so it shows how much the protocol itself caps cIoU for boxes
  smaller than half the image (DESIGN: VGG-SS's median box is 25% of the frame). With the
  absolute prediction (threshold 0.5) it reproduces the ground truth: cIoU 1.
* ``grid_oracle``: the ground truth as the networks could at best draw it: the share of each
  cell of the 7 x 7 feature grid that the boxes cover, upsampled like the SLAVC and OGL maps
  (bicubic, ``align_corners=True``). Every map of the official test is such an upsampled 7 x 7
  grid, so the gap between ``oracle`` and ``grid_oracle`` is what the coarse grid alone costs,
  and ``grid_oracle`` is the practical ceiling for SLAVC, OGL and VSL (a natural best case, not
  a proven bound: other 7 x 7 maps can score higher on some boxes; on the toy test set OGL does
  on the medium ones).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from slavc_lite.evaluation.inference import MapFunction
from slavc_lite.maps import MAP_SIZE, upsample

__all__ = [
    "BASELINES",
    "CENTER_SIGMA",
    "FEATURE_GRID",
    "RANDOM_GRID",
    "RANDOM_SEED",
    "baseline_maps",
    "center_prior",
    "center_prior_map",
    "grid_oracle",
    "grid_oracle_map",
    "oracle",
    "oracle_map",
    "random_map",
    "random_noise",
]

#: Standard deviation of the centre prior, as a share of the image side.
CENTER_SIGMA = 0.25
#: Side of the feature maps of both backbones at 224 x 224 (7 x 7).
FEATURE_GRID = 7
#: Grid of the random baseline (the networks' feature grid).
RANDOM_GRID = FEATURE_GRID
#: Default seed of the random baseline.
RANDOM_SEED = 0
#: The baselines of an evaluation report, in row order.
BASELINES = ("center", "random", "oracle", "grid_oracle")


def center_prior_map(size: int = MAP_SIZE, sigma: float = CENTER_SIGMA) -> torch.Tensor:
    """``[size, size]`` Gaussian ``exp(-r^2 / (2 (sigma size)^2))`` centred in the image, peak 1."""
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    r2 = coords[:, None] ** 2 + coords[None, :] ** 2
    return torch.exp(-r2 / (2 * (sigma * size) ** 2)).float()


def center_prior(sigma: float = CENTER_SIGMA) -> MapFunction:
    """The centre-prior baseline: the same :func:`center_prior_map` for every sample."""
    prior = center_prior_map(MAP_SIZE, sigma)

    def center(batch: dict, maps: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return prior.expand(len(batch["id"]), MAP_SIZE, MAP_SIZE).clone()

    return center


def random_map(index: int, seed: int = RANDOM_SEED, grid: int = RANDOM_GRID,
               size: int = MAP_SIZE) -> torch.Tensor:
    """``[size, size]`` seeded uniform noise on a ``grid x grid`` grid, upsampled bicubically
    (``align_corners=True``) like the SLAVC and OGL maps. Depends only on ``(seed, index)``."""
    generator = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(index))
    noise = torch.rand(1, grid, grid, generator=generator)
    return upsample(noise, size)[0]


def random_noise(seed: int = RANDOM_SEED, grid: int = RANDOM_GRID) -> MapFunction:
    """The random baseline: :func:`random_map` of each sample's dataset index."""

    def random(batch: dict, maps: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return torch.stack([random_map(int(i), seed, grid) for i in batch["index"]])

    return random


def _inside_boxes(gt_map: np.ndarray | torch.Tensor) -> np.ndarray:
    """Boolean ``[H, W]``: the pixels of a ground-truth map inside a box (``gt > 0``)."""
    return np.asarray(gt_map.detach().cpu() if isinstance(gt_map, torch.Tensor) else gt_map) > 0


def oracle_map(gt_map: np.ndarray | torch.Tensor) -> torch.Tensor:
    """The oracle of one ground-truth map ``[H, W]``: 1 on ``gt > 0``, ``0.5 * (1 - d / d_max)``
    elsewhere (``d``: Euclidean distance to the nearest box pixel); zeros without a box."""
    gt = _inside_boxes(gt_map)
    if not gt.any():
        return torch.zeros(gt.shape, dtype=torch.float32)
    distance = ndimage.distance_transform_edt(~gt)
    outside = 0.5 * (1.0 - distance / (distance.max() + 1.0))
    return torch.from_numpy(np.where(gt, 1.0, outside)).float()


def oracle() -> MapFunction:
    """The oracle baseline (an upper bound under the official relative prediction)."""

    def oracle_fn(batch: dict, maps: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return torch.stack([oracle_map(g) for g in batch["gt_map"]])

    return oracle_fn


def grid_oracle_map(gt_map: np.ndarray | torch.Tensor, grid: int = FEATURE_GRID,
                    size: int = MAP_SIZE) -> torch.Tensor:
    """The ground truth ``[H, W]`` at the networks' resolution: the share of each cell of a
    ``grid x grid`` partition inside the boxes (``adaptive_avg_pool2d``), upsampled to
    ``[size, size]`` like the SLAVC and OGL maps (rounded to 1e-4); zeros without a box."""
    gt = torch.from_numpy(_inside_boxes(gt_map)).float()
    cells = F.adaptive_avg_pool2d(gt[None, None], grid)[0]
    # Rounded to 1e-4: the float noise of the interpolation (1 +- 1e-7 over fully covered cells)
    # would otherwise split their plateau at random under the relative threshold, where the
    # plateau's pixels are tied, as they are for the oracle.
    return torch.round(upsample(cells, size)[0], decimals=4)


def grid_oracle(grid: int = FEATURE_GRID) -> MapFunction:
    """The grid-oracle baseline: :func:`grid_oracle_map` of each sample's ground truth."""

    def grid_oracle_fn(batch: dict, maps: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return torch.stack([grid_oracle_map(g, grid) for g in batch["gt_map"]])

    return grid_oracle_fn


def baseline_maps(names: tuple[str, ...] | list[str] = BASELINES, seed: int = RANDOM_SEED,
                  sigma: float = CENTER_SIGMA) -> dict[str, MapFunction]:
    """``{name: MapFunction}`` of the named baselines (``center``, ``random``, ``oracle``,
    ``grid_oracle``)."""
    makers = {"center": lambda: center_prior(sigma), "random": lambda: random_noise(seed),
              "oracle": oracle, "grid_oracle": grid_oracle}
    unknown = [n for n in names if n not in makers]
    if unknown:
        raise ValueError(f"unknown baselines {unknown}; choose from {sorted(makers)}")
    return {n: makers[n]() for n in names}
