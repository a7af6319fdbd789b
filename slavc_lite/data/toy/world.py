"""``ToyWorld``: the toy audio-visual world in memory, deterministic from one seed.

Every sample has its own random generator, seeded from ``(seed, stream, index)`` with
numpy's ``SeedSequence``, so a sample never depends on which other samples were made, in
which order, or in which process: parallel generation gives identical bytes.

Splits (what :mod:`slavc_lite.data.toy.writer` puts on disk):

* ``train``: like VGGSound, natural clips that the model sees without labels,
  :data:`TRAIN_PROPORTIONS`: 70% ``single`` (three frames in four hold silent objects beside
  the sounding one), 15% ``mixture`` (two sources heard at once) and 15% ``offscreen`` (the
  heard source is not in the frame). Why: in VGGSound most of what a frame shows is silent
  (people, furniture, logos), some clips hold several sources, and a good part of the sound
  comes from outside the frame; a world without these lets "the salient object" stand in for
  "the sounding object", so a model (and an object prior) would be rewarded for objectness
  alone. No labels are used in training, so the off-screen pairs are ordinary pairs to it.
* ``val``: every kind, in the test proportions, from its own seeds: it picks ``best.pth`` and
  drives the training curves, so that the test split is never used to choose anything.
* ``test``: every kind, negatives included, :data:`TEST_PROPORTIONS`: 40% ``single``, 10%
  each of ``mixture``, ``small``, ``silent``, ``same_type`` and ``offscreen``, 5% each of
  ``silence`` and ``noise``. So 75% of the test pairs are sounding (a ground-truth box) and
  25% non-sounding (offscreen, silence, noise), a mix close to the official extended
  VGG-SS set's. Only for the reported numbers.

Counts per kind are the largest-remainder rounding of ``n * proportion`` (every kind with a
non-zero share gets at least one sample when ``n`` allows); the order of kinds within a
split is a seeded shuffle.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from slavc_lite.data.toy.backgrounds import background, finish
from slavc_lite.data.toy.classes import (
    CATALOGUE,
    CLASS_NAMES,
    SILENT_CLASS_NAMES,
    SOUNDING_CLASS_NAMES,
    ToyClass,
    class_index,
    get_class,
)
from slavc_lite.data.toy.scenes import KINDS, ToyScene, make_scene
from slavc_lite.data.toy.shapes import draw_object
from slavc_lite.data.toy.sounds import class_sound

TOY_WORLD_VERSION = 3
"""Bump whenever generation changes, so a world on disk made by older code is not reused."""

TRAIN_PROPORTIONS: dict[str, float] = {"single": 0.70, "mixture": 0.15, "offscreen": 0.15}
TEST_PROPORTIONS: dict[str, float] = {
    "single": 0.40, "mixture": 0.10, "small": 0.10, "silent": 0.10, "same_type": 0.10,
    "offscreen": 0.10, "silence": 0.05, "noise": 0.05,
}
SPLIT_PROPORTIONS = {"train": TRAIN_PROPORTIONS, "val": TEST_PROPORTIONS, "test": TEST_PROPORTIONS}

# Stream numbers mixed into every seed, so streams never share random numbers.
STREAMS = {"train": 1, "test": 2, "objects": 3, "scene": 4, "object_sound": 5, "render_object": 6, "plan": 7,
           "val": 8, "clip": 9, "clip_val": 10, "clip_test": 11}


def sample_rng(seed: int, stream: str, *index: int) -> np.random.Generator:
    """The generator of one sample: ``SeedSequence([seed, STREAMS[stream], *index])``."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), STREAMS[stream], *map(int, index)]))


def kind_counts(n: int, proportions: dict[str, float]) -> dict[str, int]:
    """Largest-remainder counts summing to ``n``; each kind gets at least one when n allows."""
    kinds = [k for k, p in proportions.items() if p > 0]
    total = sum(proportions[k] for k in kinds)
    exact = {k: n * proportions[k] / total for k in kinds}
    counts = {k: int(np.floor(v)) for k, v in exact.items()}
    for k in sorted(kinds, key=lambda k: -(exact[k] - counts[k]))[: n - sum(counts.values())]:
        counts[k] += 1
    if n >= len(kinds):
        for k in kinds:
            while counts[k] == 0:
                donor = max(counts, key=lambda d: counts[d])
                counts[donor] -= 1
                counts[k] += 1
    return counts


class ToyWorld:
    """The toy world, in memory::

        world = ToyWorld(seed=0)
        scene = world.scene("mixture", 3)      # any kind, any index: deterministic
        scene.image, scene.waveform, scene.boxes, scene.sounding_classes
        world.render_object("bell"), world.object_sound("bell")   # a class's look and sound

    ``split_kinds(split, n)`` and ``split_scene(split, index, kind)`` give exactly the
    samples :func:`slavc_lite.data.toy.writer.write_toy_world` writes to disk.
    """

    def __init__(self, seed: int = 0, image_size: int = 224, sample_rate: int = 16000, duration: float = 3.0):
        self.seed = int(seed)
        self.image_size = int(image_size)
        self.sample_rate = int(sample_rate)
        self.duration = float(duration)

    @property
    def classes(self) -> list[str]:
        """Every class name, in label order (sounding classes first)."""
        return list(CLASS_NAMES)

    @property
    def sounding_classes(self) -> list[str]:
        """The classes that can be heard."""
        return list(SOUNDING_CLASS_NAMES)

    @property
    def silent_classes(self) -> list[str]:
        """The classes that are never heard."""
        return list(SILENT_CLASS_NAMES)

    @property
    def catalogue(self) -> tuple[ToyClass, ...]:
        """Each class's look and sound parameters."""
        return CATALOGUE

    kinds: tuple[str, ...] = KINDS

    def config(self) -> dict:
        """What determines every sample (saved in ``toy_world.json``)."""
        return {"version": TOY_WORLD_VERSION, "seed": self.seed, "image_size": self.image_size,
                "sample_rate": self.sample_rate, "duration": self.duration}

    def _make(self, kind: str, rng: np.random.Generator, scene_id: str) -> ToyScene:
        return make_scene(kind, rng, scene_id, self.image_size, self.sample_rate, self.duration)

    def scene(self, kind: str, index: int = 0) -> ToyScene:
        """Scene number ``index`` of ``kind`` (id ``"<kind>_<index>"``), for teaching and tests."""
        if kind not in KINDS:
            raise ValueError(f"unknown scene kind {kind!r}; known: {', '.join(KINDS)}")
        rng = sample_rng(self.seed, "scene", KINDS.index(kind), index)
        return self._make(kind, rng, f"{kind}_{index:06d}")

    def split_kinds(self, split: str, n: int) -> list[str]:
        """The kind of each of the ``n`` samples of ``split`` (counts as documented above)."""
        counts = kind_counts(n, SPLIT_PROPORTIONS[split])
        kinds = [k for k in KINDS for _ in range(counts.get(k, 0))]
        order = sample_rng(self.seed, "plan", STREAMS[split], n).permutation(len(kinds))
        return [kinds[i] for i in order]

    @staticmethod
    def sample_id(split: str, index: int) -> str:
        """File id of sample ``index`` of ``split``: ``"<split>_<index:06d>"``."""
        return f"{split}_{index:06d}"

    def split_scene(self, split: str, index: int, kind: str) -> ToyScene:
        """Sample ``index`` of ``split`` (its kind from :meth:`split_kinds`), as written to disk."""
        return self._make(kind, sample_rng(self.seed, split, index), self.sample_id(split, index))

    def split_counts(self, split: str, n: int) -> dict[str, int]:
        """How many samples of each kind ``split`` holds when it has ``n`` samples."""
        counts = Counter(self.split_kinds(split, n))
        return {k: counts[k] for k in KINDS if counts[k]}

    def clip(self, kind: str, index: int = 0):
        """Video clip number ``index`` of ``kind`` (a :class:`~slavc_lite.data.toy.clips.ToyClip`:
        the still scene animated by its sounds, 3 s at 8 fps), for teaching and tests. ``kind``
        is one of :data:`~slavc_lite.data.toy.clips.CLIP_KINDS`."""
        from slavc_lite.data.toy.clips import CLIP_KINDS, make_clip

        if kind not in CLIP_KINDS:
            raise ValueError(f"unknown clip kind {kind!r}; known: {', '.join(CLIP_KINDS)}")
        rng = sample_rng(self.seed, "clip", CLIP_KINDS.index(kind), index)
        return make_clip(kind, rng, f"clip_{kind}_{index:06d}", self.image_size, sample_rate=self.sample_rate)

    def render_object(self, cls: str, index: int = 0, with_background: bool = True,
                      area: float = 0.3) -> np.ndarray:
        """One centred instance of ``cls`` covering about ``area`` of the frame (uint8 HxWx3),
        on a random background or on plain mid-grey: a class's look, for teaching."""
        look = get_class(cls).look
        rng = sample_rng(self.seed, "render_object", class_index(cls), index)
        s = self.image_size
        image = background(rng, s) if with_background else np.full((s, s, 3), 0.5, np.float32)
        side = int(round(np.sqrt(area) * s))
        box = ((s - side) // 2, (s - side) // 2, side, side)
        draw_object(image, np.zeros((s, s), np.uint8), 1, look, box, rng)
        return finish(image, rng)

    def object_sound(self, cls: str, index: int = 0, level: float = 0.1) -> np.ndarray:
        """One clip of sounding class ``cls`` alone (float32, active RMS ``level``, no room noise): a
        class's sound, for listening (``IPython.display.Audio(x, rate=world.sample_rate)``)."""
        rng = sample_rng(self.seed, "object_sound", class_index(cls), index)
        n = int(round(self.duration * self.sample_rate))
        x = class_sound(cls, rng, n, self.sample_rate) * level
        peak = float(np.max(np.abs(x)))
        if peak > 0.99:
            x *= 0.99 / peak
        return x.astype(np.float32)
