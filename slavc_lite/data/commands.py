"""The ``slavc-lite data prepare`` and ``slavc-lite data vggsound`` subcommands.

Each ``add_*_parser(subparsers)`` registers one subcommand on an argparse subparsers object and
sets ``func`` to its handler ``(args) -> int``. Exit status: 0 when the run finished (clips that
failed to decode are listed in the summary and ``OUT/failures.csv``, they do not fail the run),
1 when an error stopped it (the message says how to resume), 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from slavc_lite.commands._arguments import positive_int
from slavc_lite.errors import SlavcLiteError

EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130


NUM_SHARDS = 20  # Loie/VGGSound: vggsound_00.tar.gz .. vggsound_19.tar.gz (as vggsound_stream.NUM_SHARDS)


def _shard(text: str) -> int:
    value = int(text)
    if not 0 <= value < NUM_SHARDS:
        raise argparse.ArgumentTypeError(f"shard must be 0..{NUM_SHARDS - 1}, got {text}")
    return value


def _needs_pyav(exc: ImportError) -> int:
    print(f"error: a package this command needs is missing ({exc}). Video decoding needs PyAV: "
          "pip install 'slavc-lite[video]'  (or: pip install av)", file=sys.stderr)
    return EXIT_ERROR


def _interrupted(out_dir: Path) -> int:
    from slavc_lite.data.video_prep import completed_ids

    print(f"\ninterrupted: {len(completed_ids(out_dir))} complete samples in {out_dir} "
          "(no half-written ones); run the same command again to resume.", file=sys.stderr)
    return EXIT_INTERRUPTED


def add_prepare_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``prepare``: video clips -> ``OUT/frames/<id>.jpg`` + ``OUT/audio/<id>.wav``."""
    parser = subparsers.add_parser(
        "prepare",
        help="turn a folder of video clips into the official frames/ + audio/ layout",
        description="Decode each clip once: its middle frame becomes OUT/frames/<id>.jpg (JPEG quality 95) "
        "and 10 s of 16 kHz mono audio around it (the whole clip when shorter) OUT/audio/<id>.wav. "
        "Resumes (complete ids are skipped); failures go to OUT/failures.csv.",
    )
    parser.add_argument("--videos", required=True, type=Path, metavar="DIR", help="folder of clips")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="dataset folder to fill")
    parser.add_argument("--workers", type=positive_int, default=None, metavar="N",
                        help="decoding processes (default: CPU count, at most 4)")
    parser.add_argument("--recursive", action="store_true", help="also look in subfolders")
    parser.add_argument("--overwrite", action="store_true", help="redo ids that are already complete")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_prepare)
    return parser


def run_prepare(args: argparse.Namespace) -> int:
    try:
        from slavc_lite.data.video_prep import default_workers, prepare_videos
    except ImportError as exc:
        return _needs_pyav(exc)

    workers = args.workers if args.workers is not None else default_workers()
    try:
        report = prepare_videos(args.videos, args.out, workers=workers, overwrite=args.overwrite,
                                progress=not args.no_progress, recursive=args.recursive)
    except KeyboardInterrupt:
        return _interrupted(args.out)
    except SlavcLiteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(report.summary())
    for failure in report.failures[:10]:
        print(f"  {failure.clip_id}: {failure.reason}")
    if report.failed > 10:
        print(f"  ... and {report.failed - 10} more")
    return EXIT_OK


def add_vggsound_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``vggsound``: stream N clips of one Loie/VGGSound shard into the official layout."""
    parser = subparsers.add_parser(
        "vggsound",
        help="stream a few VGGSound clips from one public tar.gz shard (no full download)",
        description="Read shard K of the Hugging Face dataset Loie/VGGSound as a stream, prepare each clip "
        "on the fly (OUT/frames/<id>.jpg + OUT/audio/<id>.wav) and stop after N complete clips. Rerunning "
        "resumes: done ids are skipped, though the shard is re-read from its start.",
    )
    parser.add_argument("--shard", required=True, type=_shard, metavar="K", help="shard number, 0..19")
    parser.add_argument("--limit", required=True, type=positive_int, metavar="N",
                        help="stop once N clips of this shard are complete in OUT")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="dataset folder to fill")
    parser.add_argument("--ids", type=Path, metavar="FILE",
                        help="keep only these ids (one per line, e.g. vggss_10k.txt, or vggsound.csv)")
    parser.add_argument("--base-url", metavar="URL",
                        help="where the shards are (default: the Hugging Face dataset; file:///folder works)")
    parser.add_argument("--workers", type=positive_int, default=1, metavar="N",
                        help="decoding processes (default 1: decode in this process between reads)")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="S",
                        help="give up when the server sends nothing for S seconds (default 60)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_vggsound)
    return parser


def run_vggsound(args: argparse.Namespace) -> int:
    try:
        from slavc_lite.data.vggsound_stream import read_id_list, stream_vggsound
    except ImportError as exc:
        return _needs_pyav(exc)

    try:
        ids = read_id_list(args.ids) if args.ids is not None else None
        report = stream_vggsound(args.shard, args.limit, args.out, ids=ids, base_url=args.base_url,
                                 workers=args.workers, timeout=args.timeout, progress=not args.no_progress)
    except KeyboardInterrupt:
        return _interrupted(args.out)
    except SlavcLiteError as exc:  # ShardStreamError included: its message says how to resume
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(report.summary())
    return EXIT_OK
