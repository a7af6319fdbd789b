"""Training throughput of each preset, data loading included, as :func:`slavc_lite.training.train` runs it.

For every preset (``cpu-toy``, ``colab``, ``paper``) the real training step of
:class:`~slavc_lite.training.trainer.Trainer` (momentum update, Eq. 1-4 loss, backward, Adam;
``channels_last`` where the preset asks for it) runs on batches read from the memory-mapped
cache by :class:`~slavc_lite.training.data.ShardedLoader` (crop, flip, normalise included).
Presets are shrunk in step count only: same backbone, head width and batch. The pairs come from
a toy world generated in a temporary folder (the throughput does not depend on what the frames
show; VGGSound's 16:9 frames only make the cached canvas wider). The image encoder starts from
random weights (the speed does not depend on them; nothing is downloaded).

* CPU: ``<preset>_samples_per_s`` per preset and ``<preset>_samples_per_cpu_s`` (pairs per second
  of this process's CPU time: on a machine shared with other jobs the wall-clock rate says more
  about the other jobs than about the code; with one thread, the CPU-time rate is what one free
  core would do), plus the ``cpu-toy`` object pretraining's
  (objects generated on the fly, as in a run) and an estimate of the ``cpu-toy`` recipe's
  pretraining + training time from both rates (``cpu_toy_recipe_estimate_s``; validation and the
  one-off toy world and cache builds excluded).
* CUDA (when available): ``paper`` and ``colab`` at batch 128 with mixed precision (the preset's
  AMP choice), ``cuda_<preset>_samples_per_s`` and ``cuda_<preset>_peak_memory_gib``
  (``torch.cuda.max_memory_allocated``).

Usage: python benchmarks/bench_train.py [--steps 3] [--big-steps 2] [--skip-big] [--device auto]
Last line: ``cpu_toy_samples_per_s: X`` (or, with CUDA, ``cuda_paper_samples_per_s: X``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, report  # noqa: E402

from slavc_lite.training import preset  # noqa: E402
from slavc_lite.training.data import RunData, ShardedLoader, load_run_data  # noqa: E402
from slavc_lite.training.distributed import DistContext  # noqa: E402
from slavc_lite.training.layout import RunLayout  # noqa: E402
from slavc_lite.training.trainer import Trainer  # noqa: E402


def shrunk(name: str, toy_root: Path, batch: int | None = None):
    """Preset ``name`` on the benchmark's toy world, random image weights, no validation."""
    overrides = {"data.train_root": None, "data.toy_root": str(toy_root), "model.image_weights": "none",
                 "run.validate_every_epoch": False, "run.pretrain_epochs": 0, "data.workers": 0}
    if batch is not None:
        overrides["optim.batch_size"] = batch
    return preset(name).with_overrides(overrides)


def samples_per_s(config, data: RunData, device: torch.device, steps: int,
                  warmup: int = 1) -> tuple[float, float]:
    """Training pairs per second of wall-clock time and per second of this process's CPU time, over
    ``steps`` timed steps (after ``warmup``), loading included."""
    trainer = Trainer(config, RunLayout(data.train_root.parent / "unused-run"), DistContext(), device,
                      resume=False, show_progress=False, callback=None)
    trainer.build_model()
    loader = ShardedLoader(data.train, trainer.batch_size, seed=0, device=device)
    batches = loader.iterate(0)
    for _ in range(warmup):
        trainer.train_step(next(batches))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(steps):
        loss = trainer.train_step(next(batches))
    float(loss)  # waits for the last step
    samples = steps * trainer.batch_size
    return samples / (time.perf_counter() - start), samples / (time.process_time() - cpu_start)


def pretrain_samples_per_s(config, device: torch.device, samples: int) -> float:
    """Object pretraining pairs/s of ``config`` (one epoch of ``samples`` objects, generation included)."""
    from slavc_lite.training.precision import precision_for
    from slavc_lite.training.pretrain import pretrain_object_net

    cfg = config.with_overrides({"run.pretrain_epochs": 1, "run.pretrain_samples": samples,
                                 "data.workers": 1})
    with tempfile.TemporaryDirectory() as tmp:
        result = pretrain_object_net(cfg, Path(tmp) / "object_net.pth", device,
                                     precision_for(device, cfg.run.amp, cfg.run.amp_dtype), progress=False)
    return samples / result.epochs[0]["train_seconds"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3, help="timed steps for cpu-toy (default 3)")
    parser.add_argument("--big-steps", type=int, default=1,
                        help="timed steps for the ResNet-18 presets at batch 64/128 on CPU (default 1)")
    parser.add_argument("--pretrain-samples", type=int, default=256)
    parser.add_argument("--skip-big", action="store_true", help="CPU: time cpu-toy only")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    cuda = torch.cuda.is_available() and args.device in ("auto", "cuda")
    report("machine", machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        toy = Path(tmp) / "toy"
        names = ["cpu-toy"] if args.skip_big else ["cpu-toy", "colab", "paper"]
        gpu_steps = max(args.steps, 5)
        needed = [preset(n).optim.batch_size * (1 + (args.steps if n == "cpu-toy" else args.big_steps))
                  for n in names] + ([128 * (2 + gpu_steps)] if cuda else [])
        base = shrunk("cpu-toy", toy).with_overrides({"data.toy_train": max(needed), "data.toy_test": 0})
        start = time.perf_counter()
        data = load_run_data(base, DistContext(), progress=False)
        report("toy_world_and_cache_s", time.perf_counter() - start)
        cpu = torch.device("cpu")
        results = {}
        for name in names:
            steps = args.steps if name == "cpu-toy" else args.big_steps
            results[name], per_cpu_s = samples_per_s(shrunk(name, toy), data, cpu, steps)
            key = name.replace("-", "_")
            report(f"{key}_batch", str(preset(name).optim.batch_size))
            report(f"{key}_samples_per_cpu_s", per_cpu_s)
            report(f"{key}_samples_per_s", results[name])
        toy_config = preset("cpu-toy")
        pre = pretrain_samples_per_s(toy_config, cpu, args.pretrain_samples)
        report("cpu_toy_pretrain_samples_per_s", pre)
        recipe = (toy_config.run.pretrain_epochs * toy_config.run.pretrain_samples / pre
                  + toy_config.optim.epochs * toy_config.data.toy_train / results["cpu-toy"])
        report("cpu_toy_recipe_estimate_s", recipe)
        if cuda:
            gpu = torch.device("cuda")
            for name in ("colab", "paper"):
                torch.cuda.reset_peak_memory_stats(gpu)
                rate, _ = samples_per_s(shrunk(name, toy, batch=128), data, gpu, gpu_steps, warmup=2)
                report(f"cuda_{name}_peak_memory_gib", torch.cuda.max_memory_allocated(gpu) / 2**30)
                results[f"cuda_{name}"] = rate
            report("cuda_colab_samples_per_s", results["cuda_colab"])
            report("cuda_paper_samples_per_s", results["cuda_paper"])
        else:
            report("cpu_toy_samples_per_s", results["cpu-toy"])


if __name__ == "__main__":
    main()
