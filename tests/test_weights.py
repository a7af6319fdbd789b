"""The weights policy: explicit random init, ImageNet from cache or network, files, clear errors."""

import hashlib
import http.server
import threading
from pathlib import Path

import pytest
import torch
from torchvision.models import resnet18

from slavc_lite import encoders, weights
from slavc_lite.errors import WeightsUnavailableError


@pytest.fixture
def empty_torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return tmp_path / "torch_home"


@pytest.fixture
def loopback_server(tmp_path):
    """Serve tmp_path/www over HTTP on 127.0.0.1; yields the base URL."""
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def _closed_port_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/resnet18-f37072fd.pth"


def test_none_means_random_init_without_any_download(empty_torch_home, monkeypatch):
    monkeypatch.setitem(weights.IMAGENET_WEIGHT_URLS, "resnet18", _closed_port_url())
    assert weights.resolve_image_state_dict("resnet18", None) is None
    assert weights.describe_weights(None) == "random init"


def test_offline_imagenet_request_fails_with_instructions(empty_torch_home, monkeypatch):
    monkeypatch.setitem(weights.IMAGENET_WEIGHT_URLS, "resnet18", _closed_port_url())
    with pytest.raises(WeightsUnavailableError) as err:
        encoders.build_image_encoder("resnet18", "imagenet")
    message = str(err.value)
    assert "resnet18-f37072fd.pth" in message
    assert str(empty_torch_home) in message  # where to put the file
    assert "image_weights=None" in message  # how to opt into random init on purpose


def test_imagenet_weights_download_into_the_hub_cache_then_load_offline(
    empty_torch_home, loopback_server, monkeypatch
):
    base, root = loopback_server
    torch.manual_seed(0)
    reference = resnet18()
    staging = root / "staging.pth"
    torch.save(reference.state_dict(), staging)
    digest = hashlib.sha256(staging.read_bytes()).hexdigest()[:8]
    name = f"resnet18-{digest}.pth"  # torchvision's naming: the prefix is checked on download
    staging.rename(root / name)
    monkeypatch.setitem(weights.IMAGENET_WEIGHT_URLS, "resnet18", f"{base}/{name}")

    net = encoders.build_image_encoder("resnet18", "imagenet")
    assert torch.equal(net.conv1.weight, reference.conv1.weight)
    assert (Path(empty_torch_home) / "hub" / "checkpoints" / name).is_file()

    # Second time: the server is gone, the cache answers.
    (root / name).unlink()
    again = encoders.build_image_encoder("resnet18", "imagenet")
    assert torch.equal(again.layer4[1].bn2.running_var, reference.layer4[1].bn2.running_var)


def test_corrupted_download_is_refused(empty_torch_home, loopback_server, monkeypatch):
    base, root = loopback_server
    (root / "resnet18-00000000.pth").write_bytes(b"not a checkpoint at all")
    monkeypatch.setitem(weights.IMAGENET_WEIGHT_URLS, "resnet18", f"{base}/resnet18-00000000.pth")
    with pytest.raises(WeightsUnavailableError):
        encoders.build_image_encoder("resnet18", "imagenet")
    cache = Path(empty_torch_home) / "hub" / "checkpoints"
    assert not cache.exists() or not any(cache.iterdir())  # nothing half-written left behind


def test_weights_from_a_file_with_module_prefix_and_model_key(tmp_path):
    torch.manual_seed(1)
    reference = resnet18()
    path = tmp_path / "wrapped.pth"
    torch.save({"model": {f"module.{k}": v for k, v in reference.state_dict().items()}}, path)
    net = encoders.build_image_encoder("resnet18", path)
    assert torch.equal(net.layer1[0].conv1.weight, reference.layer1[0].conv1.weight)
    assert weights.describe_weights(path) == "file wrapped.pth"


def test_mobilenet_weights_from_a_file(tmp_path):
    from torchvision.models import mobilenet_v3_small

    torch.manual_seed(2)
    reference = mobilenet_v3_small()
    path = tmp_path / "mnv3.pth"
    torch.save(reference.state_dict(), path)
    net = encoders.build_image_encoder("mobilenet_v3_small", path)
    assert torch.equal(net.features[0][0].weight, reference.features[0][0].weight)


@pytest.mark.parametrize(
    "content, match",
    [(None, "not found"), (b"", "not a readable"), (b"\x00garbage", "not a readable")],
)
def test_bad_weight_files_name_the_file(tmp_path, content, match):
    path = tmp_path / "weights.pth"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(WeightsUnavailableError, match=match) as err:
        encoders.build_image_encoder("resnet18", path)
    assert "weights.pth" in str(err.value)


def test_weights_of_another_architecture_are_refused(tmp_path):
    from torchvision.models import mobilenet_v3_small

    path = tmp_path / "mnv3.pth"
    torch.save(mobilenet_v3_small().state_dict(), path)
    with pytest.raises(WeightsUnavailableError, match="mnv3.pth: weights do not fit a torchvision resnet18"):
        encoders.build_image_encoder("resnet18", path)


def test_a_pickled_object_that_is_not_a_state_dict_is_refused(tmp_path):
    path = tmp_path / "list.pth"
    torch.save([1, 2, 3], path)
    with pytest.raises(WeightsUnavailableError, match="state dict"):
        encoders.build_image_encoder("resnet18", path)
