"""A tiny training run in its own process, for the resume and distributed tests.

    python tests/_train_worker.py RUN TOY_ROOT [--resume] [--pause-at-step K] [--set KEY=VALUE ...]

Trains the ``cpu-toy`` preset shrunk to a 16-pair toy world (batch 4, dim 16, 2 epochs, no object
pretraining) into ``RUN``. With ``--pause-at-step K`` it prints ``PAUSED <step>`` when step ``K``
has been logged and then sleeps, so that the test can kill it with SIGKILL at a known point
(after the checkpoint of step ``K - 1``, in the middle of an epoch).
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

TINY = {
    "data.toy_train": 16, "data.toy_val": 8, "data.toy_test": 8, "data.workers": 0, "data.val_batch_size": 8,
    "optim.batch_size": 4, "optim.epochs": 2, "model.dim": 16, "model.image_weights": "none",
    "run.pretrain_epochs": 0, "run.validate_at_start": False, "run.checkpoint_every": 2, "run.log_every": 1,
}


def tiny_config(toy_root: str, extra: dict | None = None):
    from slavc_lite.training import preset

    return preset("cpu-toy").with_overrides({**TINY, "data.toy_root": toy_root, **(extra or {})})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("run")
    parser.add_argument("toy_root")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--pause-at-step", type=int, default=None)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # the same arithmetic in every process: bit-exact comparisons

    from slavc_lite.training import train
    from slavc_lite.training.config import parse_assignment

    def pause(event: dict) -> None:
        if event["event"] == "step" and event["step"] == args.pause_at_step:
            print(f"PAUSED {event['step']}", flush=True)
            time.sleep(600)

    extra = dict(parse_assignment(t) for t in args.overrides)
    config = None if args.resume else tiny_config(args.toy_root, extra)
    summary = train(config, args.run, resume=args.resume, progress=False,
                    callback=pause if args.pause_at_step else None, device="cpu")
    print(f"DONE {summary['steps']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
