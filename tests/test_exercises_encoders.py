"""Chapter 02's exercise checks: the reference and the open torchvision builds pass, wrong ones fail."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import mobilenet_v3_small, resnet18

from slavc_lite import encoders
from slavc_lite.teaching.exercises import (
    check_audio_encoder,
    check_image_encoder,
    check_similarity_map,
    check_similarity_matrix,
)


class ImageTrunk(nn.Module):
    """The official imgnet: torchvision's ResNet-18 without avgpool and fc, output unflattened
    (wrapped as ``self.resnet``, so its keys carry a ``resnet.`` prefix)."""

    def __init__(self, keep_avgpool: bool = False, keep_fc: bool = False, unflatten: bool = True):
        super().__init__()
        self.resnet = resnet18(weights=None)
        if not keep_avgpool:
            self.resnet.avgpool = nn.Identity()
        if not keep_fc:
            self.resnet.fc = nn.Identity()
        self.unflatten = unflatten

    def forward(self, x):
        y = self.resnet(x)
        return y.unflatten(1, (512, 7, 7)) if self.unflatten else y


def audio_resnet(max_pool: bool = True, in_channels: int = 1, bias: bool = False):
    net = resnet18(weights=None)
    net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=bias)
    net.avgpool = nn.AdaptiveMaxPool2d((1, 1)) if max_pool else nn.AdaptiveAvgPool2d((1, 1))
    net.fc = nn.Identity()
    return net


def test_reference_builders_pass(capsys):
    assert check_image_encoder(lambda: encoders.build_image_encoder("resnet18", None), seed=0)
    assert check_audio_encoder(lambda: encoders.build_audio_encoder("resnet18"), seed=0)
    assert capsys.readouterr().out.count("Correct") == 2


def test_open_torchvision_builds_pass():
    assert check_image_encoder(ImageTrunk, seed=1)
    assert check_audio_encoder(audio_resnet, seed=1)


@pytest.mark.parametrize(("build", "message"), [
    (lambda: ImageTrunk(unflatten=False), "unflatten"),
    (lambda: ImageTrunk(keep_avgpool=True, unflatten=False), "average pooling"),
    (lambda: ImageTrunk(keep_fc=True, keep_avgpool=True, unflatten=False), "classifier"),
    (lambda: encoders.build_audio_encoder("resnet18"), "conv1"),
    (lambda: torch.zeros(1), "nn.Module"),
])
def test_wrong_image_encoders_fail(build, message):
    with pytest.raises(AssertionError, match=message):
        check_image_encoder(build, seed=2)


@pytest.mark.parametrize(("build", "message"), [
    (lambda: audio_resnet(max_pool=False), "max"),
    (lambda: audio_resnet(in_channels=3), "one channel"),
    (lambda: audio_resnet(bias=True), "no bias"),
    (lambda: encoders.build_image_encoder("resnet18", None), "conv1"),
])
def test_wrong_audio_encoders_fail(build, message):
    with pytest.raises(AssertionError, match=message):
        check_audio_encoder(build, seed=2)


def test_encoder_checks_leave_the_global_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_audio_encoder(lambda: encoders.build_audio_encoder("resnet18"))
    assert torch.equal(torch.rand(3), expected)


def similarity_reference(img, aud, tau):
    return torch.einsum("nchw,nc->nhw", F.normalize(img, dim=1), F.normalize(aud, dim=1)) / tau


def test_similarity_reference_passes():
    assert check_similarity_map(similarity_reference, seed=0)


@pytest.mark.parametrize(("wrong", "message"), [
    (lambda i, a, t: similarity_reference(i, a, t) * t, "divide by tau"),
    (lambda i, a, t: torch.einsum("nchw,nc->nhw", i, a) / t, "L2-normalise"),
    (lambda i, a, t: torch.einsum("nchw,nc->nhw", F.normalize(i, dim=2), F.normalize(a, dim=1)) / t,
     "differ|L2-normalise"),
    (lambda i, a, t: torch.einsum("nchw,mc->nmhw", F.normalize(i, dim=1), F.normalize(a, dim=1)) / t,
     "own audio"),
])
def test_wrong_similarity_maps_fail(wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_similarity_map(wrong, seed=3)


class MobileNetAudio(nn.Module):
    def __init__(self, max_pool: bool = True, keep_classifier: bool = False, in_channels: int = 1):
        super().__init__()
        net = mobilenet_v3_small(weights=None)
        net.features[0][0] = nn.Conv2d(in_channels, 16, kernel_size=3, stride=2, padding=1, bias=False)
        self.trunk = net if keep_classifier else net.features  # keys "trunk.classifier..." or "trunk.0.0..."
        self.pool = nn.AdaptiveMaxPool2d(1) if max_pool else nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        features = self.trunk.features if isinstance(self.trunk, type(mobilenet_v3_small())) else self.trunk
        return self.pool(features(x)).flatten(1)


def test_mobilenet_audio_encoder():
    assert check_audio_encoder(MobileNetAudio, backbone="mobilenet_v3_small", seed=0)
    assert check_audio_encoder(lambda: encoders.build_audio_encoder("mobilenet_v3_small"),
                               backbone="mobilenet_v3_small", seed=0)
    for build, message in [(lambda: MobileNetAudio(max_pool=False), "max"),
                           (lambda: MobileNetAudio(in_channels=3), "one channel"),
                           (lambda: MobileNetAudio(keep_classifier=True), "classifier"),
                           (audio_resnet, "do not match")]:
        with pytest.raises(AssertionError, match=message):
            check_audio_encoder(build, backbone="mobilenet_v3_small", seed=1)


def test_similarity_matrix():
    def all_pairs(img, aud, tau):
        return torch.einsum("nchw,mc->nmhw", F.normalize(img, dim=1), F.normalize(aud, dim=1)) / tau

    assert check_similarity_matrix(all_pairs, seed=0)
    assert check_similarity_matrix(lambda i, a, t: all_pairs(i, a, t).flatten(2), seed=0)
    for wrong, message in [(lambda i, a, t: all_pairs(i, a, t).transpose(0, 1), "image index comes first"),
                           (lambda i, a, t: all_pairs(i, a, t) * t, "divide by tau"),
                           (lambda i, a, t: torch.einsum("nchw,mc->nmhw", i, a) / t, "L2-normalise"),
                           (lambda i, a, t: similarity_reference(i, a[: i.shape[0]], t), "every image")]:
        with pytest.raises(AssertionError, match=message):
            check_similarity_matrix(wrong, seed=1)
