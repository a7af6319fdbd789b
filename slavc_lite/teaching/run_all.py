"""``make run``: the whole collection from a fresh clone, offline, on a CPU.

Stages (each prints a header and its time; a finished stage is reused when run again):

1. **toy world**: 2,000 training and 500 test pairs in ``data/toy`` (the offline stand-in for
   VGGSound and VGG-SS, with every hard case of the review);
2. **train**: the ``cpu-toy`` recipe into ``runs/cpu-toy``: toy object pretraining (the
   ImageNet stand-in), then SLAVC; an interrupted run resumes;
3. **evaluate**: SLAVC, OGL and VSL maps and the baselines on the toy test set, with the
   negative-audio tables (the paper's and ours), into ``build/eval/`` (``metrics.json``,
   ``metrics.md``);
4. **videos**: the toy video world (``data/toy-videos``: clips whose objects move with their
   sounds) and the evaluation of SLAVC, OGL, VSL and audio-visual synchrony on it, into
   ``build/eval-video/`` (``metrics_video.json``, ``metrics_video.md``);
5. **notebooks**: chapters 00-09 executed into ``build/notebooks/`` (with HTML exports); their
   figures go to ``build/figures/``;
6. **summary**: ``build/metrics.json`` (headline metrics, stage times, notebook status) and a
   short report of where everything is.

``--quick`` (or ``SLAVC_LITE_QUICK=1``) runs every stage in a reduced form (a tiny world, a few
training steps, the notebooks in quick mode): the test suite runs it so.

    python -m slavc_lite.teaching.run_all [--quick] [--build build] [--data data] [--runs runs]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from slavc_lite.atomic_files import atomic_write_text
from slavc_lite.teaching import tutorial

__all__ = ["MainJob", "main"]

EVAL_ALPHA = 0.9
"""VSL alpha of the evaluation stage (the official extended benchmark's value)."""


@contextlib.contextmanager
def _environment(env: dict[str, str]):
    """Set ``env`` in this process for the duration (tutorial's folders read it)."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _say(text: str) -> None:
    print(text, flush=True)


@dataclass
class MainJob:
    """The main job's folders and options; :meth:`run` executes every stage in order."""

    build: Path
    data: Path
    runs: Path
    quick: bool = False
    notebooks_dir: Path = field(default_factory=lambda: Path(__file__).resolve().parents[2] / "notebooks")
    timings: dict[str, float] = field(default_factory=dict)
    record: dict = field(default_factory=dict)

    @property
    def toy_root(self) -> Path:
        return self.data / ("toy-quick" if self.quick else "toy")

    @property
    def run_dir(self) -> Path:
        return self.runs / (tutorial.TOY_QUICK_RUN_NAME if self.quick else tutorial.TOY_RUN_NAME)

    @property
    def eval_dir(self) -> Path:
        return self.build / "eval"

    def environment(self) -> dict[str, str]:
        """What the notebooks' kernels see: the same folders, and quick mode when asked."""
        env = {"SLAVC_LITE_DATA": str(self.data), "SLAVC_LITE_BUILD": str(self.build),
               "SLAVC_LITE_RUNS": str(self.runs),
               "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
        env[tutorial.QUICK_ENV] = "1" if self.quick else "0"
        return env

    def _stage(self, number: int, name: str, fn: Callable[[], None]) -> None:
        _say(f"\n=== [{number}/6] {name} ===")
        start = time.perf_counter()
        fn()
        self.timings[name] = round(time.perf_counter() - start, 1)
        _say(f"--- {name}: {self.timings[name]:.0f} s")

    # ------------------------------------------------------------------------------ stages

    def toy_world(self) -> None:
        from slavc_lite.data.toy import write_toy_world

        sizes = tutorial.TOY_QUICK if self.quick else tutorial.TOY_FULL
        summary = write_toy_world(self.toy_root, progress=not self.quick, verbose=False, **sizes)
        _say(summary.message or str(self.toy_root))

    def train(self) -> None:
        from slavc_lite.training.layout import RunLayout

        with _environment(self.environment()):
            run = tutorial.ensure_toy_run(quick=self.quick, progress=not self.quick)
        self.record["training"] = RunLayout(run).read_summary()

    def evaluate(self) -> None:
        from slavc_lite.evaluation import evaluate_run

        result = evaluate_run(self.run_dir, self.toy_root, self.eval_dir, alpha=EVAL_ALPHA,
                              negative_audio=True, progress=not self.quick)
        self.record["evaluation"] = result

    def videos(self) -> None:
        from slavc_lite.evaluation.video import evaluate_videos
        from slavc_lite.localize import Localizer
        from slavc_lite.training.layout import RunLayout, ogl_weights_for

        with _environment(self.environment()):
            clips = tutorial.toy_videos(quick=self.quick)
        localizer = Localizer.from_weights(checkpoint=RunLayout(self.run_dir).weights(),
                                           ogl_weights=ogl_weights_for(self.run_dir))
        result = evaluate_videos(localizer, clips, self.build / tutorial.VIDEO_EVAL_NAME,
                                 progress=not self.quick)
        self.record["videos"] = {"gate_weight": result["gate_weight"], "gate_smooth": result["gate_smooth"],
                                 "n_test_clips": result["n_test_clips"]}

    def notebooks(self) -> None:
        from slavc_lite.teaching.notebook_runner import execute_notebook

        out = self.build / "notebooks"
        runs = []
        sources = sorted(self.notebooks_dir.glob("[0-9][0-9]_*.ipynb"))
        for k, source in enumerate(sources, 1):
            _say(f"[{k}/{len(sources)}] {source.name} ...")
            run = execute_notebook(source, out, env=self.environment())
            status = "ok" if run.ok else f"FAILED: {run.error}"
            _say(f"      {run.seconds:.0f} s, {status}")
            runs.append({"name": run.name, "seconds": round(run.seconds, 1), "ok": run.ok,
                         "error": run.error, "html": os.fspath(run.html) if run.html else None})
        self.record["notebooks"] = runs

    def summary(self) -> None:
        headline = self.record.get("evaluation", {}).get("headline", {})
        record = {"quick": self.quick, "stage_seconds": self.timings, **self.record}
        path = self.build / "metrics.json"
        atomic_write_text(path, json.dumps(record, indent=2, default=str) + "\n")
        _say(f"toy world:   {self.toy_root}")
        _say(f"model:       {self.run_dir}")
        _say(f"evaluation:  {self.eval_dir / 'metrics.md'}")
        _say(f"notebooks:   {self.build / 'notebooks'} (executed .ipynb and .html)")
        _say(f"figures:     {self.build / 'figures'}")
        _say(f"metrics:     {path}")
        for name, row in headline.items():
            _say(f"  {name:>7}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()))

    def run(self) -> int:
        """Run the six stages; returns 0, or 1 if a notebook failed."""
        for folder in (self.build, self.data, self.runs):
            folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        self._stage(1, "toy world", self.toy_world)
        self._stage(2, "train", self.train)
        self._stage(3, "evaluate", self.evaluate)
        self._stage(4, "videos", self.videos)
        self._stage(5, "notebooks", self.notebooks)
        self.timings["total"] = round(time.perf_counter() - start, 1)
        self._stage(6, "summary", self.summary)
        failed = [r["name"] for r in self.record.get("notebooks", []) if not r["ok"]]
        _say(f"\nmake run finished in {self.timings['total'] / 60:.1f} min"
             + (f"; FAILED notebooks: {', '.join(failed)}" if failed else ""))
        return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slavc_lite.teaching.run_all",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", default=tutorial.is_quick(),
                        help="reduced form of every stage (also SLAVC_LITE_QUICK=1)")
    parser.add_argument("--build", type=Path, default=None, help="outputs (default build/)")
    parser.add_argument("--data", type=Path, default=None, help="data (default data/)")
    parser.add_argument("--runs", type=Path, default=None, help="training runs (default runs/)")
    args = parser.parse_args(argv)
    job = MainJob(build=(args.build or tutorial.build_dir()).resolve(),
                  data=(args.data or tutorial.data_dir()).resolve(),
                  runs=(args.runs or tutorial.runs_dir()).resolve(), quick=args.quick)
    return job.run()


if __name__ == "__main__":
    sys.exit(main())
