"""The toy world's class catalogue: what each object class looks like and how it sounds.

Twenty classes, each with a *visual identity* (a silhouette, a hue, a texture and an accent
colour). Ten of them (:data:`SOUNDING_CATALOGUE`) also have a *sound identity* (a synthesis
model with its own spectral signature: pitch, harmonics, amplitude or frequency modulation, a
noise band, chirps); the other ten (:data:`SILENT_CATALOGUE`) **never make a sound**: salient
objects (their own silhouettes, strong colours and textures) that stand in a scene the way a
TV logo, a tree or a parked car stands in a VGGSound frame. The object pretraining (the toy
world's ImageNet, :mod:`slavc_lite.data.toy.objects`) learns all twenty, so the OGL map built
from it lights up silent objects as an ImageNet network does: an object prior, not an oracle
of what sounds. Every drawn instance
and every synthesised clip jitters these parameters (colour, size, rotation, position;
pitch, rate, level), so no two samples are identical, yet a class stays recognisable by
its look and by its sound. That is all a self-supervised audio-visual model needs to
discover the correspondence without ever seeing a label.

The names are sound sources (``"bell"``, ``"dog"``, ...) and silent things (``"vase"``,
``"tree"``, ...) so notebooks read naturally; the pictures are coloured shapes, not drawings.
The sound ranges below
are read by :mod:`slavc_lite.data.toy.sounds`, the looks by :mod:`slavc_lite.data.toy.shapes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Look:
    """A class's visual identity.

    ``hue`` in degrees, ``saturation`` and ``value`` in [0, 1] (HSV of the main colour);
    ``accent`` the HSV of the texture's second colour; ``texture`` one of
    :data:`slavc_lite.data.toy.shapes.TEXTURES`; ``shape`` one of
    :data:`slavc_lite.data.toy.shapes.SHAPES`.
    """

    shape: str
    hue: float
    saturation: float
    value: float
    texture: str
    accent: tuple[float, float, float]


@dataclass(frozen=True)
class Sound:
    """A class's sound identity: a synthesis ``model`` and the ranges its parameters are
    drawn from for each clip (uniformly, in the units the key names), plus a one-line
    human description for the notebooks."""

    model: str
    summary: str
    params: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class ToyClass:
    """One class: its name, its look and its sound (``None``: a never-sounding class)."""

    name: str
    look: Look
    sound: Sound | None

    @property
    def sounds(self) -> bool:
        """Whether instances of this class can be heard."""
        return self.sound is not None


SOUNDING_CATALOGUE: tuple[ToyClass, ...] = (
    ToyClass(
        "bell",
        Look("bell", 50.0, 0.85, 0.95, "shine", (50.0, 0.25, 1.0)),
        Sound("bell",
              "inharmonic partials (1, 2, 2.76, 4.07, 5.4 x f0), f0 500-720 Hz, struck every 0.55-0.9 s",
              {"f0": (500.0, 720.0), "period": (0.55, 0.9), "decay": (0.25, 0.45)}),
    ),
    ToyClass(
        "drum",
        Look("rounded_rect", 0.0, 0.85, 0.85, "hstripes", (0.0, 0.0, 0.97)),
        Sound("drum", "low thumps, pitch falling 150-200 -> 50-70 Hz, a hit every 0.22-0.32 s",
              {"f_start": (150.0, 200.0), "f_end": (50.0, 70.0), "period": (0.22, 0.32),
               "decay": (0.08, 0.14)}),
    ),
    ToyClass(
        "siren",
        Look("dome", 220.0, 0.85, 0.9, "shine", (200.0, 0.3, 1.0)),
        Sound("siren", "a tone sweeping slowly (0.35-0.7 Hz) between 650-800 and 1300-1600 Hz",
              {"f_low": (650.0, 800.0), "f_high": (1300.0, 1600.0), "rate": (0.35, 0.7)}),
    ),
    ToyClass(
        "bird",
        Look("triangle", 28.0, 0.95, 1.0, "dots", (55.0, 0.9, 1.0)),
        Sound("bird", "phrases of short upward chirps, 2.6-3.4 kHz -> 4.2-5.5 kHz",
              {"f_start": (2600.0, 3400.0), "f_end": (4200.0, 5500.0), "chirp": (0.05, 0.09),
               "gap": (0.03, 0.06)}),
    ),
    ToyClass(
        "engine",
        Look("hexagon", 210.0, 0.06, 0.6, "checker", (210.0, 0.05, 0.25)),
        Sound("engine", "buzzy sawtooth at 45-80 Hz, low-passed, throbbing at 8-14 Hz, plus rumble",
              {"f0": (45.0, 80.0), "am_rate": (8.0, 14.0), "cutoff": (1500.0, 2500.0)}),
    ),
    ToyClass(
        "whistle",
        Look("ellipse", 320.0, 0.8, 0.95, "rings", (320.0, 0.2, 1.0)),
        Sound("whistle", "a nearly pure tone at 1.9-2.5 kHz with a gentle vibrato, in blows of 0.4-0.9 s",
              {"f0": (1900.0, 2500.0), "vibrato": (4.0, 6.0), "blow": (0.4, 0.9)}),
    ),
    ToyClass(
        "rain",
        Look("diamond", 185.0, 0.9, 0.9, "dstripes", (200.0, 0.5, 0.45)),
        Sound("rain", "band-limited hiss (1.2-1.8 to 3.5-4.5 kHz) with droplet clicks and slow swells",
              {"low": (1200.0, 1800.0), "high": (3500.0, 4500.0), "drops": (15.0, 30.0)}),
    ),
    ToyClass(
        "dog",
        Look("cross", 25.0, 0.75, 0.45, "spots", (35.0, 0.4, 0.9)),
        Sound("dog", "barks of 0.1-0.18 s: falling harmonic tone at 380-560 Hz with a formant near 1 kHz",
              {"f0": (380.0, 560.0), "bark": (0.1, 0.18), "formant": (900.0, 1300.0)}),
    ),
    ToyClass(
        "violin",
        Look("octagon", 275.0, 0.75, 0.85, "vstripes", (275.0, 0.3, 0.35)),
        Sound("violin", "bowed notes (sawtooth-like harmonics) around 300-500 Hz with a 5-6.5 Hz vibrato",
              {"f0": (300.0, 500.0), "vibrato": (5.0, 6.5), "note": (0.35, 0.8)}),
    ),
    ToyClass(
        "frog",
        Look("star", 120.0, 0.85, 0.75, "spots", (95.0, 0.9, 0.35)),
        Sound("frog", "croaks of 0.25-0.45 s: a 140-220 Hz tone chopped by 22-32 Hz pulses",
              {"f0": (140.0, 220.0), "pulse": (22.0, 32.0), "croak": (0.25, 0.45), "period": (0.7, 1.0)}),
    ),
)

SILENT_CATALOGUE: tuple[ToyClass, ...] = (
    # Each never-sounding class has a silhouette no sounding class has, so its look alone says
    # "silent"; hues and textures overlap with the sounding classes' on purpose.
    ToyClass("vase", Look("hourglass", 200.0, 0.75, 0.8, "vstripes", (200.0, 0.2, 1.0)), None),
    ToyClass("lamp", Look("trapezoid", 55.0, 0.7, 0.95, "solid", (55.0, 0.2, 1.0)), None),
    ToyClass("book", Look("parallelogram", 350.0, 0.8, 0.7, "hstripes", (40.0, 0.3, 0.95)), None),
    ToyClass("house", Look("house", 15.0, 0.65, 0.8, "checker", (15.0, 0.3, 0.4)), None),
    ToyClass("sign", Look("arrow", 95.0, 0.85, 0.85, "shine", (95.0, 0.3, 1.0)), None),
    ToyClass("tree", Look("star6", 140.0, 0.8, 0.55, "dots", (60.0, 0.8, 0.9)), None),
    ToyClass("rock", Look("pentagon", 30.0, 0.2, 0.55, "spots", (30.0, 0.15, 0.3)), None),
    ToyClass("chair", Look("lshape", 265.0, 0.7, 0.6, "dstripes", (265.0, 0.2, 0.95)), None),
    ToyClass("table", Look("tee", 170.0, 0.7, 0.7, "rings", (170.0, 0.3, 0.35)), None),
    ToyClass("moon", Look("crescent", 45.0, 0.35, 1.0, "solid", (45.0, 0.1, 0.8)), None),
)

CATALOGUE: tuple[ToyClass, ...] = SOUNDING_CATALOGUE + SILENT_CATALOGUE
"""Every class: the sounding ones first, then the never-sounding ones (the object labels)."""

CLASS_NAMES: tuple[str, ...] = tuple(c.name for c in CATALOGUE)
"""Every class name in label order (the object pretraining's labels)."""
SOUNDING_CLASS_NAMES: tuple[str, ...] = tuple(c.name for c in SOUNDING_CATALOGUE)
"""The classes that make a sound (heard in scenes)."""
SILENT_CLASS_NAMES: tuple[str, ...] = tuple(c.name for c in SILENT_CATALOGUE)
"""The classes that never make a sound (seen, never heard)."""
_BY_NAME = {c.name: c for c in CATALOGUE}


def get_class(name: str) -> ToyClass:
    """The catalogue entry of ``name`` (raises ``KeyError`` listing the known classes)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown toy class {name!r}; known: {', '.join(CLASS_NAMES)}") from None


def class_index(name: str) -> int:
    """Position of ``name`` in :data:`CLASS_NAMES` (the label used by the object dataset)."""
    get_class(name)
    return CLASS_NAMES.index(name)
