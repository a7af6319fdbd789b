"""The toy world's local CNN image trunk: shape, bounded receptive field, weights."""

from __future__ import annotations

import pytest
import torch

from slavc_lite.encoders import (
    LOCAL_CNN_RECEPTIVE_FIELD,
    LocalCNNFeatureMap,
    build_audio_encoder,
    build_image_encoder,
    window_centres,
)
from slavc_lite.errors import WeightsUnavailableError
from slavc_lite.model import SLAVC
from slavc_lite.weights import resolve_image_state_dict


def test_it_maps_224_pixels_to_a_7_by_7_grid_of_256_channels():
    trunk = build_image_encoder("local_cnn", None).eval()
    with torch.no_grad():
        out = trunk(torch.randn(2, 3, 224, 224))
    assert out.shape == (2, LocalCNNFeatureMap.out_channels, 7, 7)


def _gradient_support(trunk: torch.nn.Module, row: int, col: int) -> tuple[int, int]:
    """Rows and columns of input pixels on which output cell (row, col) depends."""
    torch.manual_seed(0)
    image = torch.randn(1, 3, 224, 224, requires_grad=True)
    trunk(image)[0, :, row, col].sum().backward()
    touched = image.grad.abs().sum(dim=(0, 1)) > 0
    rows = touched.any(dim=1).nonzero()
    cols = touched.any(dim=0).nonzero()
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


def test_a_cell_sees_only_its_receptive_field():
    trunk = build_image_encoder("local_cnn", None).eval()
    formula, stride = 1, 1
    for layer in trunk.modules():
        if isinstance(layer, torch.nn.Conv2d):
            formula += (layer.kernel_size[0] - 1) * stride
            stride *= layer.stride[0]
    assert (formula, stride) == (LOCAL_CNN_RECEPTIVE_FIELD, 32)
    # on the frame the window is 224 / 192 times larger (the shrink), plus the antialiasing filter's pixel
    height, width = _gradient_support(trunk, 3, 3)
    assert height == width and abs(height - LOCAL_CNN_RECEPTIVE_FIELD * 224 / 192) <= 2
    # a MobileNetV3-small cell, for comparison, depends on the whole frame
    mobile = build_image_encoder("mobilenet_v3_small", None).eval()
    assert _gradient_support(mobile, 3, 3) == (224, 224)


def test_its_weights_round_trip_and_a_wrong_file_is_refused(tmp_path):
    trunk = build_image_encoder("local_cnn", None)
    path = tmp_path / "object_net.pth"
    torch.save(trunk.state_dict(), path)
    again = build_image_encoder("local_cnn", path)
    for key, value in trunk.state_dict().items():
        assert torch.equal(value, again.state_dict()[key])
    torch.save(build_image_encoder("mobilenet_v3_small", None).state_dict(), tmp_path / "mobile.pth")
    with pytest.raises(WeightsUnavailableError, match="mobile.pth.*local_cnn"):
        build_image_encoder("local_cnn", tmp_path / "mobile.pth")


def test_it_has_no_imagenet_weights_and_says_what_to_pass():
    with pytest.raises(WeightsUnavailableError, match="pretrain/object_net.pth"):
        resolve_image_state_dict("local_cnn", "imagenet")


def test_slavc_with_it_uses_the_mobilenet_audio_trunk():
    model = SLAVC(backbone="local_cnn", image_weights=None, dim=16)
    assert model.imgnet.out_channels == 256
    assert type(model.audnet) is type(build_audio_encoder("mobilenet_v3_small"))
    loss = model.train().training_loss(torch.randn(4, 3, 224, 224), torch.randn(4, 1, 257, 300))
    assert torch.isfinite(loss)


def test_its_window_centres_sit_where_the_official_map_puts_its_cells():
    trunk = build_image_encoder("local_cnn", None).eval()
    centres = window_centres(trunk, 7)
    assert centres == pytest.approx([32 * i * 224 / 192 - 0.5 for i in range(7)])
    assert max(abs(c - i * 223 / 6) for i, c in enumerate(centres)) <= 0.5  # align_corners=True nodes
    torch.manual_seed(0)
    image = torch.randn(1, 3, 224, 224, requires_grad=True)
    trunk(image)[0, :, 3, 3].sum().backward()
    rows = (image.grad.abs().sum(dim=(0, 1)) > 0).any(dim=1).nonzero()
    assert (int(rows.min()) + int(rows.max())) / 2 == centres[3]
    with pytest.raises(TypeError, match="local CNN"):
        window_centres(build_image_encoder("mobilenet_v3_small", None), 7)
