"""Image front end: file -> RGB picture -> the official train / test transforms.

Official SLAVC (``datasets.py``): ``load_image(path) = Image.open(path).convert('RGB')``;
training frames go through ``Resize(int(224 * 1.1), BICUBIC) -> RandomCrop(224) ->
RandomHorizontalFlip -> ToTensor -> Normalize(ImageNet mean, std)`` and test frames through
``Resize((224, 224), BICUBIC) -> ToTensor -> Normalize``. :func:`train_transform` and
:func:`test_transform` are exactly these.

:func:`load_image` behaves like the official loader on ordinary 8-bit RGB/grayscale/CMYK
files (the frames of VGGSound and Flickr-SoundNet are JPEGs) and adds what it leaves out:

* a clear :class:`~slavc_lite.errors.InputFileError` naming the file for missing, empty,
  non-image, truncated or corrupt files (the whole image is decoded, so truncation is caught;
  ``ImageFile.LOAD_TRUNCATED_IMAGES`` is left alone);
* 16-bit grayscale (``I;16``, ``I``) scaled to 8 bit (PIL's ``convert('RGB')`` clips such
  values at 255 instead, turning most of the picture white);
* transparency (RGBA, LA, PA, palette or RGB/L with a transparent colour) composited over a
  background, white by default. The official ``convert('RGB')`` just drops alpha and shows
  whatever colour the transparent pixels happen to hold (often black); pass
  ``alpha_background=None`` to get that behaviour. Video frames never carry alpha, so on the
  method's data both agree;
* images above PIL's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``): JPEGs are
  decoded at 1/2, 1/4 or 1/8 scale with libjpeg's DCT scaling (``Image.draft``), the smallest
  reduction that fits under the limit (the result is resized to 224 anyway); other formats
  are refused with a message giving the size and the way out.

EXIF orientation is ignored, as in the official code.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torchvision import transforms
from torchvision.transforms import InterpolationMode

from slavc_lite._input_files import check_input_file
from slavc_lite.errors import InputFileError

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "IMAGE_SIZE",
    "load_image",
    "train_transform",
    "test_transform",
    "normalize",
    "denormalize",
    "to_display_array",
    "load_image_tensor",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
"""ImageNet channel means of the official ``transforms.Normalize``."""

IMAGENET_STD = (0.229, 0.224, 0.225)
"""ImageNet channel standard deviations of the official ``transforms.Normalize``."""

IMAGE_SIZE = 224
"""Side of the square network input (the ResNet-18 map is then 7 x 7)."""

_WHITE = (255, 255, 255)
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
_DRAFT_SCALES = (2, 4, 8)  # the reductions libjpeg can decode directly


def _open_without_bomb_check(path) -> Image.Image | None:
    """Open an image the way ``Image.open`` does, minus its decompression-bomb check.

    Used only to learn the size of an over-limit image and, for JPEG, to decode it at a
    reduced scale. Nothing is decoded here.
    """
    Image.init()
    with open(path, "rb") as fh:
        prefix = fh.read(16)
    for fmt in Image.ID:
        factory, accept = Image.OPEN[fmt]
        verdict = accept(prefix) if accept else True
        if not verdict or isinstance(verdict, str):
            continue
        try:
            return factory(os.fspath(path))
        except Exception:  # noqa: BLE001 - try the next plugin, like Image.open does
            continue
    return None


def _fit_under_pixel_limit(im: Image.Image, path) -> None:
    """Decode over-limit JPEGs at reduced scale; refuse other over-limit images."""
    limit = Image.MAX_IMAGE_PIXELS
    width, height = im.size
    if not limit or width * height <= limit:
        return
    too_big = (f"image is {width}x{height} = {width * height} pixels, above PIL's decompression-bomb "
               f"limit PIL.Image.MAX_IMAGE_PIXELS = {limit}")
    if im.format in ("JPEG", "MPO"):
        for scale in _DRAFT_SCALES:
            if -(-width // scale) * -(-height // scale) <= limit:
                im.draft(None, (width // scale, height // scale))
                if im.size[0] * im.size[1] <= limit:
                    return
                break
        raise InputFileError(path, f"{too_big}, even when decoded at 1/8 scale; downscale it first "
                                   "or raise PIL.Image.MAX_IMAGE_PIXELS if you trust the file")
    raise InputFileError(path, f"{too_big}; downscale it first (e.g. save a smaller copy) or raise "
                               "PIL.Image.MAX_IMAGE_PIXELS if you trust the file")


def _sixteen_bit_to_rgb(im: Image.Image) -> Image.Image:
    """16-bit grayscale (0..65535) -> 8-bit RGB by rounding ``value / 257``."""
    values = np.asarray(im).astype(np.float64)
    gray = np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)
    return Image.fromarray(gray, mode="L").convert("RGB")


def _float_to_rgb(im: Image.Image) -> Image.Image:
    """Float grayscale (mode ``F``), assumed in [0, 1], -> 8-bit RGB."""
    values = np.nan_to_num(np.asarray(im, dtype=np.float64), nan=0.0)
    gray = np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)
    return Image.fromarray(gray, mode="L").convert("RGB")


def _to_rgb(im: Image.Image, alpha_background: tuple[int, int, int] | None) -> Image.Image:
    if im.mode in _SIXTEEN_BIT_MODES:
        return _sixteen_bit_to_rgb(im)
    if im.mode == "F":
        return _float_to_rgb(im)
    has_alpha = im.mode in _ALPHA_MODES or "transparency" in im.info
    if has_alpha and alpha_background is not None:
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, tuple(alpha_background) + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")  # copies when already RGB: the caller may close `im`


def load_image(path: str | os.PathLike,
               alpha_background: tuple[int, int, int] | None = _WHITE) -> Image.Image:
    """Read an image file as an 8-bit RGB PIL image (the official ``load_image``, made robust).

    Args:
        path: any format PIL reads (JPEG, PNG, BMP, TIFF, WebP, GIF's first frame, ...).
        alpha_background: colour transparent pixels are composited over; ``None`` drops alpha
            like the official ``Image.open(path).convert('RGB')``.

    Returns:
        A fully decoded RGB image (the file is closed).

    Raises:
        InputFileError: missing, empty, not an image, truncated or corrupt, or above PIL's
            pixel limit and not a JPEG that fits at 1/8 scale.
    """
    p = check_input_file(path)
    try:
        with warnings.catch_warnings():
            # Over-limit sizes are handled by _fit_under_pixel_limit, with a clearer message.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(p)
    except UnidentifiedImageError as exc:
        raise InputFileError(p, "not an image file PIL can read (unrecognised format)") from exc
    except Image.DecompressionBombError as exc:
        im = _open_without_bomb_check(p)
        if im is None:
            raise InputFileError(p, f"image too large to decode safely ({exc})") from exc
    except Exception as exc:
        raise InputFileError(p, f"image header cannot be read, file corrupt? ({exc})") from exc

    try:
        _fit_under_pixel_limit(im, p)
        try:
            im.load()  # full decode: a truncated file fails here, not later in a DataLoader
        except Exception as exc:
            raise InputFileError(p, f"image data cannot be decoded, file truncated or corrupt ({exc})") \
                from exc
        try:
            return _to_rgb(im, alpha_background)
        except Exception as exc:
            raise InputFileError(p, f"cannot convert {im.mode!r} image to RGB ({exc})") from exc
    finally:
        im.close()


def train_transform(image_size: int = IMAGE_SIZE) -> transforms.Compose:
    """The official training transform (``get_train_dataset``).

    ``Resize(int(224 * 1.1), BICUBIC)`` (shorter side to 246) -> ``RandomCrop(224)`` ->
    ``RandomHorizontalFlip()`` -> ``ToTensor()`` -> ``Normalize(IMAGENET_MEAN, IMAGENET_STD)``.
    """
    return transforms.Compose([
        transforms.Resize(int(image_size * 1.1), interpolation=InterpolationMode.BICUBIC),
        transforms.RandomCrop((image_size, image_size)),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(mean=list(IMAGENET_MEAN), std=list(IMAGENET_STD)),
    ])


def test_transform(image_size: int = IMAGE_SIZE) -> transforms.Compose:
    """The official test transform (``get_test_dataset``).

    ``Resize((224, 224), BICUBIC)`` (aspect ratio not kept) -> ``ToTensor()`` ->
    ``Normalize(IMAGENET_MEAN, IMAGENET_STD)``.
    """
    return transforms.Compose([
        transforms.Resize((image_size, image_size), interpolation=InterpolationMode.BICUBIC),
        transforms.ToTensor(),
        transforms.Normalize(mean=list(IMAGENET_MEAN), std=list(IMAGENET_STD)),
    ])


test_transform.__test__ = False  # a transform factory, not a pytest test


def _channel_stats(tensor: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if tensor.ndim not in (3, 4) or tensor.shape[-3] != 3:
        raise ValueError(f"expected an image tensor [3, H, W] or [B, 3, H, W], got {tuple(tensor.shape)}")
    dtype = tensor.dtype if tensor.is_floating_point() else torch.float32
    mean = torch.tensor(IMAGENET_MEAN, dtype=dtype, device=tensor.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=dtype, device=tensor.device).view(3, 1, 1)
    return mean, std


def normalize(tensor: torch.Tensor) -> torch.Tensor:
    """``(x - mean) / std`` with the ImageNet statistics, for ``[3, H, W]`` or ``[B, 3, H, W]``."""
    mean, std = _channel_stats(tensor)
    return (tensor - mean) / std


def denormalize(tensor: torch.Tensor) -> torch.Tensor:
    """Undo the ImageNet normalisation: ``x * std + mean``, clamped to [0, 1].

    Same shape as the input (``[3, H, W]`` or ``[B, 3, H, W]``); the official
    ``inverse_normalize`` without the clamp.
    """
    mean, std = _channel_stats(tensor)
    return (tensor * std + mean).clamp(0.0, 1.0)


def to_display_array(tensor: torch.Tensor, normalized: bool = True) -> np.ndarray:
    """A ``[3, H, W]`` (or ``[1, 3, H, W]``) image tensor as an ``H x W x 3`` uint8 array.

    Args:
        tensor: network input (ImageNet-normalised) or, with ``normalized=False``, values
            in [0, 1].
        normalized: whether to undo the ImageNet normalisation first.
    """
    x = tensor.detach()
    if x.ndim == 4 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 3 or x.shape[0] != 3:
        raise ValueError(f"expected one image [3, H, W] or [1, 3, H, W], got {tuple(tensor.shape)}")
    x = x.float()
    x = denormalize(x) if normalized else x.clamp(0.0, 1.0)
    return (x * 255.0).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def load_image_tensor(path: str | os.PathLike) -> torch.Tensor:
    """Network input for one image file: :func:`load_image` + :func:`test_transform`, ``[3, 224, 224]``."""
    return test_transform()(load_image(path))
