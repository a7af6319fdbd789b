"""Momentum (exponential moving average) copies of the encoders.

Official rule, applied each training step before the targets are computed:
``theta_m <- m * theta_m + (1 - m) * theta`` for every *parameter* (BatchNorm running
statistics are not copied: the momentum networks keep their own). With m = 0.999 the
average has a time constant of about ``1 / (1 - m) = 1000`` steps.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def make_momentum_copy(module: nn.Module) -> nn.Module:
    """A frozen copy of ``module``: same weights and buffers, no gradients."""
    clone = copy.deepcopy(module)
    for p in clone.parameters():
        p.requires_grad_(False)
    return clone


def paired_parameters(
    online: nn.Module, momentum: nn.Module
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Parameters of two modules of the same architecture, in matching order."""
    a = dict(online.named_parameters())
    b = dict(momentum.named_parameters())
    if a.keys() != b.keys():
        raise ValueError("online and momentum modules have different parameters")
    return [a[k] for k in a], [b[k] for k in a]


@torch.no_grad()
def ema_update(online: list[torch.Tensor], target: list[torch.Tensor], momentum: float) -> None:
    """``target <- momentum * target + (1 - momentum) * online``, fused over all tensors.

    ``torch._foreach_lerp_(t, o, w)`` computes ``t + w * (o - t)``; with ``w = 1 - m`` that
    is the official update, in one kernel per device instead of one per parameter.
    """
    if not online:
        return
    if momentum == 1.0:
        return
    torch._foreach_lerp_(target, [p.detach() for p in online], 1.0 - momentum)


def ema_time_constant(momentum: float) -> float:
    """Steps after which an old weight's share has decayed by 1/e: ``-1 / ln m``."""
    if not 0.0 < momentum < 1.0:
        raise ValueError("momentum must be in (0, 1)")
    return -1.0 / float(torch.log(torch.tensor(momentum, dtype=torch.float64)))
