"""Exact resume: a run killed with SIGKILL in the middle of an epoch and resumed ends with the same
weights (online and momentum networks, BatchNorm buffers), optimizer state and metrics log as a run
that was never interrupted. Each run is a separate process (tests/_train_worker.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from slavc_lite.training.metrics_log import read_metrics

WORKER = Path(__file__).resolve().parent / "_train_worker.py"
TIMEOUT = 240


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _start_worker(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKER), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env())


def _finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err[-3000:]
    return out


def _run_and_kill(run: Path, toy: Path, step: int) -> None:
    """Start a run, wait until it has logged ``step``, then SIGKILL it (no clean-up can run)."""
    proc = _start_worker(str(run), str(toy), "--pause-at-step", str(step))
    try:
        for line in proc.stdout:
            if line.startswith("PAUSED"):
                break
        else:
            raise AssertionError(f"the run ended without pausing: {proc.stderr.read()[-3000:]}")
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()


@pytest.fixture(scope="module")
def toy_world(tmp_path_factory) -> Path:
    """The 16 + 8 pair toy world and its caches, built once (so that the runs only train)."""
    from slavc_lite.training.data import load_run_data
    from slavc_lite.training.distributed import DistContext
    from tests._train_worker import tiny_config

    root = tmp_path_factory.mktemp("toy") / "world"
    load_run_data(tiny_config(str(root)), DistContext(), progress=False)
    return root


def _load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def _assert_same_tensors(a, b, where: str) -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same_tensors(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same_tensors(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run(tmp_path, toy_world):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    uninterrupted = _start_worker(str(straight), str(toy_world))  # runs alongside the killed one

    # 4 steps per epoch, checkpoints every 2 steps: killed at step 7, the newest checkpoint is
    # the one of step 6, in the middle of the second epoch (after a validation and best.pth).
    _run_and_kill(killed, toy_world, step=7)
    assert "DONE 8" in _finish(uninterrupted)
    interrupted = _load(killed / "latest.pth")
    assert interrupted["progress"]["step"] == 6 and interrupted["progress"]["position"] == 2
    assert interrupted["epoch"] == 1
    assert not (killed / "summary.json").exists()
    assert not list(killed.glob(".*.tmp")), "a temporary file was left behind"

    assert "DONE 8" in _finish(_start_worker(str(killed), str(toy_world), "--resume"))

    a, b = _load(straight / "latest.pth"), _load(killed / "latest.pth")
    assert a["model"].keys() == b["model"].keys()
    assert any(k.startswith("momentum_") for k in a["model"])
    assert any("running_mean" in k for k in a["model"])
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), f"model[{key!r}] differs"
    _assert_same_tensors(a["optimizer"], b["optimizer"], "optimizer")
    assert a["progress"]["step"] == b["progress"]["step"] == 8
    assert a["epoch"] == b["epoch"] == 2

    # The weights really moved, and the momentum networks differ from the online ones (m = 0.99).
    first = _load(killed / "best.pth") if (killed / "best.pth").exists() else None
    assert first is not None
    assert not torch.equal(a["model"]["img_proj1.weight"], a["model"]["momentum_img_proj1.weight"])

    # The resumed log reads as one run: every step once, in order, the same losses.
    steps_a = [(r["step"], r["loss"]) for r in read_metrics(straight, "step")]
    steps_b = [(r["step"], r["loss"]) for r in read_metrics(killed, "step")]
    assert [s for s, _ in steps_b] == list(range(1, 9))
    assert steps_a == steps_b


def test_resume_without_checkpoint_is_refused(tmp_path, toy_world):
    from slavc_lite.errors import CheckpointError
    from slavc_lite.training import train

    with pytest.raises(CheckpointError, match="nothing to resume"):
        train(None, tmp_path / "empty", resume=True, progress=False)
