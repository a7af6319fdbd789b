"""Atomic writes: the target is the old file or the new one, never half of one, and no temporary
file is left beside it, whatever fails (an exception, Ctrl-C)."""

from __future__ import annotations

import os
import stat

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from slavc_lite import viz  # noqa: E402
from slavc_lite.atomic_files import (  # noqa: E402
    TEMP_SUFFIX,
    atomic_path,
    atomic_torch_save,
    atomic_write,
    atomic_write_bytes,
    atomic_write_text,
    new_file_mode,
)

INTERRUPTIONS = [RuntimeError("disk full"), KeyboardInterrupt()]


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_writes_create_folders_and_give_the_mode_open_gives(tmp_path):
    target = atomic_write_text(tmp_path / "a" / "b" / "notes.md", "héllo\n")
    assert target.read_text(encoding="utf-8") == "héllo\n"
    plain = tmp_path / "plain"
    plain.write_text("x")
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode) == new_file_mode()
    assert atomic_write_bytes(tmp_path / "b.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    atomic_torch_save({"w": torch.arange(3)}, tmp_path / "w.pth")
    assert torch.load(tmp_path / "w.pth")["w"].tolist() == [0, 1, 2]
    assert _names(tmp_path) == ["a", "b.bin", "plain", "w.pth"]


def test_the_mode_follows_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        assert new_file_mode() == 0o600
        path = atomic_write_text(tmp_path / "private.txt", "x")
    finally:
        os.umask(old)
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("interruption", INTERRUPTIONS)
def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, interruption):
    target = atomic_write_text(tmp_path / "metrics.json", "old\n")

    def half_then_fail(fh):
        fh.write(b"new, but only ha")
        raise interruption

    with pytest.raises(type(interruption)):
        atomic_write(target, half_then_fail)
    assert target.read_text() == "old\n"
    assert _names(tmp_path) == ["metrics.json"]


@pytest.mark.parametrize("interruption", INTERRUPTIONS)
def test_a_failed_write_of_a_new_file_leaves_nothing(tmp_path, interruption):
    with pytest.raises(type(interruption)), atomic_path(tmp_path / "clip.mp4") as tmp:
        tmp.write_bytes(b"half a video")
        raise interruption
    assert _names(tmp_path) == []


def test_atomic_path_names_a_temporary_file_beside_the_target(tmp_path):
    target = tmp_path / "localized.mp4"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".localized.mp4.")
        assert tmp.name.endswith(TEMP_SUFFIX)
        assert not target.exists()  # the target appears only when the block ends
        tmp.write_bytes(b"whole")
    assert target.read_bytes() == b"whole"
    assert _names(tmp_path) == ["localized.mp4"]


def test_save_figure_takes_its_format_from_the_target_and_fails_cleanly(tmp_path, monkeypatch):
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1])
    png = viz.save_figure(fig, tmp_path / "f.png", title="t")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = viz.save_figure(fig, tmp_path / "f.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    with pytest.raises(ValueError, match="suffix"):
        viz.save_figure(fig, tmp_path / "no_suffix")

    def broken_savefig(fh, **kwargs):
        fh.write(b"\x89PNG half")
        raise OSError("renderer crashed")

    monkeypatch.setattr(fig, "savefig", broken_savefig)
    with pytest.raises(OSError, match="renderer"):
        viz.save_figure(fig, tmp_path / "f.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _names(tmp_path) == ["f.pdf", "f.png"]
    plt.close(fig)
