"""The toy audio-visual world: procedural scenes whose answer is known.

An offline stand-in for VGGSound (audio-visual pairs, with VGG-SS-like boxes for testing;
most frames also show silent objects, of ten classes that never make a sound) and for ImageNet
(:class:`ToyObjectDataset`, labelled objects to pretrain the visual
encoder and the OGL network), where every hard case of the IPOL review of SLAVC can be
built with exact ground truth: mixtures, small objects, silent objects, off-screen sounds,
same-type instances, and negative audio (silence, noise).

Modules, one concept each: ``classes`` (the catalogue: looks and sound parameters),
``shapes`` (drawing an object into its box), ``backgrounds`` (procedural textures),
``sounds`` (synthesis), ``sizes`` (VGG-SS box sizes, placement), ``scenes`` (scene kinds and
ground truth), ``world`` (:class:`ToyWorld`, seeds, splits), ``writer`` (the official layout
on disk), ``objects`` (the classification set), ``command`` (``slavc-lite data toy``).

Quick start::

    from slavc_lite.data.toy import ToyWorld, write_toy_world
    world = ToyWorld(seed=0)
    scene = world.scene("silent", 0)        # image, waveform, boxes, classes, kind
    write_toy_world("data/toy", n_train=2000, n_test=500)

Importing this package does not import torch (worker processes stay light);
:class:`ToyObjectDataset` is loaded on first use.
"""

from __future__ import annotations

from slavc_lite.data.toy.classes import (
    CATALOGUE,
    CLASS_NAMES,
    SILENT_CLASS_NAMES,
    SOUNDING_CLASS_NAMES,
    ToyClass,
    get_class,
)
from slavc_lite.data.toy.scenes import KINDS, NON_SOUNDING_KINDS, SOUNDING_KINDS, ToyObject, ToyScene
from slavc_lite.data.toy.world import TEST_PROPORTIONS, TOY_WORLD_VERSION, TRAIN_PROPORTIONS, ToyWorld
from slavc_lite.data.toy.writer import ToyWorldSummary, write_toy_world

__all__ = [
    "CATALOGUE", "CLASS_NAMES", "KINDS", "NON_SOUNDING_KINDS", "SILENT_CLASS_NAMES", "SOUNDING_CLASS_NAMES",
    "SOUNDING_KINDS", "TEST_PROPORTIONS",
    "TOY_WORLD_VERSION", "TRAIN_PROPORTIONS", "ToyClass", "ToyObject", "ToyObjectDataset", "ToyScene",
    "ToyWorld", "ToyWorldSummary", "get_class", "write_toy_world",
]


def __getattr__(name: str):
    if name == "ToyObjectDataset":
        from slavc_lite.data.toy.objects import ToyObjectDataset

        return ToyObjectDataset
    raise AttributeError(f"module 'slavc_lite.data.toy' has no attribute {name!r}")
