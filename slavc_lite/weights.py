"""Where pretrained image weights come from, and the rule that none are made up.

The official SLAVC image encoder (and the OGL object network) is a torchvision ResNet-18
with ImageNet weights ``IMAGENET1K_V1``. Our policy (DESIGN.md, section 3):

* ``None``        - no pretrained weights: torchvision's random init, asked for explicitly.
* ``"imagenet"``  - torchvision's ImageNet weights: read from the torch hub cache, or
  downloaded there when online. Offline and not cached, a :class:`WeightsUnavailableError`
  says which file to fetch and where to put it. There is no silent random fallback.
* a path          - a state dict file of the same torchvision architecture (for example the
  toy-world object network that stands in for ImageNet offline).

:func:`fetch_official` and :func:`fetch_imagenet` (from :mod:`slavc_lite.fetch`) download the
released SLAVC model and the ImageNet weights in one call each, checked and cached.
"""

from __future__ import annotations

import os
import urllib.error
from pathlib import Path

import torch
from torchvision.models import MobileNet_V3_Small_Weights, ResNet18_Weights

from slavc_lite.errors import WeightsUnavailableError
from slavc_lite.fetch import fetch_imagenet, fetch_official

__all__ = [
    "IMAGENET_WEIGHT_URLS", "ImageWeights", "describe_weights", "download_imagenet_state_dict",
    "fetch_imagenet", "fetch_official", "read_state_dict_file", "resolve_image_state_dict",
]

ImageWeights = str | os.PathLike | None

#: torchvision's ImageNet weights per backbone (the file names carry a hash prefix).
IMAGENET_WEIGHT_URLS: dict[str, str] = {
    "resnet18": ResNet18_Weights.IMAGENET1K_V1.url,
    "mobilenet_v3_small": MobileNet_V3_Small_Weights.IMAGENET1K_V1.url,
}


def describe_weights(weights: ImageWeights) -> str:
    """A short human-readable name for a weights choice, for titles and result files."""
    if weights is None:
        return "random init"
    if isinstance(weights, str) and weights == "imagenet":
        return "ImageNet (torchvision IMAGENET1K_V1)"
    return f"file {Path(weights).name}"


def _strip_prefixes(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove DDP's ``module.`` prefix from every key that has it."""
    return {k.removeprefix("module."): v for k, v in state_dict.items()}


def read_state_dict_file(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a state dict saved with ``torch.save`` (``weights_only=True``).

    Accepts a bare state dict or a dict holding one under ``"model"`` or ``"state_dict"``
    (the official checkpoint format and the common Lightning/timm style).
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsUnavailableError(f"{path}: weights file not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not weights"
        raise WeightsUnavailableError(f"{path}: not a readable torch weights file ({exc})") from exc
    if isinstance(obj, dict):
        for key in ("model", "state_dict"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsUnavailableError(f"{path}: does not hold a state dict of tensors")
    return _strip_prefixes(obj)


def download_imagenet_state_dict(backbone: str) -> dict[str, torch.Tensor]:
    """torchvision's ImageNet weights for ``backbone``, from the hub cache or the network."""
    if backbone not in IMAGENET_WEIGHT_URLS:
        raise ValueError(f"no ImageNet weights known for backbone {backbone!r}")
    url = IMAGENET_WEIGHT_URLS[backbone]
    file_name = url.rsplit("/", 1)[-1]
    cached = Path(torch.hub.get_dir()) / "checkpoints" / file_name
    try:
        return torch.hub.load_state_dict_from_url(
            url, progress=True, check_hash=True, map_location="cpu", weights_only=True
        )
    except (urllib.error.URLError, OSError, RuntimeError) as exc:
        raise WeightsUnavailableError(
            f"ImageNet weights for {backbone} are not cached at {cached} and could not be "
            f"downloaded from {url} ({exc}). Download that file on a machine with network "
            f"access and either copy it to {cached} or pass its path as the weights "
            "(e.g. image_weights='/path/to/" + file_name + "'). To train from random weights "
            "on purpose, pass image_weights=None."
        ) from exc


def resolve_image_state_dict(backbone: str, weights: ImageWeights) -> dict[str, torch.Tensor] | None:
    """The state dict to load into a fresh torchvision ``backbone``, or None for random init."""
    if weights is None:
        return None
    if isinstance(weights, str) and weights == "imagenet":
        if backbone == "local_cnn":
            raise WeightsUnavailableError(
                "the local_cnn trunk has no ImageNet weights: it is the toy world's, pretrained on the "
                "toy objects by the run itself; pass that run's pretrain/object_net.pth (e.g. "
                "--ogl-weights runs/cpu-toy/pretrain/object_net.pth)")
        return download_imagenet_state_dict(backbone)
    return read_state_dict_file(weights)
