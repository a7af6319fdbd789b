"""SLAVC model: official module names, momentum networks, loss and logits."""

import copy

import pytest
import torch
from torch import nn
from torchvision.models import resnet18

from slavc_lite import SLAVC, losses
from tests.reference_impl import dot

B = 2


def official_key_shapes(dim: int = 512) -> dict[str, torch.Size]:
    """Parameter and buffer shapes of the official checkpoint, derived from torchvision.

    imgnet: ResNet-18 without fc; audnet: ResNet-18 without fc, 1-channel conv1; four heads.
    Every online part has a ``momentum_`` twin.
    """
    trunk = {k: v.shape for k, v in resnet18().state_dict().items() if not k.startswith("fc.")}
    audio = dict(trunk, **{"conv1.weight": torch.Size([64, 1, 7, 7])})
    heads = {
        "img_proj1.weight": torch.Size([dim, 512, 1, 1]), "img_proj1.bias": torch.Size([dim]),
        "img_proj2.weight": torch.Size([dim, 512, 1, 1]), "img_proj2.bias": torch.Size([dim]),
        "aud_proj1.weight": torch.Size([dim, 512]), "aud_proj1.bias": torch.Size([dim]),
        "aud_proj2.weight": torch.Size([dim, 512]), "aud_proj2.bias": torch.Size([dim]),
    }
    online = {f"imgnet.{k}": s for k, s in trunk.items()}
    online.update({f"audnet.{k}": s for k, s in audio.items()})
    online.update(heads)
    return {**online, **{f"momentum_{k}": s for k, s in online.items()}}


@pytest.fixture(scope="module")
def model() -> SLAVC:
    torch.manual_seed(0)
    return SLAVC()


def _inputs(seed=0, size=224):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, 3, size, size, generator=g), torch.randn(B, 1, 257, 200, generator=g)


def test_defaults_are_the_official_hyperparameters(model):
    assert model.hyperparameters() == {
        "backbone": "resnet18", "dim": 512, "tau": 0.03, "dropout_img": 0.9, "dropout_aud": 0.0,
        "momentum_img": 0.999, "momentum_aud": 0.999, "loss": "official", "use_momentum_eval": True,
    }


def test_state_dict_has_exactly_the_official_keys_and_shapes(model):
    expected = official_key_shapes()
    got = {k: v.shape for k, v in model.state_dict().items()}
    assert got.keys() == expected.keys()
    assert got == expected


def test_official_state_dict_loads_strictly(model):
    g = torch.Generator().manual_seed(1)
    official = {k: torch.randn(s, generator=g) for k, s in official_key_shapes().items()}
    for k in official:
        if k.endswith("num_batches_tracked"):
            official[k] = torch.tensor(7)
    fresh = SLAVC()
    fresh.load_state_dict(official, strict=True)
    for k, v in fresh.state_dict().items():
        assert torch.equal(v, official[k].to(v.dtype)), k


def test_momentum_networks_start_as_copies_and_are_frozen(model):
    for name in ("imgnet", "img_proj1", "img_proj2", "audnet", "aud_proj1", "aud_proj2"):
        online = getattr(model, name).state_dict()
        target = getattr(model, f"momentum_{name}").state_dict()
        assert all(torch.equal(online[k], target[k]) for k in online), name
        assert not any(p.requires_grad for p in getattr(model, f"momentum_{name}").parameters())


def test_official_init_of_audio_net_and_heads():
    torch.manual_seed(0)
    m = SLAVC(dim=256)
    bn = m.audnet.bn1.weight.detach(), m.audnet.bn1.bias.detach()
    assert abs(float(bn[0].mean()) - 1) < 0.01 and 0.005 < float(bn[0].std()) < 0.04
    assert torch.all(bn[1] == 0)
    std = float(m.aud_proj1.weight.detach().std())
    assert 0.008 < std < 0.012  # truncated normal, std 0.01
    # kaiming normal, fan_out = 256 * 1 * 1 for the image heads
    assert abs(float(m.img_proj1.weight.detach().std()) - (2 / 256) ** 0.5) < 0.01


def test_training_step_moves_momentum_by_exactly_the_ema_rule():
    torch.manual_seed(0)
    m = SLAVC(dropout_img=0.0, momentum_img=0.9, momentum_aud=0.8)
    images, specs = _inputs()
    opt = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=0.1)
    m.train()
    for _ in range(2):  # after the first step the online weights differ from the momentum ones
        before_online = {k: v.detach().clone() for k, v in m.named_parameters()}
        opt.zero_grad()
        loss = m.training_loss(images, specs)
        loss.backward()
        for name, p in m.named_parameters():
            if name.startswith("momentum_"):
                assert p.grad is None, name
                online_name = name.removeprefix("momentum_")
                mom = 0.9 if online_name.startswith(("imgnet", "img_")) else 0.8
                expected = mom * before_online[name] + (1 - mom) * before_online[online_name]
                torch.testing.assert_close(p.detach(), expected, rtol=0, atol=1e-6)
        opt.step()


def test_batchnorm_buffers_are_not_averaged():
    torch.manual_seed(0)
    m = SLAVC(dropout_img=0.0)
    with torch.no_grad():
        m.imgnet.bn1.running_mean.fill_(5.0)
    m.train()
    images, specs = _inputs()
    m.training_loss(images, specs)
    # the momentum BN kept its own statistics (moved from 0 towards the batch, not to 5)
    assert float(m.momentum_imgnet.bn1.running_mean.abs().max()) < 5.0 * 0.5


def test_training_loss_is_the_official_loss_of_the_features():
    torch.manual_seed(0)
    m = SLAVC(dropout_img=0.0)
    images, specs = _inputs()
    reference = copy.deepcopy(m)
    m.train()
    reference.train()
    loss = m.training_loss(images, specs)
    reference.update_momentum()
    online = reference.encode_image(images), reference.encode_audio(specs)
    with torch.no_grad():
        target = reference.encode_image(images, True), reference.encode_audio(specs, True)
    expected = losses.slavc_loss(online[0], online[1], target[0], target[1], 0.03)
    torch.testing.assert_close(loss, expected, rtol=0, atol=1e-5)


def test_eval_mode_does_not_move_momentum(model):
    model.eval()
    before = copy.deepcopy(model.momentum_audnet.state_dict())
    with torch.no_grad():
        model.training_loss(*_inputs())
    assert all(torch.equal(before[k], v) for k, v in model.momentum_audnet.state_dict().items())


def test_localization_logits_from_momentum_encoders(model):
    model.eval()
    images, specs = _inputs(3)
    with torch.no_grad():
        # make online and momentum differ so the choice is visible
        for p in model.img_proj1.parameters():
            p.add_(0.5)
        logits = model.localization_logits(images, specs)
        online = model.localization_logits(images, specs, momentum=False)
        img1, img2 = model.encode_image(images, momentum=True)
        aud1, aud2 = model.encode_audio(specs, momentum=True)
    assert logits.shape == (B, 7, 7)
    assert not torch.allclose(logits, online)
    for n in range(B):
        for y in (0, 3, 6):
            for x in (0, 5):
                s1 = dot(img1[n, :, y, x], aud1[n])
                s2 = dot(img2[n, :, y, x], aud2[n])
                assert abs(float(logits[n, y, x]) - (s1 + s2) / 2 / 0.03) < 1e-4
    assert float(logits.abs().max()) <= 1 / 0.03 + 1e-4


def test_image_dropout_is_applied_to_the_feature_map_in_train_mode_only():
    torch.manual_seed(0)
    m = SLAVC(backbone="mobilenet_v3_small", dropout_img=0.9)
    seen = {}
    m.img_proj1.register_forward_pre_hook(lambda mod, inp: seen.__setitem__("x", inp[0]))
    images, _ = _inputs(size=64)
    m.train()
    m.encode_image(images)
    zero_share = float((seen["x"] == 0).float().mean())
    assert 0.85 < zero_share < 0.97
    m.eval()
    m.encode_image(images)
    assert float((seen["x"] == 0).float().mean()) < 0.5


@pytest.mark.parametrize("loss", ["paper", "ezvsl"])
def test_loss_variants_train(loss):
    torch.manual_seed(0)
    m = SLAVC(backbone="mobilenet_v3_small", loss=loss, dim=32)
    m.train()
    images, specs = _inputs(size=64)
    value = m.training_loss(images, specs)
    value.backward()
    assert torch.isfinite(value)
    assert m.imgnet.features[0][0].weight.grad is not None


def test_training_loss_passes_excluded_pairs_to_the_slavc_losses_only():
    torch.manual_seed(0)
    m = SLAVC(backbone="mobilenet_v3_small", dim=32).eval()  # eval: no dropout, no momentum update
    images, specs = _inputs(size=64)
    exclude = torch.zeros(B, B, dtype=torch.bool)
    exclude[0, 1] = exclude[1, 0] = True
    with torch.no_grad():
        official, fewer = m.training_loss(images, specs), m.training_loss(images, specs, exclude)
    assert torch.isfinite(fewer) and fewer != official
    with pytest.raises(ValueError, match="ezvsl"):
        SLAVC(backbone="mobilenet_v3_small", dim=32, loss="ezvsl").training_loss(images, specs, exclude)


def test_mobilenet_backbone_shapes():
    m = SLAVC(backbone="mobilenet_v3_small", dim=64).eval()
    images, specs = _inputs()
    with torch.no_grad():
        assert m.localization_logits(images, specs).shape == (B, 7, 7)
        assert m.encode_audio(specs)[0].shape == (B, 64)


@pytest.mark.parametrize(
    "kwargs", [{"backbone": "vgg16"}, {"loss": "l2"}, {"momentum_img": 1.5}]
)
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(ValueError):
        SLAVC(**kwargs)


def test_image_trunk_keeps_torchvision_weights_from_a_file(tmp_path):
    torch.manual_seed(3)
    tv = resnet18()
    path = tmp_path / "resnet18-weights.pth"
    torch.save(tv.state_dict(), path)
    m = SLAVC(image_weights=str(path))
    for k, v in tv.state_dict().items():
        if not k.startswith("fc."):
            assert torch.equal(m.imgnet.state_dict()[k], v)
            assert torch.equal(m.momentum_imgnet.state_dict()[k], v)
    assert isinstance(m.imgnet.fc, nn.Identity)
