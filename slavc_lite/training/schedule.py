"""The learning-rate schedule: the official ``adjust_learning_rate`` (``utils.py`` of the SLAVC code).

It is called before every step with the fractional epoch ``e = epoch + i / steps_per_epoch``:

* ``constant`` (the official ``cte``, used by the published run): ``lr``;
* ``cosine`` (the official ``cos``): a linear warm-up ``lr * e / w`` for ``e < w``
  (``w = optim.warmup_epochs``), then ``lr * (1 + cos(pi * (e - w) / (E - w))) / 2`` over the
  ``E = optim.epochs`` epochs.

The rate depends on the position in training only, so a resumed run gets the same rates.
"""

from __future__ import annotations

import math

import torch

from slavc_lite.training.config import OptimConfig

__all__ = ["SCHEDULES", "learning_rate", "set_learning_rate"]

SCHEDULES = ("constant", "cosine")


def learning_rate(optim: OptimConfig, epoch: float) -> float:
    """The learning rate at fractional epoch ``epoch`` (see the module docstring)."""
    if optim.lr_schedule == "constant":
        return optim.lr
    if optim.lr_schedule != "cosine":
        raise ValueError(f"optim.lr_schedule must be one of {SCHEDULES}, not {optim.lr_schedule!r}")
    warmup = optim.warmup_epochs
    if epoch < warmup:
        return optim.lr * epoch / warmup
    return optim.lr * 0.5 * (1.0 + math.cos(math.pi * (epoch - warmup) / (optim.epochs - warmup)))


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set every parameter group's rate to ``lr`` times the group's ``lr_scale`` (default 1)."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)
