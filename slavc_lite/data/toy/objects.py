"""``ToyObjectDataset``: toy objects with class labels, the toy world's ImageNet.

SLAVC's visual encoder starts from ImageNet weights, and the OGL map comes from an
ImageNet network that is never fine-tuned: object knowledge learnt with labels, on another
dataset. Offline, this dataset plays that part: one toy object per image, on a varied
background, with its class label, so a classifier pretrained on it knows what toy objects
look like (not where sounds come from) before the audio-visual training starts.

Samples are drawn on the fly, deterministically: sample ``i`` of ``ToyObjectDataset(n,
seed)`` is always the same image (its own seed from ``(seed, i)``), and its label is
``i % n_classes`` (balanced classes). Object areas are 6-60% of the frame (log-uniform),
at a random position, like the object-centred photos of ImageNet. About 1-2 ms an image.

With ``cell_targets=True`` each item also holds the class of every cell of the networks'
``S/32 x S/32`` feature grid (7 x 7 at 224 px): the object's label where the object covers at
least :data:`CELL_COVERAGE` of the cell, else the background label ``n_classes``; with
``corner_aligned=True`` the cells are those of the local CNN trunk (:mod:`slavc_lite.cell_grid`).
The object pretraining uses them so that the network's features say *where* an object is, cell
by cell (see :mod:`slavc_lite.training.pretrain`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from slavc_lite.cell_grid import cell_coverage
from slavc_lite.data.toy.backgrounds import background, finish
from slavc_lite.data.toy.classes import CLASS_NAMES, get_class
from slavc_lite.data.toy.shapes import draw_object
from slavc_lite.data.toy.sizes import ASPECT_QUANTILES, MIN_SIDE
from slavc_lite.data.toy.world import sample_rng

CELL_COVERAGE = 0.3
"""Share of a feature-grid cell the object must cover for the cell to take the object's label."""


def cell_labels(mask: np.ndarray, label: int, background: int, corner_aligned: bool = False) -> np.ndarray:
    """Per cell of the 32-pixel grid (plain, or the local CNN's corner-aligned one,
    :func:`slavc_lite.cell_grid.cell_coverage`): ``label`` where ``mask`` covers at least
    :data:`CELL_COVERAGE` of the cell, else ``background`` (int64)."""
    coverage = cell_coverage(mask, corner_aligned=corner_aligned)
    return np.where(coverage >= CELL_COVERAGE, label, background).astype(np.int64)


def render_object_image(
    index: int, seed: int = 0, image_size: int = 224, with_mask: bool = False
) -> tuple[np.ndarray, int] | tuple[np.ndarray, int, np.ndarray]:
    """Sample ``index`` of the object set: (uint8 HxWx3 image, label), plus the object's
    uint8 mask (HxW, 1 on the object) when ``with_mask``."""
    label = index % len(CLASS_NAMES)
    rng = sample_rng(seed, "objects", index)
    s = image_size
    area = np.exp(rng.uniform(np.log(0.06), np.log(0.6)))
    aspect = float(np.interp(rng.random(), ASPECT_QUANTILES[:, 0], ASPECT_QUANTILES[:, 1]))
    w = int(np.clip(round(np.sqrt(area * aspect) * s), MIN_SIDE, s))
    h = int(np.clip(round(np.sqrt(area / aspect) * s), MIN_SIDE, s))
    box = (int(rng.integers(0, s - w + 1)), int(rng.integers(0, s - h + 1)), w, h)
    image = background(rng, s)
    mask = np.zeros((s, s), np.uint8)
    draw_object(image, mask, 1, get_class(CLASS_NAMES[label]).look, box, rng)
    return (finish(image, rng), label, mask) if with_mask else (finish(image, rng), label)


def to_normalized_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 HxWx3 -> float [3, H, W] with the ImageNet mean/std (as ``ToTensor`` + ``Normalize``)."""
    from slavc_lite.images import normalize

    return normalize(torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0))


class ToyObjectDataset(Dataset):
    """``n`` labelled toy-object images generated on the fly (see the module docstring).

    ``transform=None``: images come as float tensors ``[3, S, S]`` normalised with the
    ImageNet mean/std, like ``slavc_lite.images.test_transform`` (already S x S, so no
    resize). A callable ``transform`` receives a ``PIL.Image`` (e.g.
    ``slavc_lite.images.train_transform()`` for augmentation). ``raw=True`` returns the uint8
    ``HxWx3`` numpy array instead. Items are ``(image, label)``, or ``(image, label, cells)``
    with ``cell_targets=True`` (:func:`cell_labels`, on the corner-aligned grid with
    ``corner_aligned=True``; a geometric ``transform`` would move the object away from its cells,
    so the two do not go together).
    """

    def __init__(self, n: int, seed: int = 0, transform: Callable[[Image.Image], Any] | None = None,
                 image_size: int = 224, raw: bool = False, cell_targets: bool = False,
                 corner_aligned: bool = False):
        if cell_targets and transform is not None:
            raise ValueError("cell_targets needs the images as drawn (no transform)")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        self.n = int(n)
        self.seed = int(seed)
        self.transform = transform
        self.image_size = int(image_size)
        self.raw = raw
        self.cell_targets = cell_targets
        self.corner_aligned = corner_aligned

    classes: list[str] = list(CLASS_NAMES)

    @property
    def targets(self) -> list[int]:
        """Every sample's label (``i % n_classes``), without drawing the images."""
        return [i % len(CLASS_NAMES) for i in range(self.n)]

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int):
        if not -self.n <= index < self.n:
            raise IndexError(f"index {index} out of range for {self.n} samples")
        index %= self.n
        image, label, mask = render_object_image(index, self.seed, self.image_size, with_mask=True)
        out = image if self.raw else (self.transform(Image.fromarray(image)) if self.transform is not None
                                      else to_normalized_tensor(image))
        if self.cell_targets:
            cells = cell_labels(mask, label, len(CLASS_NAMES), corner_aligned=self.corner_aligned)
            return out, label, torch.from_numpy(cells)
        return out, label
