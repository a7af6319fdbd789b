"""``slavc-lite train``: train SLAVC, from the toy world on a CPU to VGGSound on GPUs.

    slavc-lite train [--preset cpu-toy|colab|paper] --out RUN [--resume] [--set KEY=VALUE ...]
                     [--device auto|cpu|cuda|mps] [--no-progress] [--tensorboard]

Without ``--preset`` a new run uses ``cpu-toy`` (the embedded default: generates the toy world,
pretrains the object network, trains, validates; minutes on a CPU) and ``--resume`` uses the
configuration saved in ``RUN``. ``--set`` changes single fields (``--set optim.epochs=1 --set
model.dropout_img=0``). Several GPUs or machines: ``torchrun --nproc_per_node=N -m slavc_lite train ...``.

Exit status: 0 when the run finished; 2 for a bad command line, a bad configuration or a run
folder that may not be used (one message, no traceback; see :mod:`slavc_lite.cli`).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from slavc_lite.training.config import PRESETS

NAME = "train"
DEFAULT_PRESET = "cpu-toy"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``train`` on an argparse subparsers object (``func=run``)."""
    parser = subparsers.add_parser(
        NAME,
        help="train SLAVC (toy world on a CPU by default; VGGSound on GPUs with --preset paper)",
        description="Train SLAVC into the run folder --out: config.json, latest.pth (every "
        "run.checkpoint_every steps and each epoch end, atomic, exactly resumable), best.pth (best "
        "validation score), metrics.jsonl, summary.json. Presets: paper (the published recipe), colab "
        "(one GPU, a VGGSound subset), cpu-toy (the toy world on a CPU, the default for a new run).",
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default=None,
                        help=f"configuration to start from (new runs: default {DEFAULT_PRESET}; with "
                        "--resume: the run's saved configuration)")
    parser.add_argument("--out", required=True, type=Path, metavar="RUN",
                        help="run folder (new or empty for a new run; any location, e.g. a mounted Drive)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in RUN from its latest.pth, exactly where it stopped")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="change one configuration field, e.g. --set optim.epochs=2 --set "
                        "model.loss=paper (repeatable; 'none' for an empty value)")
    parser.add_argument("--device", default=None,
                        help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps (default: run.device)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bars")
    parser.add_argument("--tensorboard", action="store_true",
                        help="also write TensorBoard event files to RUN/tensorboard (needs the tensorboard "
                        "package)")
    parser.set_defaults(func=run)
    return parser


def build_config(args: argparse.Namespace):
    """The configuration the command line asks for (``None``: resume with the saved one as is)."""
    from slavc_lite.training.config import TrainConfig, parse_assignment, preset
    from slavc_lite.training.layout import RunLayout

    overrides = dict(parse_assignment(text) for text in args.overrides)
    if args.tensorboard:
        overrides["run.tensorboard"] = True
    if args.preset is not None:
        base = preset(args.preset)
    elif args.resume:
        if not overrides:
            return None
        saved = RunLayout(args.out.expanduser()).config
        if not saved.is_file():
            return None  # train() reports what is missing
        base = TrainConfig.from_json(saved)
    else:
        base = preset(DEFAULT_PRESET)
    return base.with_overrides(overrides) if overrides else base


def _printer(enabled: bool):
    """A callback that prints one line per pretraining epoch and validation (when no progress bars
    are shown: with them, the trainer writes the same lines between the bars)."""
    from slavc_lite.training.metrics_log import describe_event

    def show(event: dict) -> None:
        line = describe_event(event) if enabled else None
        if line is not None:
            print(line, flush=True)

    return show


def run(args: argparse.Namespace) -> int:
    from slavc_lite.training.trainer import train

    config = build_config(args)
    out = args.out.expanduser()
    summary = train(config, out, resume=args.resume, progress=args.progress,
                    callback=_printer(not args.progress), device=args.device)
    if summary.get("world_size", 1) > 1 and not _is_main():
        return 0
    best = summary.get("best") or {}
    line = (f"finished: {summary['steps']} steps, {summary['epochs_completed']} epochs, "
            f"{summary['train_seconds']:.0f} s training ({summary['stopped_by']})")
    if best:
        line += f"; best {best['metric']} {best['score']:.4f} (epoch {best['epoch']})"
    print(line)
    print(f"run folder: {out}  (summary.json, latest.pth{', best.pth' if best else ''}, metrics.jsonl)")
    return 0


def _is_main() -> bool:
    return os.environ.get("RANK", "0") in ("", "0")

