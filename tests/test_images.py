"""slavc_lite.images: decoding every common picture to RGB, the official transforms."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from slavc_lite import images
from slavc_lite.errors import InputFileError
from slavc_lite.images import (
    denormalize,
    load_image,
    load_image_tensor,
    normalize,
    to_display_array,
    train_transform,
)
from slavc_lite.images import test_transform as make_test_transform
from tests import media_factory as mf

LOW = [(0 - m) / s for m, s in zip(images.IMAGENET_MEAN, images.IMAGENET_STD, strict=True)]
HIGH = [(1 - m) / s for m, s in zip(images.IMAGENET_MEAN, images.IMAGENET_STD, strict=True)]


def check_tensor(t: torch.Tensor, size: int = 224) -> None:
    assert t.shape == (3, size, size) and t.dtype == torch.float32
    assert torch.isfinite(t).all()
    for c in range(3):  # within the normalised image of [0, 1]
        assert LOW[c] - 1e-5 <= float(t[c].min()) and float(t[c].max()) <= HIGH[c] + 1e-5


@pytest.mark.parametrize(("mode", "suffix"), [
    ("L", ".png"), ("L", ".jpg"), ("I;16", ".png"), ("RGB", ".png"), ("RGB", ".jpg"),
    ("RGBA", ".png"), ("LA", ".png"), ("P", ".png"), ("CMYK", ".jpg"), ("1", ".png"), ("RGB", ".bmp"),
])
def test_every_mode_gives_rgb_and_a_network_tensor(tmp_path, mode, suffix):
    path = mf.write_image(tmp_path / f"pic_{mode.replace(';', '')}{suffix}", mode)
    with Image.open(path) as raw:
        assert raw.mode.startswith(mode[0])  # the file really holds that kind of picture
    im = load_image(path)
    assert isinstance(im, Image.Image) and im.mode == "RGB" and im.size == (80, 60)
    check_tensor(load_image_tensor(path))


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path):
    values = (np.arange(256, dtype=np.uint16) * 257).reshape(16, 16)  # 0 .. 65535
    path = tmp_path / "depth16.png"
    Image.fromarray(values).save(path)
    with Image.open(path) as raw:
        assert raw.mode == "I;16"
        naive = np.asarray(raw.convert("RGB"))  # PIL clips at 255: almost everything white
    assert (naive == 255).mean() > 0.9
    rgb = np.asarray(load_image(path))
    np.testing.assert_array_equal(rgb[..., 0], np.arange(256).reshape(16, 16))
    np.testing.assert_array_equal(rgb[..., 0], rgb[..., 2])


def test_transparency_is_composited_over_white_or_dropped_like_the_official(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 0] = 255  # red everywhere ...
    rgba[:5, :, 3] = 0  # ... transparent in the top half, opaque below
    rgba[5:, :, 3] = 255
    path = tmp_path / "cutout.png"
    Image.fromarray(rgba, "RGBA").save(path)
    out = np.asarray(load_image(path))
    assert (out[:5] == 255).all()  # white background shows through
    assert (out[5:] == [255, 0, 0]).all()
    official = np.asarray(load_image(path, alpha_background=None))  # == Image.open(p).convert('RGB')
    assert (official == [255, 0, 0]).all()
    black = np.asarray(load_image(path, alpha_background=(0, 0, 0)))
    assert (black[:5] == 0).all()


def test_palette_transparency(tmp_path):
    pal = Image.new("P", (8, 8), 0)
    pal.putpalette([0, 0, 255] + [0, 255, 0] * 255)  # index 0 blue, others green
    pal.paste(1, (0, 4, 8, 8))
    path = tmp_path / "palette.png"
    pal.save(path, transparency=0)
    with Image.open(path) as raw:
        assert raw.mode == "P" and "transparency" in raw.info
    out = np.asarray(load_image(path))
    assert (out[:4] == 255).all()  # transparent index -> white
    assert (out[4:] == [0, 255, 0]).all()


def test_la_mode(tmp_path):
    la = np.zeros((6, 6, 2), np.uint8)
    la[..., 0] = 40
    la[:3, :, 1] = 0
    la[3:, :, 1] = 255
    path = tmp_path / "gray_alpha.png"
    Image.fromarray(la, "LA").save(path)
    out = np.asarray(load_image(path))
    assert (out[:3] == 255).all() and (out[3:] == 40).all()


def test_cmyk_jpeg_colours(tmp_path):
    path = tmp_path / "print.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(path, quality=95)  # pure red in CMYK
    r, g, b = np.asarray(load_image(path)).reshape(-1, 3).mean(0)
    assert r > 240 and g < 15 and b < 15


def test_test_transform_is_an_exact_resize_to_224(tmp_path):
    path = mf.write_image(tmp_path / "wide.jpg", "RGB", size=(320, 120))
    t = load_image_tensor(path)
    check_tensor(t)
    tf = make_test_transform()
    names = [type(s).__name__ for s in tf.transforms]
    assert names == ["Resize", "ToTensor", "Normalize"]
    assert tf.transforms[0].size == (224, 224)
    assert tf.transforms[0].interpolation == images.InterpolationMode.BICUBIC


def test_train_transform_shapes_ranges_and_randomness(tmp_path):
    path = mf.write_image(tmp_path / "wide.jpg", "RGB", size=(320, 120))
    tf = train_transform()
    names = [type(s).__name__ for s in tf.transforms]
    assert names == ["Resize", "RandomCrop", "RandomHorizontalFlip", "ToTensor", "Normalize"]
    assert tf.transforms[0].size == 246 and tf.transforms[0].interpolation == images.InterpolationMode.BICUBIC
    im = load_image(path)
    torch.manual_seed(0)
    outs = [tf(im) for _ in range(8)]
    for t in outs:
        check_tensor(t)
    # Random crops/flips of a 656x246 resize: not all the same
    assert any(not torch.equal(outs[0], t) for t in outs[1:])


def test_denormalize_inverts_normalize():
    x = torch.rand(2, 3, 5, 7)
    np.testing.assert_allclose(denormalize(normalize(x)).numpy(), x.numpy(), atol=1e-6)
    np.testing.assert_allclose(denormalize(normalize(x[0])).numpy(), x[0].numpy(), atol=1e-6)
    y = normalize(x)
    np.testing.assert_allclose(
        y[:, 1].numpy(), ((x[:, 1] - images.IMAGENET_MEAN[1]) / images.IMAGENET_STD[1]).numpy(), atol=1e-6)
    assert denormalize(torch.full((3, 2, 2), 50.0)).max() == 1.0  # clamped
    with pytest.raises(ValueError):
        denormalize(torch.zeros(4, 2, 2))


def test_display_array_round_trips_an_8_bit_picture(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    path = tmp_path / "noise.png"
    Image.fromarray(pixels).save(path)
    t = load_image_tensor(path)  # 224x224 already: the resize is the identity
    shown = to_display_array(t)
    assert shown.dtype == np.uint8 and shown.shape == (224, 224, 3)
    assert np.abs(shown.astype(int) - pixels.astype(int)).max() <= 1
    assert to_display_array(t[None]).shape == (224, 224, 3)
    raw = to_display_array(torch.ones(3, 4, 4), normalized=False)
    assert (raw == 255).all()


# ------------------------------------------------------------------------------ very large images


def test_huge_jpeg_is_decoded_at_reduced_scale(tmp_path, monkeypatch):
    path = tmp_path / "huge.jpg"
    Image.new("RGB", (1000, 1000), (30, 160, 90)).save(path)
    # Simulate a 20000x20000 photo against PIL's default limit with a 1000x1000 one.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 200_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DecompressionBombWarning/-Error leaks out
        im = load_image(path)
    assert im.mode == "RGB" and im.size == (250, 250)  # 1/4 scale: the least that fits
    assert np.abs(np.asarray(im).astype(int) - [30, 160, 90]).max() <= 3
    check_tensor(load_image_tensor(path))


@pytest.mark.parametrize(("suffix", "limit"), [(".png", 200_000), (".png", 600_000), (".jpg", 10_000)])
def test_huge_image_that_cannot_be_reduced_is_refused_clearly(tmp_path, monkeypatch, suffix, limit):
    # .png at 200k: PIL itself raises DecompressionBombError (1M > 2 x limit);
    # .png at 600k: PIL would only warn and decode; we refuse alike;
    # .jpg at 10k: even 1/8 scale (125x125) is above the limit.
    path = tmp_path / f"huge{suffix}"
    Image.new("RGB", (1000, 1000), (30, 160, 90)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputFileError, match=re.escape(path.name)) as info:
            load_image(path)
    message = str(info.value)
    assert "1000x1000" in message and "MAX_IMAGE_PIXELS" in message


def test_limit_disabled_decodes_at_full_size(tmp_path, monkeypatch):
    path = mf.write_image(tmp_path / "big.png", "RGB", size=(600, 500))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert load_image(path).size == (600, 500)
