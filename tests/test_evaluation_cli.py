"""``slavc-lite evaluate`` and the Python ``evaluate``: files written, required keys, clear errors,
ImageNet OGL weights offline."""

from __future__ import annotations

import csv
import json
import shutil
import urllib.error

import pytest
import torch

from slavc_lite.cli import main
from slavc_lite.evaluation import evaluate
from slavc_lite.training.layout import RunLayout
from tests.test_evaluation_support import N_TEST, tiny_model, tiny_object_net, write_run, write_world

REQUIRED_MAPS = ("slavc", "ogl", "vsl", "center", "random")
REQUIRED_METRICS = ("cIoU", "AUC", "AP", "max-F1")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return write_world(tmp_path_factory.mktemp("eval_cli") / "toy")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("eval_cli_run") / "run")


@pytest.fixture(scope="module")
def evaluated(world, run, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval_cli_out") / "eval"
    status = main(["evaluate", "--checkpoint", str(run), "--data", str(world), "--testset", "toy_plus_silent",
                   "--out", str(out), "--visualize", "2", "--device", "cpu", "--batch-size", "8"])
    assert status == 0
    return out


def test_cli_writes_metrics_json_with_the_required_keys(evaluated):
    report = json.loads((evaluated / "metrics.json").read_text())
    for name in REQUIRED_MAPS:
        for metric in REQUIRED_METRICS:
            assert isinstance(report[name][metric], float), (name, metric)
        assert report[name]["n"] == N_TEST
    assert report["slavc"] == report["tables"]["slavc"]["all"]
    assert set(report["hard_cases"]) >= {"slavc", "ogl", "vsl"}
    assert set(report["negative_audio"]["kinds"]) == {"silence", "noise", "offscreen"}
    config = report["config"]
    assert config["alpha"] == 0.9 and config["testset"] == "toy_plus_silent"
    assert "object_net.pth" in config["weights"]["ogl"]  # the run's own object network
    assert config["n_samples"] == N_TEST


def test_cli_writes_the_markdown_report_samples_and_figures(evaluated):
    md = (evaluated / "metrics.md").read_text()
    for heading in ("## Official metrics", "## Hard cases", "## Negative audio", "## Size subsets"):
        assert heading in md
    assert "| `center`: centre prior (baseline) |" in md and "AP is 0 by construction" in md
    report = json.loads((evaluated / "metrics.json").read_text())
    assert f"{report['slavc']['AUC']:.3f}" in md
    with open(evaluated / "samples.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == N_TEST and {"slavc_ciou", "vsl_confidence", "random_ciou"} <= set(rows[0])
    assert len(list((evaluated / "figures").glob("*.png"))) == 2
    assert (evaluated / "negative_audio.png").stat().st_size > 0
    assert not list(evaluated.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_help_states_the_evaluation_alpha(capsys):
    assert main(["evaluate", "--help"]) == 0
    text = "".join(capsys.readouterr().out.split())  # argparse wraps lines (also at hyphens)
    assert "(default0.9,theofficialextended-benchmarkscript's" in text


def test_missing_data_folder_and_wrong_testset_fail_clearly(run, tmp_path, capsys):
    missing = tmp_path / "nowhere"
    status = main(["evaluate", "--checkpoint", str(run), "--data", str(missing), "--testset", "toy",
                   "--out", str(tmp_path / "out")])
    assert status == 2
    err = " ".join(capsys.readouterr().err.split())  # the message is wrapped
    assert str(missing) in err and "not found" in err
    assert not (tmp_path / "out").exists()
    status = main(["evaluate", "--checkpoint", str(run), "--data", str(tmp_path), "--testset", "vgss",
                   "--out", str(tmp_path / "out")])
    assert status == 2
    assert "invalid choice: 'vgss'" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    status = main(["evaluate", "--checkpoint", str(run), "--data", str(tmp_path / "empty"), "--testset",
                   "toy", "--out", str(tmp_path / "out")])
    assert status == 2 and "not a toy world" in " ".join(capsys.readouterr().err.split())


def test_imagenet_ogl_weights_offline_fail_clearly(world, run, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_torch_home"))
    calls = []

    def no_network(url, *args, **kwargs):
        calls.append(url)
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    # a checkpoint outside its run folder: no object network of its own, so ImageNet
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(RunLayout(run).best, alone / "model.pth")
    status = main(["evaluate", "--checkpoint", str(alone / "model.pth"), "--data", str(world), "--testset",
                   "toy", "--out", str(tmp_path / "out"), "--limit", "2"])
    assert status == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "ImageNet weights for mobilenet_v3_small are not cached" in err
    assert "--ogl-weights FILE" in err
    assert len(calls) == 1 and "mobilenet" in calls[0]
    assert not (tmp_path / "out").exists()
    # the same checkpoint with an explicit object network file works
    status = main(["evaluate", "--checkpoint", str(alone / "model.pth"), "--data", str(world), "--testset",
                   "toy", "--out", str(tmp_path / "out"), "--limit", "3", "--ogl-weights",
                   str(RunLayout(run).object_net), "--no-negative-audio"])
    assert status == 0
    report = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert report["slavc"]["n"] == 3 and "negative_audio" not in report


def test_python_api_with_a_model_object(world, tmp_path):
    result = evaluate(tiny_model(), world, "toy", object_net=tiny_object_net(), alpha=0.5, limit=5,
                      negative_audio=False, baselines=["center"])
    assert set(result.main_table) == {"slavc", "ogl", "vsl", "center"}
    assert result.config["alpha"] == 0.5 and result.negative_audio is None
    assert result.hard_cases is not None and result.table("vsl")["all"]["n"] == 5
    assert "# Evaluation: toy" in result.markdown()
    with pytest.raises(ValueError, match="unknown test set"):
        evaluate(tiny_model(), world, "toys", object_net=tiny_object_net())


def test_evaluate_run_summary(world, run, tmp_path):
    from slavc_lite.evaluation import evaluate_run

    summary = evaluate_run(run, world, tmp_path / "eval", limit=6, negative_audio=False)
    assert summary["n_samples"] == 6 and summary["alpha"] == 0.9
    assert set(summary["headline"]) == {"slavc", "ogl", "vsl", "center", "random", "oracle",
                                         "grid_oracle"}
    assert set(summary["headline"]["slavc"]) == {"cIoU", "AUC", "AP", "max-F1"}
    report = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert summary["headline"]["vsl"]["AP"] == report["vsl"]["AP"]
