"""Scene kinds: which objects are drawn, which are heard, and the ground truth.

A scene is one audio-visual pair: a 224x224 frame and a 3 s clip, with the boxes of the
objects that are both visible and sounding (normalised ``[x0, y0, x1, y1]``, VGG-SS style).
The kinds mirror the figures of the IPOL review of SLAVC (Juanola & Haro, 2024):

``single``
    One sounding object, usually beside silent objects (0-3, see :data:`DISTRACTOR_COUNTS`).
    The easy case (the review's Figures 4-5), and the VGGSound-like frame of training.
``mixture``
    Two sounding objects of different classes; the audio is the sum of their sounds; the
    ground truth is both boxes (Figure 6: can one map point at both sources?).
``small``
    One small sounding object (box below 32x32 px, each side at most 26 px) plus 0-2 larger
    silent distractors (Figure 7: the 7x7 feature map and the relative threshold struggle).
``silent``
    Two salient objects of VGG-SS size, the sounding one and one of a *never-sounding* class
    (the review's vacuum cleaners); ground truth is the sounding one only (Figure 8: does the
    model point at the *sounding* object, or at any salient object?).
``offscreen``
    The sound's class is not in the image (the visible objects are silent): no ground-truth
    box; counts as a non-sounding pair, like the mismatched pairs of the official
    ``*_plus_silent.csv`` (Figure 9: a confident map here is a false positive).
``same_type``
    Two or three instances of the same class, **all sounding** (the audio is the sum of one
    independently jittered clip per instance); ground truth is all of their boxes (the
    review's same-type-instances figure).
``silence``
    Near-silent audio (a tiny noise floor, RMS 1e-4 to 4e-4, not exact zeros) with 1-2 visible
    objects: no ground truth, a non-sounding pair.
``noise``
    Broadband noise (white or pink, RMS 0.05-0.15) with 1-2 visible objects: no ground truth,
    a non-sounding pair.

Key objects (sounding, silent, and the visible objects of negative scenes) take their sizes
from the VGG-SS box distribution (:mod:`slavc_lite.data.toy.sizes`), so negative frames look
exactly like positive ones and only the audio tells them apart. Key objects never overlap
(they shrink together until they fit). Silent distractors (4-30% of the frame) are placed
around them, drawn first, and are never of a heard class: three in four are of a
never-sounding class (:data:`SILENT_CLASS_SHARE`), the rest silent instances of sounding
classes. The visible objects of non-sounding scenes are drawn the same way, so a frame alone
never tells whether its clip is heard.

Audio: each heard source has unit active RMS times a scene level (0.05-0.12; in mixtures
each source gets a further +-3 dB), plus room noise 25-35 dB below the level. If the mix
peaks above 0.99 everything is scaled down together, so ``waveform == sum(sources) +
background`` holds exactly (before 16-bit quantisation on disk).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from slavc_lite.data.toy.backgrounds import background, finish
from slavc_lite.data.toy.classes import CLASS_NAMES, SILENT_CLASS_NAMES, SOUNDING_CLASS_NAMES, get_class
from slavc_lite.data.toy.shapes import draw_object
from slavc_lite.data.toy.sizes import (
    place_distractors,
    place_key_objects,
    sample_distractor_size,
    sample_small_size,
    sample_vggss_size,
)
from slavc_lite.data.toy.sounds import background_noise, class_sound, colored_noise

KINDS: tuple[str, ...] = (
    "single", "mixture", "small", "silent", "offscreen", "same_type", "silence", "noise")
SOUNDING_KINDS: tuple[str, ...] = ("single", "mixture", "small", "silent", "same_type")
"""Kinds with at least one visible sounding object (a ground-truth box)."""
NON_SOUNDING_KINDS: tuple[str, ...] = ("offscreen", "silence", "noise")
"""Kinds without a ground-truth box: the non-sounding pairs of the extended evaluation."""

DISTRACTOR_COUNTS: dict[str, tuple[float, ...]] = {
    "single": (0.25, 0.35, 0.25, 0.15), "mixture": (0.6, 0.3, 0.1), "small": (0.3, 0.4, 0.3),
    "silent": (1.0,), "offscreen": (0.6, 0.4), "same_type": (0.7, 0.3), "silence": (0.6, 0.4),
    "noise": (0.6, 0.4),
}
"""Per kind, the probabilities of 0, 1, 2, ... extra silent objects (distractors) in the frame.
``single`` scenes hold silent objects three times in four, like most VGGSound frames."""
SILENT_CLASS_SHARE = 0.75
"""Share of silent objects drawn from the never-sounding classes (the rest are silent
instances of sounding classes that the clip does not hear)."""


@dataclass
class ToyObject:
    """One drawn object. ``role``: ``"sounding"`` (heard and visible: has a gt box),
    ``"silent"`` (the silent object of the ``silent`` case), ``"distractor"`` (an extra
    silent object) or ``"visible"`` (an object of a non-sounding scene). ``label`` is its
    value in :attr:`ToyScene.label_map`; ``box_px`` its tight ``(x0, y0, x1, y1)`` in pixels
    (end exclusive); ``box`` the same normalised."""

    cls: str
    role: str
    box: list[float]
    box_px: tuple[int, int, int, int]
    label: int


@dataclass
class ToyScene:
    """One audio-visual pair of the toy world with its ground truth.

    ``boxes`` are the normalised ``[x0, y0, x1, y1]`` boxes of the visible sounding objects
    (``sounding_classes`` is aligned with them; in ``same_type`` scenes the class repeats,
    one entry per sounding instance); empty for non-sounding kinds. ``visible_classes``
    lists every drawn object (drawing order), ``audio_classes`` every class heard in the
    clip (an off-screen class included; empty for ``silence`` and ``noise``). ``sources``
    holds the scaled clip of each heard source as mixed, ``background`` the room noise (or
    the noise floor / broadband noise of negative scenes): ``waveform`` is their sum.
    ``label_map`` (HxW uint8) holds ``objects[i].label`` on the visible pixels of object i.
    """

    id: str
    kind: str
    image: np.ndarray
    waveform: np.ndarray
    sample_rate: int
    boxes: list[list[float]]
    sounding_classes: list[str]
    visible_classes: list[str]
    audio_classes: list[str]
    objects: list[ToyObject] = field(default_factory=list)
    label_map: np.ndarray | None = None
    sources: list[tuple[str, np.ndarray]] = field(default_factory=list)
    background: np.ndarray | None = None

    @property
    def is_sounding(self) -> bool:
        """Whether the pair has a visible sounding object (a ground-truth box)."""
        return bool(self.boxes)

    def gt_map(self, size: int = 224) -> np.ndarray:
        """The VGG-SS ground-truth map (union of boxes) at ``size`` x ``size``."""
        from slavc_lite.ground_truth import vggss_gt_map

        return vggss_gt_map(self.boxes, size)


def normalise_box(box_px: tuple[int, int, int, int], size: int) -> list[float]:
    """Pixel box ``(x0, y0, x1, y1)`` -> normalised floats that the official conversion
    (clip to [0, 1], times 224, cast to int) maps back to exactly these pixels when
    ``size`` is 224 (each value nudged up by an ulp where ``c / size * size`` rounds below c)."""
    out = []
    for c in box_px:
        v = c / size
        while int(v * size) < c:
            v = float(np.nextafter(v, 2.0))
        out.append(min(v, 1.0))
    return out


def _pick(rng: np.random.Generator, k: int, pool: tuple[str, ...] = SOUNDING_CLASS_NAMES,
          exclude: list[str] | tuple[str, ...] = ()) -> list[str]:
    """``k`` different classes of ``pool``, none of ``exclude``."""
    pool = [c for c in pool if c not in exclude]
    return [pool[i] for i in rng.choice(len(pool), size=k, replace=False)]


def pick_silent_classes(rng: np.random.Generator, k: int,
                        exclude: list[str] | tuple[str, ...] = ()) -> list[str]:
    """``k`` different classes for silent objects: each is a never-sounding class with
    probability :data:`SILENT_CLASS_SHARE`, else a sounding class that is not heard (not in
    ``exclude``), as a VGGSound frame shows silent things and, now and then, a silent
    instance of something that can sound."""
    out: list[str] = []
    for _ in range(k):
        never = rng.random() < SILENT_CLASS_SHARE
        pool = SILENT_CLASS_NAMES if never else SOUNDING_CLASS_NAMES
        free = [c for c in pool if c not in exclude and c not in out]
        if not free:
            free = [c for c in CLASS_NAMES if c not in exclude and c not in out]
        out.append(free[int(rng.integers(len(free)))])
    return out


def _layout(kind: str, rng: np.random.Generator, size: int):
    """Key objects ``[(class, role, (w, h))]``, number of silent distractors, heard classes."""
    n_silent = int(rng.choice(len(DISTRACTOR_COUNTS[kind]), p=DISTRACTOR_COUNTS[kind]))
    if kind == "single":
        (a,) = _pick(rng, 1)
        return [(a, "sounding", sample_vggss_size(rng, size))], n_silent, [a]
    if kind == "mixture":
        a, b = _pick(rng, 2)
        keys = [(a, "sounding", sample_vggss_size(rng, size)), (b, "sounding", sample_vggss_size(rng, size))]
        return keys, n_silent, [a, b]
    if kind == "small":
        (a,) = _pick(rng, 1)
        w, h = sample_small_size(rng)
        scale = size / 224  # "small" is defined at 224x224
        keys = [(a, "sounding", (max(4, int(w * scale)), max(4, int(h * scale))))]
        return keys, n_silent, [a]
    if kind == "silent":
        (a,) = _pick(rng, 1)
        (b,) = _pick(rng, 1, SILENT_CLASS_NAMES)
        keys = [(a, "sounding", sample_vggss_size(rng, size)), (b, "silent", sample_vggss_size(rng, size))]
        return keys, n_silent, [a]
    if kind == "offscreen":
        heard = _pick(rng, 1)
        seen = pick_silent_classes(rng, 1 + int(rng.random() < 0.4), exclude=heard)
        return [(c, "visible", sample_vggss_size(rng, size)) for c in seen], n_silent, heard
    if kind == "same_type":
        (a,) = _pick(rng, 1)
        m = int(rng.choice([2, 3], p=[0.6, 0.4]))
        keys = [(a, "sounding", sample_vggss_size(rng, size)) for _ in range(m)]
        return keys, n_silent, [a] * m
    if kind in ("silence", "noise"):
        seen = pick_silent_classes(rng, 1 + int(rng.random() < 0.4))
        return [(c, "visible", sample_vggss_size(rng, size)) for c in seen], n_silent, []
    raise ValueError(f"unknown scene kind {kind!r}; known: {', '.join(KINDS)}")


def draw_scene_image(rng: np.random.Generator, size: int, key_objects, n_distractors: int,
                     exclude_for_distractors: list[str]):
    """Background, silent distractors, then key objects; returns (uint8 image, label_map, objects)."""
    key_boxes = place_key_objects(rng, [wh for _, _, wh in key_objects], size)
    classes = pick_silent_classes(rng, n_distractors, exclude=exclude_for_distractors)
    d_boxes = place_distractors(rng, [sample_distractor_size(rng, size) for _ in classes], size, key_boxes)
    image = background(rng, size)
    label_map = np.zeros((size, size), np.uint8)
    objects: list[ToyObject] = []
    plan = [(c, "distractor", b) for c, b in zip(classes, d_boxes, strict=False) if b is not None]
    plan += [(c, role, b) for (c, role, _), b in zip(key_objects, key_boxes, strict=True)]
    for label, (cls, role, box) in enumerate(plan, start=1):
        drawn = draw_object(image, label_map, label, get_class(cls).look, box, rng)
        objects.append(ToyObject(cls, role, normalise_box(drawn.box_px, size), drawn.box_px, label))
    return finish(image, rng), label_map, objects


def synthesize_audio(kind: str, rng: np.random.Generator, heard: list[str], n: int, sample_rate: int):
    """Mix the heard classes' clips with room noise (or build the negative audio).

    Returns (float32 waveform, [(class, float32 source)], float32 background)."""
    level = rng.uniform(0.05, 0.12)
    sources = []
    for cls in heard:
        gain = 10 ** (rng.uniform(-3, 3) / 20) if len(heard) > 1 else 1.0
        sources.append((cls, class_sound(cls, rng, n, sample_rate) * level * gain))
    if kind == "silence":
        bg = colored_noise(rng, n, 0.0) * rng.uniform(1e-4, 4e-4)
    elif kind == "noise":
        bg = colored_noise(rng, n, float(rng.choice([0.0, 1.0]))) * rng.uniform(0.05, 0.15)
    else:
        bg = background_noise(rng, n) * level * 10 ** (rng.uniform(-35, -25) / 20)
    mix = bg + sum(x for _, x in sources) if sources else bg.copy()
    peak = float(np.max(np.abs(mix)))
    if peak > 0.99:
        s = 0.99 / peak
        mix, bg = mix * s, bg * s
        sources = [(c, x * s) for c, x in sources]
    return (mix.astype(np.float32), [(c, x.astype(np.float32)) for c, x in sources], bg.astype(np.float32))


def make_scene(kind: str, rng: np.random.Generator, scene_id: str, size: int = 224,
               sample_rate: int = 16000, duration: float = 3.0) -> ToyScene:
    """Build one scene of ``kind`` from ``rng`` (see the module docstring for the kinds)."""
    key_objects, n_distractors, heard = _layout(kind, rng, size)
    exclude = sorted({c for c, _, _ in key_objects} | set(heard))
    image, label_map, objects = draw_scene_image(rng, size, key_objects, n_distractors, exclude)
    n = int(round(duration * sample_rate))
    waveform, sources, bg = synthesize_audio(kind, rng, heard, n, sample_rate)
    sounding = [o for o in objects if o.role == "sounding"]
    return ToyScene(
        id=scene_id, kind=kind, image=image, waveform=waveform, sample_rate=sample_rate,
        boxes=[o.box for o in sounding], sounding_classes=[o.cls for o in sounding],
        visible_classes=[o.cls for o in objects], audio_classes=list(heard), objects=objects,
        label_map=label_map, sources=sources, background=bg,
    )
