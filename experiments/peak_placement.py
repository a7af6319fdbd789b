"""Where the SLAVC map's maximum lands, for the recipe's seeds: the grid against the official map.

For each seed's run of ``experiments/toy_seeds.py`` (``RUNS/seed-N``, its ``best.pth``), on the
toy test split's ``single`` scenes, split as in the hard-case tables into ``single+silent`` (a
silent object in the frame) and ``single alone``:
:func:`slavc_lite.evaluation.peak_placement.map_peak_placement` plays the pointing game with the
maximum of the official test map (bicubic, ``align_corners=True``: the number the seed table
reports), with the best 7 x 7 cell at its node (where the official map puts it) and with the
best cell at the centre of the window it sees. It prints one ``name: value`` line per figure and
writes them, with the median over seeds, to ``OUT/summary.json`` (the README's table is generated
from it, ``python -m slavc_lite.evaluation.results_page``).

    python experiments/peak_placement.py [--runs runs/seeds] [--seeds 0 1 2] [--data data/toy]
                                         [--out build/peak-placement]

A few seconds a seed on 2 CPU cores (the runs must exist: ``experiments/toy_seeds.py`` trains them).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import say  # noqa: E402

from slavc_lite.atomic_files import atomic_write_text  # noqa: E402
from slavc_lite.checkpoints import load_model  # noqa: E402
from slavc_lite.data.datasets import build_test_set, collate  # noqa: E402
from slavc_lite.evaluation.hard_cases import SINGLE_GROUPS, single_scene_groups  # noqa: E402
from slavc_lite.evaluation.peak_placement import PLACEMENTS, map_peak_placement  # noqa: E402
from slavc_lite.evaluation.testsets import read_toy_scenes  # noqa: E402
from slavc_lite.training.layout import RunLayout  # noqa: E402


def single_scene_batches(data: Path) -> dict[str, dict]:
    """``{group: collated batch}`` of the toy test split's ``single`` scenes, by hard-case group."""
    test = data / "test"
    test_set = build_test_set("toy", test, metadata=test)
    scenes = read_toy_scenes(test / "scenes.csv")
    groups = single_scene_groups(scenes.kinds, scenes.visible_classes, scenes.audio_classes)
    return {group: collate([test_set[i] for i, sample_id in enumerate(test_set.ids)
                            if groups.get(sample_id) == group]) for group in SINGLE_GROUPS}


def placement_of_run(run: Path, batches: dict[str, dict]) -> dict[str, dict]:
    """``{group: {placement: share, ..., "pairs": n}}`` for one run folder's ``best.pth``."""
    model, _ = load_model(RunLayout(run).weights(), map_location="cpu")
    return {group: {**map_peak_placement(model.eval(), batch), "pairs": len(batch["gt_map"])}
            for group, batch in batches.items()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("runs/seeds"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data", type=Path, default=Path("data/toy"))
    parser.add_argument("--out", type=Path, default=Path("build/peak-placement"))
    args = parser.parse_args(argv)
    seeds, batches = {}, None
    for seed in args.seeds:
        run = args.runs / f"seed-{seed}"
        if not RunLayout(run).is_finished():
            parser.error(f"{run} holds no finished run: train it with experiments/toy_seeds.py")
        batches = batches or single_scene_batches(args.data)  # the same test pairs for every seed
        seeds[str(seed)] = placement_of_run(run, batches)
        for group, row in seeds[str(seed)].items():
            for name, value in row.items():
                say(f"seed{seed}.{group}.{name}", round(value, 3) if isinstance(value, float) else value)
    median = {group: {name: statistics.median(s[group][name] for s in seeds.values()) for name in PLACEMENTS}
              for group in SINGLE_GROUPS}
    for group, row in median.items():
        for name, value in row.items():
            say(f"median.{group}.{name}", round(value, 3))
    summary = {"runs": args.runs.as_posix(), "seeds": seeds, "median": median}
    atomic_write_text(args.out / "summary.json", json.dumps(summary, indent=1) + "\n")
    say("summary", args.out / "summary.json")
    return summary


if __name__ == "__main__":
    main()
