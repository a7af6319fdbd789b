"""``slavc-lite data toy``: write a toy world in the official layout.

    slavc-lite data toy --out DIR [--train 2000] [--val 300] [--test 500] [--seed 0] [--workers N]
                              [--overwrite]

The lead CLI registers it under ``slavc-lite data`` with :func:`add_parser`.
"""

from __future__ import annotations

import argparse
import os
import sys

from slavc_lite.data.toy.scenes import KINDS
from slavc_lite.data.toy.world import TEST_PROPORTIONS, TRAIN_PROPORTIONS
from slavc_lite.data.toy.writer import ToyWorldSummary, write_toy_world


def _proportions(p: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.0%}" for k, v in p.items())


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``toy`` subcommand on an ``argparse`` subparsers object (``func=run``)."""
    p = subparsers.add_parser(
        "toy", help="generate the toy audio-visual world (offline stand-in for VGGSound/VGG-SS)",
        description=(
            "Generate procedural audio-visual pairs with known boxes and write them in the official "
            "layout (frames/<id>.jpg, audio/<id>.wav, id lists, toy.json boxes, *_plus_silent.csv). "
            f"Train kinds: {_proportions(TRAIN_PROPORTIONS)}. Test kinds: {_proportions(TEST_PROPORTIONS)}."))
    p.add_argument("--out", required=True, help="output folder (written atomically)")
    p.add_argument("--train", type=int, default=2000, help="number of training pairs (default 2000)")
    p.add_argument("--val", type=int, default=300,
                   help="number of validation pairs (all kinds; they pick best.pth) (default 300)")
    p.add_argument("--test", type=int, default=500,
                   help="number of test pairs, all kinds, negatives included (default 500)")
    p.add_argument("--seed", type=int, default=0, help="world seed: same seed, identical files (default 0)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: the number of CPU cores)")
    p.add_argument("--overwrite", action="store_true", help="replace a different world or folder at --out")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bar")
    p.set_defaults(func=run)


def add_videos_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``toy-videos``: the toy video world (mp4 clips with ground truth)."""
    from slavc_lite.data.toy.clips import CLIP_KINDS

    p = subparsers.add_parser(
        "toy-videos", help="generate the toy video world (clips whose objects move with their sounds)",
        description="Write 3 s, 8 fps toy clips (H.264 + AAC mp4) of every kind "
        f"({', '.join(CLIP_KINDS)}) to OUT/val and OUT/test, with clips.json ground truth.")
    p.add_argument("--out", required=True, help="output folder (written atomically)")
    p.add_argument("--per-kind", type=int, default=48, help="test clips of each kind (default 48)")
    p.add_argument("--val-per-kind", type=int, default=None,
                   help="validation clips of each kind (default: half of --per-kind)")
    p.add_argument("--seed", type=int, default=0, help="world seed (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace other files at --out")
    p.set_defaults(func=run_videos)


def run_videos(args: argparse.Namespace) -> int:
    """Write the toy video world; 1 when --out holds something else."""
    from slavc_lite.data.toy.clip_writer import write_toy_videos

    try:
        summary = write_toy_videos(os.path.expanduser(args.out), n_per_kind=args.per_kind, seed=args.seed,
                                   overwrite=args.overwrite, n_val_per_kind=args.val_per_kind)
    except (FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summary.message)
    return 0


def format_summary(summary: ToyWorldSummary) -> str:
    """Counts per split and kind, seconds and pairs/s, as printed at the end of a run."""
    lines = [summary.message or str(summary.out)]
    for split, counts in summary.counts.items():
        parts = ", ".join(f"{k} {counts[k]}" for k in KINDS if k in counts)
        lines.append(f"  {split}: {sum(counts.values())} pairs ({parts})")
    if not summary.skipped:
        lines.append(f"  {summary.seconds:.1f} s, {summary.pairs_per_s:.1f} pairs/s, "
                     f"{summary.workers} workers")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run the command; 0 on success (or when the same world is already there), 1 when the
    output folder holds something else and ``--overwrite`` was not given."""
    if args.train < 0 or args.val < 0 or args.test < 0:
        print("error: --train, --val and --test must be >= 0", file=sys.stderr)
        return 2
    try:
        summary = write_toy_world(os.path.expanduser(args.out), n_train=args.train, n_val=args.val,
                                  n_test=args.test,
                                  seed=args.seed, workers=args.workers, overwrite=args.overwrite,
                                  progress=getattr(args, "progress", True), verbose=False)
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(format_summary(summary))
    return 0
