"""The data of a training run: the toy world when needed, cached train and validation sets,
and the loader that shards batches over processes and resumes in the middle of an epoch.

Training pairs come from :class:`~slavc_lite.data.cache.CachedAudioVisualDataset` (decoded once,
memory-mapped, augmented a batch at a time). :class:`ShardedLoader` extends
:class:`~slavc_lite.data.cache.CachedLoader` with two things a long run needs:

* **Processes.** Epoch ``e``'s order is one permutation drawn from ``(seed, e)``, the same on
  every process; global batch ``b`` is ``order[b * G : (b + 1) * G]`` with ``G = batch * world``,
  and process ``r`` takes its ``r``-th slice (the role of the official ``DistributedSampler``).
  Incomplete last batches are dropped (official ``drop_last=True``).
* **Exact resume.** The augmentation (random crop and flip) draws from the epoch's generator;
  its state after each batch is part of :meth:`ShardedLoader.state`, so a run resumed after
  batch ``k`` gets batch ``k + 1`` with the same crops as an uninterrupted run.

With one process the batches are exactly :class:`CachedLoader`'s (``drop_last=True``). With
several, each process's crops come from its own generator, seeded from ``(seed, epoch, rank)``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from slavc_lite.data.cache import CachedAudioVisualDataset, CachedLoader
from slavc_lite.data.datasets import AudioVisualDataset, build_test_set, train_ids
from slavc_lite.errors import SlavcLiteError
from slavc_lite.training.config import TrainConfig
from slavc_lite.training.distributed import DistContext, barrier

__all__ = ["RunData", "ShardedLoader", "load_run_data", "prepare_toy_world", "toy_world_root"]

logger = logging.getLogger(__name__)

TOY_TRAIN_LIST = "toy_train.txt"


# ------------------------------------------------------------------------------------ the loader


class ShardedLoader(CachedLoader):
    """Batches of one process, sharded over ``world_size`` processes, resumable mid-epoch.

    Args:
        dataset: the cached training set (train mode).
        batch_size: this process's batch (see :func:`~slavc_lite.training.distributed.per_process_batch`).
        seed: the run's seed; epoch ``e`` uses the generator seeded as ``CachedLoader`` does.
        rank, world_size: this process and the number of processes.
        device: where batches are put.
    """

    def __init__(self, dataset: CachedAudioVisualDataset, batch_size: int, seed: int = 0, rank: int = 0,
                 world_size: int = 1, device: torch.device | str | None = None) -> None:
        super().__init__(dataset, batch_size, shuffle=True, seed=seed, drop_last=True, device=device)
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, {world_size})")
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.generator: torch.Generator | None = None
        self.position = 0

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.world_size

    def __len__(self) -> int:
        """Batches per epoch (the same on every process)."""
        return len(self.dataset) // self.global_batch

    def _epoch_start(self, epoch: int) -> tuple[torch.Tensor, torch.Generator]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        order = torch.randperm(len(self.dataset), generator=generator)
        if self.world_size > 1:
            mixed = np.random.SeedSequence([self.seed, epoch, self.rank]).generate_state(2, dtype=np.uint32)
            generator.manual_seed(int(mixed[0]) << 32 | int(mixed[1]))
        return order, generator

    def iterate(self, epoch: int, start: int = 0,
                generator_state: torch.Tensor | None = None) -> Iterator[dict]:
        """The batches of ``epoch`` from batch ``start`` on.

        ``generator_state``: the state saved by :meth:`state` after batch ``start - 1`` (needed
        when ``start > 0`` to repeat the augmentation of an uninterrupted run). After each batch,
        :attr:`position` is the number of batches of the epoch done and :attr:`generator` holds
        the state to save.
        """
        n_batches = len(self)
        if n_batches == 0:
            raise SlavcLiteError(f"the training set has {len(self.dataset)} pairs, fewer than one global "
                                 f"batch ({self.batch_size} x {self.world_size} processes): lower "
                                 "optim.batch_size")
        if not 0 <= start <= n_batches:
            raise ValueError(f"start batch {start} is outside the epoch's {n_batches} batches")
        if start > 0 and generator_state is None:
            raise ValueError("resuming in the middle of an epoch needs the saved generator state")
        order, generator = self._epoch_start(epoch)
        if generator_state is not None:
            generator.set_state(generator_state)
        self.epoch, self.generator, self.position = epoch, generator, start
        first = self.rank * self.batch_size
        for b in range(start, n_batches):
            base = b * self.global_batch + first
            positions = order[base : base + self.batch_size].numpy()
            batch = self.dataset.get_batch(positions, generator=generator, device=self.device)
            self.position = b + 1
            yield batch

    def __iter__(self) -> Iterator[dict]:
        epoch = self.epoch
        yield from self.iterate(epoch)
        self.epoch = epoch + 1

    def state(self) -> dict:
        """``{"epoch", "position", "generator"}``: where this process stands in the epoch."""
        generator = self.generator.get_state() if self.generator is not None else None
        return {"epoch": int(self.epoch), "position": int(self.position), "generator": generator}


# ------------------------------------------------------------------------------------ the sets


@dataclass
class RunData:
    """The datasets of a run: ``train`` (cached, train mode) and ``val`` (cached, test mode, or
    ``None`` when validation is off or on another process)."""

    train: CachedAudioVisualDataset
    val: CachedAudioVisualDataset | None
    train_root: Path
    val_root: Path | None
    val_name: str | None


def toy_world_root(config: TrainConfig) -> Path | None:
    """The toy world's folder when the run trains on it (``data.train_root`` unset), else ``None``."""
    return Path(config.data.toy_root).expanduser() if config.data.train_root is None else None


def prepare_toy_world(config: TrainConfig, progress: bool = True) -> Path:
    """Generate the toy world at ``data.toy_root`` if it is not there yet (atomic, deterministic)."""
    from slavc_lite.data.toy import write_toy_world

    root = Path(config.data.toy_root).expanduser()
    try:
        summary = write_toy_world(root, n_train=config.data.toy_train, n_val=config.data.toy_val,
                                  n_test=config.data.toy_test, seed=0,
                                  workers=max(1, config.data.workers), progress=progress, verbose=False)
    except FileExistsError as exc:
        raise SlavcLiteError(f"{exc} (or set data.toy_root to another folder)") from exc
    if not summary.skipped:
        logger.info("%s", summary.message)
    return root


def _cache_dir(config: TrainConfig, root: Path, name: str) -> Path:
    if config.data.cache_dir is not None:
        return Path(config.data.cache_dir).expanduser() / name
    return root / ".cache" / name


def _train_set(config: TrainConfig) -> tuple[AudioVisualDataset, Path]:
    toy = toy_world_root(config)
    if toy is not None:
        root, list_file = toy / "train", toy / "train" / TOY_TRAIN_LIST
    else:
        root = Path(config.data.train_root).expanduser()
        list_file = Path(config.data.train_list).expanduser() if config.data.train_list else None
    ids = train_ids(root, list_file)
    return AudioVisualDataset(root, ids, mode="train", audio_seconds=config.data.audio_seconds), root


def _val_set(config: TrainConfig) -> tuple[AudioVisualDataset, Path] | None:
    if not config.run.validate_every_epoch:
        return None
    toy = toy_world_root(config)
    data = config.data
    if data.val_root is not None:
        root = Path(data.val_root).expanduser()
    elif toy is not None:
        root = toy / "val"
    else:
        raise SlavcLiteError(
            "no validation set: data.train_root is set but data.val_root is not. Set data.val_root to a test "
            "folder in the official layout (with data.val_set, e.g. vggss, and data.metadata), or turn "
            "validation off with run.validate_every_epoch=false")
    metadata = data.metadata
    if metadata is None and data.val_set.startswith("toy"):
        metadata = str(root)  # the toy world keeps its lists and boxes next to its test pairs
    dataset = build_test_set(data.val_set, root, metadata, audio_seconds=data.audio_seconds)
    return dataset, root


def _cached_sets(config: TrainConfig, with_val: bool, progress: bool) -> RunData:
    train, train_root = _train_set(config)
    cached_train = CachedAudioVisualDataset.from_dataset(
        train, _cache_dir(config, train_root, "train"), workers=config.data.workers, progress=progress)
    val = _val_set(config) if with_val else None
    if val is None:
        return RunData(cached_train, None, train_root, None, None)
    val_set, val_root = val
    cached_val = CachedAudioVisualDataset.from_dataset(
        val_set, _cache_dir(config, val_root, f"val-{config.data.val_set}"), workers=config.data.workers,
        progress=progress)
    return RunData(cached_train, cached_val, train_root, val_root, val_set.name)


def load_run_data(config: TrainConfig, ctx: DistContext, progress: bool = True) -> RunData:
    """Build (rank 0) or open (other ranks) the cached train and validation sets.

    The toy world is generated first when the run trains on it. Caches are built once and
    reused while the source files and the preprocessing are unchanged (see
    :func:`slavc_lite.data.cache.build_cache`); rank 0 builds them while the others wait, then
    the others open them. Only rank 0 validates, so only it loads the validation set.
    """
    if ctx.is_main:
        if toy_world_root(config) is not None:
            prepare_toy_world(config, progress)
        data = _cached_sets(config, with_val=True, progress=progress)
    barrier(ctx)
    if not ctx.is_main:
        data = _cached_sets(config, with_val=False, progress=False)
    return data
