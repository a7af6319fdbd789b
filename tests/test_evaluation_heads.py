"""head_diagnostics: the per-head cosines that show a collapsed localization head."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from slavc_lite.evaluation.heads import head_diagnostics


class PlantedHeads(nn.Module):
    """Head 1: each clip's embedding is its class axis, the frame's cells point to it inside the
    box and to a background axis outside. Head 2: one embedding for every clip (collapsed)."""

    def __init__(self, classes):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))
        self.classes = classes

    def encode_audio(self, specs, momentum=False):
        n = specs.shape[0]
        a1 = F.one_hot(torch.tensor(self.classes), 8).float()
        a2 = F.normalize(torch.ones(n, 8), dim=1)
        return a1, a2

    def encode_image(self, images, momentum=False):
        n = images.shape[0]
        v1 = torch.zeros(n, 8, 7, 7)
        v1[:, 7] = 1.0  # background axis everywhere
        for k, c in enumerate(self.classes):
            v1[k, 7, :3, :3] = 0.0
            v1[k, c, :3, :3] = 1.0  # the box: the top-left 3 x 3 cells
        v2 = F.normalize(torch.ones(n, 8, 7, 7), dim=1)
        return v1, v2


def test_planted_heads():
    classes = [0, 0, 1, 2]
    gt = torch.zeros(4, 224, 224)
    gt[:, : 3 * 32, : 3 * 32] = 1
    batch = {"image": torch.zeros(4, 3, 224, 224), "spec": torch.zeros(4, 1, 257, 200), "gt_map": gt}
    model = PlantedHeads(classes).train()
    out = head_diagnostics(model, batch, ["a", "a", "b", "c"])
    assert model.training  # the mode is restored
    h1, h2 = out["head 1"], out["head 2"]
    assert h1["audio_same_class"] == pytest.approx(1.0) and h1["audio_other_class"] == pytest.approx(0.0)
    assert h1["cell_inside_box"] == pytest.approx(1.0) and h1["cell_outside_box"] == pytest.approx(0.0)
    assert h2["audio_same_class"] == pytest.approx(1.0) and h2["audio_other_class"] == pytest.approx(1.0)
    assert h2["cell_inside_box"] == pytest.approx(1.0) == h2["cell_outside_box"]
    one_class = head_diagnostics(model, batch, ["a"] * 4)
    assert math.isnan(one_class["head 1"]["audio_other_class"])
