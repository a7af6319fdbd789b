"""The experiment scripts' own logic (their runs take minutes and are not run here)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from slavc_lite.training.config import ConfigError
from slavc_lite.training.layout import RunLayout

ROOT = Path(__file__).resolve().parents[1]


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "experiments" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_decay_summary_finds_best_and_last():
    decay = load("toy_decay")
    points = [{"epoch": 0, "cIoU": 0.9, "AP": 0.9},  # the untrained model is not a candidate
              {"epoch": 1, "cIoU": 0.30, "AP": 0.20}, {"epoch": 2, "cIoU": 0.36, "AP": 0.45},
              {"epoch": 3, "cIoU": 0.33, "AP": 0.40}]
    s = decay.summarize(points)
    assert (s["best_cIoU"], s["best_cIoU_epoch"], s["last_cIoU"]) == (0.36, 2, 0.33)
    assert s["drop_cIoU"] == pytest.approx(0.03) and s["drop_AP"] == pytest.approx(0.05)
    assert set(decay.CONDITIONS) >= {"SLAVC", "no momentum", "no dropout", "neither (EZ-VSL-like)",
                                     "no same-class negatives"}
    from slavc_lite.training import preset

    for overrides in decay.CONDITIONS.values():  # every condition is a valid configuration
        preset("cpu-toy").with_overrides(overrides).validate()


def test_seed_runs_are_reused_only_with_the_same_configuration(tmp_path):
    seeds = load("toy_seeds")
    data = tmp_path / "toy"
    run = tmp_path / "run"
    config = seeds.seed_config(0, data)
    assert not seeds.reusable(run, config)  # nothing there
    layout = RunLayout(run)
    run.mkdir()
    config.with_overrides({"data.toy_root": str(tmp_path / "." / "toy")}).to_json(layout.config)
    layout.summary.write_text("{}")
    assert seeds.reusable(run, config)  # the same folder written another way
    assert not seeds.reusable(run, seeds.seed_config(1, data))  # another seed


def test_the_benchmark_runner_keeps_every_name_value_line():
    spec = importlib.util.spec_from_file_location("run_benchmarks", ROOT / "benchmarks" / "run_benchmarks.py")
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    text = "machine: 2 cores, cpu\nreblend_ms: 0.700\nnot a figure line\nslider_ms: 19.2\nodd name: 3\n"
    expected = {"machine": "2 cores, cpu", "reblend_ms": "0.700", "slider_ms": "19.2"}
    assert runner.parse_report(text) == expected
    assert set(runner.SCRIPTS) == {p.stem for p in (ROOT / "benchmarks").glob("bench_*.py")}


def test_runs_are_trained_only_until_finished(tmp_path, monkeypatch):
    common = load("_common")
    calls = []
    monkeypatch.setattr(common, "train", lambda config, run, resume, progress: calls.append((config, resume)))
    seeds = load("toy_seeds")
    config = seeds.seed_config(0, tmp_path / "toy")
    run = tmp_path / "run"
    common.train_unless_finished(config, run)  # nothing there: from nothing
    assert calls == [(config, False)]
    layout = RunLayout(run)
    run.mkdir()
    config.to_json(layout.config)
    common.train_unless_finished(config, run)  # started: continued from its own configuration
    assert calls[-1] == (None, True)
    layout.summary.write_text("{}")
    common.train_unless_finished(config, run)  # finished: left alone
    assert len(calls) == 2
    assert common.toy_world_overrides(tmp_path)["data.toy_root"] == str(tmp_path)
    # a run of another configuration is neither reused nor continued
    other = config.with_overrides({"model.tau": 0.1})
    with pytest.raises(SystemExit, match=r"another configuration \(differs in model.tau\)"):
        common.train_unless_finished(other, run)
    layout.summary.unlink()
    with pytest.raises(SystemExit, match="model.tau"):
        common.train_unless_finished(other, run)
    assert len(calls) == 2
    # the same world given by another path to the same folder is the same configuration
    moved = config.with_overrides({"data.toy_root": str(tmp_path / "x" / ".." / "toy")})
    common.train_unless_finished(moved, run)
    assert calls[-1] == (None, True)


def test_a_recipe_variant_is_named_checked_and_kept_apart(tmp_path, capsys):
    seeds = load("toy_seeds")
    overrides = seeds.parse_overrides(["model.tau=0.1", "optim.epochs = 4"])
    assert overrides == {"model.tau": "0.1", "optim.epochs": "4"}
    config = seeds.seed_config(1, tmp_path / "toy", overrides)
    assert (config.model.tau, config.optim.epochs, config.run.seed) == (0.1, 4, 1)
    assert seeds.seed_config(1, tmp_path / "toy").model.tau == 0.03  # the preset itself is untouched
    with pytest.raises(ValueError, match="KEY=VALUE"):
        seeds.parse_overrides(["model.tau"])
    for bad, named in ((["model.no_such_field=1"], "no_such_field"), (["optim.epochs=many"], "epochs")):
        with pytest.raises(ConfigError, match=named):
            seeds.parse_overrides(bad)
    with pytest.raises(SystemExit):
        seeds.main(["--set", "model.tau=0.1"])  # a variant needs a name
    assert "--tag" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        seeds.main(["--set", "data.toy_train=6000", "--tag", "big"])  # not in make run's world
    assert "its own --data folder" in capsys.readouterr().err


def test_cell_locality_pretrains_once_probes_every_network_and_writes_its_summary(tmp_path, monkeypatch,
                                                                               capsys):
    import torch

    from slavc_lite.encoders import build_image_encoder

    script = load("cell_locality")
    pretrained = []

    def fake_pretrain(config, path, device, precision, progress, state_path):
        pretrained.append((config.model.backbone, config.run.pretrain_cells))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        torch.save(build_image_encoder(config.model.backbone, None).state_dict(), path)

    monkeypatch.setattr(script, "pretrain_object_net", fake_pretrain)
    summary = script.main(["--out", str(tmp_path), "--images", "40"])
    expected = [("local_cnn", True), ("local_cnn", False), ("mobilenet_v3_small", False)]
    assert pretrained == expected
    assert list(summary) == list(script.NETWORKS)
    for figures in summary.values():
        assert 0.0 <= figures["far_accuracy"] <= 1.0 and figures["far_cells"] > 0
    printed = capsys.readouterr().out
    assert "local_cnn.far_accuracy: " in printed
    assert "mobilenet_v3_small, no cell labels.object_accuracy: " in printed
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    script.main(["--out", str(tmp_path), "--images", "40"])
    assert pretrained == expected  # the object networks are reused


def test_peak_placement_scores_every_single_scene_of_each_seed_and_refuses_unfinished_runs(tmp_path, capsys):
    import torch

    from slavc_lite.checkpoints import save_checkpoint
    from slavc_lite.evaluation.testsets import read_toy_scenes
    from slavc_lite.model import SLAVC
    from tests.test_evaluation_support import write_world

    script = load("peak_placement")
    world = write_world(tmp_path / "world")
    for seed in (0, 1):
        layout = RunLayout(tmp_path / "runs" / f"seed-{seed}")
        layout.root.mkdir(parents=True)
        torch.manual_seed(seed)
        save_checkpoint(layout.best, SLAVC(backbone="local_cnn", image_weights=None, dim=16), epoch=1)
        layout.summary.write_text("{}")
    summary = script.main(["--runs", str(tmp_path / "runs"), "--seeds", "0", "1", "--data", str(world),
                           "--out", str(tmp_path / "out")])
    kinds = read_toy_scenes(world / "test" / "scenes.csv").kinds
    for figures in summary["seeds"].values():
        assert sum(row["pairs"] for row in figures.values()) == list(kinds.values()).count("single")
    assert set(summary["median"]) == {"single+silent", "single alone"}
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == summary
    assert "seed1.single+silent.best cell at its window: " in capsys.readouterr().out
    with pytest.raises(SystemExit):
        script.main(["--runs", str(tmp_path / "runs"), "--seeds", "2", "--data", str(world)])
    assert "no finished run" in capsys.readouterr().err
