"""Procedural backgrounds: gradients, stripes, checkerboards, value noise, blobs.

Backgrounds vary from scene to scene so that a model cannot localise by "anything that is
not the usual backdrop", and they are muted (low saturation) so the objects, whose classes
have saturated identities, stay the salient things in the frame, as in natural video where
the sound source is usually a visible object. Everything is computed on float32 coordinate
grids; value noise is upsampled with PIL.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from slavc_lite.data.toy.shapes import hsv_to_rgb

BACKGROUNDS = ("gradient", "radial", "stripes", "checker", "noise", "blobs")


def _muted(rng: np.random.Generator) -> np.ndarray:
    return hsv_to_rgb(rng.uniform(0, 360), rng.uniform(0.0, 0.35), rng.uniform(0.2, 0.9))


def background(rng: np.random.Generator, size: int, kind: str | None = None) -> np.ndarray:
    """A ``size x size x 3`` float32 background in [0, 1]; ``kind`` at random if None."""
    if kind is None:
        kind = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    c1, c2 = _muted(rng), _muted(rng)
    # 1-D coordinates broadcast to (size, size): rows are y, columns x.
    x = np.arange(size, dtype=np.float32)[None, :]
    y = np.arange(size, dtype=np.float32)[:, None]
    angle = rng.uniform(0, np.pi)
    ca, sa = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    if kind == "gradient":
        proj = x * ca + y * sa
        lo, hi = float(proj.min()), float(proj.max())
        t = (proj - lo) / max(hi - lo, 1.0)
    elif kind == "radial":
        cx, cy = rng.uniform(0, size, 2).astype(np.float32)
        r = np.sqrt((x - cx) ** 2 + (y - cy) ** 2)
        t = np.minimum(r / np.float32(size * rng.uniform(0.6, 1.2)), 1)
    elif kind == "stripes":
        period = np.float32(rng.uniform(8, 48))
        offset = np.float32(rng.uniform(0, 2 * np.pi))
        t = 0.5 + 0.5 * np.sin((x * ca + y * sa) * (2 * np.pi / period) + offset)
        if rng.random() < 0.5:
            t = (t > 0.5).astype(np.float32)
    elif kind == "checker":
        period = np.float32(rng.uniform(10, 40))
        a = np.floor((x * ca + y * sa) / period)
        b = np.floor((y * ca - x * sa) / period)
        t = ((a + b) % 2).astype(np.float32)
    elif kind == "noise":
        cells = int(rng.integers(3, 12))
        low = rng.random((cells, cells), dtype=np.float32)
        t = np.asarray(Image.fromarray(low, mode="F").resize((size, size), Image.BICUBIC), dtype=np.float32)
        t = np.clip(t, 0, 1)
    elif kind == "blobs":
        # Gaussian blobs are separable: exp(-(dx^2 + dy^2) / 2s^2) = gx[None, :] * gy[:, None].
        t = np.zeros((size, size), np.float32)
        for _ in range(int(rng.integers(3, 7))):
            cx, cy = rng.uniform(0, size, 2)
            sigma = rng.uniform(0.08, 0.25) * size
            gx = np.exp(-((x - np.float32(cx)) ** 2) / np.float32(2 * sigma**2))
            gy = np.exp(-((y - np.float32(cy)) ** 2) / np.float32(2 * sigma**2))
            np.maximum(t, gy * gx, out=t)
    else:
        raise ValueError(f"unknown background {kind!r}; known: {', '.join(BACKGROUNDS)}")
    t = np.broadcast_to(t, (size, size))[..., None]
    return c1 + (c2 - c1) * t


def finish(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Quantise to uint8 and add mild sensor noise (uniform, +-1 to +-8 levels)."""
    q = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.int16)
    k = int(rng.integers(1, 9))
    q += rng.integers(-k, k + 1, q.shape, dtype=np.int16)
    return np.clip(q, 0, 255).astype(np.uint8)
