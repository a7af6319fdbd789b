"""The training data: the toy world and caches made on demand, and the sharded loader that resumes
in the middle of an epoch with the same batches (same pairs, same crops) as an uninterrupted one."""

from __future__ import annotations

import pytest
import torch

from slavc_lite.data.cache import CachedLoader
from slavc_lite.errors import SlavcLiteError
from slavc_lite.training.data import ShardedLoader, load_run_data
from slavc_lite.training.distributed import DistContext, per_process_batch
from tests._train_worker import tiny_config


@pytest.fixture(scope="module")
def run_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy") / "world"
    return load_run_data(tiny_config(str(root)), DistContext(), progress=False)


def test_toy_world_and_caches_are_made_on_demand(run_data):
    assert len(run_data.train) == 16 and run_data.train.mode == "train"
    assert run_data.val is not None and run_data.val.mode == "test" and run_data.val_name == "toy_plus_silent"
    assert int((run_data.val.n_boxes == 0).sum()) > 0  # the extended set holds non-sounding pairs
    assert (run_data.train_root / ".cache" / "train" / "manifest.json").is_file()


def _batches(loader_iter):
    return [(b["index"].clone(), b["image"].clone()) for b in loader_iter]


def test_one_process_gives_exactly_the_cached_loader_batches(run_data):
    sharded = ShardedLoader(run_data.train, 4, seed=3)
    plain = CachedLoader(run_data.train, 4, shuffle=True, seed=3, drop_last=True)
    for epoch in (0, 1):
        plain.set_epoch(epoch)
        a, b = _batches(sharded.iterate(epoch)), _batches(iter(plain))
        assert len(a) == len(b) == 4
        for (ia, xa), (ib, xb) in zip(a, b, strict=True):
            assert torch.equal(ia, ib) and torch.equal(xa, xb)


def test_processes_split_each_global_batch(run_data):
    ranks = [ShardedLoader(run_data.train, 2, seed=5, rank=r, world_size=2) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == 4  # 16 pairs / (2 x 2)
    order = torch.randperm(16, generator=torch.Generator().manual_seed(5 * 1_000_003 + 0))
    seen = []
    for b, (x, y) in enumerate(zip(ranks[0].iterate(0), ranks[1].iterate(0), strict=True)):
        assert not set(x["index"].tolist()) & set(y["index"].tolist())
        both = sorted(x["index"].tolist() + y["index"].tolist())
        assert both == sorted(order[4 * b : 4 * b + 4].tolist())
        seen += both
    assert sorted(seen) == list(range(16))


def test_resume_mid_epoch_repeats_the_remaining_batches(run_data):
    straight = _batches(ShardedLoader(run_data.train, 4, seed=8).iterate(1))
    first = ShardedLoader(run_data.train, 4, seed=8)
    iterator = first.iterate(1)
    next(iterator)
    next(iterator)
    state = first.state()
    assert state == {**state, "epoch": 1, "position": 2} and state["generator"].dtype == torch.uint8
    again = ShardedLoader(run_data.train, 4, seed=8)
    resumed = _batches(again.iterate(1, start=2, generator_state=state["generator"]))
    for (ia, xa), (ib, xb) in zip(straight[2:], resumed, strict=True):
        assert torch.equal(ia, ib) and torch.equal(xa, xb)
    # Without the generator state the crops would differ: the state is what makes it exact.
    with pytest.raises(ValueError, match="generator state"):
        next(ShardedLoader(run_data.train, 4, seed=8).iterate(1, start=2))


def test_epochs_differ_and_augment(run_data):
    loader = ShardedLoader(run_data.train, 4, seed=0)
    a, b = _batches(loader.iterate(0)), _batches(loader.iterate(1))
    assert [x.tolist() for x, _ in a] != [x.tolist() for x, _ in b]
    assert all(img.shape == (4, 3, 224, 224) for _, img in a)


def test_batch_larger_than_the_training_set_is_a_clear_error(run_data):
    with pytest.raises(SlavcLiteError, match="fewer than one global batch"):
        next(ShardedLoader(run_data.train, 32, seed=0).iterate(0))


def test_per_process_batch_is_the_official_division():
    assert per_process_batch(128, 1) == 128
    assert per_process_batch(128, 4) == 32
    assert per_process_batch(128, 3) == 42  # int(128 / 3), as the official train.py
    with pytest.raises(ValueError):
        per_process_batch(2, 4)
