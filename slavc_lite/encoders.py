"""Image and audio encoders built from torchvision models, and the projection heads.

Official SLAVC (model.py of the reference code):

* image encoder ``imgnet``: ResNet-18 with ImageNet weights, ``avgpool`` and ``fc`` replaced
  by identities, so a 224x224 image gives a 512x7x7 feature map;
* audio encoder ``audnet``: ResNet-18 from scratch whose first conv takes one channel
  (7x7, stride 2, no bias), with global *max* pooling and no ``fc``: a 512-vector;
* heads: 1x1 convs (image) and linears (audio) from 512 to ``dim``.

We keep torchvision's module names (``conv1``, ``layer4``, ...) so an official state dict
loads key for key. ``mobilenet_v3_small`` is a cheaper option for CPU work (576 channels).
``local_cnn`` is the toy world's image trunk (:class:`LocalCNNFeatureMap`, a plain CNN whose
cells see only their neighbourhood) with the MobileNetV3-small audio trunk.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import mobilenet_v3_small
from torchvision.models.resnet import BasicBlock, ResNet

from slavc_lite.cell_grid import corner_aligned_centres, shrink_to_corners
from slavc_lite.errors import WeightsUnavailableError
from slavc_lite.weights import ImageWeights, describe_weights, resolve_image_state_dict

BACKBONES = ("resnet18", "mobilenet_v3_small", "local_cnn")
_RESNET18_LAYERS = [2, 2, 2, 2]


def _check_backbone(backbone: str) -> None:
    if backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r}; choose one of {BACKBONES}")


def _load_backbone_weights(model: nn.Module, state_dict: dict, backbone: str, source: str) -> None:
    """Load torchvision weights; the classifier may be absent (a feature-only file)."""
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict and not k.startswith(("fc.", "classifier."))]
    wrong = [k for k in own if k in state_dict and state_dict[k].shape != own[k].shape]
    if missing or wrong:
        raise WeightsUnavailableError(
            f"{source}: weights do not fit a torchvision {backbone}: "
            f"{len(missing)} missing keys (e.g. {missing[:3]}), "
            f"{len(wrong)} keys of the wrong shape (e.g. {wrong[:3]})"
        )
    usable = {k: v for k, v in state_dict.items() if k in own and v.shape == own[k].shape}
    model.load_state_dict(usable, strict=False)


class ResNetFeatureMap(ResNet):
    """ResNet-18 trunk returning the last feature map (``imgnet`` of the official code).

    ``avgpool`` and ``fc`` are identities as in the official model, so the parameter names
    are exactly torchvision's. Output: ``[B, 512, H/32, W/32]``.
    """

    out_channels = 512

    def __init__(self) -> None:
        super().__init__(BasicBlock, _RESNET18_LAYERS)

    def strip_classifier(self) -> ResNetFeatureMap:
        self.avgpool = nn.Identity()
        self.fc = nn.Identity()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class ResNetAudioEncoder(ResNetFeatureMap):
    """ResNet-18 on a 1-channel spectrogram with global max pooling (``audnet``).

    Official: ``conv1 = Conv2d(1, 64, 7, stride 2, padding 3, bias=False)``,
    ``avgpool = AdaptiveMaxPool2d((1, 1))``, ``fc = Identity``. Output: ``[B, 512]``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)
        self.avgpool = nn.AdaptiveMaxPool2d((1, 1))
        self.fc = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.avgpool(super().forward(x)), 1)


class MobileNetFeatureMap(nn.Module):
    """MobileNetV3-small ``features`` trunk: ``[B, 576, H/32, W/32]``."""

    out_channels = 576

    def __init__(self, features: nn.Module | None = None) -> None:
        super().__init__()
        self.features = features if features is not None else mobilenet_v3_small().features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class MobileNetAudioEncoder(MobileNetFeatureMap):
    """MobileNetV3-small on a 1-channel spectrogram with global max pooling: ``[B, 576]``.

    Built the way the official audio ResNet is: first conv takes one channel, max pool.
    """

    def __init__(self) -> None:
        super().__init__()
        first = self.features[0][0]
        self.features[0][0] = nn.Conv2d(
            1, first.out_channels, first.kernel_size, first.stride, first.padding, bias=False
        )
        self.pool = nn.AdaptiveMaxPool2d((1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(self.features(x)), 1)


def _conv_bn_relu(in_channels: int, out_channels: int, kernel: int, stride: int,
                  padding: int = 0) -> nn.Sequential:
    """Conv (no bias), BatchNorm, ReLU."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel, stride, padding, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class LocalCNNFeatureMap(nn.Sequential):
    """A plain CNN whose 7x7 cells see only their neighbourhood, each centred where the official
    test map puts it: the toy world's image trunk.

    The frame first goes through :func:`slavc_lite.cell_grid.shrink_to_corners` (shrunk by 32 pixels,
    padded with 16 zero pixels on every side), so that cell ``i`` is centred within half a pixel
    of pixel ``i (H - 1) / (h - 1)``, where the official map's ``align_corners=True`` upsampling
    puts its value (:func:`window_centres`). Then (BatchNorm and ReLU after each conv): a 4x4
    stride-4 patch conv to 32 channels, a 3x3 conv (32), a 4x4 stride-2 conv padded by one (64),
    a 3x3 conv (64), a 2x2 stride-2 conv (128), a 1x1 conv (128), a 2x2 stride-2 conv (256) and a
    1x1 conv (256). Output ``[B, 256, H/32, W/32]``. Every layer keeps the windows centred on
    their cells (an even kernel of stride 2 pads ``k/2 - 1``), and a cell depends on a square of
    :data:`LOCAL_CNN_RECEPTIVE_FIELD` pixels of the padded frame (about two cells).

    Why a trunk of its own: the toy object pretraining (the ImageNet stand-in) shows one object
    per image and classifies the average of the cells, and a MobileNetV3-small cell sees the whole
    224-pixel frame, so after it every background cell carries the class of the frame's object.
    SLAVC's correspondence (Eq. 2) then finds the clip's class everywhere and its map does not
    point at the object. ImageNet ResNets keep their late features near the object, which is why
    class activation maps work (Zhou et al., CVPR 2016); a bounded receptive field gives the toy
    trunk the same property by construction. ``experiments/cell_locality.py`` measures it (a
    nearest-class-mean probe on background cells far from the object) for the pretrained trunks,
    and ``experiments/peak_placement.py`` measures where the official map's maximum lands.
    """

    out_channels = 256

    def __init__(self) -> None:
        super().__init__(
            _conv_bn_relu(3, 32, 4, 4),
            _conv_bn_relu(32, 32, 3, 1, 1),
            _conv_bn_relu(32, 64, 4, 2, 1),
            _conv_bn_relu(64, 64, 3, 1, 1),
            _conv_bn_relu(64, 128, 2, 2),
            _conv_bn_relu(128, 128, 1, 1),
            _conv_bn_relu(128, 256, 2, 2),
            _conv_bn_relu(256, 256, 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(shrink_to_corners(x))


#: Side, in pixels of the padded frame the convolutions see, of the square window a
#: :class:`LocalCNNFeatureMap` cell depends on: 4 for the patch conv, then each conv of kernel k
#: adds (k - 1) times its input's stride (8, 12, 16, 8, 0, 16, 0). On the frame itself the window
#: is 224 / 192 times larger, about 75 pixels.
LOCAL_CNN_RECEPTIVE_FIELD = 64


def window_centres(trunk: LocalCNNFeatureMap, cells: int) -> list[float]:
    """Frame pixel coordinate, along one axis, of the centre of the window each of ``cells`` cells sees.

    Receptive-field arithmetic over a chain of convolutions (Dumoulin & Visin, "A guide to
    convolution arithmetic", 2016): with ``j`` the product of the strides before a layer of
    kernel ``k`` and padding ``p``, the first window's centre moves by ``((k - 1) / 2 - p) * j``;
    cell ``i`` is then centred at ``first + i * stride`` of the padded frame, which
    :func:`slavc_lite.cell_grid.corner_aligned_centres` maps back to the frame
    (``32 i * 224 / 192 - 0.5`` for 7 cells). (Pixel ``x`` is the one whose centre lies at ``x``,
    as in ``align_corners=True``.)

    Only for :class:`LocalCNNFeatureMap`, a single chain of convolutions; a ResNet's branches
    and pooling layers are not covered by this loop, so other trunks are refused (``TypeError``).
    """
    if not isinstance(trunk, LocalCNNFeatureMap):
        raise TypeError(f"window_centres covers the local CNN trunk only, not {type(trunk).__name__}")
    first, stride = 0.0, 1
    for layer in trunk.modules():
        if isinstance(layer, nn.Conv2d):
            first += ((layer.kernel_size[0] - 1) / 2 - layer.padding[0]) * stride
            stride *= layer.stride[0]
    return corner_aligned_centres([first + i * stride for i in range(cells)], cells * stride)


def build_image_encoder(backbone: str = "resnet18", weights: ImageWeights = None) -> nn.Module:
    """The visual trunk (``imgnet``), optionally with pretrained weights (see :mod:`weights`)."""
    _check_backbone(backbone)
    state_dict = resolve_image_state_dict(backbone, weights)
    if backbone == "local_cnn":
        local = LocalCNNFeatureMap()
        if state_dict is not None:
            _load_backbone_weights(local, state_dict, backbone, describe_weights(weights))
        return local
    if backbone == "resnet18":
        net = ResNetFeatureMap()
        if state_dict is not None:
            _load_backbone_weights(net, state_dict, backbone, describe_weights(weights))
        return net.strip_classifier()
    full = mobilenet_v3_small()
    if state_dict is not None:
        _load_backbone_weights(full, state_dict, backbone, describe_weights(weights))
    return MobileNetFeatureMap(full.features)


def build_audio_encoder(backbone: str = "resnet18") -> nn.Module:
    """The audio trunk (``audnet``), always from scratch as in the official code.

    ``local_cnn`` has no audio trunk of its own: it takes MobileNetV3-small's (the audio is not
    what it is about, and the toy recipe used that one before).
    """
    _check_backbone(backbone)
    return ResNetAudioEncoder() if backbone == "resnet18" else MobileNetAudioEncoder()


def image_head(in_channels: int, dim: int) -> nn.Conv2d:
    """A 1x1 conv projection of the image feature map (``img_proj1`` / ``img_proj2``)."""
    return nn.Conv2d(in_channels, dim, kernel_size=(1, 1))


def audio_head(in_features: int, dim: int) -> nn.Linear:
    """A linear projection of the audio vector (``aud_proj1`` / ``aud_proj2``)."""
    return nn.Linear(in_features, dim)


@torch.no_grad()
def init_official(module: nn.Module) -> None:
    """The official init of the audio net and all heads (the image trunk keeps its weights).

    Conv: kaiming normal (fan_out, relu); Linear: truncated normal std 0.01 (biases keep
    PyTorch's default); BatchNorm/GroupNorm: weight N(1, 0.02), bias 0.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.normal_(m.weight, mean=1, std=0.02)
            nn.init.constant_(m.bias, 0)
