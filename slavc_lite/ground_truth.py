"""Ground-truth maps at 224x224 from annotated boxes, as the official test set builds them.

* VGG-SS: boxes are normalised ``[x0, y0, x1, y1]``; each is clipped to ``[0, 1]``,
  multiplied by 224 and cast to int; the map is the binary union of the boxes.
* Flickr-SoundNet: boxes come from XML on a 256-pixel scale and are rescaled with
  ``int(224 * v / 256)``; the map is the sum of the annotators' boxes divided by 2,
  clipped to 1 (annotator consensus: 0, 0.5 or 1).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

MAP_SIZE = 224
FLICKR_SCALE = 256

Box = Sequence[float]


def vggss_boxes_to_pixels(boxes: Iterable[Box], size: int = MAP_SIZE) -> list[list[int]]:
    """Normalised boxes -> integer pixel boxes (clip to [0, 1], times ``size``, truncate)."""
    return [(np.clip(np.asarray(b, dtype=np.float64), 0, 1) * size).astype(int).tolist()
            for b in boxes]


def flickr_boxes_to_pixels(boxes: Iterable[Box], size: int = MAP_SIZE) -> list[list[int]]:
    """Boxes on Flickr's 256 scale -> ``int(224 * v / 256)`` pixel boxes."""
    return [[int(size * int(v) / FLICKR_SCALE) for v in b] for b in boxes]


def boxes_to_map(pixel_boxes: Iterable[Box], kind: str = "vggss", size: int = MAP_SIZE) -> np.ndarray:
    """Sum the boxes into a ``[size, size]`` map, then apply the dataset's rule.

    ``kind="vggss"``: any covered pixel is 1. ``kind="flickr"``: count / 2, clipped to 1.
    Rows are y, columns x; a box covers ``[y0, y1) x [x0, x1)``.
    """
    gt = np.zeros((size, size))
    for x0, y0, x1, y1 in pixel_boxes:
        gt[int(y0) : int(y1), int(x0) : int(x1)] += 1
    if kind == "vggss":
        gt[gt > 0] = 1
    elif kind == "flickr":
        gt = gt / 2
        gt[gt > 1] = 1
    else:
        raise ValueError(f"kind must be 'vggss' or 'flickr', not {kind!r}")
    return gt


def vggss_gt_map(normalized_boxes: Iterable[Box], size: int = MAP_SIZE) -> np.ndarray:
    """The VGG-SS ground-truth map of one sample's normalised boxes."""
    return boxes_to_map(vggss_boxes_to_pixels(normalized_boxes, size), "vggss", size)


def flickr_gt_map(boxes_256: Iterable[Box], size: int = MAP_SIZE) -> np.ndarray:
    """The Flickr-SoundNet ground-truth map of one sample's annotator boxes (256 scale)."""
    return boxes_to_map(flickr_boxes_to_pixels(boxes_256, size), "flickr", size)
