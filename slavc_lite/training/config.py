"""Training configurations and the three presets.

* ``paper``: the published recipe: ResNet-18 at 224x224, 3 s audio, batch 128, Adam 1e-4
  (weight decay 0 as in the official run script; the paper text says 1e-4), 20 epochs,
  image dropout 0.9, momentum 0.999, on VGGSound-144k.
* ``colab``: ResNet-18 sized for one Colab GPU and a few thousand streamed VGGSound clips.
* ``cpu-toy``: the toy world, minutes on a laptop CPU: the local CNN image trunk (pretrained on
  the toy objects by the run itself) and the MobileNetV3-small audio trunk.

A configuration is a tree of dataclasses that round-trips through JSON; every run saves
it next to its checkpoints (with the seed and library version), and its hash names caches.
Dotted keys (``optim.epochs``, ``model.dropout_img``) address single fields:
:meth:`TrainConfig.with_overrides` takes typed values or the text of a command line
(``"3"``, ``"true"``, ``"none"``), checked against each field's type.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import typing
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from slavc_lite.atomic_files import atomic_write_text
from slavc_lite.errors import SlavcLiteError

__all__ = [
    "AMP_DTYPES",
    "ConfigError",
    "DataConfig",
    "ModelConfig",
    "OptimConfig",
    "PRESETS",
    "PRETRAINED_OBJECT_NET",
    "RunConfig",
    "TrainConfig",
    "parse_assignment",
    "preset",
]

#: ``model.image_weights`` value that means: the object network this run pretrains on the toy
#: world (``RUN/pretrain/object_net.pth``, see :mod:`slavc_lite.training.pretrain`).
PRETRAINED_OBJECT_NET = "pretrain"
#: ``run.amp_dtype`` choices (see :mod:`slavc_lite.training.precision`).
AMP_DTYPES = ("auto", "bfloat16", "float16")
# slavc_lite.encoders.BACKBONES (not imported: no torch here)
_BACKBONES = ("resnet18", "mobilenet_v3_small", "local_cnn")
_LOSSES = ("official", "paper", "ezvsl")  # slavc_lite.model.LOSSES
_VALIDATION_METRICS = ("cIoU", "AUC", "AP", "max-F1", "Precision")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_NONE = {"none", "null"}


class ConfigError(SlavcLiteError, KeyError):
    """A bad configuration: unknown key or preset, a value of the wrong type or out of range.

    A :class:`KeyError` for compatibility (unknown keys always raised one), printed without
    the quotes ``KeyError`` adds.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass
class ModelConfig:
    """Arguments of :class:`slavc_lite.model.SLAVC`, plus where the image weights come from and the
    BatchNorm momentum.

    ``image_weights``: ``"imagenet"`` (torchvision's, official), ``None`` (random init, on
    purpose), a path to a torchvision state dict, or ``"pretrain"``: the toy-world object network
    this run pretrains first (needs ``run.pretrain_epochs > 0``). ``momentum_* = 0`` makes the
    momentum networks copy the online ones at every step; with ``dropout_img = 0`` that is the
    EZ-VSL-like ablation of the review. ``bn_momentum``: the running-statistics momentum of every
    BatchNorm layer (``None``: as built, 0.1 for ResNet-18, torchvision's 0.01 for MobileNetV3;
    see :mod:`slavc_lite.training.batchnorm`).
    """

    backbone: str = "resnet18"
    image_weights: str | None = "imagenet"
    dim: int = 512
    tau: float = 0.03
    dropout_img: float = 0.9
    dropout_aud: float = 0.0
    momentum_img: float = 0.999
    momentum_aud: float = 0.999
    loss: str = "official"
    bn_momentum: float | None = None


@dataclass
class DataConfig:
    """Where the training and validation pairs come from.

    ``train_root`` is a folder in the official layout (``frames/``, ``audio/``), its ids
    optionally restricted by ``train_list``; ``None`` means the toy world, generated into
    ``toy_root`` (``toy_train`` + ``toy_val`` + ``toy_test`` pairs) when missing. Validation:
    ``val_set`` of :func:`slavc_lite.data.datasets.build_test_set` in ``val_root`` with the
    metadata of ``metadata`` (downloaded when ``None``); for the toy world ``val_root`` defaults
    to its ``val`` split (never its test split, which only reports) and ``val_set`` is ``"toy"``
    or ``"toy_plus_silent"`` (with the non-sounding pairs).
    ``val_limit`` scores only the first N validation pairs. ``cache_dir``: where the decoded
    arrays go (default: a ``.cache`` folder inside each dataset folder). ``workers``: processes
    that build the caches.
    """

    train_root: str | None = None
    train_list: str | None = None
    val_root: str | None = None
    val_set: str = "toy"
    metadata: str | None = None
    toy_root: str = "data/toy"
    toy_train: int = 2000
    toy_val: int = 300
    toy_test: int = 500
    audio_seconds: float = 3.0
    cache_dir: str | None = None
    val_limit: int | None = None
    val_batch_size: int = 64
    workers: int = 2


@dataclass
class OptimConfig:
    """Adam as in the official ``build_optimizer_and_scheduler_adam``; constant learning rate.

    ``batch_size`` is the global batch: with ``N`` processes each one takes ``batch_size // N``
    (the official ``train.py`` divides it by the number of processes). ``max_steps`` stops the
    run early (quick runs, tests); ``clip_norm > 0`` clips the gradient norm (official option, off).
    ``lr_schedule``: ``"constant"`` (the published run) or ``"cosine"`` with ``warmup_epochs`` of
    linear warm-up, the official options (see :mod:`slavc_lite.training.schedule`).
    ``image_trunk_lr_scale``: the online image trunk's learning rate as a multiple of ``lr``
    (official: 1, everything trains alike; 0 freezes the trunk, which then needs no gradient).
    ``same_class_negatives``: official ``True``; ``False`` leaves the pairs of a batch whose clips
    share a heard class out of the loss's negatives (:func:`slavc_lite.losses.same_class_pairs`),
    a controlled experiment that reads the labels of the toy world's ``train/scenes.csv``.
    """

    lr: float = 1e-4
    weight_decay: float = 0.0
    epochs: int = 20
    batch_size: int = 128
    clip_norm: float = 0.0
    max_steps: int | None = None
    lr_schedule: str = "constant"
    warmup_epochs: float = 0.0
    image_trunk_lr_scale: float = 1.0
    same_class_negatives: bool = True


@dataclass
class RunConfig:
    """How the run executes: seed, device features, logging, checkpoints, validation, pretraining.

    * ``channels_last``: the memory layout of images and weights on CUDA and CPU (faster convolutions).
    * ``amp`` (CUDA only): mixed precision, ``amp_dtype`` ``"auto"`` (bfloat16 where the GPU
      supports it, else float16 with a gradient scaler), ``"bfloat16"`` or ``"float16"``.
    * ``checkpoint_every``: steps between mid-epoch checkpoints (0: only at epoch ends).
    * ``best_metric``: ``"<subset>.<metric>"`` of the validation table that picks ``best.pth``;
      official: ``visible.Precision`` (the share of sounding pairs with cIoU >= 0.5).
    * ``validate_at_start``: score the untrained model first, as the official ``train.py`` does.
    * ``check_replicas_every``: with several processes, every N steps gather a checksum of each
      process's parameters (online and momentum networks), log them and stop if they differ (0: never).
    * ``pretrain_*``: the toy-world object classification that stands in for ImageNet
      (``pretrain_epochs`` passes over ``pretrain_samples`` generated objects; 0: none);
      ``pretrain_cells`` adds the classification of every feature-grid cell (object or
      background, see :mod:`slavc_lite.training.pretrain`).
    """

    seed: int = 12345
    device: str = "auto"
    amp: bool = True
    amp_dtype: str = "auto"
    channels_last: bool = True
    compile: bool = False
    checkpoint_every: int = 200
    log_every: int = 10
    validate_every_epoch: bool = True
    validate_at_start: bool = True
    best_metric: str = "visible.Precision"
    tensorboard: bool = False
    check_replicas_every: int = 0
    pretrain_epochs: int = 0
    pretrain_samples: int = 0
    pretrain_batch_size: int = 64
    pretrain_lr: float = 1e-3
    pretrain_cells: bool = False


_SECTIONS = {"model": ModelConfig, "data": DataConfig, "optim": OptimConfig, "run": RunConfig}

#: Keys that may change when a run is resumed: they do not change what a training step computes.
RESUMABLE_KEYS = frozenset({
    "optim.epochs", "optim.max_steps", "run.checkpoint_every", "run.log_every", "run.tensorboard",
    "run.device", "run.validate_every_epoch", "run.check_replicas_every", "data.workers", "data.val_limit",
    "data.val_batch_size",
    "data.cache_dir",
})


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
        """Write the JSON file atomically (temporary file in the same folder, then ``os.replace``)."""
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def from_json(cls, path: str | Path) -> TrainConfig:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{path}: cannot be read as a training configuration ({exc})") from exc
        return cls.from_dict(data)

    def fingerprint(self) -> str:
        """A short hash of everything that changes the trained weights."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def flat(self) -> dict[str, Any]:
        """Every field under its dotted key: ``{"preset": ..., "model.backbone": ..., ...}``."""
        out: dict[str, Any] = {"preset": self.preset}
        for section, values in self.to_dict().items():
            if isinstance(values, dict):
                out.update({f"{section}.{k}": v for k, v in values.items()})
        return out

    def differences(self, other: TrainConfig) -> list[str]:
        """Dotted keys whose values differ between ``self`` and ``other``."""
        mine, theirs = self.flat(), other.flat()
        return sorted(k for k in mine if mine[k] != theirs.get(k))

    def run_differences(self, other: TrainConfig) -> list[str]:
        """:meth:`differences`, except that the toy world's folder counts only when the two paths
        lead to different folders (a run records the path as it was given)."""
        differences = self.differences(other)
        if "data.toy_root" in differences and self.data.toy_root and other.data.toy_root:
            if Path(self.data.toy_root).resolve() == Path(other.data.toy_root).resolve():
                differences.remove("data.toy_root")
        return differences

    def with_overrides(self, overrides: dict[str, Any]) -> TrainConfig:
        """A copy with dotted keys replaced, e.g. ``{"optim.epochs": 2, "model.loss": "paper"}``.

        Values may be typed or text (``"2"``, ``"1e-3"``, ``"true"``, ``"none"``); either way
        they are checked against the field's type. Raises :class:`ConfigError` for an unknown
        key (with the closest known ones) or a value of the wrong type.
        """
        data = self.to_dict()
        for dotted, value in overrides.items():
            section, _, key = dotted.partition(".")
            if section not in _SECTIONS or key not in data[section]:
                known = [k for k in self.flat() if k != "preset"]
                close = difflib.get_close_matches(dotted, known, n=3, cutoff=0.6)
                hint = (f"; did you mean {' or '.join(close)}?" if close
                        else f"; known keys: {', '.join(known)}")
                raise ConfigError(f"unknown configuration key {dotted!r}{hint}")
            data[section][key] = _coerce(dotted, value, _field_type(_SECTIONS[section], key))
        return TrainConfig.from_dict(data)

    def validate(self) -> TrainConfig:
        """Check the values that a run would otherwise reject late; returns ``self``."""
        m, d, o, r = self.model, self.data, self.optim, self.run
        problems = []
        if m.backbone not in _BACKBONES:
            problems.append(f"model.backbone must be one of {_BACKBONES}, not {m.backbone!r}")
        if m.loss not in _LOSSES:
            problems.append(f"model.loss must be one of {_LOSSES}, not {m.loss!r}")
        for name in ("dropout_img", "dropout_aud"):
            if not 0.0 <= getattr(m, name) < 1.0:
                problems.append(f"model.{name} must be in [0, 1), not {getattr(m, name)}")
        for name in ("momentum_img", "momentum_aud"):
            if not 0.0 <= getattr(m, name) <= 1.0:
                problems.append(f"model.{name} must be in [0, 1], not {getattr(m, name)}")
        if m.bn_momentum is not None and not 0.0 < m.bn_momentum <= 1.0:
            problems.append(f"model.bn_momentum must be in (0, 1] or none, not {m.bn_momentum}")
        if m.dim < 1 or m.tau <= 0:
            problems.append(f"model.dim must be >= 1 and model.tau > 0 (got {m.dim}, {m.tau})")
        if m.backbone == "local_cnn" and m.image_weights == "imagenet":
            problems.append("model.backbone='local_cnn' has no ImageNet weights: use "
                            f"model.image_weights={PRETRAINED_OBJECT_NET!r} (toy world), a file or none")
        if m.image_weights == PRETRAINED_OBJECT_NET and r.pretrain_epochs < 1:
            problems.append("model.image_weights='pretrain' needs run.pretrain_epochs >= 1 (the object "
                            "pretraining that makes those weights)")
        if r.pretrain_epochs > 0 and (r.pretrain_samples < 1 or r.pretrain_batch_size < 1):
            problems.append("run.pretrain_epochs > 0 needs run.pretrain_samples >= 1 and "
                            "run.pretrain_batch_size >= 1")
        if o.epochs < 1 or o.batch_size < 1 or o.lr <= 0:
            problems.append(f"optim.epochs and optim.batch_size must be >= 1 and optim.lr > 0 "
                            f"(got {o.epochs}, {o.batch_size}, {o.lr})")
        if o.lr_schedule not in ("constant", "cosine"):
            problems.append(f"optim.lr_schedule must be 'constant' or 'cosine', not {o.lr_schedule!r}")
        if not 0.0 <= o.warmup_epochs < o.epochs:
            problems.append(f"optim.warmup_epochs must be in [0, optim.epochs), not {o.warmup_epochs}")
        if o.image_trunk_lr_scale < 0:
            problems.append(f"optim.image_trunk_lr_scale must be >= 0, not {o.image_trunk_lr_scale}")
        if not o.same_class_negatives and (d.train_root is not None or m.loss == "ezvsl"):
            problems.append("optim.same_class_negatives=false needs the toy world's labels (data.train_root "
                            "unset) and a SLAVC loss (model.loss 'official' or 'paper')")
        if o.max_steps is not None and o.max_steps < 1:
            problems.append(f"optim.max_steps must be >= 1 or none, not {o.max_steps}")
        if r.checkpoint_every < 0 or r.log_every < 1 or r.check_replicas_every < 0:
            problems.append("run.checkpoint_every and run.check_replicas_every must be >= 0, "
                            "run.log_every >= 1")
        if r.amp_dtype not in AMP_DTYPES:
            problems.append(f"run.amp_dtype must be one of {AMP_DTYPES}, not {r.amp_dtype!r}")
        subset, _, metric = r.best_metric.partition(".")
        if not subset or metric not in _VALIDATION_METRICS:
            problems.append(f"run.best_metric must be '<subset>.<metric>' with a metric among "
                            f"{_VALIDATION_METRICS} (e.g. 'visible.Precision'), not {r.best_metric!r}")
        if min(d.toy_train, d.toy_val, d.toy_test) < 0 or d.val_batch_size < 1 or d.workers < 0:
            problems.append("data.toy_train, data.toy_val, data.toy_test and data.workers must be >= 0, "
                            "data.val_batch_size >= 1")
        if d.val_limit is not None and d.val_limit < 1:
            problems.append(f"data.val_limit must be >= 1 or none, not {d.val_limit}")
        if problems:
            raise ConfigError("invalid training configuration: " + "; ".join(problems))
        return self


def _field_type(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


def _allowed(tp: Any) -> tuple[set[type], bool]:
    """(plain types accepted, whether None is accepted) of a field annotation."""
    args = typing.get_args(tp)
    members = args if args else (tp,)
    return {a for a in members if a is not type(None)}, type(None) in members


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """``value`` (typed, or command-line text) as a value of the annotation ``tp``."""
    types, nullable = _allowed(tp)
    names = " or ".join(sorted(t.__name__ for t in types)) + (" or none" if nullable else "")
    if value is None:
        if nullable:
            return None
        raise ConfigError(f"{key} cannot be none (expected {names})")
    if isinstance(value, str) and str not in types:
        text = value.strip()
        if nullable and text.lower() in _NONE:
            return None
        try:
            if bool in types:
                if text.lower() in _TRUE:
                    return True
                if text.lower() in _FALSE:
                    return False
                raise ValueError(text)
            if int in types:
                return int(text)
            if float in types:
                return float(text)
        except ValueError:
            raise ConfigError(f"{key} expects {names}, got {value!r}") from None
    if isinstance(value, str) and str in types:
        return None if nullable and value.strip().lower() in _NONE else value
    if isinstance(value, bool) and bool not in types:
        raise ConfigError(f"{key} expects {names}, got {value!r}")
    if isinstance(value, int) and not isinstance(value, bool) and float in types and int not in types:
        return float(value)
    if any(isinstance(value, t) for t in types):
        return value
    raise ConfigError(f"{key} expects {names}, got {value!r}")


def parse_assignment(text: str) -> tuple[str, str]:
    """``"optim.epochs=3"`` -> ``("optim.epochs", "3")`` (typed later by ``with_overrides``)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"expected KEY=VALUE (e.g. optim.epochs=3), got {text!r}")
    return key.strip(), value.strip()


def _from_dict(cls, data: dict[str, Any]):
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = set(data) - set(known)
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
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
    cfg.data.val_root = "data/vggss-test"
    cfg.data.val_set = "vggss"
    cfg.data.workers = 2
    cfg.run.checkpoint_every = 100
    return cfg


def _cpu_toy() -> TrainConfig:
    """The toy world: object pretraining + SLAVC training in minutes on a CPU.

    Tuned on the toy world (2,000 training pairs; ``best.pth`` chosen on its 300 validation pairs
    with the non-sounding ones; the 500 test pairs only report). What it reaches, and in how long,
    is measured by ``make run`` and ``experiments/toy_seeds.py`` and shown in the README (generated
    from ``results/``, never typed). What differs from ``paper`` and why:

    * ~60x fewer steps (372 instead of 22,000), so the momentum networks' time constant is scaled
      down with them: m = 0.99 (about 100 steps) instead of 0.999 (1,000 steps, longer than the
      whole run);
    * Adam at 5e-4 with the official cosine schedule (``--lr_schedule cos``) instead of a constant
      1e-4: a higher rate for a short run, decaying so that the last epochs do not drift away;
    * BatchNorm momentum 0.1 (PyTorch's default, as the official ResNet-18) instead of
      torchvision's MobileNetV3 value 0.01 (see :mod:`slavc_lite.training.batchnorm`);
    * batch 32. The official head width 512, image dropout 0.9 and the official loss are kept;
    * the image trunk is :class:`slavc_lite.encoders.LocalCNNFeatureMap` (``local_cnn``), pretrained
      on the toy objects, instead of ImageNet's ResNet-18: its cells see a window about two cells
      wide, so a background cell does not carry the class of an object far away (with
      MobileNetV3-small, whose cells see the whole frame, they did, and the SLAVC map hardly pointed
      at the object; ``experiments/cell_locality.py`` measures both), and each cell's window is
      centred where the official map's upsampling puts the cell (:mod:`slavc_lite.cell_grid`;
      ``experiments/peak_placement.py`` measures what that changes). The audio trunk is
      MobileNetV3-small's;
    * the object pretraining also classifies every cell of the feature grid (object class or
      background, ``run.pretrain_cells``), so that a cell next to an object but outside it learns to
      say "background" (the README's variants table measures the recipe without it).
    """
    cfg = TrainConfig(preset="cpu-toy")
    cfg.model = ModelConfig(backbone="local_cnn", image_weights=PRETRAINED_OBJECT_NET,
                            momentum_img=0.99, momentum_aud=0.99, bn_momentum=0.1)
    cfg.optim = OptimConfig(epochs=6, batch_size=32, lr=5e-4, lr_schedule="cosine")
    cfg.run = RunConfig(seed=0, amp=False, channels_last=True, checkpoint_every=50, log_every=5,
                        pretrain_epochs=2, pretrain_samples=4000, pretrain_batch_size=64, pretrain_lr=1e-3,
                        pretrain_cells=True)
    cfg.data.toy_train = 2000
    cfg.data.toy_test = 500
    cfg.data.val_set = "toy_plus_silent"
    return cfg


PRESETS = {"paper": _paper, "colab": _colab, "cpu-toy": _cpu_toy}


def preset(name: str) -> TrainConfig:
    """A fresh configuration for one of :data:`PRESETS`."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]()
