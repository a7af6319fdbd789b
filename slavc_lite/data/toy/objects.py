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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from slavc_lite.data.toy.backgrounds import background, finish
from slavc_lite.data.toy.classes import CLASS_NAMES, get_class
from slavc_lite.data.toy.shapes import draw_object
from slavc_lite.data.toy.sizes import ASPECT_QUANTILES, MIN_SIDE
from slavc_lite.data.toy.world import sample_rng


def render_object_image(index: int, seed: int = 0, image_size: int = 224) -> tuple[np.ndarray, int]:
    """Sample ``index`` of the object set: (uint8 HxWx3 image, label)."""
    label = index % len(CLASS_NAMES)
    rng = sample_rng(seed, "objects", index)
    s = image_size
    area = np.exp(rng.uniform(np.log(0.06), np.log(0.6)))
    aspect = float(np.interp(rng.random(), ASPECT_QUANTILES[:, 0], ASPECT_QUANTILES[:, 1]))
    w = int(np.clip(round(np.sqrt(area * aspect) * s), MIN_SIDE, s))
    h = int(np.clip(round(np.sqrt(area / aspect) * s), MIN_SIDE, s))
    box = (int(rng.integers(0, s - w + 1)), int(rng.integers(0, s - h + 1)), w, h)
    image = background(rng, s)
    draw_object(image, np.zeros((s, s), np.uint8), 1, get_class(CLASS_NAMES[label]).look, box, rng)
    return finish(image, rng), label


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
    ``HxWx3`` numpy array instead. Items are ``(image, label)``.
    """

    def __init__(self, n: int, seed: int = 0, transform: Callable[[Image.Image], Any] | None = None,
                 image_size: int = 224, raw: bool = False):
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        self.n = int(n)
        self.seed = int(seed)
        self.transform = transform
        self.image_size = int(image_size)
        self.raw = raw

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
        image, label = render_object_image(index, self.seed, self.image_size)
        if self.raw:
            return image, label
        if self.transform is not None:
            return self.transform(Image.fromarray(image)), label
        return to_normalized_tensor(image), label
