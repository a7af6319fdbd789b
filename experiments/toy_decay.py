"""Do momentum encoders and heavy image dropout stop the validation decay? Controlled toy runs.

The paper's claim (Mo & Morgado, 2022): without momentum encoders and image dropout (EZ-VSL)
validation scores peak early and decay; with them they hold. This script trains the ``cpu-toy``
recipe for ``--epochs`` epochs (twice its usual length: a setting where a run can overfit) under
controlled changes, one at a time, from the same object network and the same seed:

* ``SLAVC``: the recipe as it is (image dropout 0.9, momentum 0.99, cosine schedule);
* ``no momentum``: m = 0 (the targets are the online networks' own features);
* ``no dropout``: image dropout 0;
* ``neither (EZ-VSL-like)``: both removed;
* ``constant lr``: the recipe with a constant learning rate instead of the cosine schedule;
* ``frozen image trunk``: the online image trunk does not train (``optim.image_trunk_lr_scale=0``);
* ``no same-class negatives``: the pairs of a batch whose clips share a heard class are left out
  of the loss's negatives (``optim.same_class_negatives=false``, the toy world's labels): with ten
  sounding classes a batch of 32 holds several clips of each class, which the contrastive loss
  otherwise pushes apart although they sound alike.

Every run starts from the object network of one pretraining (``--object-net``, default the
``make run`` model's ``runs/cpu-toy/pretrain/object_net.pth``), so only the change differs. It
prints one ``name: value`` line per run and figure: the best validation cIoU and AP (on the
toy world's validation split) and their epoch, the last epoch's, and the drop from best to last,
and writes every run's validation curve to ``OUT/decay.json`` (chapter 05 draws it).

    python experiments/toy_decay.py [--epochs 12] [--runs runs/decay] [--out build/decay]
                                    [--only "SLAVC" "no momentum" ...]

About 7 minutes a run on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import say, toy_world_overrides, train_unless_finished  # noqa: E402

from slavc_lite.atomic_files import atomic_write_text  # noqa: E402
from slavc_lite.training import preset  # noqa: E402
from slavc_lite.training.layout import RunLayout  # noqa: E402
from slavc_lite.training.metrics_log import read_metrics  # noqa: E402

CONDITIONS: dict[str, dict[str, object]] = {
    "SLAVC": {},
    "no momentum": {"model.momentum_img": 0.0, "model.momentum_aud": 0.0},
    "no dropout": {"model.dropout_img": 0.0},
    "neither (EZ-VSL-like)": {"model.dropout_img": 0.0, "model.momentum_img": 0.0, "model.momentum_aud": 0.0},
    "constant lr": {"optim.lr_schedule": "constant"},
    "frozen image trunk": {"optim.image_trunk_lr_scale": 0.0},
    "no same-class negatives": {"optim.same_class_negatives": False},
}


def curve(run: Path) -> list[dict]:
    """``[{"epoch", "cIoU", "AP"}]`` of a run's validations (the ``all`` subset)."""
    return [{"epoch": r["epoch"], "cIoU": r["table"]["all"]["cIoU"], "AP": r["table"]["all"]["AP"]}
            for r in read_metrics(run, "validation")]


def summarize(points: list[dict]) -> dict[str, float]:
    """Best and last validation cIoU and AP, the best epochs, and the drops from best to last."""
    trained = [p for p in points if p["epoch"] > 0] or points
    out: dict[str, float] = {}
    for metric in ("cIoU", "AP"):
        best = max(trained, key=lambda p: p[metric])
        out[f"best_{metric}"] = best[metric]
        out[f"best_{metric}_epoch"] = best["epoch"]
        out[f"last_{metric}"] = trained[-1][metric]
        out[f"drop_{metric}"] = best[metric] - trained[-1][metric]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--data", type=Path, default=Path("data/toy"))
    parser.add_argument("--object-net", type=Path, default=Path("runs/cpu-toy/pretrain/object_net.pth"))
    parser.add_argument("--runs", type=Path, default=Path("runs/decay"))
    parser.add_argument("--out", type=Path, default=Path("build/decay"))
    parser.add_argument("--only", nargs="*", default=None, help="run only these conditions")
    args = parser.parse_args(argv)
    if not args.object_net.is_file():
        print(f"error: {args.object_net} not found: run `make run` first (it pretrains the object network), "
              "or pass --object-net", file=sys.stderr)
        return 1
    chosen = args.only or list(CONDITIONS)
    unknown = [c for c in chosen if c not in CONDITIONS]
    if unknown:
        print(f"error: unknown conditions {unknown}; known: {list(CONDITIONS)}", file=sys.stderr)
        return 2
    record: dict[str, dict] = {"epochs": args.epochs, "backbone": preset("cpu-toy").model.backbone,
                               "object_net": str(args.object_net), "runs": {}}
    for name in chosen:
        run = args.runs / name.split(" (")[0].replace(" ", "-")
        overrides = {**toy_world_overrides(args.data), "optim.epochs": args.epochs, "run.pretrain_epochs": 0,
                     "model.image_weights": str(args.object_net.resolve()), **CONDITIONS[name]}
        train_unless_finished(preset("cpu-toy").with_overrides(overrides), run)
        points = curve(run)
        summary = summarize(points)
        # The run's own training time (also right when a finished run is reused).
        train_seconds = RunLayout(run).read_summary()["train_seconds"]
        record["runs"][name] = {"overrides": CONDITIONS[name], "curve": points, **summary,
                                "train_seconds": train_seconds}
        for key, value in summary.items():
            say(f"{name}.{key}", f"{value:.3f}" if isinstance(value, float) else value)
    atomic_write_text(args.out / "decay.json", json.dumps(record, indent=2) + "\n")
    say("decay", args.out / "decay.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
