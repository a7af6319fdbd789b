"""Exercise check of chapter 01 (audio-visual data): the official test-time frame transform.

* :func:`check_test_transform` - ``Resize((224, 224), bicubic) -> ToTensor -> Normalize(ImageNet
  mean, std)`` (reference :func:`slavc_lite.images.test_transform`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from slavc_lite import images
from slavc_lite.teaching.exercises._checking import as_numpy, call, passed

__all__ = ["check_test_transform"]

_SIZES = ((320, 240), (150, 400), (224, 224), (97, 61))


def _random_picture(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Smooth colour gradients plus noise: enough structure for the interpolation to matter."""
    yy, xx = np.mgrid[0:height, 0:width] / max(width, height)
    channels = [np.sin(rng.uniform(2, 12) * xx + rng.uniform(2, 12) * yy + rng.uniform(0, 6))
                for _ in range(3)]
    picture = 0.5 + 0.4 * np.stack(channels, axis=-1) + 0.08 * rng.standard_normal((height, width, 3))
    return Image.fromarray(np.clip(picture * 255, 0, 255).astype(np.uint8), mode="RGB")


def check_test_transform(fn: Callable, seed: int | None = None) -> bool:
    """Check ``fn(pil_image) -> [3, 224, 224] tensor`` against the official test transform.

    Tried on random pictures of several sizes and aspect ratios (landscape, portrait, square,
    smaller than 224).
    """
    rng = np.random.default_rng(seed)
    reference = images.test_transform()
    for width, height in _SIZES:
        picture = _random_picture(rng, width, height)
        what = f"transform of a {width}x{height} image"
        got = as_numpy(call(fn, picture.copy(), what=what))
        expected = as_numpy(reference(picture))
        if got.shape != expected.shape:
            hint = ""
            if got.ndim == 3 and got.shape[0] == 3 and 224 in got.shape[1:] and got.shape[1] != got.shape[2]:
                hint = (": Resize(224) resizes the shorter side only; the official test transform resizes to "
                        "(224, 224), not keeping the aspect ratio")
            elif got.ndim == 3 and got.shape[-1] == 3:
                hint = ": channels come first ([3, H, W]), as transforms.ToTensor gives them"
            raise AssertionError(f"{what}: shape {got.shape}, expected {expected.shape}{hint}")
        if got.min() >= 0.0 and got.max() <= 1.0:
            raise AssertionError(f"{what}: all values are in [0, 1]: normalise with the ImageNet mean "
                                 f"{images.IMAGENET_MEAN} and std {images.IMAGENET_STD}")
        # 2e-2: float rounding differences between resamplers stay far below one grey level (~0.017).
        if not np.allclose(got, expected, atol=2e-2):
            worst = float(np.max(np.abs(got - expected)))
            raise AssertionError(f"{what}: values differ from the reference (largest difference "
                                 f"{worst:.3g}): check the interpolation (bicubic, "
                                 "InterpolationMode.BICUBIC) and the order Resize -> ToTensor -> Normalize")
    return passed("your test transform matches slavc_lite.images.test_transform on four image sizes")
