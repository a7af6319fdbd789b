"""The toy video evaluation on more clips than ``make run`` uses: does synchrony find the heard instance?

``make run`` evaluates 16 test and 8 validation clips of each kind (a few minutes on 2 CPU
cores); a share measured on 16 clips moves by about 6 points per clip. This script writes a
larger toy video world (``--per-kind`` test and ``--val-per-kind`` validation clips of every
kind, another folder than ``make run``'s) and runs the same evaluation
(:func:`slavc_lite.evaluation.video.evaluate_videos`: the gate weight chosen on the validation
clips, the tables on the test clips) with the ``make run`` model. It prints the tables and the
computed verdicts and writes ``OUT/metrics_video.json`` and ``metrics_video.md``;
``python -m slavc_lite.evaluation.results_page`` copies the JSON into ``results/toy_video.json``
for the README.

    python experiments/toy_video.py [--per-kind 48] [--val-per-kind 24] [--run runs/cpu-toy]
                                    [--clips data/toy-videos-48] [--out build/video]

About 15 minutes on 2 CPU cores with the defaults.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from slavc_lite.data.toy.clip_writer import write_toy_videos
from slavc_lite.evaluation.video import evaluate_videos, format_video_tables, video_findings
from slavc_lite.localize import Localizer
from slavc_lite.training.layout import RunLayout, ogl_weights_for


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-kind", type=int, default=48, help="test clips of each kind (default 48)")
    parser.add_argument("--val-per-kind", type=int, default=24,
                        help="validation clips of each kind (default 24)")
    parser.add_argument("--run", type=Path, default=Path("runs/cpu-toy"), help="the trained toy run")
    parser.add_argument("--clips", type=Path, default=None,
                        help="where the clips go (default data/toy-videos-<per-kind>)")
    parser.add_argument("--out", type=Path, default=Path("build/video"), help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="world seed (default 0)")
    args = parser.parse_args(argv)
    clips = args.clips or Path("data") / f"toy-videos-{args.per_kind}"
    start = time.perf_counter()
    summary = write_toy_videos(clips, n_per_kind=args.per_kind, n_val_per_kind=args.val_per_kind,
                               seed=args.seed)
    print(f"clips: {summary.message} ({time.perf_counter() - start:.0f} s)", flush=True)
    localizer = Localizer.from_weights(checkpoint=RunLayout(args.run).weights(),
                                       ogl_weights=ogl_weights_for(args.run))
    result = evaluate_videos(localizer, clips, args.out, progress=True)
    print(format_video_tables(result))
    for line in video_findings(result):
        print(f"- {line}")
    print(f"seconds: {time.perf_counter() - start:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
