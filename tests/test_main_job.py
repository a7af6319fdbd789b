"""``make run`` in its reduced form (quick mode): every stage runs, every notebook executes
top to bottom without an error, and the outputs are where the README says."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from slavc_lite.teaching.run_all import MainJob

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
CHAPTERS = sorted(p.name for p in NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
HEADLINE_MAPS = ("slavc", "ogl", "vsl", "center", "random")
HEADLINE_METRICS = ("cIoU", "AUC", "AP", "max-F1")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def job(tmp_path_factory) -> tuple[MainJob, int]:
    root = tmp_path_factory.mktemp("main-job")
    job = MainJob(build=root / "build", data=root / "data", runs=root / "runs", quick=True)
    status = job.run()
    return job, status


def test_every_stage_ran_and_the_summary_says_where_things_are(job):
    job, status = job
    assert list(job.timings) == ["toy world", "train", "evaluate", "videos", "notebooks", "total", "summary"]
    assert (job.toy_root / "toy_world.json").is_file()
    assert (job.run_dir / "summary.json").is_file() and (job.run_dir / "best.pth").is_file()
    record = json.loads((job.build / "metrics.json").read_text())
    assert record["quick"] is True
    assert set(record["stage_seconds"]) >= {"toy world", "train", "evaluate", "videos", "notebooks"}
    assert [n["name"] for n in record["notebooks"]] == CHAPTERS
    failed = {n["name"]: n["error"] for n in record["notebooks"] if not n["ok"]}
    assert not failed
    assert status == 0


def test_evaluation_report_has_the_headline_numbers(job):
    job, _ = job
    metrics = json.loads((job.eval_dir / "metrics.json").read_text())
    for name in HEADLINE_MAPS:
        assert set(metrics[name]) >= set(HEADLINE_METRICS), name
    assert (job.eval_dir / "metrics.md").is_file()


def test_video_evaluation_is_written(job):
    job, _ = job
    metrics = json.loads((job.build / "eval-video" / "metrics_video.json").read_text())
    assert "same_type_one_sounding" in metrics["tables"] and metrics["gate_weight"] in (0.25, 0.5, 0.75, 1.0)
    assert metrics["gate_smooth"] in (1.0, 2.0, 4.0, 6.0) and len(metrics["gates_tried_on_val"]) == 16
    record = json.loads((job.build / "metrics.json").read_text())
    assert record["videos"]["gate_smooth"] == metrics["gate_smooth"]
    assert (job.build / "eval-video" / "metrics_video.md").is_file()


@pytest.mark.parametrize("name", CHAPTERS)
def test_notebook_executed_without_error_into_build(job, name):
    job, _ = job
    executed = job.build / "notebooks" / name
    assert executed.is_file() and executed.with_suffix(".html").is_file()
    nb = nbformat.read(executed, as_version=4)
    errors = [f"{o.get('ename')}: {o.get('evalue')}" for c in nb.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code" and c.source.strip()), \
        f"{name}: a cell did not run"


def test_figures_are_written_to_build(job):
    job, _ = job
    assert len(list((job.build / "figures").glob("*.png"))) >= len(CHAPTERS)
