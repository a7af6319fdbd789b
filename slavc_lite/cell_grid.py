"""Where the cells of an image trunk's feature grid lie in the frame: plain or corner-aligned.

The official test map (review Eq. 6) upsamples the ``h x w`` grid bicubically with
``align_corners=True`` (:func:`slavc_lite.maps.upsample`), which puts the value of cell ``i`` at
pixel ``i (H - 1) / (h - 1)``: the corner cells on the frame's corners, 37.2 pixels apart for 7
cells on 224 pixels. Two grids:

* **plain**: cell ``i`` is computed from pixels around ``[32 i, 32 i + 32)``, as in the stride-32
  ResNet-18 and MobileNetV3-small trunks; its 32 pixels and the pixel the map puts it on agree at
  the middle of the frame only, and differ by half a cell at the borders.
* **corner-aligned**: the toy world's trunk (:class:`slavc_lite.encoders.LocalCNNFeatureMap`)
  first shrinks the frame to ``(H - 32) x (W - 32)`` and pads it with :data:`CORNER_PAD` zero
  pixels on every side (:func:`shrink_to_corners`). Its cell ``i``, the 32 pixels
  ``[32 i, 32 i + 32)`` of that padded frame, is then centred on frame pixel
  ``32 i H / (H - 32) - 0.5``, within half a pixel of where the official map puts it
  (:func:`corner_aligned_centres`), and cells on the border are half outside the frame.

:func:`cell_coverage` gives the share of each cell that an object's mask covers, on either grid;
the toy object pretraining labels its cells from it (:func:`slavc_lite.data.toy.objects.cell_labels`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["CELL_STRIDE", "CORNER_PAD", "cell_coverage", "corner_aligned_centres", "shrink_to_corners"]

CELL_STRIDE = 32
"""Pixels per cell of the trunks' feature grid (all three backbones)."""
CORNER_PAD = CELL_STRIDE // 2
"""Zero pixels :func:`shrink_to_corners` puts on every side: half a cell."""


def shrink_to_corners(x: torch.Tensor) -> torch.Tensor:
    """``[B, C, H, W]`` -> ``[B, C, H, W]``: shrunk to ``(H - 32) x (W - 32)`` (bilinear, antialiased)
    and padded with :data:`CORNER_PAD` zeros on every side (module docstring)."""
    h, w = x.shape[-2:]
    small = F.interpolate(x, size=(h - 2 * CORNER_PAD, w - 2 * CORNER_PAD), mode="bilinear",
                          align_corners=False, antialias=True)
    return F.pad(small, (CORNER_PAD, CORNER_PAD, CORNER_PAD, CORNER_PAD))


def corner_aligned_centres(padded_centres: list[float], size: int) -> list[float]:
    """Frame pixel of each padded-frame pixel coordinate in ``padded_centres`` (pixel ``x`` centred
    at ``x``), for a frame of ``size`` pixels: the inverse of :func:`shrink_to_corners`."""
    scale = size / (size - 2 * CORNER_PAD)
    return [(c + 0.5 - CORNER_PAD) * scale - 0.5 for c in padded_centres]


def cell_coverage(mask: np.ndarray, corner_aligned: bool = False, stride: int = CELL_STRIDE) -> np.ndarray:
    """``[H / stride, W / stride]`` float: the share of each cell where ``mask > 0``.

    Plain grid: of the cell's ``stride x stride`` pixels. Corner-aligned grid: of the part of the
    cell inside the frame, the mask going through :func:`shrink_to_corners` as the image does.
    """
    mask = np.asarray(mask) > 0
    if not corner_aligned:
        h, w = mask.shape[0] // stride, mask.shape[1] // stride
        return mask[: h * stride, : w * stride].reshape(h, stride, w, stride).mean(axis=(1, 3))
    covered = torch.from_numpy(mask.astype(np.float32))[None, None]
    inside = F.pad(torch.ones(1, 1, covered.shape[-2] - 2 * CORNER_PAD, covered.shape[-1] - 2 * CORNER_PAD),
                   (CORNER_PAD,) * 4)
    return (F.avg_pool2d(shrink_to_corners(covered), stride) / F.avg_pool2d(inside, stride))[0, 0].numpy()
