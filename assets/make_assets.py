"""Regenerate the shipped examples in assets/examples/ (deterministic, no input files).

Two procedurally drawn scenes (320 x 240 JPEG, like a video frame) with a matching synthetic
sound (3.5 s, 16 kHz, mono, 16-bit PCM WAV, the format of the official VGGSound /
Flickr-SoundNet audio), and ``boxes.json`` with the boxes of the drawn objects in the
official VGG-SS convention (normalised ``[x0, y0, x1, y1]``):

* ``bell``: one golden bell on a sunny field; the sound is a struck bell (inharmonic
  partials with an exponential decay, struck three times);
* ``bird_and_drum``: a blue bird on a branch (top right) and a red drum (bottom left); only
  the bird sounds (fast upward chirps around 3-5 kHz). A good model points at the bird; the
  object prior OGL highlights both objects, the review's "silent object" case.

Usage::

    python assets/make_assets.py               # rewrites assets/examples/
    python assets/make_assets.py --out DIR     # writes the same files into DIR

Every run writes the same bytes (fixed seed; JPEG quality 90 with 4:2:0 subsampling; the
samples are rounded to int16 here, so the WAV writer only copies them). Byte equality holds
for the same Pillow / libjpeg build; another libjpeg may encode the JPEGs slightly differently.
The generated files are dedicated to the public domain (CC0 1.0), see assets/LICENSE.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image, ImageDraw

SEED = 2024
SIZE = (320, 240)
SUPERSAMPLE = 4  # drawn at 4x and reduced with a Lanczos filter: smooth edges
SAMPLE_RATE = 16000
SECONDS = 3.5
PEAK = 0.5  # peak amplitude of every clip
JPEG_OPTIONS = {"quality": 90, "subsampling": 2, "optimize": False, "progressive": False}
DEFAULT_OUT = Path(__file__).resolve().parent / "examples"

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels of SIZE


# ============================================================================ drawing


def _gradient(top: tuple[int, int, int], bottom: tuple[int, int, int], size: tuple[int, int]) -> np.ndarray:
    """A vertical colour gradient, ``H x W x 3`` float."""
    w, h = size
    t = np.linspace(0.0, 1.0, h)[:, None, None]
    column = (1 - t) * np.array(top, float) + t * np.array(bottom, float)
    return np.broadcast_to(column, (h, w, 3)).copy()


def _background(rng: np.random.Generator, horizon: float) -> Image.Image:
    """Sky above ``horizon`` (fraction of the height), grass below, a little texture."""
    w, h = SIZE[0] * SUPERSAMPLE, SIZE[1] * SUPERSAMPLE
    split = int(h * horizon)
    sky = _gradient((110, 170, 235), (215, 235, 250), (w, split))
    grass = _gradient((120, 175, 90), (70, 125, 55), (w, h - split))
    canvas = np.concatenate([sky, grass], axis=0)
    # Low-frequency texture, upsampled from a coarse random grid (deterministic with the seed).
    coarse = rng.normal(0.0, 6.0, size=(12, 16)).astype(np.float32)
    texture = np.asarray(Image.fromarray(coarse, mode="F").resize((w, h), Image.Resampling.BICUBIC))
    canvas += texture[:, :, None]
    return Image.fromarray(np.clip(canvas, 0, 255).round().astype(np.uint8), mode="RGB")


def _s(values: Sequence[float]) -> list[float]:
    """Scale coordinates from the output frame to the supersampled canvas."""
    return [v * SUPERSAMPLE for v in values]


def _finish(canvas: Image.Image) -> Image.Image:
    return canvas.resize(SIZE, Image.Resampling.LANCZOS)


def draw_bell(rng: np.random.Generator) -> tuple[Image.Image, dict[str, list[Box]]]:
    """A golden bell hanging from a wooden beam, on a field."""
    canvas = _background(rng, horizon=0.62)
    d = ImageDraw.Draw(canvas)
    # Beam and posts.
    d.rectangle(_s([70, 38, 250, 50]), fill=(120, 80, 45))
    d.rectangle(_s([78, 50, 90, 200]), fill=(105, 70, 40))
    d.rectangle(_s([230, 50, 242, 200]), fill=(105, 70, 40))
    d.line(_s([160, 50, 160, 66]), fill=(60, 60, 60), width=3 * SUPERSAMPLE)
    # Bell: a dome on a flaring body, a lip, and a clapper.
    body = [(132, 150), (136, 110), (142, 84), (150, 70), (170, 70), (178, 84), (184, 110), (188, 150)]
    d.ellipse(_s([140, 62, 180, 90]), fill=(220, 175, 45))
    d.polygon(_s([c for p in body for c in p]), fill=(225, 180, 50))
    d.ellipse(_s([126, 142, 194, 162]), fill=(190, 145, 35))
    d.ellipse(_s([152, 152, 168, 168]), fill=(90, 70, 30))
    d.line(_s([146, 86, 140, 140]), fill=(250, 220, 120), width=3 * SUPERSAMPLE)  # highlight
    return _finish(canvas), {"sounding": [(126, 62, 194, 168)], "silent": []}


def draw_bird_and_drum(rng: np.random.Generator) -> tuple[Image.Image, dict[str, list[Box]]]:
    """A blue bird on a branch (top right) and a red drum on the grass (bottom left)."""
    canvas = _background(rng, horizon=0.55)
    d = ImageDraw.Draw(canvas)
    # Branch from the right edge.
    d.polygon(_s([320, 96, 200, 104, 200, 110, 320, 108]), fill=(95, 65, 40))
    # Bird: body, head, beak, wing, tail, eye, legs.
    d.polygon(_s([214, 70, 196, 60, 200, 76]), fill=(40, 80, 170))  # tail
    d.ellipse(_s([204, 56, 256, 92]), fill=(55, 110, 210))  # body
    d.ellipse(_s([240, 40, 270, 68]), fill=(60, 120, 220))  # head
    d.polygon(_s([268, 52, 284, 57, 268, 61]), fill=(240, 170, 40))  # beak
    d.ellipse(_s([214, 64, 242, 84]), fill=(35, 75, 160))  # wing
    d.ellipse(_s([257, 48, 263, 54]), fill=(15, 15, 20))  # eye
    d.line(_s([226, 91, 224, 101]), fill=(80, 60, 40), width=2 * SUPERSAMPLE)
    d.line(_s([236, 91, 238, 101]), fill=(80, 60, 40), width=2 * SUPERSAMPLE)
    # Drum: a cylinder with a skin on top and straps.
    d.rectangle(_s([40, 150, 130, 205]), fill=(190, 40, 40))
    d.ellipse(_s([40, 192, 130, 216]), fill=(165, 30, 30))
    d.ellipse(_s([40, 138, 130, 162]), fill=(235, 225, 205))
    for x in (55, 85, 115):
        d.line(_s([x, 158, x - 10, 208]), fill=(240, 210, 120), width=2 * SUPERSAMPLE)
    boxes = {"sounding": [(196, 40, 284, 101)], "silent": [(40, 138, 130, 216)]}
    return _finish(canvas), boxes


# ============================================================================ sounds


def _time() -> np.ndarray:
    return np.arange(int(SECONDS * SAMPLE_RATE)) / SAMPLE_RATE


def bell_sound(rng: np.random.Generator) -> np.ndarray:
    """A bell struck at 0.1 s, 1.3 s and 2.5 s: inharmonic partials (hum, prime, tierce,
    quint, nominal) of a 440 Hz strike note, each decaying exponentially, plus a short
    noise click at each strike."""
    t = _time()
    f0 = 440.0
    partials = ((0.5, 0.6, 1.2), (1.0, 1.0, 2.0), (1.2, 0.5, 2.6), (1.5, 0.35, 3.2), (2.0, 0.5, 3.8),
                (2.5, 0.2, 5.0), (3.0, 0.15, 6.0))  # (ratio to f0, amplitude, decay per second)
    out = np.zeros_like(t)
    for strike in (0.1, 1.3, 2.5):
        dt = t - strike
        on = dt >= 0
        for ratio, amp, decay in partials:
            out[on] += amp * np.exp(-decay * dt[on]) * np.sin(2 * np.pi * f0 * ratio * dt[on])
        click = int(0.01 * SAMPLE_RATE)
        start = int(strike * SAMPLE_RATE)
        out[start:start + click] += 0.3 * rng.normal(size=click) * np.linspace(1, 0, click)
    return out


def bird_sound(rng: np.random.Generator) -> np.ndarray:
    """Phrases of fast upward chirps (3-5 kHz, 60 ms each) with pauses, over faint wind noise."""
    t = _time()
    out = np.zeros_like(t)
    chirp = int(0.06 * SAMPLE_RATE)
    tc = np.arange(chirp) / SAMPLE_RATE
    envelope = np.sin(np.pi * tc / tc[-1]) ** 2
    for phrase_start in (0.15, 1.35, 2.45):
        n_chirps = int(rng.integers(4, 7))
        for k in range(n_chirps):
            f_start = rng.uniform(2800, 3400)
            f_end = f_start + rng.uniform(1200, 1800)
            # Linear chirp: phase = 2 pi (f0 t + (f1 - f0) t^2 / (2 T)).
            phase = 2 * np.pi * (f_start * tc + (f_end - f_start) * tc**2 / (2 * tc[-1]))
            start = int((phrase_start + k * 0.11) * SAMPLE_RATE)
            out[start:start + chirp] += envelope * np.sin(phase)
    wind = np.convolve(rng.normal(size=t.size), np.ones(64) / 64, mode="same")
    return out + 0.4 * wind


# ============================================================================ writing

Drawer = Callable[[np.random.Generator], tuple[Image.Image, dict[str, list[Box]]]]
Synth = Callable[[np.random.Generator], np.ndarray]
Scene = tuple[Drawer, Synth]
SCENES: dict[str, Scene] = {
    "bell": (draw_bell, bell_sound),
    "bird_and_drum": (draw_bird_and_drum, bird_sound),
}


def _to_int16(signal: np.ndarray) -> np.ndarray:
    """Scale to the fixed peak and round to 16-bit integers (the WAV stores exactly these)."""
    scaled = signal / np.max(np.abs(signal)) * PEAK
    return np.round(scaled * 32767).astype(np.int16)


def _normalised(box: Box) -> list[float]:
    x0, y0, x1, y1 = box
    w, h = SIZE
    return [round(x0 / w, 4), round(y0 / h, 4), round(x1 / w, 4), round(y1 / h, 4)]


def write_examples(out: Path) -> list[Path]:
    """Write every scene's ``.jpg`` and ``.wav`` and ``boxes.json`` into ``out``; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    boxes = {}
    for index, (name, (draw, sound)) in enumerate(SCENES.items()):
        rng = np.random.default_rng([SEED, index])
        image, scene_boxes = draw(rng)
        image.save(out / f"{name}.jpg", format="JPEG", **JPEG_OPTIONS)
        samples = _to_int16(sound(rng))
        soundfile.write(out / f"{name}.wav", samples, SAMPLE_RATE, subtype="PCM_16", format="WAV")
        boxes[name] = {kind: [_normalised(b) for b in found] for kind, found in scene_boxes.items()}
        written += [out / f"{name}.jpg", out / f"{name}.wav"]
    (out / "boxes.json").write_text(json.dumps(boxes, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return [*written, out / "boxes.json"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output folder (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    for path in write_examples(args.out):
        print(f"{path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
