"""Toy video clips: the still world's scenes, animated by the sounds they make.

A clip is a scene of :mod:`slavc_lite.data.toy.scenes` (same classes, looks, sizes, sounds
and kinds) filmed for ``duration`` seconds at ``fps`` frames per second. Every object moves
inside its box with the amplitude envelope of a sound (:mod:`slavc_lite.data.toy.motion`):

* a **sounding** object follows the envelope of its own source in the mix, so its motion is
  synchronous with what is heard;
* a **silent** object follows the envelope of a clip that is not in the mix: a clip of its own
  class when it is a silent instance of a sounding class (the hard case: same look, same kind
  of motion, only the timing differs), else a clip of a random sounding class.

Kinds: the still world's :data:`~slavc_lite.data.toy.scenes.KINDS` plus

``same_type_one_sounding``
    Two or three instances of one sounding class (p 0.6 / 0.4), one of them heard; the others
    move on their own envelopes. The review's Figure 9 question: which tuba plays?
``same_type_two_sounding``
    Three instances of one class, two of them heard (the audio is the sum of two clips).

In these two kinds the instances stand side by side in a row and together fill more than
half the frame (:func:`~slavc_lite.data.toy.sizes.place_in_row`), the heard one in a random
slot: at VGG-SS sizes they would fit in half the frame together, and the official top-50%
rule would then give a map that lights every instance the cIoU of one that picks the heard
instance.

The ground-truth box of an object is the union of its drawn extent over all frames, so it
holds the object in every frame. The background is still; each frame gets fresh sensor
noise (as a camera does), so nothing but the objects changes from frame to frame by more
than the noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from slavc_lite.data.toy.backgrounds import background, finish
from slavc_lite.data.toy.classes import SOUNDING_CLASS_NAMES, get_class
from slavc_lite.data.toy.motion import CLASS_MOTION, frame_envelope, normalise_envelope, pose
from slavc_lite.data.toy.scenes import (
    KINDS,
    _layout,
    _pick,
    normalise_box,
    pick_silent_classes,
    synthesize_audio,
)
from slavc_lite.data.toy.shapes import draw_object
from slavc_lite.data.toy.sizes import (
    place_distractors,
    place_in_row,
    place_key_objects,
    sample_distractor_size,
)
from slavc_lite.data.toy.sounds import class_sound

CLIP_KINDS: tuple[str, ...] = KINDS + ("same_type_one_sounding", "same_type_two_sounding")
"""Every kind of clip: the still kinds plus the two same-type cases only motion can settle."""
CLIP_SOUNDING_KINDS: tuple[str, ...] = (
    "single", "mixture", "small", "silent", "same_type", "same_type_one_sounding", "same_type_two_sounding")
"""Kinds with at least one visible sounding object."""

CLIP_FPS = 8.0
CLIP_SECONDS = 3.0
WHITEN_RGB = np.float32(1.0)


@dataclass
class ClipObject:
    """One object of a clip: class, role (as in :class:`~slavc_lite.data.toy.scenes.ToyObject`),
    its normalised ground-truth box (union over frames) and pixel box, its motion style and the
    envelope value of each frame (what drives the motion)."""

    cls: str
    role: str
    box: list[float]
    box_px: tuple[int, int, int, int]
    motion: str
    envelope: np.ndarray


@dataclass
class ToyClip:
    """A toy video clip with its ground truth.

    ``frames``: ``[T, H, W, 3]`` uint8, frame ``k`` shown from ``k / fps`` s. ``waveform``: the
    mono audio (``sample_rate`` Hz) of the whole clip. ``boxes``: normalised ``[x0, y0, x1, y1]``
    boxes of the visible sounding objects, as in :class:`~slavc_lite.data.toy.scenes.ToyScene`.
    """

    id: str
    kind: str
    frames: np.ndarray
    fps: float
    waveform: np.ndarray
    sample_rate: int
    boxes: list[list[float]]
    sounding_classes: list[str]
    audio_classes: list[str]
    objects: list[ClipObject] = field(default_factory=list)

    @property
    def is_sounding(self) -> bool:
        """Whether a visible object is heard (a ground-truth box exists)."""
        return bool(self.boxes)

    @property
    def times(self) -> np.ndarray:
        """Each frame's presentation time in seconds."""
        return np.arange(len(self.frames)) / self.fps


ROW_KINDS: tuple[str, ...] = ("same_type_one_sounding", "same_type_two_sounding")
"""Kinds whose instances stand in a row (:func:`~slavc_lite.data.toy.sizes.place_in_row`)."""


def _clip_layout(kind: str, rng: np.random.Generator, size: int):
    """Key objects ``[(class, role, box)]``, number of distractors, heard classes.

    ``box`` is a placed pixel box ``(x0, y0, w, h)`` for the row kinds and a size ``(w, h)``
    still to be placed for the others."""
    if kind in ROW_KINDS:
        n_distractors = int(rng.choice(2, p=[0.7, 0.3]))
        (a,) = _pick(rng, 1)
        m = int(rng.choice([2, 3], p=[0.6, 0.4])) if kind == "same_type_one_sounding" else 3
        n_heard = 1 if kind == "same_type_one_sounding" else 2
        roles = ["sounding"] * n_heard + ["silent"] * (m - n_heard)
        slots = rng.permutation(m)
        boxes = place_in_row(rng, m, size)
        keys = [(a, role, boxes[int(slot)]) for role, slot in zip(roles, slots, strict=True)]
        return keys, n_distractors, [a] * n_heard
    return _layout(kind, rng, size)


def _silent_envelope_class(cls: str, rng: np.random.Generator) -> str:
    """Whose loudness a silent object follows: its own class's if it can sound, else any."""
    if get_class(cls).sounds:
        return cls
    return SOUNDING_CLASS_NAMES[int(rng.integers(len(SOUNDING_CLASS_NAMES)))]


def _draw_frame(base: np.ndarray, plan: list[tuple], k: int, size: int,
                noise_rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """One frame: the still background, every object in its pose of frame ``k``, sensor noise.

    Returns the uint8 frame and each object's tight drawn box ``(x0, y0, x1, y1)``."""
    image = base.copy()
    label_map = np.zeros((size, size), np.uint8)
    drawn = []
    for label, (cls, _role, box, style, seed, envelope) in enumerate(plan, start=1):
        p = pose(style, box, envelope[k])
        obj = draw_object(image, label_map, label, get_class(cls).look, p.box, np.random.default_rng(seed),
                          extra_rotation_deg=p.angle_deg)
        if p.whiten > 0:
            mask = label_map == label
            image[mask] += (WHITEN_RGB - image[mask]) * np.float32(p.whiten)
        drawn.append(obj.box_px)
    return finish(image, noise_rng), drawn


def make_clip(kind: str, rng: np.random.Generator, clip_id: str, size: int = 224, fps: float = CLIP_FPS,
              duration: float = CLIP_SECONDS, sample_rate: int = 16000) -> ToyClip:
    """Build one clip of ``kind`` from ``rng`` (see the module docstring)."""
    if kind not in CLIP_KINDS:
        raise ValueError(f"unknown clip kind {kind!r}; known: {', '.join(CLIP_KINDS)}")
    key_objects, n_distractors, heard = _clip_layout(kind, rng, size)
    exclude = sorted({c for c, _, _ in key_objects} | set(heard))
    if kind in ROW_KINDS:
        key_boxes = [box for _, _, box in key_objects]
    else:
        key_boxes = place_key_objects(rng, [wh for _, _, wh in key_objects], size)
    classes = pick_silent_classes(rng, n_distractors, exclude=exclude)
    d_boxes = place_distractors(rng, [sample_distractor_size(rng, size) for _ in classes], size, key_boxes)
    objects = [(c, "distractor", b) for c, b in zip(classes, d_boxes, strict=False) if b is not None]
    objects += [(c, role, b) for (c, role, _), b in zip(key_objects, key_boxes, strict=True)]

    n_samples = int(round(duration * sample_rate))
    waveform, sources, _ = synthesize_audio(kind, rng, heard, n_samples, sample_rate)
    n_frames = int(round(duration * fps))
    heard_sources = [x for _, x in sources]
    plan = []
    for cls, role, box in objects:
        if role == "sounding":
            signal = heard_sources.pop(0)
        else:
            signal = class_sound(_silent_envelope_class(cls, rng), rng, n_samples, sample_rate)
        envelope = normalise_envelope(frame_envelope(signal, sample_rate, n_frames, fps))
        plan.append((cls, role, box, CLASS_MOTION[cls], int(rng.integers(2**63)), envelope))

    base = background(rng, size)
    noise_rng = np.random.default_rng(int(rng.integers(2**63)))
    frames = np.empty((n_frames, size, size, 3), np.uint8)
    union = [[size, size, 0, 0] for _ in plan]
    for k in range(n_frames):
        frames[k], drawn = _draw_frame(base, plan, k, size, noise_rng)
        for u, (x0, y0, x1, y1) in zip(union, drawn, strict=True):
            u[:] = [min(u[0], x0), min(u[1], y0), max(u[2], x1), max(u[3], y1)]
    clip_objects = [
        ClipObject(cls, role, normalise_box(tuple(u), size), tuple(u), style, envelope)
        for (cls, role, _box, style, _seed, envelope), u in zip(plan, union, strict=True)
    ]
    sounding = [o for o in clip_objects if o.role == "sounding"]
    return ToyClip(
        id=clip_id, kind=kind, frames=frames, fps=float(fps), waveform=waveform, sample_rate=sample_rate,
        boxes=[o.box for o in sounding], sounding_classes=[o.cls for o in sounding],
        audio_classes=list(heard), objects=clip_objects,
    )
