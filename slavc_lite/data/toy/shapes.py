"""Drawing one toy object: silhouette, texture, outline, and its exact bounding box.

An object is drawn *into a given box*: its silhouette (a polygon in unit coordinates) is
rotated by a small jitter angle and then stretched so that its extent matches the box, so
the box is the tight bounding box of the drawn shape, as a careful annotator would draw it
(VGG-SS boxes enclose the sounding object). After rasterisation the box is re-measured on
the drawn mask, so the ground truth is exact to the pixel. The silhouettes are chosen to
fill most of their box (from 50% for the triangle and diamond to about 95% for the rounded
rectangle), like real objects in their annotated boxes.

Masks are rasterised with PIL (C speed) on a canvas the size of the box only; textures are
computed with numpy on the box's coordinate grid.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from slavc_lite.data.toy.classes import Look


def _regular(n: int, start_deg: float = -90.0) -> np.ndarray:
    a = np.deg2rad(start_deg) + 2 * np.pi * np.arange(n) / n
    return np.stack([np.cos(a), np.sin(a)], axis=1)


def _star(points: int, inner: float) -> np.ndarray:
    a = -np.pi / 2 + np.pi * np.arange(2 * points) / points
    r = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    return np.stack([r * np.cos(a), r * np.sin(a)], axis=1)


def _rounded_rect(radius: float = 0.3, per_corner: int = 6) -> np.ndarray:
    pts = []
    for cx, cy, a0 in ((1, 1, 0), (-1, 1, 90), (-1, -1, 180), (1, -1, 270)):
        for a in np.deg2rad(a0 + np.linspace(0, 90, per_corner)):
            pts.append((cx * (1 - radius) + radius * math.cos(a), cy * (1 - radius) + radius * math.sin(a)))
    return np.array(pts)


def _cross(half_width: float = 0.4) -> np.ndarray:
    w = half_width
    return np.array([(-w, -1), (w, -1), (w, -w), (1, -w), (1, w), (w, w), (w, 1), (-w, 1),
                     (-w, w), (-1, w), (-1, -w), (-w, -w)])


def _bell() -> np.ndarray:
    # A dome on top, flaring sides, a flat lip (y grows downwards).
    top = [(0.55 * math.cos(a), -0.45 + 0.55 * math.sin(a)) for a in np.linspace(np.pi, 2 * np.pi, 10)]
    return np.array(top + [(0.62, 0.2), (0.85, 0.7), (1.0, 1.0), (-1.0, 1.0), (-0.85, 0.7), (-0.62, 0.2)])


def _dome() -> np.ndarray:
    arc = [(math.cos(a), 0.1 + 1.1 * math.sin(a)) for a in np.linspace(np.pi, 2 * np.pi, 16)]
    return np.array(arc + [(1.0, 1.0), (-1.0, 1.0)])


def _crescent(n: int = 14) -> np.ndarray:
    # The outer arc of the unit circle, back along a smaller circle shifted to the right.
    outer = [(math.cos(a), math.sin(a)) for a in np.linspace(0.5 * np.pi, 1.5 * np.pi, n)]
    inner = [(0.75 + 0.75 * math.cos(a), 0.93 * math.sin(a))
             for a in np.linspace(1.45 * np.pi, 0.55 * np.pi, n)]
    return np.array(outer + inner)


SHAPES: dict[str, np.ndarray] = {
    "ellipse": _regular(40),
    "rounded_rect": _rounded_rect(),
    "triangle": np.array([(0.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]),
    "diamond": np.array([(0.0, -1.0), (1.0, 0.0), (0.0, 1.0), (-1.0, 0.0)]),
    "hexagon": _regular(6, 0.0),
    "octagon": _regular(8, 22.5),
    "cross": _cross(),
    "star": _star(5, 0.58),
    "bell": _bell(),
    "dome": _dome(),
    # Silhouettes of the never-sounding classes.
    "hourglass": np.array([(-1.0, -1.0), (1.0, -1.0), (0.25, 0.0), (1.0, 1.0), (-1.0, 1.0), (-0.25, 0.0)]),
    "trapezoid": np.array([(-0.45, -1.0), (0.45, -1.0), (1.0, 1.0), (-1.0, 1.0)]),
    "parallelogram": np.array([(-0.4, -1.0), (1.0, -1.0), (0.4, 1.0), (-1.0, 1.0)]),
    "house": np.array([(0.0, -1.0), (1.0, -0.15), (1.0, 1.0), (-1.0, 1.0), (-1.0, -0.15)]),
    "arrow": np.array([(-1.0, -0.5), (0.05, -0.5), (0.05, -1.0), (1.0, 0.0), (0.05, 1.0), (0.05, 0.5),
                       (-1.0, 0.5)]),
    "star6": _star(6, 0.62),
    "pentagon": _regular(5),
    "lshape": np.array([(-1.0, -1.0), (-0.25, -1.0), (-0.25, 0.3), (1.0, 0.3), (1.0, 1.0), (-1.0, 1.0)]),
    "tee": np.array([(-1.0, -1.0), (1.0, -1.0), (1.0, -0.35), (0.3, -0.35), (0.3, 1.0), (-0.3, 1.0),
                     (-0.3, -0.35), (-1.0, -0.35)]),
    "crescent": _crescent(),
}
"""Silhouettes as polygons in unit coordinates (x right, y down)."""

TEXTURES = ("solid", "shine", "hstripes", "vstripes", "dstripes", "dots", "spots", "checker", "rings")

MAX_ROTATION_DEG = 15.0


def hsv_to_rgb(h_deg: float, s: float, v: float) -> np.ndarray:
    """HSV (hue in degrees) -> RGB float32 in [0, 1]."""
    return np.array(colorsys.hsv_to_rgb((h_deg % 360.0) / 360.0, min(max(s, 0.0), 1.0),
                                        min(max(v, 0.0), 1.0)), dtype=np.float32)


def jitter_colors(look: Look, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The instance's main and accent RGB colours: the class's HSV with a small jitter
    (hue +-8 degrees, saturation and value +-0.08)."""
    dh, ds, dv = rng.uniform(-8, 8), rng.uniform(-0.08, 0.08), rng.uniform(-0.08, 0.08)
    main = hsv_to_rgb(look.hue + dh, look.saturation + ds, look.value + dv)
    ah, as_, av = look.accent
    accent = hsv_to_rgb(ah + dh, as_ + ds, av + dv)
    return main, accent


def fit_polygon(shape: str, box: tuple[int, int, int, int], angle_deg: float) -> np.ndarray:
    """Rotate ``shape`` by ``angle_deg`` and stretch it so its extent spans the pixel box
    ``(x0, y0, w, h)``: vertex coordinates in ``[x0, x0 + w - 1] x [y0, y0 + h - 1]``."""
    x0, y0, w, h = box
    pts = SHAPES[shape]
    a = np.deg2rad(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    pts = pts @ rot.T
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    unit = (pts - lo) / (hi - lo)
    return unit * np.array([w - 1, h - 1]) + np.array([x0, y0])


def rasterize(polygon: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Boolean mask (h, w) of ``polygon`` (absolute pixel coordinates) on the box's canvas."""
    x0, y0, w, h = box
    canvas = Image.new("L", (w, h), 0)
    local = [(float(x - x0), float(y - y0)) for x, y in polygon]
    ImageDraw.Draw(canvas).polygon(local, fill=1)
    return np.asarray(canvas, dtype=bool)


def texture(look: Look, main: np.ndarray, accent: np.ndarray, h: int, w: int,
            rng: np.random.Generator) -> np.ndarray:
    """The object's surface (h, w, 3) float32: the class's texture in its two colours.

    Pattern periods are relative to the object's size, so a texture looks the same on a
    small and on a huge instance (a few stripes, cells or dots across)."""
    u = ((np.arange(w, dtype=np.float32) + 0.5) / w)[None, :]
    v = ((np.arange(h, dtype=np.float32) + 0.5) / h)[:, None]
    kind = look.texture
    cells = rng.uniform(3.5, 6.0)
    phase = rng.uniform(0, 1)
    if kind == "solid":
        t = np.zeros((h, w), np.float32)
    elif kind == "shine":
        # A vertical light gradient with a soft highlight: reads as a rounded, shiny body.
        t = np.clip(1.2 * np.exp(-(((u - 0.35) / 0.18) ** 2 + ((v - 0.3) / 0.22) ** 2)), 0, 1)
        t = np.maximum(t, 0.35 * v)
    elif kind == "hstripes":
        t = (np.floor(v * cells + phase) % 2).astype(np.float32)
    elif kind == "vstripes":
        t = (np.floor(u * cells + phase) % 2).astype(np.float32)
    elif kind == "dstripes":
        t = (np.floor((u + v) * cells * 0.7 + phase) % 2).astype(np.float32)
    elif kind == "checker":
        t = ((np.floor(u * cells) + np.floor(v * cells)) % 2).astype(np.float32)
    elif kind in ("dots", "spots"):
        n = cells * (1.4 if kind == "dots" else 0.9)
        fu, fv = (u * n + phase) % 1 - 0.5, (v * n + phase) % 1 - 0.5
        radius = 0.28 if kind == "dots" else 0.36
        t = ((fu**2 + fv**2) < radius**2).astype(np.float32)
    elif kind == "rings":
        r = np.sqrt((u - 0.5) ** 2 + (v - 0.5) ** 2)
        t = (np.floor(r * cells * 2 + phase) % 2).astype(np.float32)
    else:
        raise ValueError(f"unknown texture {kind!r}; known: {', '.join(TEXTURES)}")
    t = np.broadcast_to(t, (h, w))[..., None]
    return main + (accent - main) * t


def _edge(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` with a 4-neighbour outside it (a 1-pixel outline)."""
    p = np.pad(mask, 1)
    inner = p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return mask & ~inner


@dataclass
class DrawnObject:
    """Where an object landed: its tight pixel box ``(x0, y0, x1, y1)`` (``x1``, ``y1``
    exclusive) measured on the drawn mask."""

    box_px: tuple[int, int, int, int]
    mask_pixels: int


def draw_object(image: np.ndarray, label_map: np.ndarray, label: int, look: Look,
                box: tuple[int, int, int, int], rng: np.random.Generator,
                extra_rotation_deg: float = 0.0) -> DrawnObject:
    """Paint one instance of ``look`` into ``image`` (float32 HxWx3, in place) filling the
    pixel box ``(x0, y0, w, h)``; write ``label`` into ``label_map`` on its pixels.

    Jitter: colours (see :func:`jitter_colors`), rotation (+-15 degrees before fitting the
    box), texture phase and period. A darker 1-pixel outline separates it from the scene.
    ``extra_rotation_deg`` turns it further (a swinging object of the video world); it draws
    no random number, so an instance drawn again from the same generator state looks the same.
    """
    x0, y0, w, h = box
    angle = rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG) + extra_rotation_deg
    mask = rasterize(fit_polygon(look.shape, box, angle), box)
    main, accent = jitter_colors(look, rng)
    surface = texture(look, main, accent, h, w, rng)
    edge = _edge(mask)
    surface[edge] *= 0.55
    region = image[y0 : y0 + h, x0 : x0 + w]
    region[mask] = surface[mask]
    label_map[y0 : y0 + h, x0 : x0 + w][mask] = label
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:  # cannot happen for w, h >= 2, kept for safety
        return DrawnObject((x0, y0, x0, y0), 0)
    tight = (x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1)
    return DrawnObject(tight, int(mask.sum()))
