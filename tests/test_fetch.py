"""Fetching the released weights: full, interrupted then resumed, not a checkpoint, SHA mismatch, offline.

Every download comes from an HTTP server started on 127.0.0.1 inside the test (gdown downloads
any URL it is given); the network is never used. The served checkpoint has the official keys
and shapes with one-element storages (about 150 KB), as in ``tests/test_checkpoints.py``.
"""

import hashlib
import http.server
import io
import json
import socket
import threading

import pytest
import torch

pytest.importorskip("gdown")

from slavc_lite import fetch, weights  # noqa: E402
from slavc_lite.cli import main  # noqa: E402
from slavc_lite.errors import CheckpointError, WeightsUnavailableError  # noqa: E402
from slavc_lite.localize import RELEASED_CHECKPOINT_ID  # noqa: E402
from slavc_lite.model import SLAVC  # noqa: E402
from slavc_lite.teaching.tutorial import best_weights  # noqa: E402


@pytest.fixture(scope="module")
def checkpoint_bytes() -> bytes:
    """An official-format checkpoint with the released model's keys and shapes, about 2.5 MB.

    Most tensors are one element expanded to their shape (stored as one element); the audio
    net's first convolution and the image projection heads hold real values, so that the file
    spans several of gdown's 512 KB chunks and a cut transfer keeps some of them.
    """
    real = ("audnet.conv1.weight", "img_proj1.weight", "img_proj2.weight")
    state = {k: v.clone() if k in real else torch.full((), i + 1, dtype=v.dtype).expand(v.shape)
             for i, (k, v) in enumerate(SLAVC().state_dict().items())}
    buffer = io.BytesIO()
    torch.save({"model": state, "optimizer": None, "epoch": 20, "best_Precision": 0.5,
                "best_AP": 0.4, "best_F1": 0.3}, buffer)
    return buffer.getvalue()


class FileServer:
    """Serves ``payload`` at ``/slavc.pth`` with range requests; ``cut_at`` closes mid-file."""

    def __init__(self, payload: bytes):
        self.payload = payload
        self.cut_at: int | None = None
        self.ranges: list[str | None] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                header = self.headers.get("Range")
                server.ranges.append(header)
                data, start = server.payload, 0
                if header:
                    start = int(header.removeprefix("bytes=").split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                if server.cut_at is not None:
                    body = body[: server.cut_at]
                    self.close_connection = True
                self.wfile.write(body)
                self.wfile.flush()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/slavc.pth"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(payload: bytes) -> FileServer:
        servers.append(FileServer(payload))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/slavc.pth"


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_full_download_is_checked_recorded_and_found_by_the_chapters(tmp_path, serve, checkpoint_bytes,
                                                                     monkeypatch):
    monkeypatch.setenv("SLAVC_LITE_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("SLAVC_LITE_CHECKPOINT", raising=False)
    server = serve(checkpoint_bytes)
    path = weights.fetch_official(url=server.url, quiet=True)
    assert path == tmp_path / "data" / "weights" / "slavc_vggsound144k.pth"
    assert path.read_bytes() == checkpoint_bytes
    record = json.loads(fetch.record_path(path).read_text())
    assert record["size"] == len(checkpoint_bytes)
    assert record["sha256"] == hashlib.sha256(checkpoint_bytes).hexdigest()
    assert record["source"] == server.url
    assert _listing(path.parent) == ["slavc_vggsound144k.pth", "slavc_vggsound144k.pth.record.json"]
    choice = best_weights()
    assert choice is not None and choice.kind == "official" and choice.path == path
    # A second call checks the record and downloads nothing.
    server.ranges.clear()
    assert weights.fetch_official(url=server.url, quiet=True) == path
    assert server.ranges == []


def test_interrupted_transfer_looks_incomplete_then_resumes(tmp_path, serve, checkpoint_bytes):
    server = serve(checkpoint_bytes)
    assert len(checkpoint_bytes) > 2 * 1024 * 1024
    server.cut_at = len(checkpoint_bytes) // 2
    with pytest.raises(WeightsUnavailableError, match="run the fetch again to resume") as info:
        fetch.fetch_official(tmp_path, url=server.url, quiet=True)
    assert "slavc_vggsound144k.pth" in str(info.value)
    assert not (tmp_path / "slavc_vggsound144k.pth").exists()
    parts = [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    assert len(parts) == 1
    kept = parts[0].stat().st_size
    assert 0 < kept <= server.cut_at and parts[0].read_bytes() == checkpoint_bytes[:kept]
    assert best_weights_in(tmp_path) is None

    # Offline in between: the message says where the file goes, and that the bytes are kept.
    with pytest.raises(WeightsUnavailableError, match="Offline") as info:
        fetch.fetch_official(tmp_path, url=_closed_port_url(), quiet=True)
    assert RELEASED_CHECKPOINT_ID in str(info.value) and str(parts[0]) in str(info.value)
    assert parts[0].stat().st_size == kept

    server.cut_at = None
    server.ranges.clear()
    path = fetch.fetch_official(tmp_path, url=server.url, quiet=True)
    assert f"bytes={kept}-" in server.ranges  # resumed, not restarted
    assert path.read_bytes() == checkpoint_bytes
    assert _listing(tmp_path) == ["slavc_vggsound144k.pth", "slavc_vggsound144k.pth.record.json"]


def best_weights_in(folder):
    """What the chapters would find in ``folder`` under the released model's names."""
    names = [f"slavc_vggsound144k{suffix}" for suffix in (".pth", ".zip", ".tar", "")]
    return next((folder / n for n in names if (folder / n).exists()), None)


def test_a_file_that_is_not_a_checkpoint_is_set_aside(tmp_path, serve):
    server = serve(b"<html><body>Google Drive - quota exceeded</body></html>")
    with pytest.raises(CheckpointError, match="not a SLAVC checkpoint") as info:
        fetch.fetch_official(tmp_path, url=server.url, quiet=True)
    rejected = tmp_path / "slavc_vggsound144k.pth.not-a-checkpoint"
    assert str(rejected) in str(info.value)
    assert rejected.read_bytes().startswith(b"<html>")
    assert best_weights_in(tmp_path) is None
    assert not fetch.record_path(tmp_path / "slavc_vggsound144k.pth").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_a_changed_file_fails_its_sha_check_and_is_kept(tmp_path, serve, checkpoint_bytes):
    server = serve(checkpoint_bytes)
    path = fetch.fetch_official(tmp_path, url=server.url, quiet=True)
    damaged = bytearray(checkpoint_bytes)
    damaged[len(damaged) // 2] ^= 0xFF
    path.write_bytes(bytes(damaged))
    with pytest.raises(fetch.WeightsMismatchError, match="SHA-256") as info:
        fetch.fetch_official(tmp_path, url=server.url, quiet=True)
    assert str(path) in str(info.value) and "left in place" in str(info.value)
    assert path.read_bytes() == bytes(damaged)


def test_a_file_put_there_by_hand_is_checked_then_recorded(tmp_path, checkpoint_bytes):
    path = tmp_path / "slavc_vggsound144k.pth"
    path.write_bytes(checkpoint_bytes)
    assert fetch.fetch_official(tmp_path, url=_closed_port_url(), quiet=True) == path
    assert json.loads(fetch.record_path(path).read_text())["source"] == "placed by hand"


def test_offline_names_the_file_the_id_and_the_folder(tmp_path):
    with pytest.raises(WeightsUnavailableError) as info:
        fetch.fetch_official(tmp_path, url=_closed_port_url(), quiet=True)
    message = str(info.value)
    assert "slavc_vggsound144k.pth" in message and RELEASED_CHECKPOINT_ID in message
    assert str(tmp_path) in message and "Offline?" in message
    assert _listing(tmp_path) == []


def test_missing_gdown_says_how_to_install_it(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "gdown", None)
    with pytest.raises(WeightsUnavailableError, match=r"slavc-lite\[weights\]"):
        fetch.fetch_official(tmp_path, url=_closed_port_url(), quiet=True)


def test_the_drive_id_is_the_default_source(tmp_path, monkeypatch):
    import gdown

    calls = []

    def fake_download(**kwargs):
        calls.append(kwargs)
        raise gdown.exceptions.DownloadError("stop here")

    monkeypatch.setattr(gdown, "download", fake_download)
    with pytest.raises(WeightsUnavailableError, match=RELEASED_CHECKPOINT_ID):
        fetch.fetch_official(tmp_path, quiet=True)
    assert calls[0]["id"] == RELEASED_CHECKPOINT_ID and "url" not in calls[0]
    assert calls[0]["resume"] is True


def test_command_line_fetch_official(tmp_path, serve, checkpoint_bytes, capsys):
    server = serve(checkpoint_bytes)
    status = main(["weights", "fetch", "official", "--folder", str(tmp_path), "--url", server.url, "--quiet"])
    assert status == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "slavc_vggsound144k.pth")


def test_command_line_offline_is_one_message(tmp_path, capsys):
    status = main(["weights", "fetch", "official", "--folder", str(tmp_path), "--url", _closed_port_url()])
    assert status == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and RELEASED_CHECKPOINT_ID in err


def test_command_line_fetch_imagenet_uses_the_hub_cache(tmp_path, monkeypatch, capsys):
    from torchvision.models import resnet18

    torch.manual_seed(0)
    buffer = io.BytesIO()
    torch.save(resnet18().state_dict(), buffer)
    payload = buffer.getvalue()
    name = f"resnet18-{hashlib.sha256(payload).hexdigest()[:8]}.pth"
    server = FileServer(payload)
    try:
        monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
        monkeypatch.setitem(weights.IMAGENET_WEIGHT_URLS, "resnet18", server.url.replace("slavc.pth", name))
        assert main(["weights", "fetch", "imagenet"]) == 0
    finally:
        server.close()
    cached = tmp_path / "torch_home" / "hub" / "checkpoints" / name
    assert capsys.readouterr().out.strip().endswith(str(cached))
    assert cached.read_bytes() == payload


def test_command_line_fetch_imagenet_offline(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setitem(weights.IMAGENET_WEIGHT_URLS, "resnet18",
                        _closed_port_url().replace("slavc.pth", "resnet18-f37072fd.pth"))
    assert main(["weights", "fetch", "imagenet"]) == 2
    assert "resnet18-f37072fd.pth" in capsys.readouterr().err


def test_notebooks_run_by_the_runner_are_unattended(tmp_path, monkeypatch):
    """Chapter 00 offers the fetch only with a reader: ``make run`` and the tests set the flag."""
    import nbformat

    from slavc_lite.teaching import tutorial
    from slavc_lite.teaching.notebook_runner import execute_notebook

    monkeypatch.delenv(tutorial.UNATTENDED_ENV, raising=False)
    assert not tutorial.is_unattended()
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(
        f"import os\nprint('unattended', os.environ.get({tutorial.UNATTENDED_ENV!r}))"))
    source = tmp_path / "probe.ipynb"
    nbformat.write(nb, source)
    run = execute_notebook(source, tmp_path / "out", html=False)
    assert run.ok, run.error
    executed = nbformat.read(run.executed, as_version=4)
    assert executed.cells[0].outputs[0]["text"].strip() == "unattended 1"
    assert not tutorial.is_unattended()  # the caller's environment is restored
