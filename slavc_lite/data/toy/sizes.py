"""Box sizes that follow VGG-SS, and non-overlapping placement.

Why sizes matter: the official evaluation thresholds each predicted map *relatively*: the
top 50% of the pixels are called positive, whatever the image. A prediction can then score
at most cIoU = box area / (half the frame) when the box is smaller than half the frame, so
a toy world of small objects (say a 40x40 object in a 160x160 frame caps cIoU at 0.125)
would give numbers that say nothing about localisation. We therefore draw the sounding
objects' boxes from the distribution of the VGG-SS test boxes, measured on the official
``vggss.json`` (5,158 samples, area of the union ground-truth map at 224x224):

* box area: median 25.3% of the frame, mean 31.2%;
* size classes (the official thresholds, px at 224x224): small < 32^2 (2.6%),
  32^2 <= medium < 96^2 (34.8%), 96^2 <= large < 144^2 (33.5%), huge >= 144^2 (29.1%);
* box aspect ratio w/h: median 0.85, 10-90% range 0.44-1.61.

:data:`AREA_QUANTILES` and :data:`ASPECT_QUANTILES` are those measured quantiles (a handful
of numbers, not the annotations); sampling interpolates them (inverse-CDF sampling), with
the extremes tamed: no degenerate boxes (the smallest area is 0.4% of the frame, about
14x14 px), no full-frame boxes (at most 96%), aspects within [0.3, 3].

The ``small`` hard case bypasses this distribution (boxes below 32x32 px), and scenes with
several key objects shrink them together until they fit side by side. The video world's rows of
look-alikes (:func:`place_in_row`) are laid out by slot instead. Silent distractors
(:func:`sample_distractor_size`) take whatever room the key objects leave.
"""

from __future__ import annotations

import numpy as np

# Quantiles (probability, box area as a fraction of the frame) measured on vggss.json.
AREA_QUANTILES = np.array([
    (0.00, 0.0040), (0.01, 0.0109), (0.02, 0.0176), (0.03, 0.0224), (0.04, 0.0277),
    (0.05, 0.0328), (0.10, 0.0542), (0.15, 0.0739), (0.20, 0.0967), (0.25, 0.1208),
    (0.30, 0.1462), (0.35, 0.1719), (0.40, 0.1969), (0.45, 0.2257), (0.50, 0.2532),
    (0.55, 0.2867), (0.60, 0.3242), (0.65, 0.3626), (0.70, 0.4061), (0.75, 0.4633),
    (0.80, 0.5218), (0.85, 0.5925), (0.90, 0.6771), (0.95, 0.7799), (0.97, 0.8332),
    (0.99, 0.9208), (1.00, 0.9600),
])
# Quantiles of the box aspect ratio w/h (extremes clipped to [0.3, 3]).
ASPECT_QUANTILES = np.array([
    (0.0, 0.300), (0.1, 0.444), (0.2, 0.553), (0.3, 0.643), (0.4, 0.739), (0.5, 0.846),
    (0.6, 0.957), (0.7, 1.078), (0.8, 1.269), (0.9, 1.614), (1.0, 3.000),
])

# Official size classes (areas in px at 224x224): small < 32^2 <= medium < 96^2 <= large < 144^2 <= huge.
SIZE_EDGES_PX = (32**2, 96**2, 144**2)
SIZE_NAMES = ("small", "medium", "large", "huge")
VGGSS_SIZE_SHARES = {"small": 0.026, "medium": 0.348, "large": 0.335, "huge": 0.291}
VGGSS_MEDIAN_AREA = 0.253
VGGSS_MEAN_AREA = 0.312

MIN_SIDE = 6
SMALL_MAX_SIDE = 26  # ``small`` hard case: drawn boxes stay well below 32x32 px

Box = tuple[int, int, int, int]  # (x0, y0, w, h) in pixels


def size_class(area_px: float, size: int = 224) -> str:
    """Official size class of a box area given in pixels of a ``size``-pixel frame."""
    a = area_px * (224 / size) ** 2
    for name, edge in zip(SIZE_NAMES, SIZE_EDGES_PX, strict=False):
        if a < edge:
            return name
    return "huge"


def _interp(q: np.ndarray, u: float) -> float:
    return float(np.interp(u, q[:, 0], q[:, 1]))


def sample_vggss_size(rng: np.random.Generator, size: int) -> tuple[int, int]:
    """A box ``(w, h)`` in pixels whose area and aspect follow the VGG-SS distribution."""
    area = _interp(AREA_QUANTILES, rng.random())
    aspect = _interp(ASPECT_QUANTILES, rng.random())
    w, h = np.sqrt(area * aspect), np.sqrt(area / aspect)
    if w > 1.0:
        w, h = 1.0, area
    if h > 1.0:
        w, h = min(1.0, area), 1.0
    return _clip_side(w * size, size), _clip_side(h * size, size)


def sample_small_size(rng: np.random.Generator) -> tuple[int, int]:
    """A small box (each side 8-26 px, area about 100-600 px^2): the ``small`` hard case."""
    area = np.exp(rng.uniform(np.log(100.0), np.log(600.0)))
    aspect = np.clip(_interp(ASPECT_QUANTILES, rng.random()), 0.6, 1.6)
    w = int(np.clip(round(np.sqrt(area * aspect)), 8, SMALL_MAX_SIDE))
    h = int(np.clip(round(np.sqrt(area / aspect)), 8, SMALL_MAX_SIDE))
    return w, h


DISTRACTOR_AREA = (0.04, 0.30)
"""Area range of a silent distractor, as a fraction of the frame (log-uniform): from a small
thing in a corner to an object as salient as a typical sounding one (VGG-SS median 25%)."""


def sample_distractor_size(rng: np.random.Generator, size: int) -> tuple[int, int]:
    """A silent distractor: :data:`DISTRACTOR_AREA` of the frame (log-uniform), VGG-SS aspect."""
    area = np.exp(rng.uniform(np.log(DISTRACTOR_AREA[0]), np.log(DISTRACTOR_AREA[1])))
    aspect = _interp(ASPECT_QUANTILES, rng.random())
    return _clip_side(np.sqrt(area * aspect) * size, size), _clip_side(np.sqrt(area / aspect) * size, size)


def _clip_side(v: float, size: int) -> int:
    return int(np.clip(round(v), MIN_SIDE, size))


def overlaps(a: Box, b: Box, gap: int = 2) -> bool:
    """Whether two ``(x0, y0, w, h)`` boxes come closer than ``gap`` pixels."""
    return not (a[0] + a[2] + gap <= b[0] or b[0] + b[2] + gap <= a[0]
                or a[1] + a[3] + gap <= b[1] or b[1] + b[3] + gap <= a[1])


def _try_place(rng: np.random.Generator, wh: tuple[int, int], size: int, taken: list[Box],
               tries: int) -> Box | None:
    w, h = wh
    for _ in range(tries):
        box = (int(rng.integers(0, size - w + 1)), int(rng.integers(0, size - h + 1)), w, h)
        if not any(overlaps(box, t) for t in taken):
            return box
    return None


def place_key_objects(rng: np.random.Generator, sizes: list[tuple[int, int]], size: int,
                      tries: int = 40, shrink: float = 0.85, max_rounds: int = 12) -> list[Box]:
    """Place boxes of the given sizes without overlap, at uniform random positions.

    A single box is placed as drawn (so ``single`` scenes keep the VGG-SS sizes exactly).
    When several boxes do not fit side by side, all of them are shrunk by ``shrink`` and
    placement starts over (after ``max_rounds`` rounds overlaps are allowed). Boxes are
    returned in the order of ``sizes``.
    """
    order = sorted(range(len(sizes)), key=lambda i: -sizes[i][0] * sizes[i][1])
    scale = 1.0
    for _ in range(max_rounds):
        scaled = [(max(MIN_SIDE, int(w * scale)), max(MIN_SIDE, int(h * scale))) for w, h in sizes]
        taken: list[Box] = []
        placed: dict[int, Box] = {}
        for i in order:
            box = _try_place(rng, scaled[i], size, taken, tries)
            if box is None:
                break
            taken.append(box)
            placed[i] = box
        else:
            return [placed[i] for i in range(len(sizes))]
        scale *= shrink
    return [(int(rng.integers(0, size - w + 1)), int(rng.integers(0, size - h + 1)), w, h) for w, h in scaled]


ROW_FILL = (0.85, 0.95)
"""Share of its slot's width an instance of a row fills (see :func:`place_in_row`)."""
ROW_HEIGHT = (0.70, 0.92)
"""Height of an instance of a row, as a share of the frame's height."""


def place_in_row(rng: np.random.Generator, n: int, size: int) -> list[Box]:
    """``n`` look-alike instances standing side by side, like the tubas of a band.

    The frame's width is split into ``n`` equal slots; each box fills :data:`ROW_FILL` of its
    slot's width and :data:`ROW_HEIGHT` of the frame's height, at a random offset inside its
    slot. The instances are returned in slot order (the caller decides which one sounds).

    Why a row and not VGG-SS sizes: the official prediction is always the top half of the
    frame, so when all the instances fit in half the frame together, a map that lights every
    instance scores the same cIoU as a map that lights only the heard one, and the metric
    cannot see which instance a map picks. Here the boxes of a row together cover at least
    ``0.85 * 0.70 = 60%`` of the frame (the shapes drawn in them somewhat less, still more than
    half), as the tubas, planes and guitars of the review's Figure 9 fill theirs, so picking the
    heard instance shows in cIoU.
    """
    if n < 1:
        raise ValueError(f"a row needs at least one instance, got {n}")
    slot = size / n
    boxes: list[Box] = []
    for k in range(n):
        w = _clip_side(slot * rng.uniform(*ROW_FILL), int(slot))
        h = _clip_side(size * rng.uniform(*ROW_HEIGHT), size)
        x_start = int(np.ceil(k * slot))
        x_room = max(0, int(np.floor((k + 1) * slot)) - x_start - w)
        boxes.append((x_start + int(rng.integers(0, x_room + 1)), int(rng.integers(0, size - h + 1)), w, h))
    return boxes


def place_distractors(rng: np.random.Generator, sizes: list[tuple[int, int]], size: int,
                      taken: list[Box], tries: int = 25, shrink: float = 0.8,
                      rounds: int = 3) -> list[Box | None]:
    """Place distractor boxes away from ``taken`` (and each other), in the order of ``sizes``.

    A distractor that finds no room is shrunk by ``shrink`` and tried again, up to ``rounds``
    times; one that still does not fit is dropped (``None`` at its position)."""
    taken = list(taken)
    out: list[Box | None] = []
    for w, h in sizes:
        box = None
        for r in range(rounds + 1):
            scale = shrink**r
            box = _try_place(rng, (max(MIN_SIDE, int(w * scale)), max(MIN_SIDE, int(h * scale))), size,
                             taken, tries)
            if box is not None:
                break
        if box is not None:
            taken.append(box)
        out.append(box)
    return out
