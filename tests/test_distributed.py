"""Data-parallel training: ``torchrun --nproc_per_node=2`` on CPU (gloo) trains a tiny run in which
both processes hold identical parameters, buffers and momentum networks after every step."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from slavc_lite.training.data import load_run_data
from slavc_lite.training.distributed import DistContext
from slavc_lite.training.layout import RunLayout
from slavc_lite.training.metrics_log import read_metrics
from tests._train_worker import tiny_config

WORKER = Path(__file__).resolve().parent / "_train_worker.py"
TORCHRUN = Path(sys.executable).parent / "torchrun"
STEPS = 4


@pytest.mark.slow
@pytest.mark.skipif(not TORCHRUN.is_file(), reason="torchrun is not installed next to this Python")
def test_two_processes_hold_identical_parameters_after_every_step(tmp_path):
    toy, run = tmp_path / "toy", tmp_path / "run"
    load_run_data(tiny_config(str(toy)), DistContext(), progress=False)  # so both processes only train
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [str(TORCHRUN), "--standalone", "--nproc_per_node=2", str(WORKER), str(run), str(toy),
         "--set", "run.check_replicas_every=1", "--set", f"optim.max_steps={STEPS}",
         "--set", "run.checkpoint_every=0"],
        capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.count(f"DONE {STEPS}") == 2  # both processes finished the same steps

    replicas = read_metrics(run, "replicas")
    assert [r["step"] for r in replicas] == list(range(1, STEPS + 1))
    for record in replicas:
        rank0, rank1 = record["checksums"]
        assert rank0 == rank1, f"step {record['step']}: {rank0} != {rank1}"
    sums = [tuple(r["checksums"][0]) for r in replicas]
    assert len(set(sums)) == STEPS  # the parameters changed at every step

    summary = RunLayout(run).read_summary()
    assert (summary["world_size"], summary["per_process_batch"], summary["global_batch"]) == (2, 2, 4)
    assert summary["epochs_completed"] == 1 and summary["validation"]["all"]["n"] == 8
    ckpt = torch.load(RunLayout(run).latest, map_location="cpu", weights_only=True)
    assert len(ckpt["per_process"]) == 2
    assert not any(key.startswith("module.") for key in ckpt["model"])
    # Each process drew its own dropout masks and crops: their generator states differ.
    assert not torch.equal(ckpt["per_process"][0]["rng"]["torch"], ckpt["per_process"][1]["rng"]["torch"])
