"""Uploads on Colab: ipywidgets' FileUpload loses files of 1 MB or more there, so the explorer offers
Colab's own upload dialog and path boxes instead. Tested with a fake ``google.colab`` module."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from slavc_lite.teaching import widgets
from tests.localizers import untrained_localizer
from tests.test_widgets import _png_bytes, _wav_bytes

ipywidgets = pytest.importorskip("ipywidgets")
ASSETS = Path(__file__).resolve().parents[1] / "assets" / "examples"


@pytest.fixture(scope="module")
def explorer_pairs():
    return untrained_localizer(), widgets.example_pairs(ASSETS)[:1]


@pytest.fixture
def fake_colab(monkeypatch):
    """``google.colab`` with ``files.upload()`` returning what the test puts in the dict."""
    picked: dict[str, bytes] = {}
    files = types.ModuleType("google.colab.files")
    files.upload = lambda: dict(picked)
    output = types.ModuleType("google.colab.output")
    output.enable_custom_widget_manager = lambda: None
    colab = types.ModuleType("google.colab")
    colab.files, colab.output = files, output
    modules = {"google.colab": colab, "google.colab.files": files, "google.colab.output": output}
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    return picked


def all_widgets(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from all_widgets(child)


def test_on_colab_the_explorer_uses_colabs_dialog_and_path_boxes(explorer_pairs, fake_colab, tmp_path):
    localizer, pairs = explorer_pairs
    view = widgets.pair_explorer(widgets.PairExplorer(localizer, pairs), upload_dir=tmp_path)
    assert view.colab
    shown = list(all_widgets(view.widget))
    assert not any(isinstance(w, ipywidgets.FileUpload) for w in shown)
    assert view.image_path in shown and view.audio_path in shown and view.colab_button in shown

    big_sound = _wav_bytes(seconds=40.0)  # 1.28 MB: what FileUpload loses on Colab
    assert len(big_sound) > 1_000_000
    fake_colab.update({"scene.png": _png_bytes(), "long <clip>.wav": big_sound})
    saved = view.upload_with_colab()
    assert {p.name for p in saved} == {"scene.png", "long _clip_.wav"}
    assert Path(view.image_path.value).name == "scene.png"
    assert Path(view.audio_path.value).read_bytes() == big_sound
    assert all(tmp_path in p.parents for p in saved)

    pair = view.localize_uploads()
    assert pair is not None and view.picker.value == pair.label and view.status.value == ""
    assert bytes(view.player.value) == big_sound


def test_path_boxes_report_missing_and_unreadable_files(explorer_pairs, fake_colab, tmp_path):
    localizer, pairs = explorer_pairs
    view = widgets.pair_explorer(widgets.PairExplorer(localizer, pairs), upload_dir=tmp_path)
    assert view.localize_uploads() is None and "path of an image and a sound" in view.status.value
    view.image_path.value = str(tmp_path / "nowhere.jpg")
    view.audio_path.value = str(pairs[0].audio)
    assert view.localize_uploads() is None and "nowhere.jpg" in view.status.value
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEfmt garbage")
    view.image_path.value, view.audio_path.value = str(pairs[0].image), str(broken)
    assert view.localize_uploads() is None and "broken.wav" in view.status.value
    assert view.picker.value == pairs[0].label  # nothing was added


def test_off_colab_the_explorer_keeps_file_upload_buttons(explorer_pairs, tmp_path):
    assert "google.colab" not in sys.modules
    localizer, pairs = explorer_pairs
    view = widgets.pair_explorer(widgets.PairExplorer(localizer, pairs), upload_dir=tmp_path)
    assert not view.colab
    uploads = [w for w in all_widgets(view.widget) if isinstance(w, ipywidgets.FileUpload)]
    assert uploads == [view.image_upload, view.audio_upload]
    assert not hasattr(view, "image_path")


def test_the_colab_dialog_outside_colab_says_so_in_the_status(explorer_pairs, tmp_path):
    localizer, pairs = explorer_pairs
    view = widgets.pair_explorer(widgets.PairExplorer(localizer, pairs), upload_dir=tmp_path, colab=True)
    assert view.upload_with_colab() == [] and "google" in view.status.value
