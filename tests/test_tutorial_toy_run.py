"""A finished toy run that today's recipe would not train is refused with its folder named."""

from __future__ import annotations

import pytest
import torch

from slavc_lite.checkpoints import save_checkpoint
from slavc_lite.model import SLAVC
from slavc_lite.teaching import tutorial
from slavc_lite.training.layout import RunLayout


def _finished_toy_run(tmp_path, monkeypatch, model: SLAVC, **overrides) -> RunLayout:
    monkeypatch.setenv("SLAVC_LITE_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("SLAVC_LITE_DATA", str(tmp_path / "data"))
    layout = RunLayout(tutorial.toy_run_dir(quick=True))
    layout.root.mkdir(parents=True)
    tutorial.toy_run_config(quick=True).with_overrides(overrides).to_json(layout.config)
    save_checkpoint(layout.best, model, epoch=1)
    layout.summary.write_text("{}")
    return layout


def _model(backbone: str = "local_cnn") -> SLAVC:
    torch.manual_seed(0)
    return SLAVC(backbone=backbone, image_weights=None, dim=tutorial.toy_run_config(quick=True).model.dim)


def test_a_current_finished_toy_run_is_reused(tmp_path, monkeypatch):
    layout = _finished_toy_run(tmp_path, monkeypatch, _model())
    assert tutorial.ensure_toy_run(quick=True) == layout.root


def test_a_toy_run_of_another_configuration_is_refused_and_kept(tmp_path, monkeypatch):
    layout = _finished_toy_run(tmp_path, monkeypatch, _model("mobilenet_v3_small"),
                               **{"model.backbone": "mobilenet_v3_small", "model.image_weights": "none"})
    earlier = r"cpu-toy-quick holds a toy run of an earlier recipe.*model.backbone"
    with pytest.raises(RuntimeError, match=earlier):
        tutorial.ensure_toy_run(quick=True)
    assert layout.best.is_file()


def test_a_toy_run_whose_weights_no_longer_fit_is_refused(tmp_path, monkeypatch):
    model = _model()
    model.imgnet[2][0] = torch.nn.Conv2d(32, 64, 3, 2, 1, bias=False)  # an earlier trunk's 3x3 stride-2 conv
    model.momentum_imgnet[2][0] = torch.nn.Conv2d(32, 64, 3, 2, 1, bias=False)
    _finished_toy_run(tmp_path, monkeypatch, model)
    with pytest.raises(RuntimeError, match="weights do not fit today's model"):
        tutorial.ensure_toy_run(quick=True)
