"""head_diagnostics: the per-head cosines that show a collapsed localization head."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from slavc_lite.evaluation.heads import (
    MAP_PARTS,
    clip_part_profile,
    head_diagnostics,
    loc_descent,
    loc_gradient_agreement,
    map_parts_pointing,
)
from slavc_lite.losses import similarity


def top_left_box_batch(n: int = 4) -> dict:
    """``n`` pairs whose sounding box covers the top-left 3 x 3 cells of the 7 x 7 grid."""
    gt = torch.zeros(n, 224, 224)
    gt[:, : 3 * 32, : 3 * 32] = 1
    return {"image": torch.zeros(n, 3, 224, 224), "spec": torch.zeros(n, 1, 257, 200), "gt_map": gt}


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
    batch = top_left_box_batch()
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


class SharedDirectionHeads(PlantedHeads):
    """Head 1's clips share one direction (axis 7); the cells in the box point to the clip's
    class, the bottom-right cells almost to the shared direction. Head 2 points to the box."""

    def encode_audio(self, specs, momentum=False):
        shared = F.one_hot(torch.tensor(7), 8)
        a1 = F.normalize(F.one_hot(torch.tensor(self.classes), 8).float() + shared, dim=1)
        return a1, F.normalize(torch.ones(len(self.classes), 8), dim=1)

    def encode_image(self, images, momentum=False):
        n = images.shape[0]
        v1 = torch.zeros(n, 8, 7, 7)
        v1[:, 6] = 1.0  # orthogonal to every clip
        v1[:, :, 4:, 4:] = F.normalize(torch.tensor([0, 0, 0, 0, 0, 0, 0.2, 1.0]), dim=0)[None, :, None, None]
        for k, c in enumerate(self.classes):
            v1[k, :, :3, :3] = 0.0
            v1[k, c, :3, :3] = 1.0
        v2 = torch.zeros(n, 8, 7, 7)
        v2[:, 6] = 1.0
        v2[:, :, :3, :3] = F.normalize(torch.ones(8), dim=0)[None, :, None, None]
        return v1, v2


def test_map_parts_pointing_separates_the_part_the_loss_cannot_see():
    classes = [0, 0, 1, 2]
    batch = top_left_box_batch()
    model = SharedDirectionHeads(classes).train()
    out = map_parts_pointing(model, batch)
    assert model.training
    assert list(out) == list(MAP_PARTS)
    assert out["S1"] == 1.0 and out["S1 clip part"] == 1.0 and out["S2"] == 1.0 and out["S1 + S2"] == 1.0
    assert out["S1 shared part"] == 0.0  # the shared direction peaks bottom right, outside the box
    # The shared part is the same for every clip at a location: P_avc (softmax over clips) ignores it.
    y1, _ = model.encode_image(batch["image"])
    a1, _ = model.encode_audio(batch["spec"])
    s1 = torch.einsum("nchw,mc->nmhw", y1, a1)
    clip_only = torch.einsum("nchw,mc->nmhw", y1, a1 - a1.mean(0, keepdim=True))
    assert torch.allclose((s1 / 0.03).softmax(dim=1), (clip_only / 0.03).softmax(dim=1), atol=1e-6)


class NoisyBackgroundHeads(PlantedHeads):
    """Head 1: the box cells lean halfway to the clip's class, one background cell (bottom right)
    points straight at it, the other background cells are orthogonal to every clip."""

    def encode_image(self, images, momentum=False):
        n = images.shape[0]
        v1 = torch.zeros(n, 8, 7, 7)
        v1[:, 6] = 1.0
        for k, c in enumerate(self.classes):
            axis, other = F.one_hot(torch.tensor(c), 8).float(), F.one_hot(torch.tensor(6), 8).float()
            halfway = F.normalize(axis + other, dim=0)
            v1[k, :, :3, :3] = halfway[:, None, None]
            v1[k, :, 6, 6] = axis
        return v1, v1


def test_clip_part_profile_tells_the_mean_from_the_peak():
    classes = [0, 1, 2, 3]
    batch = top_left_box_batch()
    # Clip k's unit deviation from the mean of the four class axes: 0.866 on its own axis.
    on_axis = math.sqrt(3) / 2
    noisy = clip_part_profile(NoisyBackgroundHeads(classes).train(), batch)
    assert noisy["pairs"] == 4 and noisy["shared_norm"] == pytest.approx(0.5)
    assert noisy["clip_cos_inside"] == pytest.approx(on_axis / math.sqrt(2))
    assert noisy["clip_cos_outside"] == pytest.approx(on_axis / 40)  # one cell in 40
    assert noisy["mean_higher_inside"] == 1.0
    assert noisy["best_cell_inside"] == 0.0  # higher on average, yet the peak is outside
    assert noisy["background_std"] == pytest.approx(on_axis * math.sqrt(39) / 40)
    clean = clip_part_profile(PlantedHeads(classes).train(), batch)
    assert clean["mean_higher_inside"] == 1.0 and clean["best_cell_inside"] == 1.0
    assert clean["background_std"] == pytest.approx(0.0, abs=1e-6)
    everywhere = {**batch, "gt_map": torch.ones(4, 224, 224)}
    with pytest.raises(ValueError, match="nothing to compare"):
        clip_part_profile(PlantedHeads(classes), everywhere)


def test_loc_descent_is_the_closed_form_of_the_module_docstring():
    g = torch.Generator().manual_seed(3)
    n, c, tau = 5, 8, 0.1
    img1, img2 = (F.normalize(torch.randn(n, c, 3, 3, generator=g), dim=1) for _ in range(2))
    aud1, aud2 = (F.normalize(torch.randn(n, c, generator=g), dim=1) for _ in range(2))
    descent = loc_descent(img1, img2, aud1, aud2, tau)
    p_avc = (similarity(img1.double(), aud1.double()) / tau).softmax(dim=1)
    p_loc = (similarity(img2.double(), aud2.double()) / tau).softmax(dim=2)
    score = torch.log((p_avc * p_loc).sum(2))
    w = score.softmax(dim=1)
    r = p_avc / (p_avc * p_loc).sum(2, keepdim=True)
    closed = (torch.eye(n, dtype=torch.float64) - w)[..., None] * p_loc * (r - 1) / n  # mean over frames
    assert torch.allclose(descent, closed, atol=1e-12)
    own = closed.diagonal(dim1=0, dim2=1).T
    assert (own * (r.diagonal(dim1=0, dim2=1).T - 1) >= 0).all()  # the own clip: up where its P_avc is high


def test_a_collapsed_head_2_gets_one_push_for_every_clip():
    # Head 1 recognises each frame's own clip in the box and no clip elsewhere; head 2 is flat.
    # Both pushes are then two-level maps summing to zero: up in the box, down outside.
    model = PlantedHeads([0, 1, 2, 3]).train()
    out = loc_gradient_agreement(model, top_left_box_batch(), tau=0.1)
    assert model.training  # the mode is restored
    assert out["frames"] == 4 and out["same_direction"] == 1.0
    assert out["cos_median"] == pytest.approx(1.0) and out["cos_mean"] == pytest.approx(1.0)
    assert 0 < out["others_to_own"] < 1
