"""Does a cell of a visual trunk carry the class of an object far from it? A probe.

SLAVC compares every cell of the image feature map with the clip (Eq. 1-2). If the trunk puts
the class of the frame's object into *every* cell, the clip matches the background as well as
the object and the map cannot point at the source. A trunk pretrained to classify whole images
(global average pooling, as the toy object pretraining and ImageNet do) may or may not do that,
depending on how far a cell sees.

The probe, on toy object images (one object of a known class per image,
:class:`slavc_lite.data.toy.ToyObjectDataset` with its per-cell labels):

1. features of the trunk in eval mode, L2-normalised per cell;
2. on the first half of the images, one mean direction per class from the cells the object covers
   (:func:`slavc_lite.data.toy.objects.cell_labels`, on the trunk's own grid: corner-aligned for
   the local CNN, :mod:`slavc_lite.cell_grid`);
3. on the second half, each cell is given the class whose mean is nearest (largest cosine), and
   the probe reports the share of right answers on the **object cells** and on the **far
   background cells** (no object cell among their eight neighbours). Chance on the far cells is
   one over the number of classes: a trunk whose far cells score well above it spreads the
   object's class over the frame. :attr:`CellLocality.far_share` puts the two on one scale: the
   far cells' accuracy above chance as a share of the object cells' (0: the class stays on the
   object; 1: far cells know it as well as the object's own cells).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["CellLocality", "cell_locality"]


@dataclass(frozen=True)
class CellLocality:
    """Nearest-class-mean accuracy on object cells and on far background cells, and their counts."""

    object_accuracy: float
    far_accuracy: float
    chance: float
    object_cells: int
    far_cells: int

    @property
    def far_share(self) -> float:
        """``(far_accuracy - chance) / (object_accuracy - chance)`` (module docstring)."""
        return (self.far_accuracy - self.chance) / (self.object_accuracy - self.chance)


def _features(trunk: nn.Module, objects, batch_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    device = next(trunk.parameters()).device
    features, labels, cells = [], [], []
    for first in range(0, len(objects), batch_size):
        items = [objects[i] for i in range(first, min(first + batch_size, len(objects)))]
        images = torch.stack([item[0] for item in items]).to(device)
        features.append(F.normalize(trunk(images).float(), dim=1).cpu())
        labels.append(torch.tensor([int(item[1]) for item in items]))
        cells.append(torch.stack([torch.as_tensor(item[2]) for item in items]))
    return torch.cat(features), torch.cat(labels), torch.cat(cells)


@torch.no_grad()
def cell_locality(trunk: nn.Module, n_images: int = 600, seed: int = 123,
                  batch_size: int = 50) -> CellLocality:
    """Run the probe of the module docstring on ``n_images`` toy objects drawn with ``seed``.

    ``trunk`` maps normalised images ``[B, 3, 224, 224]`` to a feature map ``[B, C, 7, 7]``
    (``build_image_encoder(backbone, weights)``); it is put in eval mode and left there.
    """
    from slavc_lite.data.toy import CLASS_NAMES, ToyObjectDataset

    if n_images < 4:
        raise ValueError(f"the probe needs at least 4 images, not {n_images}")
    trunk.eval()
    n_classes = len(CLASS_NAMES)
    from slavc_lite.encoders import LocalCNNFeatureMap

    objects = ToyObjectDataset(n_images, seed=seed, cell_targets=True,
                               corner_aligned=isinstance(trunk, LocalCNNFeatureMap))
    features, labels, cells = _features(trunk, objects, batch_size)
    on_object = cells != n_classes
    near_object = F.max_pool2d(on_object.float()[:, None], 3, stride=1, padding=1)[:, 0] > 0
    per_cell = features.permute(0, 2, 3, 1)  # [N, h, w, C]
    cell_class = labels[:, None, None].expand_as(on_object)
    half = n_images // 2
    fit_cells, fit_classes = per_cell[:half][on_object[:half]], cell_class[:half][on_object[:half]]
    missing = [CLASS_NAMES[k] for k in range(n_classes) if not bool((fit_classes == k).any())]
    if missing:
        raise ValueError(f"no object cell of {missing} among the first {half} images: draw more images")
    means = F.normalize(torch.stack([fit_cells[fit_classes == k].mean(0) for k in range(n_classes)]), dim=1)

    def accuracy(mask: torch.Tensor) -> tuple[float, int]:
        chosen = (per_cell[half:][mask[half:]] @ means.T).argmax(1)
        right = chosen == cell_class[half:][mask[half:]]
        return (float(right.float().mean()) if len(right) else float("nan")), int(len(right))

    object_accuracy, object_cells = accuracy(on_object)
    far_accuracy, far_cells = accuracy(~near_object)
    return CellLocality(object_accuracy, far_accuracy, 1.0 / n_classes, object_cells, far_cells)
