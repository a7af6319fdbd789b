"""The video targets on several draws of the toy video world: do they hold beyond one draw?

``make run`` scores the gated maps on one toy video world (seed 0), after choosing the gate on
that world's validation clips. This script repeats the whole video stage on other draws of the
world (``write_toy_videos(seed=S)``: new clips, same kinds and sizes) with one trained model:
for each seed it writes the world, chooses the gate on its validation clips and scores its test
clips (:func:`slavc_lite.evaluation.video.evaluate_videos`), then prints the chosen gate and
every target of :func:`slavc_lite.evaluation.video.video_targets` as ``name: value`` lines with
``met: yes/no``. Everything also goes to ``OUT/summary.json``.

    python experiments/toy_video_worlds.py [--seeds 0 1 2] [--run runs/cpu-toy]
                                           [--data data] [--out build/video-worlds]

The model is the run's ``best.pth`` with its own object network (``make run`` trains
``runs/cpu-toy``). Worlds already written are reused. About 2 to 3 minutes a seed on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import say  # noqa: E402

from slavc_lite.atomic_files import atomic_write_text  # noqa: E402
from slavc_lite.data.toy.clip_writer import write_toy_videos  # noqa: E402
from slavc_lite.evaluation.video import evaluate_videos, video_targets  # noqa: E402
from slavc_lite.localize import Localizer  # noqa: E402
from slavc_lite.teaching.tutorial import TOY_VIDEOS_FULL  # noqa: E402
from slavc_lite.training.layout import RunLayout, ogl_weights_for  # noqa: E402


def world_folder(data: Path, seed: int) -> Path:
    """Where the world of ``seed`` lives: ``make run``'s own folder for seed 0."""
    return data / ("toy-videos" if seed == 0 else f"toy-videos-seed{seed}")


def run_seed(localizer: Localizer, seed: int, data: Path, out: Path) -> dict:
    """Write (or reuse) the world of ``seed``, evaluate it into ``out/seed-S``; the summary row."""
    start = time.time()
    root = world_folder(data, seed)
    write_toy_videos(root, seed=seed, **TOY_VIDEOS_FULL)
    result = evaluate_videos(localizer, root, out / f"seed-{seed}")
    one = result["tables"]["same_type_one_sounding"]
    return {
        "seed": seed, "world": str(root), "gate_weight": result["gate_weight"],
        "gate_smooth": result["gate_smooth"], "slavc_ciou": one["slavc"]["ciou"],
        "slavc_pointing": one["slavc"]["pointing"], "ceiling": one["cap"]["ciou"],
        "targets": video_targets(result), "seconds": round(time.time() - start, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--run", type=Path, default=Path("runs/cpu-toy"), help="a finished run folder")
    parser.add_argument("--data", type=Path, default=Path("data"), help="where the worlds are written")
    parser.add_argument("--out", type=Path, default=Path("build/video-worlds"))
    args = parser.parse_args(argv)
    layout = RunLayout(args.run)
    if not layout.is_finished():
        print(f"error: {args.run} is not a finished run (make run trains runs/cpu-toy)", file=sys.stderr)
        return 2
    localizer = Localizer.from_weights(checkpoint=layout.weights(), ogl_weights=ogl_weights_for(args.run))
    rows = []
    for seed in args.seeds:
        row = run_seed(localizer, seed, args.data, args.out)
        rows.append(row)
        say(f"seed {seed} gate", f"weight {row['gate_weight']:g}, smoothing {row['gate_smooth']:g} cells")
        say(f"seed {seed} SLAVC on same_type_one_sounding",
            f"cIoU {row['slavc_ciou']:.3f}, picks {row['slavc_pointing']:.2f}, ceiling {row['ceiling']:.3f}")
        for t in row["targets"]:
            say(f"seed {seed} {t['map']} {t['target']}",
                f"{t['value']:.3f} (needed {t['needed']:g}; met: {'yes' if t['met'] else 'no'})")
        say(f"seed {seed} seconds", row["seconds"])
    met = [all(t["met"] for t in row["targets"] if t["map"] == name) for row in rows
           for name in ("slavc+sync", "vsl+sync")]
    say("seeds with every target met (SLAVC with synchrony, VSL with synchrony)",
        f"{sum(met[0::2])} of {len(rows)}, {sum(met[1::2])} of {len(rows)}")
    summary = {"run": str(args.run), "seeds": rows}
    atomic_write_text(args.out / "summary.json", json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
