"""Training configuration (presets, JSON round trip, typed overrides), the AMP choice, generator
states, the metrics log, and which run folders a run may use."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from slavc_lite.errors import CheckpointError, SlavcLiteError
from slavc_lite.training import PRESETS, ConfigError, TrainConfig, preset
from slavc_lite.training.config import RESUMABLE_KEYS, parse_assignment
from slavc_lite.training.layout import RunLayout
from slavc_lite.training.metrics_log import MetricsLog, read_metrics
from slavc_lite.training.precision import Precision, choose_amp_dtype, make_grad_scaler, precision_for
from slavc_lite.training.rng import capture_rng_state, restore_rng_state
from slavc_lite.training.run_folder import prepare_run_folder

# ------------------------------------------------------------------------------------ config


def test_paper_preset_is_the_published_recipe():
    cfg = preset("paper")
    assert (cfg.model.backbone, cfg.model.image_weights, cfg.model.dim, cfg.model.tau) == \
        ("resnet18", "imagenet", 512, 0.03)
    assert (cfg.model.dropout_img, cfg.model.dropout_aud) == (0.9, 0.0)
    assert (cfg.model.momentum_img, cfg.model.momentum_aud, cfg.model.loss) == (0.999, 0.999, "official")
    optim = cfg.optim
    assert (optim.lr, optim.weight_decay, optim.batch_size, optim.epochs) == (1e-4, 0.0, 128, 20)
    assert cfg.data.audio_seconds == 3.0
    assert cfg.run.best_metric == "visible.Precision"


def test_cpu_toy_preset_pretrains_its_own_object_network():
    cfg = preset("cpu-toy").validate()
    assert cfg.model.backbone == "local_cnn"  # the toy trunk whose cells see their neighbourhood
    assert cfg.model.image_weights == "pretrain" and cfg.run.pretrain_epochs >= 1
    assert cfg.run.pretrain_cells  # every cell of the grid learns object class or background
    assert cfg.data.train_root is None and cfg.data.val_set == "toy_plus_silent"
    assert not cfg.run.amp
    # The short-run adaptations (see the preset's docstring): momentum time constant, BatchNorm
    # statistics that follow the weights, the official cosine schedule.
    assert (cfg.model.momentum_img, cfg.model.bn_momentum, cfg.model.dropout_img) == (0.99, 0.1, 0.9)
    assert (cfg.optim.lr, cfg.optim.lr_schedule, cfg.optim.batch_size) == (5e-4, "cosine", 32)
    assert cfg.model.dim == 512  # the official head width


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_round_trip_through_json(tmp_path, name):
    cfg = preset(name).with_overrides({"optim.epochs": 3, "model.loss": "paper", "data.val_limit": 10})
    path = tmp_path / "config.json"
    cfg.to_json(path)
    back = TrainConfig.from_json(path)
    assert back == cfg and back.fingerprint() == cfg.fingerprint()
    assert json.loads(path.read_text())["optim"]["epochs"] == 3
    assert not list(tmp_path.glob(".*.tmp"))


def test_overrides_are_typed_from_text():
    cfg = preset("cpu-toy").with_overrides({
        "optim.epochs": "7", "optim.lr": "1e-3", "run.amp": "true", "optim.max_steps": "none",
        "model.image_weights": "none", "model.dropout_img": "0", "data.val_limit": "12"})
    assert cfg.optim.epochs == 7 and isinstance(cfg.optim.epochs, int)
    assert cfg.optim.lr == 1e-3 and cfg.run.amp is True and cfg.optim.max_steps is None
    assert cfg.model.image_weights is None and cfg.model.dropout_img == 0.0
    assert isinstance(cfg.model.dropout_img, float) and cfg.data.val_limit == 12
    # Typed values too; an int where a float is expected is fine.
    assert preset("paper").with_overrides({"optim.lr": 1}).optim.lr == 1.0


def test_ablation_without_dropout_and_momentum_is_a_configuration():
    cfg = preset("cpu-toy").with_overrides(
        {"model.dropout_img": 0, "model.momentum_img": 0, "model.momentum_aud": 0}).validate()
    assert (cfg.model.dropout_img, cfg.model.momentum_img, cfg.model.momentum_aud) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("overrides, message", [
    ({"optim.epoch": 1}, "unknown configuration key 'optim.epoch'; did you mean optim.epochs"),
    ({"nosuch.key": 1}, "unknown configuration key"),
    ({"optim": 1}, "unknown configuration key"),
    ({"optim.epochs": "two"}, "optim.epochs expects int"),
    ({"optim.epochs": 2.5}, "optim.epochs expects int"),
    ({"run.amp": "maybe"}, "run.amp expects bool"),
    ({"optim.epochs": None}, "cannot be none"),
    ({"model.backbone": 3}, "model.backbone expects str"),
])
def test_bad_overrides_are_refused(overrides, message):
    with pytest.raises(ConfigError, match=message) as info:
        preset("paper").with_overrides(overrides)
    assert isinstance(info.value, SlavcLiteError) and isinstance(info.value, KeyError)
    assert not str(info.value).startswith("'")


@pytest.mark.parametrize("overrides, message", [
    ({"model.backbone": "vgg"}, "model.backbone"),
    ({"model.dropout_img": 1.0}, "model.dropout_img"),
    ({"model.momentum_aud": 1.5}, "model.momentum_aud"),
    ({"model.image_weights": "pretrain", "run.pretrain_epochs": 0}, "pretrain"),
    ({"model.image_weights": "imagenet"}, "local_cnn' has no ImageNet weights"),
    ({"optim.batch_size": 0}, "optim.batch_size"),
    ({"run.best_metric": "visible.Recall"}, "run.best_metric"),
    ({"run.amp_dtype": "float8"}, "run.amp_dtype"),
    ({"optim.same_class_negatives": False, "data.train_root": "data/vggsound"}, "toy world's labels"),
    ({"optim.same_class_negatives": False, "model.loss": "ezvsl"}, "a SLAVC loss"),
])
def test_validate_names_the_bad_value(overrides, message):
    with pytest.raises(ConfigError, match=message):
        preset("cpu-toy").with_overrides(overrides).validate()


def test_unknown_preset_and_keys_in_json(tmp_path):
    with pytest.raises(ConfigError, match="unknown preset 'fast'.*cpu-toy"):
        preset("fast")
    data = preset("paper").to_dict()
    data["optim"]["momentum"] = 0.9
    with pytest.raises(ConfigError, match="momentum"):
        TrainConfig.from_dict(data)


def test_parse_assignment():
    assert parse_assignment("optim.epochs=3") == ("optim.epochs", "3")
    assert parse_assignment(" data.toy_root = a=b ") == ("data.toy_root", "a=b")
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_assignment("optim.epochs")


def test_differences_and_resumable_keys():
    a = preset("cpu-toy")
    b = a.with_overrides({"optim.epochs": 9, "model.dim": 64})
    assert a.differences(b) == ["model.dim", "optim.epochs"]
    assert "optim.epochs" in RESUMABLE_KEYS and "model.dim" not in RESUMABLE_KEYS


# ------------------------------------------------------------------------------------ precision


def test_amp_dtype_choice():
    assert choose_amp_dtype("cuda", True, "auto", bf16_supported=True) == torch.bfloat16
    assert choose_amp_dtype("cuda", True, "auto", bf16_supported=False) == torch.float16
    assert choose_amp_dtype("cuda", True, "float16", bf16_supported=True) == torch.float16
    assert choose_amp_dtype("cuda", False, "auto", bf16_supported=True) is None
    for device in ("cpu", "mps"):
        assert choose_amp_dtype(device, True, "auto", bf16_supported=True) is None
    with pytest.raises(ValueError, match="does not support bfloat16"):
        choose_amp_dtype("cuda", True, "bfloat16", bf16_supported=False)
    with pytest.raises(ValueError, match="amp dtype"):
        choose_amp_dtype("cuda", True, "half")


def test_grad_scaler_only_for_float16():
    assert Precision("cuda", torch.float16).grad_scaling
    assert not Precision("cuda", torch.bfloat16).grad_scaling
    assert not Precision("cpu", None).grad_scaling
    assert Precision("cuda", torch.float16).name == "float16 autocast + grad scaler"
    assert precision_for(torch.device("cpu"), amp=True).dtype is None
    assert not make_grad_scaler(Precision("cpu", None)).is_enabled()


# ------------------------------------------------------------------------------------ rng


def test_generator_states_round_trip_through_a_weights_only_file(tmp_path):
    torch.manual_seed(1)
    np.random.seed(2)  # noqa: NPY002 - the global generator is what is saved
    random.seed(3)
    random.gauss(0, 1)  # leaves a cached value in Python's state
    state = capture_rng_state()
    expected = (torch.rand(5), np.random.rand(5), [random.random() for _ in range(5)],  # noqa: NPY002
                random.gauss(0, 1))
    torch.save(state, tmp_path / "rng.pth")
    loaded = torch.load(tmp_path / "rng.pth", weights_only=True)
    assert loaded["torch"].dtype == torch.uint8 and loaded["numpy"]["keys"].dtype == torch.uint8
    torch.manual_seed(99)
    np.random.seed(99)  # noqa: NPY002
    random.seed(99)
    restore_rng_state(loaded)
    again = (torch.rand(5), np.random.rand(5), [random.random() for _ in range(5)],  # noqa: NPY002
             random.gauss(0, 1))
    assert torch.equal(expected[0], again[0])
    assert np.array_equal(expected[1], again[1])
    assert expected[2:] == again[2:]


# ------------------------------------------------------------------------------------ metrics log


def test_metrics_log_writes_strict_json_and_truncates_after_a_step(tmp_path):
    log = MetricsLog(tmp_path / "metrics.jsonl")
    log.write({"event": "start", "step": 0})
    for step in range(1, 6):
        log.write({"event": "step", "step": step, "loss": float("nan") if step == 2 else 1.0 / step})
    log.write({"event": "pretrain", "epoch": 1, "loss": 0.5})
    with open(tmp_path / "metrics.jsonl", "a") as fh:
        fh.write('{"event": "step", "st')  # a line cut by a kill
    assert log.truncate_after(3) == 3
    records = read_metrics(tmp_path)
    assert [r.get("step") for r in records] == [0, 1, 2, 3, None]
    assert records[2]["loss"] is None  # NaN written as null
    for line in (tmp_path / "metrics.jsonl").read_text().splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert [r["step"] for r in read_metrics(tmp_path, "step")] == [1, 2, 3]


def test_tensorboard_without_the_package_is_a_clear_error(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if not installed
    with pytest.raises(SlavcLiteError, match="pip install tensorboard"):
        MetricsLog(tmp_path / "metrics.jsonl", tensorboard_dir=tmp_path / "tb")


def test_tensorboard_mirrors_the_numeric_fields_of_step_records(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    log = MetricsLog(tmp_path / "metrics.jsonl", tensorboard_dir=tmp_path / "tb")
    log.write({"event": "step", "step": 5, "loss": 2.5, "lr": 1e-3})
    log.write({"event": "step", "step": 10, "loss": 2.0, "lr": 1e-3})
    log.write({"event": "validation", "step": 10, "table": {"all": {"AP": 0.25}}, "metric": "x"})
    log.write({"event": "end", "seconds": 3.0})  # no step: JSON only
    log.close()
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert sorted(events.Tags()["scalars"]) == ["step/loss", "step/lr", "validation/table/all/AP"]
    assert [(e.step, e.value) for e in events.Scalars("step/loss")] == [(5, 2.5), (10, 2.0)]
    ap = events.Scalars("validation/table/all/AP")
    assert [(e.step, pytest.approx(e.value)) for e in ap] == [(10, 0.25)]
    assert len(read_metrics(tmp_path)) == 4


# ------------------------------------------------------------------------------------ run folders


def test_new_run_in_a_new_or_empty_folder_writes_the_config(tmp_path):
    cfg = preset("cpu-toy")
    for root in (tmp_path / "new" / "run", tmp_path / "empty"):
        if root.name == "empty":
            root.mkdir()
        assert prepare_run_folder(RunLayout(root), cfg, resume=False) == cfg
        assert TrainConfig.from_json(RunLayout(root).config) == cfg


def test_folder_with_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SlavcLiteError, match="holds no slavc-lite run"):
        prepare_run_folder(RunLayout(tmp_path), preset("cpu-toy"), resume=False)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_folder_with_a_different_config_is_refused_and_kept(tmp_path):
    layout = RunLayout(tmp_path)
    prepare_run_folder(layout, preset("cpu-toy"), resume=False)
    before = layout.config.read_text()
    other = preset("cpu-toy").with_overrides({"model.dim": 64})
    with pytest.raises(SlavcLiteError, match="different configuration.*model.dim"):
        prepare_run_folder(layout, other, resume=False)
    assert layout.config.read_text() == before


def test_same_config_without_checkpoint_restarts_but_with_one_needs_resume(tmp_path):
    layout = RunLayout(tmp_path)
    cfg = preset("cpu-toy")
    prepare_run_folder(layout, cfg, resume=False)
    assert prepare_run_folder(layout, cfg, resume=False) == cfg  # an attempt that saved nothing
    layout.latest.write_bytes(b"checkpoint")
    with pytest.raises(SlavcLiteError, match="pass --resume"):
        prepare_run_folder(layout, cfg, resume=False)
    assert layout.latest.read_bytes() == b"checkpoint"


def test_resume_rules(tmp_path):
    layout = RunLayout(tmp_path)
    cfg = preset("cpu-toy")
    with pytest.raises(CheckpointError, match="nothing to resume"):
        prepare_run_folder(layout, None, resume=True)
    prepare_run_folder(layout, cfg, resume=False)
    layout.latest.write_bytes(b"checkpoint")
    assert prepare_run_folder(layout, None, resume=True) == cfg
    longer = cfg.with_overrides({"optim.epochs": 12})
    assert prepare_run_folder(layout, longer, resume=True) == longer
    assert TrainConfig.from_json(layout.config).optim.epochs == 12
    with pytest.raises(SlavcLiteError, match="cannot resume with a different configuration.*optim.lr"):
        prepare_run_folder(layout, longer.with_overrides({"optim.lr": 1.0}), resume=True)


# ------------------------------------------------------------------------------------ schedule


def test_learning_rate_schedules_are_the_official_ones():
    from slavc_lite.training.schedule import learning_rate

    constant = preset("paper").optim
    assert learning_rate(constant, 0.0) == learning_rate(constant, 13.7) == 1e-4
    cosine = preset("paper").with_overrides({"optim.lr_schedule": "cosine", "optim.epochs": 10}).optim
    assert learning_rate(cosine, 0.0) == pytest.approx(1e-4)
    assert learning_rate(cosine, 5.0) == pytest.approx(0.5e-4)
    assert learning_rate(cosine, 10.0) == pytest.approx(0.0, abs=1e-12)
    warm = preset("paper").with_overrides(
        {"optim.lr_schedule": "cosine", "optim.epochs": 10, "optim.warmup_epochs": 2}).optim
    assert learning_rate(warm, 1.0) == pytest.approx(0.5e-4)
    assert learning_rate(warm, 2.0) == pytest.approx(1e-4)
    assert learning_rate(warm, 6.0) == pytest.approx(0.5e-4)
    with pytest.raises(ConfigError, match="lr_schedule"):
        preset("paper").with_overrides({"optim.lr_schedule": "step"}).validate()
