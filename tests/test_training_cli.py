"""``slavc-lite train`` end to end on a tiny toy world: the files of a run, what a checkpoint holds,
resuming, and the clear refusals (foreign folder, other configuration, nothing to resume, bad
preset, bad ``--set`` key)."""

from __future__ import annotations

import json

import pytest
import torch

from slavc_lite import __version__
from slavc_lite.checkpoints import load_model
from slavc_lite.cli import command_modules, main
from slavc_lite.encoders import build_image_encoder
from slavc_lite.training import TrainConfig, read_metrics
from slavc_lite.training.layout import RunLayout
from tests._train_worker import TINY

pytestmark = pytest.mark.slow


def _sets(toy_root, **extra) -> list[str]:
    values = {**TINY, "data.toy_root": str(toy_root), "run.pretrain_epochs": 1, "run.pretrain_samples": 16,
              "model.image_weights": "pretrain", "run.validate_at_start": True, **extra}
    out = []
    for key, value in values.items():
        out += ["--set", f"{key}={value}"]
    return out


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: on a machine shared with other jobs, spinning OpenMP threads would make
    these tiny steps many times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _err(capsys) -> str:
    """stderr with the line wrapping of the error report undone."""
    return " ".join(capsys.readouterr().err.split())


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A 2-step run made by the command line from nothing (toy world, object pretraining, training)."""
    tmp = tmp_path_factory.mktemp("cli")
    toy, run = tmp / "toy", tmp / "run"
    status = main(["train", "--preset", "cpu-toy", "--out", str(run), "--no-progress",
                   *_sets(toy, **{"optim.max_steps": 2})])
    assert status == 0
    return toy, run


def test_train_is_a_subcommand():
    assert "slavc_lite.commands.train" in command_modules()


def test_two_step_run_writes_every_file(finished_run, capsys):
    toy, run = finished_run
    layout = RunLayout(run)
    for path in (layout.config, layout.latest, layout.best, layout.metrics, layout.summary, layout.object_net,
                 layout.pretrain_summary):
        assert path.is_file(), path
    assert (toy / "toy_world.json").is_file()
    config = TrainConfig.from_json(layout.config)
    assert config.optim.max_steps == 2 and config.model.dim == 16
    summary = layout.read_summary()
    assert (summary["steps"], summary["stopped_by"], summary["epochs_completed"]) == (2, "max_steps", 0)
    assert summary["library_version"] == __version__ and summary["seed"] == config.run.seed
    assert summary["pretrain"]["epochs"][0]["epoch"] == 1
    assert summary["best"]["metric"] == "visible.Precision"
    events = [r["event"] for r in read_metrics(run)]
    assert events[0] == "pretrain" and events[-1] == "end"
    assert [r["step"] for r in read_metrics(run, "step")] == [1, 2]
    assert [r["epoch"] for r in read_metrics(run, "validation")] == [0, 0]  # before training, at the stop
    json.loads(layout.summary.read_text())  # strict JSON


def test_checkpoint_holds_config_seed_version_and_resume_state(finished_run):
    _, run = finished_run
    layout = RunLayout(run)
    ckpt = torch.load(layout.latest, map_location="cpu", weights_only=True)
    for key in ("model", "optimizer", "epoch", "best_Precision", "best_AP", "best_F1", "config", "progress",
                "per_process", "grad_scaler"):
        assert key in ckpt, key
    assert ckpt["config"]["train"] == TrainConfig.from_json(layout.config).to_dict()
    assert ckpt["config"]["seed"] == 0 and ckpt["config"]["slavc_lite_version"] == __version__
    assert ckpt["config"]["backbone"] == "local_cnn" and ckpt["config"]["dim"] == 16
    assert ckpt["progress"]["step"] == 2 and ckpt["progress"]["position"] == 2 and ckpt["epoch"] == 0
    rng = ckpt["per_process"][0]["rng"]
    assert rng["torch"].dtype == torch.uint8 and rng["python"]["internal"].dtype == torch.uint8
    assert ckpt["per_process"][0]["loader"].dtype == torch.uint8
    model, description = load_model(run)  # a run folder is accepted wherever a checkpoint is
    assert "best.pth" in description and not model.training
    assert model.hyperparameters()["momentum_img"] == 0.99


def test_object_network_loads_as_image_weights(finished_run):
    _, run = finished_run
    state = torch.load(RunLayout(run).object_net, weights_only=True)
    trunk = build_image_encoder("local_cnn", weights=RunLayout(run).object_net)
    assert state.keys() == trunk.state_dict().keys()  # the trunk alone, no classifier
    assert all(torch.equal(trunk.state_dict()[k], state[k]) for k in state)


def test_refusals_and_resume(finished_run, tmp_path, capsys):
    toy, run = finished_run
    before = RunLayout(run).latest.read_bytes()

    assert main(["train", "--out", str(run), "--no-progress", *_sets(toy, **{"optim.max_steps": 2})]) == 2
    assert "already holds this run" in _err(capsys)
    assert main(["train", "--out", str(run), "--no-progress", *_sets(toy, **{"model.dim": 8})]) == 2
    assert "different configuration" in _err(capsys)
    assert RunLayout(run).latest.read_bytes() == before  # nothing was overwritten

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    assert main(["train", "--out", str(tmp_path / "mine"), "--no-progress", *_sets(toy)]) == 2
    assert "holds no slavc-lite run" in _err(capsys)
    assert main(["train", "--out", str(tmp_path / "empty"), "--resume"]) == 2
    assert "nothing to resume" in _err(capsys)
    assert main(["train", "--preset", "gpu-fast", "--out", str(tmp_path / "x")]) == 2
    assert "invalid choice: 'gpu-fast'" in _err(capsys)
    assert main(["train", "--out", str(tmp_path / "x"), "--set", "optim.epoch=2"]) == 2
    assert "unknown configuration key 'optim.epoch'" in _err(capsys)
    assert main(["train", "--out", str(tmp_path / "x"), "--set", "optim.epochs"]) == 2
    assert "KEY=VALUE" in _err(capsys)
    assert main(["train", "--out", str(run), "--resume", "--set", "model.dim=8"]) == 2
    assert "cannot resume with a different configuration" in _err(capsys)

    # Resuming with more steps continues from step 2 (a resumable change of configuration).
    assert main(["train", "--out", str(run), "--resume", "--no-progress", "--set", "optim.max_steps=3"]) == 0
    assert "finished: 3 steps" in capsys.readouterr().out
    assert [r["step"] for r in read_metrics(run, "step")] == [1, 2, 3]
    assert RunLayout(run).read_summary()["steps"] == 3


def test_training_without_same_class_negatives_reads_the_toy_labels(tmp_path):
    """``optim.same_class_negatives=false`` leaves the pairs of a batch that share a heard class out
    of the loss: on batches that hold such pairs the step losses differ from the official ones."""
    from slavc_lite.evaluation.testsets import read_toy_scenes
    from slavc_lite.losses import same_class_pairs

    toy = tmp_path / "toy"
    base = {**TINY, "data.toy_root": str(toy), "optim.batch_size": 8, "optim.max_steps": 2}
    losses = {}
    for name, extra in (("official", {}), ("masked", {"optim.same_class_negatives": False})):
        args = []
        for key, value in {**base, **extra}.items():
            args += ["--set", f"{key}={value}"]
        out = str(tmp_path / name)
        assert main(["train", "--preset", "cpu-toy", "--out", out, "--no-progress", *args]) == 0
        losses[name] = [r["loss"] for r in read_metrics(tmp_path / name, "step")]
    config = TrainConfig.from_json(RunLayout(tmp_path / "masked").config)
    assert config.optim.same_class_negatives is False
    heard = read_toy_scenes(toy / "train" / "scenes.csv").audio_classes
    assert same_class_pairs(list(heard.values())).any()  # the tiny world has such pairs to leave out
    assert losses["official"] != losses["masked"]
    assert all(torch.isfinite(torch.tensor(v)).all() for v in losses.values())
