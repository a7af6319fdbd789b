"""Training configurations and the three presets.

* ``paper``: the published recipe: ResNet-18 at 224x224, 3 s audio, batch 128, Adam 1e-4
  (weight decay 0 as in the official run script; the paper text says 1e-4), 20 epochs,
  image dropout 0.9, momentum 0.999, on VGGSound-144k.
* ``colab``: ResNet-18 sized for one Colab GPU and a few thousand streamed VGGSound clips.
* ``cpu-toy``: MobileNetV3-small on the toy world, minutes on a laptop CPU.

A configuration is a tree of dataclasses that round-trips through JSON; every run saves
it next to its checkpoints (with the seed and library version), and its hash names caches.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any


@dataclass
class ModelConfig:
    """Arguments of :class:`slavc_lite.model.SLAVC` (plus where the image weights come from)."""

    backbone: str = "resnet18"
    image_weights: str | None = "imagenet"
    dim: int = 512
    tau: float = 0.03
    dropout_img: float = 0.9
    dropout_aud: float = 0.0
    momentum_img: float = 0.999
    momentum_aud: float = 0.999
    loss: str = "official"


@dataclass
class DataConfig:
    """Where the training and validation pairs come from.

    ``train_root`` is a folder in the official layout (``frames/``, ``audio/``); ``None``
    means the toy world, generated into ``toy_root`` when missing.
    """

    train_root: str | None = None
    train_list: str | None = None
    val_root: str | None = None
    val_set: str = "toy"
    metadata: str | None = None
    toy_root: str = "data/toy"
    toy_train: int = 2000
    toy_test: int = 500
    audio_seconds: float = 3.0
    cache_dir: str | None = None
    val_limit: int | None = None
    workers: int = 2


@dataclass
class OptimConfig:
    """Adam as in the official ``build_optimizer_and_scheduler_adam``; constant learning rate."""

    lr: float = 1e-4
    weight_decay: float = 0.0
    epochs: int = 20
    batch_size: int = 128
    clip_norm: float = 0.0
    max_steps: int | None = None


@dataclass
class RunConfig:
    """How the run executes: seed, device features, logging and checkpoint cadence."""

    seed: int = 12345
    device: str = "auto"
    amp: bool = True
    channels_last: bool = True
    compile: bool = False
    checkpoint_every: int = 200
    log_every: int = 10
    validate_every_epoch: bool = True
    tensorboard: bool = False
    pretrain_epochs: int = 0
    pretrain_samples: int = 0


@dataclass
class TrainConfig:
    """The whole configuration of a run."""

    preset: str = "paper"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from :meth:`to_dict`; unknown keys are an error (a typo must not pass)."""
        return _from_dict(cls, data)

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def from_json(cls, path: str | Path) -> TrainConfig:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def fingerprint(self) -> str:
        """A short hash of everything that changes the trained weights."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def with_overrides(self, overrides: dict[str, Any]) -> TrainConfig:
        """A copy with dotted keys replaced, e.g. ``{"optim.epochs": 2, "model.loss": "paper"}``."""
        data = self.to_dict()
        for dotted, value in overrides.items():
            section, _, key = dotted.partition(".")
            if section not in data or not isinstance(data[section], dict) or key not in data[section]:
                raise KeyError(f"unknown configuration key {dotted!r}")
            data[section][key] = value
        return TrainConfig.from_dict(data)


def _from_dict(cls, data: dict[str, Any]):
    known = {f.name: f for f in fields(cls)}
    unknown = set(data) - set(known)
    if unknown:
        raise KeyError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
    kwargs = {}
    for name, value in data.items():
        default = known[name].default_factory if known[name].default_factory is not dataclasses.MISSING \
            else None
        sub = default() if default is not None else None
        kwargs[name] = _from_dict(type(sub), value) if is_dataclass(sub) else value
    return cls(**kwargs)


def _paper() -> TrainConfig:
    return TrainConfig(preset="paper")


def _colab() -> TrainConfig:
    cfg = TrainConfig(preset="colab")
    cfg.optim = OptimConfig(epochs=10, batch_size=64)
    cfg.data.train_root = "data/vggsound"
    cfg.data.workers = 2
    cfg.run.checkpoint_every = 100
    return cfg


def _cpu_toy() -> TrainConfig:
    cfg = TrainConfig(preset="cpu-toy")
    cfg.model = ModelConfig(backbone="mobilenet_v3_small", image_weights=None, dim=128)
    cfg.optim = OptimConfig(epochs=6, batch_size=32, lr=3e-4)
    cfg.run = RunConfig(seed=0, amp=False, channels_last=False, checkpoint_every=50, log_every=5,
                        pretrain_epochs=2, pretrain_samples=4000)
    cfg.data.toy_train = 2000
    cfg.data.toy_test = 500
    return cfg


PRESETS = {"paper": _paper, "colab": _colab, "cpu-toy": _cpu_toy}


def preset(name: str) -> TrainConfig:
    """A fresh configuration for one of :data:`PRESETS`."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]()
