"""Milliseconds to localize one image-audio pair (the IPOL demo's SLAVC + OGL + VSL maps and
their confidences), to re-blend VSL for a new alpha from the cached maps, and for chapter 07's
alpha slider to answer.

Inputs are already decoded (a normalised 224x224 image tensor and a 3 s log-spectrogram), the
networks already loaded (ResNet-18, random weights: the time does not depend on the values),
so the figure is the inference itself. ``slider_ms`` is the time from a new alpha on the
slider (:func:`slavc_lite.teaching.widgets.alpha_slider`) to the new PNG bytes in its image widget (needs
ipywidgets; the line says so when it is missing). Targets on 2 CPU cores: <= 120 ms to
localize, <= 10 ms to re-blend, <= 50 ms for the slider.

Usage: python benchmarks/bench_localize.py [--repeats 20] [--device auto] [--backbone resnet18]
Last line: ``localize_ms: X``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, median_ms, report, time_calls  # noqa: E402

from slavc_lite.audio import SAMPLE_RATE, TRAIN_SECONDS, log_spectrogram, normalize_log_spectrogram  # noqa: E402
from slavc_lite.localize import Localizer  # noqa: E402


def example_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    """A normalised image tensor and a ``[1, 257, 200]`` spectrogram of a chirp."""
    import numpy as np

    generator = torch.Generator().manual_seed(0)
    image = torch.randn(3, 224, 224, generator=generator)
    t = np.arange(int(SAMPLE_RATE * TRAIN_SECONDS)) / SAMPLE_RATE
    wave = 0.3 * np.sin(2 * np.pi * (300 + 400 * t) * t)
    spec = normalize_log_spectrogram(torch.from_numpy(log_spectrogram(wave, SAMPLE_RATE)).float())
    return image, spec[None]


def slider_ms(result, repeats: int) -> float | str:
    """Median ms from a new slider value to new image bytes in the alpha slider view."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return "n/a (ipywidgets is not installed)"
    from slavc_lite.teaching.widgets import AlphaBlender, alpha_slider

    blender = AlphaBlender(result, label="bench", boxes=[[0.2, 0.3, 0.6, 0.8]], title="random weights")
    view = alpha_slider(blender)
    alphas = iter([0.05 * (i % 21) for i in range(1, 2 * repeats + 20)])

    def move() -> None:
        before = view.image.value
        view.slider.value = next(alphas)
        assert view.image.value is not before

    return median_ms(time_calls(move, 2 * repeats, 3, torch.device("cpu")))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--backbone", default="resnet18", choices=("resnet18", "mobilenet_v3_small"))
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    localizer = Localizer.from_weights(random_weights=True, backbone=args.backbone, device=args.device)
    image, spec = example_inputs()
    report("machine", machine_line())
    report("backbone", args.backbone)
    result = localizer.localize(image, spec, alpha=0.4)
    localize = time_calls(lambda: localizer.localize(image, spec, alpha=0.4), args.repeats, 3,
                          localizer.device)
    alphas = iter([0.1 * (i % 11) for i in range(10 * args.repeats + 100)])
    reblend = time_calls(lambda: result.with_alpha(next(alphas)), 10 * args.repeats, 5,
                         torch.device("cpu"))
    report("reblend_ms", median_ms(reblend))
    report("slider_ms", slider_ms(result, args.repeats))
    report("localize_ms", median_ms(localize))


if __name__ == "__main__":
    main()
