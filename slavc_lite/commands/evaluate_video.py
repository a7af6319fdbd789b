"""``slavc-lite evaluate-video``: SLAVC, OGL, VSL and audio-visual synchrony on the toy clips.

    slavc-lite evaluate-video --clips DIR --checkpoint C --out EVAL [--ogl-weights FILE|imagenet]
                              [--alpha 0.4] [--fps 4] [--device auto]

Reads the toy video world written by ``slavc-lite data toy-videos`` (``DIR/val``, ``DIR/test``),
chooses the synchrony gate weight on ``val`` and writes ``EVAL/metrics_video.json`` and
``EVAL/metrics_video.md`` (one table per kind; see :mod:`slavc_lite.evaluation.video`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from slavc_lite.commands._arguments import positive_number, share

NAME = "evaluate-video"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``evaluate-video`` (``func=run``)."""
    parser = subparsers.add_parser(
        NAME, help="which map finds the sounding instance in the toy video clips (synchrony included)",
        description="Score SLAVC, OGL, VSL, the audio-visual synchrony map and their gated combinations on "
        "the toy video world: cIoU, adaptive cIoU, AUC and the pointing game per kind.")
    parser.add_argument("--clips", required=True, type=Path, metavar="DIR",
                        help="the toy video world (slavc-lite data toy-videos --out DIR)")
    parser.add_argument("--checkpoint", required=True, type=Path, metavar="PATH", help="SLAVC weights")
    parser.add_argument("--ogl-weights", default=None, metavar="imagenet|FILE",
                        help="weights of the OGL object network (default: a toy run's own "
                        "pretrain/object_net.pth beside the checkpoint, else imagenet)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    parser.add_argument("--alpha", type=share("alpha"), default=0.4,
                        help="VSL weight of the SLAVC map (default 0.4)")
    parser.add_argument("--fps", type=positive_number, default=2.0,
                        help="frames per second at which the still maps are computed (default 2)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, mps (default auto)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Evaluate and print the markdown tables; returns the exit status."""
    from slavc_lite.evaluation.video import evaluate_videos, format_video_tables
    from slavc_lite.localize import Localizer
    from slavc_lite.training.layout import ogl_weights_for

    ogl = ogl_weights_for(args.checkpoint) if args.ogl_weights is None else args.ogl_weights
    localizer = Localizer.from_weights(checkpoint=args.checkpoint, ogl_weights=ogl, device=args.device)
    result = evaluate_videos(localizer, args.clips, args.out, fps=args.fps, alpha=args.alpha, progress=True)
    print(format_video_tables(result))
    print(f"wrote metrics_video.json and metrics_video.md to {args.out}")
    return 0
