"""Data-parallel training on several processes (PyTorch DDP), launched with ``torchrun``.

::

    torchrun --nproc_per_node=4 -m slavc_lite train --preset paper --out RUN        # one machine
    torchrun --nnodes=2 --node_rank=0 --master_addr=HOST --nproc_per_node=8 \\
             -m slavc_lite train --preset paper --out RUN                          # several

``torchrun`` sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``; :func:`init_distributed` reads them
and joins the process group: ``nccl`` when each process has a GPU (``cuda:LOCAL_RANK``),
``gloo`` on CPUs. Without those variables the run is a single process.

Batch semantics (official ``train.py``): ``--batch_size`` is the global batch and each process
takes ``int(batch_size / world_size)`` of it (:func:`per_process_batch`); the loss of each
process sees only its own pairs (no gathering of negatives across processes, as in the official
code), and DDP averages the gradients. The official script spawns one process per GPU of one
machine, so its world size is the number of GPUs; with torchrun over several machines we divide
by the total number of processes, which keeps the global batch at ``batch_size``.

The momentum update (``theta_m <- m theta_m + (1 - m) theta``) runs inside the model's forward
on every process, on parameters that DDP keeps identical, so the momentum networks stay
identical too; BatchNorm buffers are broadcast from rank 0 at each forward (DDP's default).
Only rank 0 writes files (checkpoints, logs) and validates; the others wait at a barrier.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

__all__ = [
    "DistContext",
    "all_gather_objects",
    "barrier",
    "broadcast_object",
    "init_distributed",
    "parameter_checksum",
    "per_process_batch",
    "shutdown_distributed",
]

#: How long a process waits for the others at a collective (rank 0 validates and pretrains alone).
TIMEOUT = datetime.timedelta(minutes=60)


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: ``rank`` of ``world_size`` processes, ``local_rank`` on its machine."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    backend: str | None = None

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def init_distributed(device: torch.device) -> tuple[DistContext, torch.device]:
    """Join the process group that ``torchrun`` describes, if any.

    Returns the context and this process's device: with several processes on a CUDA machine,
    ``cuda:LOCAL_RANK`` (made the current device). Raises ``RuntimeError`` when several processes
    would share one GPU or when MPS is asked for with several processes (no backend for it).
    """
    world_size = _env_int("WORLD_SIZE", 1)
    if world_size <= 1:
        return DistContext(), device
    rank, local_rank = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise RuntimeError(f"process {rank} has local rank {local_rank} but this machine has "
                               f"{torch.cuda.device_count()} GPUs: use --nproc_per_node <= the number of "
                               "GPUs")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    elif device.type == "cpu":
        backend = "gloo"
    else:
        raise RuntimeError(f"distributed training supports CUDA (nccl) and CPU (gloo), not {device.type}")
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, timeout=TIMEOUT)
    return DistContext(rank, local_rank, world_size, backend), device


def shutdown_distributed(ctx: DistContext) -> None:
    """Leave the process group (after a last barrier)."""
    if ctx.is_distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def per_process_batch(global_batch: int, world_size: int) -> int:
    """Each process's batch: ``int(global_batch / world_size)``, as the official ``train.py``."""
    per_process = int(global_batch / world_size)
    if per_process < 1:
        raise ValueError(f"a global batch of {global_batch} cannot be split over {world_size} processes")
    return per_process


def barrier(ctx: DistContext) -> None:
    if ctx.is_distributed:
        dist.barrier()


def all_gather_objects(obj: Any, ctx: DistContext) -> list[Any]:
    """``[object of rank 0, object of rank 1, ...]`` on every process (``[obj]`` alone)."""
    if not ctx.is_distributed:
        return [obj]
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any, ctx: DistContext, src: int = 0) -> Any:
    """Rank ``src``'s ``obj`` on every process."""
    if not ctx.is_distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


@torch.no_grad()
def parameter_checksum(module: torch.nn.Module) -> torch.Tensor:
    """float64 ``[2]``: the sum and the sum of squares of every parameter (online and momentum
    networks alike).

    Equal on two processes (to the last bit) when they hold the same parameters in the same
    order. BatchNorm buffers are left out: each process updates its running statistics with its
    own pairs during a forward, and DDP copies rank 0's to the others at the start of the next.
    """
    total = torch.zeros(2, dtype=torch.float64)
    for tensor in module.parameters():
        values = tensor.detach().to("cpu", torch.float64)
        total[0] += values.sum()
        total[1] += values.square().sum()
    return total
