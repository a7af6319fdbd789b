"""Checkpoints: our format, the official format in every wrapping, atomic saves, clear errors."""

import io
import os
import tarfile
import zipfile

import pytest
import torch
from torch import nn

import slavc_lite
from slavc_lite import checkpoints
from slavc_lite.checkpoints import (
    load_checkpoint,
    load_model,
    load_official_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)
from slavc_lite.errors import CheckpointError
from slavc_lite.model import SLAVC


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def official_model() -> SLAVC:
    """The official architecture (ResNet-18, dim 512), built once for the module."""
    torch.manual_seed(0)
    return SLAVC()


@pytest.fixture(scope="module")
def compact_state(official_model) -> dict[str, torch.Tensor]:
    """The official keys and shapes, each tensor a distinct constant expanded from one element.

    ``torch.save`` stores the one-element storages only (about 150 KB instead of 190 MB), so
    the archive tests stay fast while every key and shape is the real one.
    """
    return {
        k: torch.full((), i + 1, dtype=v.dtype).expand(v.shape)
        for i, (k, v) in enumerate(official_model.state_dict().items())
    }


@pytest.fixture
def small_model() -> SLAVC:
    torch.manual_seed(1)
    return SLAVC(backbone="mobilenet_v3_small", dim=16)


def official_dict(state: dict, prefix: str = "") -> dict:
    """What the official ``train.py`` saves (``module.`` prefix when trained with DDP)."""
    return {
        "model": {prefix + k: v for k, v in state.items()},
        "optimizer": None,
        "epoch": 20,
        "best_Precision": 0.5,
        "best_AP": 0.4,
        "best_F1": 0.3,
    }


def torch_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def assert_holds(model: SLAVC, state: dict) -> None:
    loaded = model.state_dict()
    assert loaded.keys() == state.keys()
    for k, v in state.items():
        assert torch.equal(loaded[k], v), k


def assert_holds_compact(model: SLAVC, state: dict) -> None:
    """Cheap check for :func:`compact_state`: each key holds its own constant (first and last value)."""
    loaded = model.state_dict()
    assert loaded.keys() == state.keys()
    for k, v in state.items():
        ends = loaded[k].reshape(-1)[[0, -1]]
        assert torch.equal(ends, v.reshape(-1)[[0, -1]]), k


def put(container: str, tmp_path, payload: bytes, member: str = "SLAVC/best.pth"):
    """Write ``payload`` as a plain file, inside a zip, a tar.gz, or a folder; return the path."""
    if container == "pth":
        path = tmp_path / "slavc.pth"
        path.write_bytes(payload)
    elif container == "zip":
        path = tmp_path / "slavc.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("README.txt", "the released model")
            zf.writestr(member, payload)
    elif container == "tar.gz":
        path = tmp_path / "slavc.tar.gz"
        with tarfile.open(path, "w:gz") as tf:
            info = tarfile.TarInfo(member)
            info.size = len(payload)
            tf.addfile(info, io.BytesIO(payload))
    elif container == "folder":
        path = tmp_path / "download"
        (path / os.path.dirname(member)).mkdir(parents=True)
        (path / member).write_bytes(payload)
        (path / "notes.txt").write_text("not a checkpoint")
    else:
        raise ValueError(container)
    return path


# ---------------------------------------------------------------------------- our format
def _optimizer_with_state(model: nn.Module) -> torch.optim.Optimizer:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    for p in model.parameters():
        if p.requires_grad:
            p.grad = torch.full_like(p, 0.01)
    optimizer.step()
    return optimizer


def test_our_format_round_trip(tmp_path, small_model):
    optimizer = _optimizer_with_state(small_model)
    path = save_checkpoint(
        tmp_path / "run" / "latest.pth", small_model, optimizer, epoch=3,
        metrics={"Precision": 0.5, "AP": 0.25, "F1": 0.125, "cIoU": 0.3},
        config={"lr": 1e-4, "seed": 7, "data": "toy"}, note="first run",
    )
    ckpt = load_checkpoint(path)
    assert {"model", "optimizer", "epoch", "best_Precision", "best_AP", "best_F1", "config"} <= ckpt.keys()
    assert (ckpt["epoch"], ckpt["best_Precision"], ckpt["best_AP"], ckpt["best_F1"]) == (3, 0.5, 0.25, 0.125)
    assert ckpt["metrics"] == {"cIoU": 0.3} and ckpt["note"] == "first run"
    assert ckpt["config"] == {**small_model.hyperparameters(), "lr": 1e-4, "seed": 7, "data": "toy",
                              "slavc_lite_version": slavc_lite.__version__}

    rebuilt = model_from_checkpoint(path)
    assert rebuilt.hyperparameters() == small_model.hyperparameters()
    assert not rebuilt.training
    assert_holds(rebuilt, small_model.state_dict())

    fresh = torch.optim.Adam(rebuilt.parameters(), lr=1e-4)
    fresh.load_state_dict(ckpt["optimizer"])
    saved, restored = optimizer.state_dict(), fresh.state_dict()
    assert saved["param_groups"] == restored["param_groups"]
    for i, entry in saved["state"].items():
        for key, value in entry.items():
            assert torch.equal(restored["state"][i][key], value)

    model, description = load_model(path)
    assert model.hyperparameters() == small_model.hyperparameters()
    assert "latest.pth" in description and "slavc_lite" in description


def test_save_unwraps_a_data_parallel_model(tmp_path, small_model):
    path = save_checkpoint(tmp_path / "c.pth", nn.DataParallel(small_model))
    assert not any(k.startswith("module.") for k in load_checkpoint(path)["model"])
    assert_holds(model_from_checkpoint(path), small_model.state_dict())


def test_save_refuses_what_cannot_be_read_back(tmp_path, small_model):
    with pytest.raises(ValueError, match="contradicts"):
        save_checkpoint(tmp_path / "c.pth", small_model, config={"dim": 512})
    with pytest.raises(TypeError, match="weights_only"):
        save_checkpoint(tmp_path / "c.pth", small_model, config={"when": object()})
    with pytest.raises(ValueError, match="overwrite"):
        save_checkpoint(tmp_path / "c.pth", small_model, epoch=1, **{"best_AP": 1.0})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("interruption", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_save_is_atomic(tmp_path, small_model, monkeypatch, interruption):
    path = save_checkpoint(tmp_path / "latest.pth", small_model, epoch=1)
    before = path.read_bytes()
    real_save = torch.save

    def save_half_then_fail(obj, fh, *args, **kwargs):
        buffer = io.BytesIO()
        real_save(obj, buffer)
        fh.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        raise interruption

    monkeypatch.setattr(torch, "save", save_half_then_fail)
    with pytest.raises(type(interruption)):
        save_checkpoint(path, small_model, epoch=2)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["latest.pth"]
    assert load_checkpoint(path)["epoch"] == 1


# ---------------------------------------------------------------------------- official format
def test_official_checkpoint_with_real_weights_and_ddp_prefix(tmp_path, official_model):
    path = tmp_path / "best.pth"
    torch.save(official_dict(official_model.state_dict(), prefix="module."), path)
    model = load_official_checkpoint(path)
    assert isinstance(model, SLAVC) and not model.training
    assert model.backbone == "resnet18" and model.dim == 512 and model.tau == 0.03
    assert_holds(model, official_model.state_dict())
    # Every momentum parameter stays out of the optimizer's reach.
    assert not any(p.requires_grad for n, p in model.named_parameters() if n.startswith("momentum_"))


def test_public_api_exports_the_loader():
    assert slavc_lite.load_official_checkpoint is load_official_checkpoint


@pytest.mark.parametrize(
    ("container", "prefix"),
    [("pth", ""), ("zip", "module."), ("tar.gz", ""), ("folder", "module.")],
)
def test_official_checkpoint_in_every_wrapping(tmp_path, compact_state, container, prefix):
    path = put(container, tmp_path, torch_bytes(official_dict(compact_state, prefix)))
    assert_holds_compact(load_official_checkpoint(path), compact_state)


def test_archive_extraction_leaves_no_temporary_files(tmp_path, compact_state, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(checkpoints.tempfile, "tempdir", str(scratch))
    payload = torch_bytes(official_dict(compact_state))
    load_official_checkpoint(put("zip", tmp_path, payload))
    assert list(scratch.iterdir()) == []
    broken = put("tar.gz", tmp_path, payload[:5000])  # extracts fine, then fails to load
    with pytest.raises(CheckpointError, match="archive member SLAVC/best.pth"):
        load_official_checkpoint(broken)
    assert list(scratch.iterdir()) == []


def test_legacy_torch_format_named_pth_tar_in_a_folder(tmp_path, compact_state):
    folder = tmp_path / "run"
    folder.mkdir()
    legacy = folder / "checkpoint.pth.tar"
    torch.save(official_dict(compact_state), legacy, _use_new_zipfile_serialization=False)
    assert_holds_compact(load_official_checkpoint(folder), compact_state)


def test_several_candidates_prefer_best_pth(tmp_path, compact_state):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "best.pth").write_bytes(torch_bytes(official_dict(compact_state)))
    (folder / "latest.pth").write_bytes(b"would fail to load")
    assert_holds_compact(load_official_checkpoint(folder), compact_state)


def test_zip_resource_forks_are_ignored(tmp_path, compact_state):
    path = tmp_path / "mac.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("SLAVC/best.pth", torch_bytes(official_dict(compact_state)))
        zf.writestr("__MACOSX/SLAVC/._best.pth", b"\x00\x05\x16\x07 resource fork")
    assert_holds_compact(load_official_checkpoint(path), compact_state)


def test_our_checkpoint_reads_as_official_when_it_has_the_official_shape(tmp_path, compact_state):
    with torch.device("meta"):
        model = SLAVC()
    model.load_state_dict(compact_state, assign=True)  # official shapes, compact storage
    path = save_checkpoint(tmp_path / "ours.pth", model, epoch=4)
    assert_holds_compact(load_official_checkpoint(path), compact_state)


# ---------------------------------------------------------------------------- errors
def _errors_with(path, *fragments):
    with pytest.raises(CheckpointError) as err:
        load_official_checkpoint(path)
    message = str(err.value)
    assert path.name in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_missing_path(tmp_path):
    _errors_with(tmp_path / "nowhere.pth", "not found")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.pth"
    path.write_bytes(b"")
    _errors_with(path, "empty")


def test_not_a_torch_file(tmp_path):
    path = tmp_path / "page.pth"
    path.write_text("<html>Google Drive virus scan warning</html>")
    _errors_with(path, "not a torch checkpoint")


def test_truncated_torch_file(tmp_path, compact_state):
    path = tmp_path / "cut.pth"
    path.write_bytes(torch_bytes(official_dict(compact_state))[:5000])
    _errors_with(path)


def test_corrupt_zip_archive(tmp_path, compact_state):
    path = put("zip", tmp_path, torch_bytes(official_dict(compact_state)))
    path.write_bytes(path.read_bytes()[:-30])
    _errors_with(path)


@pytest.mark.parametrize("container", ["zip", "tar.gz", "folder"])
def test_container_without_a_checkpoint(tmp_path, container):
    path = put(container, tmp_path, b"just text", member="docs/readme.txt")
    _errors_with(path, "no checkpoint")


def test_empty_checkpoint_in_a_folder(tmp_path):
    folder = tmp_path / "download"
    folder.mkdir()
    (folder / "best.pth").write_bytes(b"")
    _errors_with(folder, "best.pth", "empty")


def test_folder_with_ambiguous_candidates(tmp_path):
    folder = tmp_path / "runs"
    for name in ("a/epoch10.pth", "b/epoch20.pth"):
        (folder / name).parent.mkdir(parents=True)
        (folder / name).write_bytes(b"x")
    message = _errors_with(folder, "a/epoch10.pth", "b/epoch20.pth")
    assert "2 checkpoint files" in message


def test_missing_and_unexpected_keys(tmp_path, compact_state):
    state = dict(compact_state)
    del state["imgnet.conv1.weight"], state["aud_proj2.bias"]
    state["extra.weight"] = torch.zeros(1)
    path = tmp_path / "partial.pth"
    torch.save(official_dict(state), path)
    _errors_with(path, "2 missing keys", "imgnet.conv1.weight", "1 unexpected keys", "extra.weight")


def test_wrong_shapes(tmp_path):
    with torch.device("meta"):
        other = SLAVC(dim=128)
    state = {k: torch.zeros((), dtype=v.dtype).expand(v.shape) for k, v in other.state_dict().items()}
    path = tmp_path / "dim128.pth"
    torch.save(official_dict(state), path)
    _errors_with(path, "16 keys of the wrong shape", "img_proj1.weight")


def test_not_a_state_dict(tmp_path):
    path = tmp_path / "numbers.pth"
    torch.save({"model": {"a": 1}}, path)
    _errors_with(path, "not a state dict of tensors")


def test_our_loader_needs_a_config(tmp_path, compact_state):
    path = tmp_path / "official.pth"
    torch.save(official_dict(compact_state), path)
    with pytest.raises(CheckpointError, match="official.pth.*load_official_checkpoint"):
        model_from_checkpoint(path)
    model, description = load_model(path)
    assert "official" in description
    assert_holds_compact(model, compact_state)
