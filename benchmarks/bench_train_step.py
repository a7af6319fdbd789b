"""Training samples/s of one SLAVC step (forward of online + momentum nets, loss, backward,
Adam step), for ResNet-18 and MobileNetV3-small, data already in memory.

The official implementation updates the momentum networks with a Python loop over
parameters (``param_m.data = param_m.data * m + param.data * (1 - m)``); ours uses one fused
``torch._foreach_lerp_``. Both are timed side by side in this run, the loop variant as
``*_loop_ema`` lines, so the ratio is measured on the same machine at the same moment.

Usage: python benchmarks/bench_train_step.py [--batch 16] [--steps 5] [--device auto]
Last line: ``resnet18_samples_per_s: X``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, report, time_calls  # noqa: E402

from slavc_lite import SLAVC  # noqa: E402


def loop_ema(model: SLAVC) -> None:
    """The official per-parameter momentum update, for comparison."""
    with torch.no_grad():
        for online, target, m in model.momentum_parameter_groups():
            for p, q in zip(online, target, strict=True):
                q.data = q.data * m + p.data * (1.0 - m)


def make_step(model: SLAVC, images, specs, optimizer, loop: bool):
    if loop:
        model.update_momentum = lambda: loop_ema(model)  # type: ignore[method-assign]

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = model.training_loss(images, specs)
        loss.backward()
        optimizer.step()

    return step


def bench(backbone: str, batch: int, steps: int, device: torch.device, loop: bool) -> float:
    torch.manual_seed(0)
    model = SLAVC(backbone=backbone).to(device).train()
    images = torch.randn(batch, 3, 224, 224, device=device)
    specs = torch.randn(batch, 1, 257, 200, device=device)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    times = time_calls(make_step(model, images, specs, optimizer, loop), steps, 1, device)
    return batch / (sum(times) / len(times))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" \
        else torch.device(args.device)
    report("machine", machine_line())
    report("batch", str(args.batch))
    results = {}
    for backbone in ("mobilenet_v3_small", "resnet18"):
        loop = bench(backbone, args.batch, args.steps, device, loop=True)
        fused = bench(backbone, args.batch, args.steps, device, loop=False)
        report(f"{backbone}_loop_ema_samples_per_s", loop)
        report(f"{backbone}_fused_over_loop_ema", fused / loop)
        results[backbone] = fused
    report("mobilenet_over_resnet18", results["mobilenet_v3_small"] / results["resnet18"])
    report("mobilenet_v3_small_samples_per_s", results["mobilenet_v3_small"])
    report("resnet18_samples_per_s", results["resnet18"])


if __name__ == "__main__":
    main()
