"""How toy objects move in a clip: each follows an amplitude envelope, in a style of its class.

In the toy video world (:mod:`slavc_lite.data.toy.clips`) a sounding object's look follows
its own sound: the drum squashes on each hit, the bell swings when struck, the whistle lights
up while it blows. Silent objects move too, on envelopes of their own (the loudness of a clip
nobody hears), so that motion alone never says which object sounds; only *synchrony* with the
audio does (Hershey & Movellan, "Audio Vision", NeurIPS 1999; the review's closing proposal).

An envelope is the RMS of a signal over each frame's display interval ``[k / fps, (k+1) / fps)``
(:func:`frame_envelope`), scaled to [0, 1] by :func:`normalise_envelope`. A motion style turns
the envelope value ``e`` of a frame into a pose inside the object's box (:func:`pose`), so the
object never leaves its box and the box is the ground truth of every frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slavc_lite.envelope import interval_rms

MOTION_STYLES: tuple[str, ...] = ("pulse", "squash", "bounce", "swing", "flash")
"""``pulse``: grows from 75% of its box to the full box; ``squash``: its height shrinks to 70%,
standing on the box's floor; ``bounce``: an 80% copy rises from the floor to the top of the
box; ``swing``: turns by up to 25 degrees; ``flash``: its colours blend towards white by up to
60%."""

CLASS_MOTION: dict[str, str] = {
    "bell": "swing", "drum": "squash", "siren": "flash", "bird": "bounce", "engine": "pulse",
    "whistle": "flash", "rain": "pulse", "dog": "bounce", "violin": "swing", "frog": "pulse",
    "vase": "swing", "lamp": "flash", "book": "bounce", "house": "squash", "sign": "swing",
    "tree": "pulse", "rock": "bounce", "chair": "squash", "table": "pulse", "moon": "flash",
}
"""The motion style of every class (sounding and never-sounding)."""

MIN_RANGE = 0.25
""":func:`normalise_envelope` divides by ``max(max - min, MIN_RANGE * max)``: a sound whose
loudness hardly changes (a siren) hardly moves its object, instead of amplifying noise."""


@dataclass(frozen=True)
class Pose:
    """Where and how to draw an object in one frame: its pixel box ``(x0, y0, w, h)``, an
    extra rotation in degrees and the share of white blended into its colours."""

    box: tuple[int, int, int, int]
    angle_deg: float = 0.0
    whiten: float = 0.0


def frame_envelope(signal: np.ndarray, sample_rate: int, n_frames: int, fps: float) -> np.ndarray:
    """RMS of ``signal`` over each frame's display interval ``[k / fps, (k + 1) / fps)``
    (:func:`slavc_lite.envelope.interval_rms`, the envelope the synchrony map measures).

    Samples past the signal's end count as absent (an interval with no sample gets 0).
    """
    k = np.arange(n_frames, dtype=np.float64)
    return interval_rms(signal, sample_rate, k / fps, (k + 1) / fps)


def normalise_envelope(rms: np.ndarray) -> np.ndarray:
    """Scale an envelope to [0, 1]: ``(r - min) / max(max - min, MIN_RANGE * max)``."""
    r = np.asarray(rms, dtype=np.float64)
    top = float(r.max()) if r.size else 0.0
    span = max(float(r.max() - r.min()) if r.size else 0.0, MIN_RANGE * top)
    if span <= 0:
        return np.zeros_like(r)
    return np.clip((r - r.min()) / span, 0.0, 1.0)


def pose(style: str, box: tuple[int, int, int, int], e: float) -> Pose:
    """The pose of an object of motion ``style`` with rest box ``box`` at envelope value ``e``."""
    x0, y0, w, h = box
    e = float(np.clip(e, 0.0, 1.0))
    if style == "pulse":
        s = 0.75 + 0.25 * e
        w2, h2 = max(2, round(w * s)), max(2, round(h * s))
        return Pose((x0 + (w - w2) // 2, y0 + (h - h2) // 2, w2, h2))
    if style == "squash":
        h2 = max(2, round(h * (1.0 - 0.3 * e)))
        return Pose((x0, y0 + h - h2, w, h2))
    if style == "bounce":
        w2, h2 = max(2, round(w * 0.8)), max(2, round(h * 0.8))
        lift = round((h - h2) * e)
        return Pose((x0 + (w - w2) // 2, y0 + h - h2 - lift, w2, h2))
    if style == "swing":
        return Pose(box, angle_deg=25.0 * e)
    if style == "flash":
        return Pose(box, whiten=0.6 * e)
    raise ValueError(f"unknown motion style {style!r}; known: {', '.join(MOTION_STYLES)}")
