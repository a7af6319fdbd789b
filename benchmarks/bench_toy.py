"""Speed of the toy world: pairs written per second (make the scene, JPEG + wav on disk).

Generates ``--train`` + ``--test`` pairs (default 2000 + 500, the size the README suggests)
into a temporary folder with ``--workers`` processes (default ``os.cpu_count()``), and
times one pair in this process for reference. The target is 2,500 pairs in at most 60 s
on 2 cores.

Usage: python benchmarks/bench_toy.py [--train 2000] [--test 500] [--workers N]
Last lines: ``toy_seconds: Y`` and ``toy_pairs_per_s: X``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report  # noqa: E402

from slavc_lite.data.toy import KINDS, ToyWorld, write_toy_world  # noqa: E402
from slavc_lite.data.toy.writer import write_pair  # noqa: E402


def single_process_ms(n: int = 40) -> tuple[float, float]:
    """Mean ms per scene (generation only) and per written pair, in this process."""
    world = ToyWorld(seed=123)
    kinds = [KINDS[i % len(KINDS)] for i in range(n)]
    start = time.perf_counter()
    scenes = [world.scene(k, i) for i, k in enumerate(kinds)]
    make = (time.perf_counter() - start) / n
    with tempfile.TemporaryDirectory() as tmp:
        for sub in ("frames", "audio"):
            (Path(tmp) / sub).mkdir()
        start = time.perf_counter()
        for s in scenes:
            write_pair(s, Path(tmp))
        write = (time.perf_counter() - start) / n
    return 1000 * make, 1000 * (make + write)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--test", type=int, default=500)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    workers = args.workers or os.cpu_count() or 1
    report("machine", f"cpu, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    scene_ms, pair_ms = single_process_ms()
    report("toy_scene_ms", scene_ms, 2)
    report("toy_pair_ms_1_process", pair_ms, 2)
    with tempfile.TemporaryDirectory() as tmp:
        summary = write_toy_world(Path(tmp) / "toy", n_train=args.train, n_test=args.test, workers=workers,
                                  progress=False, verbose=False)
        size_mb = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file()) / 2**20
    report("toy_workers", str(summary.workers))
    report("toy_pairs", str(summary.pairs))
    report("toy_disk_mb", size_mb, 1)
    report("toy_seconds", summary.seconds, 2)
    report("toy_pairs_per_s", summary.pairs_per_s, 1)


if __name__ == "__main__":
    main()
