"""A small untrained localizer for the widget and figure tests (seeded, so every test file gets the
same networks)."""

from __future__ import annotations

import torch

from slavc_lite.encoders import build_image_encoder
from slavc_lite.localize import RANDOM_WEIGHTS, Localizer
from slavc_lite.model import SLAVC

SMALL = "mobilenet_v3_small"


def untrained_localizer(seed: int = 0) -> Localizer:
    """MobileNetV3-small SLAVC (dim 16) and OGL network with random weights, on the CPU, marked so."""
    torch.manual_seed(seed)
    described = {"slavc": RANDOM_WEIGHTS, "ogl": RANDOM_WEIGHTS}
    model = SLAVC(backbone=SMALL, dim=16, image_weights=None)
    return Localizer(model, build_image_encoder(SMALL), device="cpu", weights_description=described,
                     random_weights=True)
