"""The training engine: configurations and presets, the resumable training loop, distributed
data parallelism, and the toy-world object pretraining that stands in for ImageNet offline.

::

    from slavc_lite.training import train, preset
    summary = train(preset("cpu-toy"), "runs/cpu-toy")                 # from nothing, on a CPU
    summary = train(None, "runs/cpu-toy", resume=True)                 # continue exactly
    cfg = preset("cpu-toy").with_overrides({"model.dropout_img": 0, "model.momentum_img": 0,
                                             "model.momentum_aud": 0})  # the EZ-VSL-like ablation

Modules, one concept each: ``config`` (dataclasses, presets, overrides), ``layout`` (the files
of a run), ``run_folder`` (new or resumed run, what is refused), ``trainer`` (:func:`train`),
``state`` (what a checkpoint holds for an exact resume), ``rng`` (generator states), ``data``
(cached sets, the sharded resumable loader), ``pretrain`` (object pretraining), ``validation``
(scores and ``best.pth``), ``precision`` (AMP), ``distributed`` (DDP), ``metrics_log``
(``metrics.jsonl``, TensorBoard), ``files`` (atomic writes).

Importing this package is light (no torch); the names below load their module on first use.
"""

from __future__ import annotations

from slavc_lite.training.config import PRESETS, ConfigError, TrainConfig, preset

__all__ = ["ConfigError", "PRESETS", "RunLayout", "TrainConfig", "Trainer", "preset", "read_metrics", "train"]


def __getattr__(name: str):
    if name in ("train", "Trainer"):
        from slavc_lite.training import trainer

        return getattr(trainer, name)
    if name == "RunLayout":
        from slavc_lite.training.layout import RunLayout

        return RunLayout
    if name == "read_metrics":
        from slavc_lite.training.metrics_log import read_metrics

        return read_metrics
    raise AttributeError(f"module 'slavc_lite.training' has no attribute {name!r}")
