"""Run every benchmark script one after the other and keep what they print, for the README.

Each script prints ``name: value`` lines (:func:`benchmarks._common.report`). This runs them in
order, in separate processes (so one script's threads and caches do not slow the next), echoes
their output, and writes every line they printed to ``OUT/benchmarks.json``
(``{"scripts": {script: {name: value}}, "seconds": {script: s}}``, values as printed). ``make
bench`` calls it; ``python -m slavc_lite.evaluation.results_page`` copies the file into
``results/benchmarks.json`` and the README's speed table is generated from it.

    python benchmarks/run_benchmarks.py [--out build/bench] [--only bench_localize bench_video]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from slavc_lite.atomic_files import atomic_write_text

HERE = Path(__file__).resolve().parent
SCRIPTS = ("bench_train_step", "bench_localize", "bench_video", "bench_loader", "bench_toy", "bench_train")


def parse_report(text: str) -> dict[str, str]:
    """The ``name: value`` lines of a benchmark's output (other lines are ignored)."""
    found = {}
    for line in text.splitlines():
        name, sep, value = line.partition(": ")
        if sep and name and " " not in name and name.isascii():
            found[name] = value.strip()
    return found


def run_script(name: str) -> tuple[dict[str, str], float]:
    """Run ``benchmarks/<name>.py`` with this Python; its ``name: value`` lines and its seconds."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE / f"{name}.py")], capture_output=True, text=True,
                          env=dict(os.environ), check=False)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr[-2000:])
    if done.returncode != 0:
        raise RuntimeError(f"benchmarks/{name}.py failed with exit status {done.returncode}")
    return parse_report(done.stdout), time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("build/bench"), help="output folder")
    parser.add_argument("--only", nargs="+", choices=SCRIPTS, help="run only these scripts")
    args = parser.parse_args(argv)
    record: dict[str, dict] = {"scripts": {}, "seconds": {}}
    for name in args.only or SCRIPTS:
        print(f"== {name}", flush=True)
        record["scripts"][name], seconds = run_script(name)
        record["seconds"][name] = round(seconds, 1)

    target = atomic_write_text(args.out / "benchmarks.json", json.dumps(record, indent=2) + "\n")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
