"""The ``cpu-toy`` recipe from nothing with several seeds: key figures, spread, targets.

For each seed: the object pretraining and the SLAVC training of the ``cpu-toy`` preset with
``run.seed`` set (the toy world itself is the same for every seed, the one ``make run``
writes), then the evaluation on the toy test split (:func:`slavc_lite.evaluation.evaluate_run`,
VSL at the official extended-benchmark alpha 0.9). It prints one ``name: value`` line per key
figure and seed, the median, mean and spread over seeds, each target of
:data:`slavc_lite.evaluation.key_figures.TARGETS` with ``met: yes/no``, and the stage times;
everything also goes to ``OUT/summary.json`` (the README's seed table is generated from it,
``python -m slavc_lite.evaluation.results_page``).

``--repeat`` trains the first seed a second time into another folder and reports whether the
two ``metrics.json`` are identical (determinism on one machine). ``--reuse RUN`` takes a finished
run folder (e.g. ``runs/cpu-toy``, which ``make run`` trains with the preset's seed 0) for the seed
whose configuration it holds exactly, instead of training that seed again.

    python experiments/toy_seeds.py [--seeds 0 1 2] [--data data/toy] [--runs runs/seeds]
                                    [--out build/seeds] [--repeat] [--reuse runs/cpu-toy]
                                    [--set KEY=VALUE ... --tag NAME]

``--set`` measures a variant of the recipe the same way: each ``KEY=VALUE`` overrides one field of
the preset (``--set model.tau=0.1``, ``--set data.toy_train=6000 --set optim.epochs=4``), and
``--tag NAME`` names it; its runs and results go to ``runs/seeds-NAME`` and ``build/seeds-NAME``
unless ``--runs`` / ``--out`` say otherwise, and ``summary.json`` records the overrides. A variant
of the toy world's size needs a ``--data`` folder of its own (the world is regenerated to fit).

About 5 to 9 minutes a seed on 2 CPU cores. Finished runs are reused (delete their folder to retrain).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import configuration_changes, say, toy_world_overrides, train_unless_finished  # noqa: E402

from slavc_lite.atomic_files import atomic_write_text  # noqa: E402
from slavc_lite.data.toy import write_toy_world  # noqa: E402
from slavc_lite.evaluation import evaluate_run  # noqa: E402
from slavc_lite.evaluation.key_figures import key_figures, spread, toy_targets  # noqa: E402
from slavc_lite.evaluation.report import JSON_FILE  # noqa: E402
from slavc_lite.teaching.tutorial import TOY_FULL  # noqa: E402
from slavc_lite.training import TrainConfig, preset  # noqa: E402
from slavc_lite.training.config import ConfigError  # noqa: E402
from slavc_lite.training.layout import RunLayout  # noqa: E402

DEFAULT_DATA, DEFAULT_RUNS, DEFAULT_OUT = Path("data/toy"), Path("runs/seeds"), Path("build/seeds")


def seed_config(seed: int, data: Path, overrides: dict[str, str] | None = None) -> TrainConfig:
    """The ``cpu-toy`` preset with ``run.seed``, the toy world at ``data``, then ``overrides``
    (dotted keys, values as text: ``{"model.tau": "0.1"}``)."""
    config = preset("cpu-toy").with_overrides({"run.seed": seed, **toy_world_overrides(data)})
    return config.with_overrides(overrides) if overrides else config


def parse_overrides(assignments: list[str]) -> dict[str, str]:
    """``["model.tau=0.1", ...]`` -> ``{"model.tau": "0.1", ...}``, checked against the preset."""
    overrides = {}
    for text in assignments:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set expects KEY=VALUE, got {text!r}")
        overrides[key.strip()] = value.strip()
    preset("cpu-toy").with_overrides(overrides)  # an unknown key or a bad value fails here
    return overrides


def reusable(run: Path, config: TrainConfig) -> bool:
    """Whether ``run`` is a finished run of exactly ``config`` (the data folder compared resolved)."""
    layout = RunLayout(run)
    if not layout.is_finished():
        return False
    return not configuration_changes(TrainConfig.from_json(layout.config), config)


def run_seed(seed: int, data: Path, run_dir: Path, eval_dir: Path,
             overrides: dict[str, str] | None = None) -> dict:
    """Train (or reuse) and evaluate one seed; returns its key figures and stage times."""
    config = seed_config(seed, data, overrides)
    train_unless_finished(config, run_dir)
    summary = RunLayout(run_dir).read_summary()
    start = time.perf_counter()
    evaluate_run(run_dir, data, eval_dir, progress=False)
    eval_seconds = time.perf_counter() - start
    report = json.loads((eval_dir / JSON_FILE).read_text())
    times = {
        "pretrain_s": float((summary.get("pretrain") or {}).get("seconds", float("nan"))),
        "train_s": float(summary.get("train_seconds", float("nan"))),
        "run_wall_s": float(summary.get("wall_seconds_this_process", float("nan"))),
        "evaluate_s": round(eval_seconds, 1),
    }
    return {
        "seed": seed,
        "best_epoch": summary.get("best", {}).get("epoch"),
        "figures": key_figures(report),
        "times": times,
        "metrics_json": str(eval_dir / JSON_FILE),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--runs", type=Path, default=None,
                        help="default runs/seeds (runs/seeds-TAG with --tag)")
    parser.add_argument("--out", type=Path, default=None,
                        help="default build/seeds (build/seeds-TAG with --tag)")
    parser.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                        help="a variant of the recipe: override one field of the cpu-toy preset (repeatable)")
    parser.add_argument("--tag", default=None, help="the variant's name (required with --set)")
    parser.add_argument("--repeat", action="store_true", help="train the first seed twice and compare")
    parser.add_argument(
        "--reuse",
        type=Path,
        nargs="*",
        default=[],
        help="finished run folders to use for the seed whose exact configuration they hold",
    )
    args = parser.parse_args(argv)
    try:
        overrides = parse_overrides(args.assignments)
    except (ValueError, ConfigError) as exc:
        parser.error(str(exc))
    if overrides and not args.tag:
        parser.error("--set needs --tag NAME, the variant's name (its runs go to runs/seeds-NAME)")
    resizes_world = any(k.startswith("data.toy_") for k in overrides)
    if resizes_world and args.data.resolve() == DEFAULT_DATA.resolve():
        parser.error(f"a variant of the toy world's size needs its own --data folder ({DEFAULT_DATA} is "
                     "the world make run uses)")
    suffix = f"-{args.tag}" if args.tag else ""
    args.runs = args.runs or Path(f"{DEFAULT_RUNS}{suffix}")
    args.out = args.out or Path(f"{DEFAULT_OUT}{suffix}")

    if not resizes_world:  # a resized world is written by the training, to its own size
        write_toy_world(args.data, progress=False, verbose=False, **TOY_FULL)
    results = []
    for seed in args.seeds:
        run_dir = next(
            (r for r in args.reuse if reusable(r, seed_config(seed, args.data, overrides))),
            args.runs / f"seed-{seed}",
        )
        say(f"seed{seed}.run", run_dir)
        r = run_seed(seed, args.data, run_dir, args.out / f"seed-{seed}", overrides)
        results.append(r)
        for k, v in r["figures"].items():
            say(f"seed{seed}.{k}", f"{v:.3f}")
        for k, v in r["times"].items():
            say(f"seed{seed}.{k}", f"{v:.0f}")
    figures = sorted(results[0]["figures"])
    over_seeds = {k: spread([r["figures"][k] for r in results]) for k in figures}
    for k, s in over_seeds.items():
        say(
            k,
            f"median {s['median']:.3f}, mean {s['mean']:.3f}, std {s['std']:.3f}, "
            f"range {s['min']:.3f}-{s['max']:.3f}",
        )
    targets = toy_targets([r["figures"] for r in results])
    for t in targets:
        say(f"target {t['name']}", f"{'yes' if t['met'] else 'no'} ({t['value']:.3f} vs {t['needed']:.3f})")
    record = {"seeds": args.seeds, "tag": args.tag, "overrides": overrides, "runs": results,
              "over_seeds": over_seeds, "targets": targets}
    if args.repeat:
        seed = args.seeds[0]
        again = run_seed(seed, args.data, args.runs / f"seed-{seed}-again", args.out / f"seed-{seed}-again",
                         overrides)
        first = json.loads(Path(results[0]["metrics_json"]).read_text())
        second = json.loads(Path(again["metrics_json"]).read_text())
        first.pop("config", None)
        second.pop("config", None)
        same = first == second
        diff = max(abs(results[0]["figures"][k] - again["figures"][k]) for k in figures)
        record["repeat"] = {"seed": seed, "identical_metrics": same, "max_key_figure_difference": diff}
        say("repeat.identical_metrics", "yes" if same else "no")
        say("repeat.max_key_figure_difference", f"{diff:.6f}")
    atomic_write_text(args.out / "summary.json", json.dumps(record, indent=2) + "\n")
    say("summary", args.out / "summary.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
