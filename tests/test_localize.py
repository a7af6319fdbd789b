"""Localizer: the three maps of one pair, cheap re-blending, and the weights policy."""

import socket
import statistics
import time

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image
from torchvision.models import mobilenet_v3_small

from slavc_lite import localize as localize_module
from slavc_lite import maps, weights
from slavc_lite.audio import load_spectrogram
from slavc_lite.checkpoints import save_checkpoint
from slavc_lite.encoders import build_image_encoder
from slavc_lite.errors import WeightsUnavailableError
from slavc_lite.images import load_image_tensor
from slavc_lite.localize import (
    RANDOM_WEIGHTS,
    RELEASED_CHECKPOINT_ID,
    LocalizationResult,
    Localizer,
    resolve_device,
)
from slavc_lite.model import SLAVC

SMALL = "mobilenet_v3_small"


@pytest.fixture(scope="module")
def localizer() -> Localizer:
    torch.manual_seed(0)
    model = SLAVC(backbone=SMALL, dim=32)
    described = {"slavc": RANDOM_WEIGHTS, "ogl": RANDOM_WEIGHTS}
    return Localizer(model, build_image_encoder(SMALL), device="cpu", weights_description=described,
                     random_weights=True)


@pytest.fixture(scope="module")
def pair() -> tuple[torch.Tensor, torch.Tensor]:
    """Small inputs keep the tests fast: the maps are upsampled to 224 x 224 whatever the grid."""
    g = torch.Generator().manual_seed(0)
    return torch.randn(3, 96, 96, generator=g), torch.randn(1, 257, 60, generator=g) - 1


@pytest.fixture(scope="module")
def result(localizer, pair) -> LocalizationResult:
    return localizer.localize(*pair, alpha=0.4)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(1)
    image = tmp_path / "scene.png"
    Image.fromarray((rng.random((120, 160, 3)) * 255).astype(np.uint8)).save(image)
    audio = tmp_path / "sound.wav"
    t = np.arange(16000 * 3) / 16000
    soundfile.write(audio, 0.3 * np.sin(2 * np.pi * 440 * t), 16000, subtype="PCM_16")
    return image, audio


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No cached torchvision weights and every ImageNet URL on a closed loopback port."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_torch_home"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for backbone in list(weights.IMAGENET_WEIGHT_URLS):
        monkeypatch.setitem(weights.IMAGENET_WEIGHT_URLS, backbone, f"http://127.0.0.1:{port}/{backbone}.pth")


def test_maps_have_the_official_shape_and_scale(result):
    assert result.image.shape == (96, 96, 3) and result.image.dtype == np.uint8
    for scores in (result.slavc, result.ogl, result.vsl):
        assert scores.shape == (224, 224) and scores.dtype == np.float32
    # (cos + 1) / 2 lies in [0, 1]; bicubic upsampling may overshoot a little.
    assert -0.1 < result.slavc.min() and result.slavc.max() < 1.1
    assert result.ogl.min() > -0.1  # mean |o| >= 0 before the bicubic overshoot
    assert result.alpha == 0.4


def test_maps_are_the_official_computation(localizer, pair, result):
    image, spec = pair
    with torch.no_grad():
        logits = localizer.model.localization_logits(image[None], spec[None])
        slavc = maps.slavc_map(logits, localizer.model.tau)[0]
        ogl = maps.ogl_map(localizer.object_net(image[None]))[0]
    torch.testing.assert_close(torch.from_numpy(result.slavc), slavc)
    torch.testing.assert_close(torch.from_numpy(result.ogl), ogl)
    np.testing.assert_allclose(result.vsl, 0.4 * result.slavc + 0.6 * result.ogl, rtol=1e-6, atol=1e-6)
    expected = maps.confidence(torch.stack([slavc, ogl, torch.from_numpy(result.vsl)]))
    expected = dict(zip(("slavc", "ogl", "vsl"), expected.tolist(), strict=True))
    assert result.confidences == pytest.approx(expected)


def test_inference_is_deterministic_in_eval_mode(localizer, pair, result):
    localizer.model.train()  # localize() switches back: dropout 0.9 would randomise the maps
    again = localizer.localize(*pair, alpha=0.4)
    np.testing.assert_array_equal(again.slavc, result.slavc)
    assert not localizer.model.training


def test_reblend_uses_the_cached_maps_only_and_is_fast(result):
    for alpha in (0.0, 0.4, 0.9, 1.0):
        np.testing.assert_allclose(result.reblend(alpha), alpha * result.slavc + (1 - alpha) * result.ogl,
                                   rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(result.reblend(0.4), result.vsl)
    timings = []
    for _ in range(30):
        start = time.perf_counter()
        result.reblend(0.7)
        timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.01
    with pytest.raises(ValueError, match="alpha"):
        result.reblend(1.5)


def test_with_alpha_updates_vsl_and_its_confidence(result):
    other = result.with_alpha(0.9)
    np.testing.assert_array_equal(other.vsl, result.reblend(0.9))
    assert other.alpha == 0.9 and other.confidences["slavc"] == result.confidences["slavc"]
    assert other.confidences["vsl"] == pytest.approx(float(maps.confidence(torch.from_numpy(other.vsl))[0]))
    assert result.alpha == 0.4  # the original is unchanged


def test_paths_are_read_with_the_official_test_pipeline(localizer, files):
    image, audio = files
    assert torch.equal(localize_module._image_tensor(image), load_image_tensor(image))
    assert torch.equal(localize_module._image_tensor(Image.open(image)), load_image_tensor(image))
    assert torch.equal(localize_module._spectrogram(audio), load_spectrogram(audio))
    from_paths = localizer.localize(image, audio)
    assert from_paths.image.shape == (224, 224, 3) and from_paths.slavc.shape == (224, 224)


def test_bad_inputs(localizer, pair, tmp_path):
    image, spec = pair
    with pytest.raises(ValueError, match="alpha"):
        localizer.localize(image, spec, alpha=-0.1)
    with pytest.raises(ValueError, match="image tensor"):
        localizer.localize(image[0], spec)
    with pytest.raises(ValueError, match="spectrogram"):
        localizer.localize(image, torch.zeros(2, 257, 60))
    missing = tmp_path / "missing.wav"
    with pytest.raises(Exception, match="missing.wav"):
        localizer.localize(image, missing)


def test_no_weights_is_refused_with_instructions():
    with pytest.raises(WeightsUnavailableError) as err:
        Localizer.from_weights()
    message = str(err.value)
    assert RELEASED_CHECKPOINT_ID in message and "README" in message
    assert "--checkpoint" in message and "--random-weights" in message and "train" in message
    with pytest.raises(ValueError, match="not both"):
        Localizer.from_weights(checkpoint="x.pth", random_weights=True)


def test_random_weights_are_random_for_both_networks_and_say_so(offline):
    loc = Localizer.from_weights(random_weights=True, backbone=SMALL, device="cpu")
    assert loc.random_weights
    assert loc.weights_description == {"slavc": RANDOM_WEIGHTS, "ogl": f"{SMALL}, {RANDOM_WEIGHTS}"}
    assert loc.model.backbone == SMALL and loc.device == torch.device("cpu")


def test_random_slavc_with_explicit_ogl_weights_file(tmp_path):
    torch.manual_seed(0)
    trunk = mobilenet_v3_small()
    path = tmp_path / "objects.pth"
    torch.save(trunk.state_dict(), path)
    loc = Localizer.from_weights(random_weights=True, ogl_weights=path, backbone=SMALL)
    assert loc.random_weights
    assert loc.weights_description["ogl"] == f"{SMALL}, file objects.pth"
    assert torch.equal(loc.object_net.features[0][0].weight, trunk.features[0][0].weight)


def test_checkpoint_with_ogl_file_is_a_real_setup(tmp_path, offline):
    torch.manual_seed(0)
    model = SLAVC(backbone=SMALL, dim=16)
    ckpt = save_checkpoint(tmp_path / "toy_run.pth", model, epoch=5)
    torch.save(mobilenet_v3_small().state_dict(), tmp_path / "objects.pth")
    loc = Localizer.from_weights(checkpoint=ckpt, ogl_weights=tmp_path / "objects.pth")
    assert not loc.random_weights
    assert loc.weights_description["slavc"].startswith("toy_run.pth (slavc_lite checkpoint")
    assert loc.model.dim == 16 and loc.model.backbone == SMALL
    with pytest.raises(ValueError, match="holds a mobilenet_v3_small"):
        Localizer.from_weights(checkpoint=ckpt, ogl_weights=tmp_path / "objects.pth", backbone="resnet18")
    with pytest.raises(WeightsUnavailableError, match="not cached"):  # default OGL: ImageNet, offline
        Localizer.from_weights(checkpoint=ckpt)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(None) == resolve_device("auto")
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert resolve_device("auto").type == expected
