"""``slavc-lite evaluate``: the official metrics of a checkpoint on a test set, and more.

    slavc-lite evaluate --checkpoint C --data DIR --testset NAME --out EVAL [--metadata FOLDER]
                        [--alpha 0.9] [--ogl-weights imagenet|FILE] [--visualize N]
                        [--device auto] [--limit N] [--batch-size 32]
                        [--negative-audio | --no-negative-audio]

Computes the SLAVC, OGL and VSL maps and the baselines (centre prior, random map, oracle, the
oracle on the 7 x 7 grid) over a test set and writes ``EVAL/metrics.json`` and
``EVAL/metrics.md`` (the official table per map and size subset; the hard-case table on the toy
world; with ``--negative-audio``, the default, the negative-audio tables of Juanola, Haro and
Fuentes (2024) for SLAVC alone and with OGL at alpha 0.4 and 0.9, and our extra views),
``EVAL/samples.csv`` (per-sample numbers), ``EVAL/negative_audio.png`` and, with
``--visualize N``, ``EVAL/figures/`` (input | SLAVC | OGL | VSL with the ground-truth boxes).
See :func:`slavc_lite.evaluation.pipeline.evaluate`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from slavc_lite.commands._arguments import count, positive_int, share

NAME = "evaluate"
TEST_SET_NAMES = ("vggss", "vggss_plus_silent", "flickr", "flickr_plus_silent", "vggss_heard",
                  "vggss_unheard", "toy", "toy_plus_silent")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``evaluate`` on an argparse subparsers object (``func=run``)."""
    parser = subparsers.add_parser(
        NAME,
        help="official metrics (cIoU, AUC, AP, max-F1, Precision) of a checkpoint on a test set",
        description="Evaluate a SLAVC checkpoint on a test set: SLAVC, OGL and VSL maps plus baselines "
        "(centre prior, random map, ground-truth oracle and its 7 x 7 version), the official metrics per "
        "size subset, the hard-case table (toy world) and the negative-audio analysis (silence, noise, "
        "off-screen sound). Writes metrics.json, metrics.md, samples.csv and figures to --out.",
    )
    parser.add_argument("--checkpoint", required=True, type=Path, metavar="C",
                        help="a checkpoint file (slavc-lite or official format, a zip/tar holding one) or a "
                        "training run folder (its best.pth, else latest.pth)")
    parser.add_argument("--data", required=True, type=Path, metavar="DIR",
                        help="dataset folder with frames/ and audio/; for the toy test sets the toy world's "
                        "root (its test/ folder holds the frames, audio and metadata)")
    parser.add_argument("--testset", required=True, choices=TEST_SET_NAMES, metavar="NAME",
                        help=f"one of {', '.join(TEST_SET_NAMES)}")
    parser.add_argument("--metadata", type=Path, metavar="FOLDER", default=None,
                        help="folder with the official metadata files (vggss.json, *_test.csv, "
                        "*_plus_silent.csv); default: downloaded once and cached. Not needed for toy sets")
    parser.add_argument("--out", required=True, type=Path, metavar="EVAL", help="output folder")
    parser.add_argument("--alpha", type=share("alpha"), default=0.9,
                        help="VSL weight of the SLAVC map, VSL = alpha * SLAVC + (1 - alpha) * OGL (default "
                        "0.9, the official extended-benchmark script's; the IPOL demo uses 0.4)")
    parser.add_argument("--ogl-weights", metavar="imagenet|FILE", default="auto",
                        help="weights of the OGL object network: 'imagenet' (torchvision's) or a state-dict "
                        "file; default: a toy run's own pretrain/object_net.pth, else ImageNet")
    parser.add_argument("--visualize", type=count, default=0, metavar="N",
                        help="save figures of the first N samples (input | SLAVC | OGL | VSL with the "
                        "ground-truth boxes) to EVAL/figures/")
    parser.add_argument("--device", default="auto",
                        help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps (default auto)")
    parser.add_argument("--limit", type=positive_int, default=None, metavar="N",
                        help="evaluate the first N samples only (a quick check; not the official numbers)")
    parser.add_argument("--batch-size", type=positive_int, default=32, metavar="B",
                        help="samples per forward pass (default 32)")
    parser.add_argument("--workers", type=count, default=0, metavar="N",
                        help="data-loading processes (default 0: in this process)")
    parser.add_argument("--negative-audio", dest="negative_audio", action=argparse.BooleanOptionalAction,
                        default=True,
                        help="score every sounding image again with silence, noise and off-screen audio and "
                        "write the paper's negative-audio tables (cIoU and AUC at 0.5 and at the universal "
                        "thresholds max, max10, maxq3, adaptive cIoU, pIA, AUC_pIA, map IoU, F-score; SLAVC "
                        "alone and with OGL at alpha 0.4 and 0.9) beside our extra views (default: on; "
                        "--no-negative-audio skips these passes over the sounding images)")
    parser.add_argument("--paper-negative-inputs", choices=("ours", "reference"), default="ours",
                        help="how the paper's tables build silence and noise: 'ours' (through the official "
                        "audio front end, as our extra views; default) or 'reference' (as the paper's data "
                        "loader: their spectrograms not logged, so silence is an all-zero input)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Evaluate and write the report; returns the exit status."""
    from slavc_lite.evaluation.pipeline import evaluate
    from slavc_lite.evaluation.report import JSON_FILE, MARKDOWN_FILE

    ogl_weights = args.ogl_weights
    if ogl_weights not in ("auto", "imagenet"):
        ogl_weights = Path(ogl_weights)
    result = evaluate(args.checkpoint, args.data, args.testset, metadata=args.metadata, alpha=args.alpha,
                      ogl_weights=ogl_weights, negative_audio=args.negative_audio,
                      paper_inputs=args.paper_negative_inputs, batch_size=args.batch_size,
                      device=args.device, limit=args.limit, visualize=args.visualize, out=args.out,
                      progress=True, num_workers=args.workers)
    rows = result.main_table
    width = max(len(name) for name in rows)
    print(f"{args.testset}: {len(result.scores)} samples ({int(result.scores.sounding.sum())} sounding), "
          f"alpha {args.alpha:g}")
    print(f"{'map':<{width}}  {'cIoU':>6} {'AUC':>6} {'AP':>6} {'max-F1':>6} {'Prec.':>6}")
    for name, r in rows.items():
        numbers = " ".join(f"{r[k]:6.3f}" for k in ("cIoU", "AUC", "AP", "max-F1", "Precision"))
        print(f"{name:<{width}}  {numbers}")
    paper = result.paper_negative_audio
    if paper is not None:
        _print_paper_tables(paper.tables(), paper.universal, paper.kinds, result.config["checkpoint"])
    print(f"wrote {JSON_FILE}, {MARKDOWN_FILE}, samples.csv"
          + (f" and {len(result.figures)} figures" if result.figures else "") + f" to {args.out}")
    return 0


def _print_paper_tables(tables: dict, universal: dict, kinds: list[str], checkpoint: str) -> None:
    """The paper's negative-audio table of each map, in percent (``metrics.md`` has the map IoU too)."""
    from slavc_lite.evaluation.report import paper_map_caption, paper_table_rows

    print("negative audio, the paper's metrics (Juanola, Haro, Fuentes 2024), in percent; universal "
          + ", ".join(f"{k} = {v:.4f}" for k, v in universal.items()))
    for name, table in tables.items():
        print(f"  {paper_map_caption(name, table['alpha'], checkpoint)}")
        header, rows = paper_table_rows(table, universal, kinds)
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        for line in (header, *rows):
            print("    " + "  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True)))
