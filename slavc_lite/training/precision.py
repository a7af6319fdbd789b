"""Numeric precision of a training step: mixed precision on CUDA, float32 everywhere else.

On CUDA, ``torch.autocast`` runs the convolutions in a 16-bit type: bfloat16 where the GPU
supports it (Ampere and newer: same exponent range as float32, so no loss scaling is needed),
else float16 with a :class:`torch.amp.GradScaler` (float16's small range would flush small
gradients to zero without it). CPU and Apple MPS train in float32 (the official recipe's
precision). The parameters, the Adam state and the momentum update stay float32 in every case.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from slavc_lite.training.config import AMP_DTYPES

__all__ = ["Precision", "autocast", "choose_amp_dtype", "make_grad_scaler", "precision_for"]

_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def choose_amp_dtype(device_type: str, amp: bool, requested: str = "auto",
                     bf16_supported: bool = False) -> torch.dtype | None:
    """The autocast dtype, or ``None`` for plain float32.

    Args:
        device_type: ``"cuda"``, ``"cpu"``, ``"mps"``, ...
        amp: mixed precision asked for (``run.amp``).
        requested: ``"auto"``, ``"bfloat16"`` or ``"float16"`` (``run.amp_dtype``).
        bf16_supported: whether the GPU computes in bfloat16 (``torch.cuda.is_bf16_supported()``).

    Raises:
        ValueError: an unknown ``requested`` or bfloat16 asked for on a GPU without it.
    """
    if requested not in AMP_DTYPES:
        raise ValueError(f"amp dtype must be one of {AMP_DTYPES}, not {requested!r}")
    if not amp or device_type != "cuda":
        return None
    if requested == "auto":
        return torch.bfloat16 if bf16_supported else torch.float16
    if requested == "bfloat16" and not bf16_supported:
        raise ValueError("run.amp_dtype='bfloat16' but this GPU does not support bfloat16; use 'auto' or "
                         "'float16'")
    return _DTYPES[requested]


@dataclass(frozen=True)
class Precision:
    """How a step computes: ``dtype`` is the autocast type (``None``: float32, no autocast);
    ``grad_scaling`` is true for float16 (loss scaling against gradient underflow)."""

    device_type: str
    dtype: torch.dtype | None

    @property
    def grad_scaling(self) -> bool:
        return self.dtype == torch.float16

    @property
    def name(self) -> str:
        if self.dtype is None:
            return "float32"
        scaler = " + grad scaler" if self.grad_scaling else ""
        return f"{str(self.dtype).removeprefix('torch.')} autocast{scaler}"


def precision_for(device: torch.device, amp: bool, requested: str = "auto") -> Precision:
    """The :class:`Precision` of a run on ``device`` (queries the GPU's bfloat16 support)."""
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    return Precision(device.type, choose_amp_dtype(device.type, amp, requested, bf16))


def autocast(precision: Precision) -> contextlib.AbstractContextManager:
    """``torch.autocast`` for a mixed-precision run, a no-op context otherwise."""
    if precision.dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=precision.device_type, dtype=precision.dtype)


def make_grad_scaler(precision: Precision) -> torch.amp.GradScaler:
    """A gradient scaler, enabled only for float16 (disabled, it passes everything through)."""
    device = precision.device_type if precision.device_type in ("cuda", "cpu") else "cpu"
    return torch.amp.GradScaler(device, enabled=precision.grad_scaling)
