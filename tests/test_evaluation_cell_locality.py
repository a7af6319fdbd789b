"""The cell-locality probe, on planted trunks whose answer is known."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from slavc_lite.data.toy import CLASS_NAMES, ToyObjectDataset
from slavc_lite.evaluation.cell_locality import cell_locality

N_IMAGES = 2 * len(CLASS_NAMES)  # each class once in each half


class PlantedTrunk(nn.Module):
    """Looks each probe image up and answers with one-hot class features: on every cell
    (``spread=True``) or on the object's cells only, with one shared background vector elsewhere."""

    def __init__(self, spread: bool) -> None:
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1))  # gives the trunk a device
        self.spread = spread
        objects = ToyObjectDataset(N_IMAGES, seed=123, cell_targets=True)
        self.answers = {}
        for i in range(N_IMAGES):
            image, label, cells = objects[i]
            self.answers[image.numpy().tobytes()] = (label, torch.as_tensor(cells))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        n_classes = len(CLASS_NAMES)
        out = torch.zeros(len(images), n_classes + 1, 7, 7)
        for b, image in enumerate(images):
            label, cells = self.answers[image.numpy().tobytes()]
            out[b, label] = 1.0
            if not self.spread:
                background = cells == n_classes
                out[b, :, background] = 0.0
                out[b, n_classes, background] = 1.0
        return out


def test_a_trunk_that_spreads_the_class_scores_on_far_cells():
    probe = cell_locality(PlantedTrunk(spread=True), n_images=N_IMAGES, batch_size=7)
    assert probe.object_accuracy == 1.0 and probe.far_accuracy == 1.0
    assert probe.chance == pytest.approx(1 / len(CLASS_NAMES))
    assert probe.far_cells > 0 and probe.object_cells > 0
    assert probe.far_share == pytest.approx(1.0)


def test_a_local_trunk_scores_chance_on_far_cells():
    probe = cell_locality(PlantedTrunk(spread=False), n_images=N_IMAGES, batch_size=7)
    assert probe.object_accuracy == 1.0
    # every far cell gets the same class (the background vector is equally far from every mean)
    assert probe.far_accuracy < 0.2 and probe.far_share < 0.2


def test_too_few_images_are_refused():
    with pytest.raises(ValueError, match="at least 4"):
        cell_locality(PlantedTrunk(spread=True), n_images=2)
