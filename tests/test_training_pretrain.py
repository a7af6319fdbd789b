"""The toy-world object pretraining (ImageNet's stand-in): a trunk that loads as image weights,
re-estimated BatchNorm statistics, and a pretraining that continues after an interruption."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from slavc_lite.encoders import build_image_encoder
from slavc_lite.training import preset
from slavc_lite.training.precision import precision_for
from slavc_lite.training.pretrain import ObjectClassifier, _recalibrate_batch_norm, pretrain_object_net

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _config():
    return preset("cpu-toy").with_overrides({"run.pretrain_epochs": 2, "run.pretrain_samples": 8,
                                             "run.pretrain_batch_size": 4, "data.workers": 0})


class Interrupt(Exception):
    pass


def test_interrupted_pretraining_continues_to_the_same_network(tmp_path):
    config = _config()
    straight = pretrain_object_net(config, tmp_path / "a.pth", CPU, precision_for(CPU, False), progress=False)
    assert [r["epoch"] for r in straight.epochs] == [1, 2]
    assert 0.0 <= straight.held_out_accuracy <= 1.0

    state = tmp_path / "state.pth"

    def stop_after_first(record):
        if record["epoch"] == 1:
            raise Interrupt

    with pytest.raises(Interrupt):
        pretrain_object_net(config, tmp_path / "b.pth", CPU, precision_for(CPU, False), progress=False,
                            emit=stop_after_first, state_path=state)
    assert state.is_file() and not (tmp_path / "b.pth").exists()
    seen = []
    resumed = pretrain_object_net(config, tmp_path / "b.pth", CPU, precision_for(CPU, False), progress=False,
                                  emit=seen.append, state_path=state)
    assert [r["epoch"] for r in seen] == [2] and [r["epoch"] for r in resumed.epochs] == [1, 2]
    assert not state.exists()
    a = torch.load(tmp_path / "a.pth", weights_only=True)
    b = torch.load(tmp_path / "b.pth", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # The file is a plain trunk state dict that the image encoder loads as it loads ImageNet weights.
    trunk = build_image_encoder(config.model.backbone, weights=tmp_path / "a.pth")
    assert torch.equal(trunk.state_dict()["0.0.weight"], a["0.0.weight"])


def test_batch_norm_statistics_are_re_estimated_on_training_images():
    torch.manual_seed(0)
    model = ObjectClassifier("mobilenet_v3_small", 10)
    first_bn = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert torch.equal(first_bn.running_mean, torch.zeros_like(first_bn.running_mean))
    images = [(torch.randn(3, 64, 64) * 2 + 1, i % 10) for i in range(8)]
    _recalibrate_batch_norm(model, images, batch_size=4, device=torch.device("cpu"))
    assert not torch.equal(first_bn.running_mean, torch.zeros_like(first_bn.running_mean))
    assert first_bn.momentum == 0.01  # torchvision's value is put back afterwards
    assert model.training


def test_batch_norm_momentum_is_set_on_every_layer():
    from slavc_lite.model import SLAVC
    from slavc_lite.training.batchnorm import set_batch_norm_momentum

    model = SLAVC(backbone="mobilenet_v3_small", image_weights=None, dim=8)
    layers = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert {m.momentum for m in layers} == {0.01}  # torchvision's MobileNetV3 value
    assert set_batch_norm_momentum(model, None) == 0 and {m.momentum for m in layers} == {0.01}
    assert set_batch_norm_momentum(model, 0.1) == len(layers) > 0  # online and momentum networks
    assert {m.momentum for m in layers} == {0.1}
    with pytest.raises(ValueError, match="BatchNorm momentum"):
        set_batch_norm_momentum(model, 0.0)


def test_cell_labels_follow_the_object_mask():
    from slavc_lite.data.toy.objects import CELL_COVERAGE, cell_labels

    mask = np.zeros((224, 224), np.uint8)
    mask[0:64, 0:64] = 1  # cells (0, 0), (0, 1), (1, 0), (1, 1) fully covered
    mask[64:64 + int(32 * CELL_COVERAGE) + 1, 0:32] = 1  # cell (2, 0) covered just above the threshold
    cells = cell_labels(mask, label=4, background=20)
    assert cells.shape == (7, 7) and cells.dtype == np.int64
    assert (cells[:2, :2] == 4).all() and cells[2, 0] == 4
    assert (cells == 4).sum() == 5 and (cells == 20).sum() == 44


def test_object_dataset_with_cell_targets_matches_the_drawn_object():
    from slavc_lite.data.toy import CLASS_NAMES, ToyObjectDataset
    from slavc_lite.data.toy.objects import render_object_image

    image, label, cells = ToyObjectDataset(3, seed=2, cell_targets=True)[1]
    _, same_label, mask = render_object_image(1, 2, with_mask=True)
    assert label == same_label and cells.shape == (7, 7)
    assert set(cells.unique().tolist()) <= {label, len(CLASS_NAMES)} and (cells == label).any()
    with pytest.raises(ValueError, match="transform"):
        ToyObjectDataset(3, cell_targets=True, transform=lambda im: im)


def test_image_trunk_lr_scale_sets_the_trunk_group(tmp_path):
    from slavc_lite.training.config import preset
    from slavc_lite.training.schedule import set_learning_rate

    config = preset("cpu-toy").with_overrides({"optim.image_trunk_lr_scale": 0.1})
    assert config.optim.image_trunk_lr_scale == 0.1
    with pytest.raises(Exception, match="image_trunk_lr_scale"):
        preset("cpu-toy").with_overrides({"optim.image_trunk_lr_scale": -1.0}).validate()
    optimizer = torch.optim.Adam([{"params": [torch.nn.Parameter(torch.zeros(1))]},
                                  {"params": [torch.nn.Parameter(torch.zeros(1))], "lr_scale": 0.1}], lr=1.0)
    set_learning_rate(optimizer, 2e-3)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([2e-3, 2e-4])
