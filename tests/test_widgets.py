"""Interactive parts: re-blending never re-runs the networks, uploads go through the loaders' clear
errors, the explorer caches each pair, and the ipywidgets views wire the logic up."""

from __future__ import annotations

import json
import sys
import types
from datetime import datetime, timezone
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from slavc_lite.errors import InputFileError
from slavc_lite.localize import Localizer
from slavc_lite.teaching import widgets
from tests.localizers import untrained_localizer

BOX = [0.2, 0.3, 0.6, 0.8]
ASSETS = Path(__file__).resolve().parents[1] / "assets" / "examples"


@pytest.fixture
def localizer() -> Localizer:
    return untrained_localizer()


@pytest.fixture
def pair_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(3, 96, 96, generator=g), torch.randn(1, 257, 60, generator=g) - 1


def _count_network_calls(localizer: Localizer):
    """Mocks wrapping the two networks' entry points: they still compute, and count."""
    model, object_net = localizer.model, localizer.object_net
    return (mock.patch.object(model, "localization_logits", wraps=model.localization_logits),
            mock.patch.object(object_net, "forward", wraps=object_net.forward))


def _png_bytes(size=(80, 60)) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.fromarray((np.random.default_rng(0).random((size[1], size[0], 3)) * 255).astype(np.uint8)).save(
        buffer, format="PNG")
    return buffer.getvalue()


def _wav_bytes(seconds: float = 1.0) -> bytes:
    import io

    t = np.arange(int(16000 * seconds)) / 16000
    buffer = io.BytesIO()
    soundfile.write(buffer, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000, format="WAV",
                    subtype="PCM_16")
    return buffer.getvalue()


def _upload(name: str, content: bytes) -> tuple[dict, ...]:
    """An ipywidgets 8 ``FileUpload.value``."""
    return ({"name": name, "type": "", "size": len(content), "content": memoryview(content),
             "last_modified": datetime(2024, 1, 1, tzinfo=timezone.utc)},)


def _set_upload(upload, name: str, content: bytes) -> None:
    """Fill a ``FileUpload`` as a browser upload does: ipywidgets 8 sets its tuple ``value``;
    ipywidgets 7 (which Colab has shipped) computes a read-only dict ``value`` from the upload."""
    if isinstance(upload.value, dict):  # ipywidgets 7
        upload.set_trait("value", {name: {"metadata": {"name": name, "type": "", "size": len(content)},
                                          "content": content}})
    else:
        upload.value = _upload(name, content)


# ------------------------------------------------------------------------------------ alpha blender


def test_new_alpha_is_exactly_the_blend_of_the_cached_maps_without_network_calls(localizer, pair_inputs):
    logits_patch, object_patch = _count_network_calls(localizer)
    with logits_patch as logits, object_patch as object_forward:
        blender = widgets.AlphaBlender.from_localizer(localizer, *pair_inputs, alpha=0.4, boxes=[BOX])
        assert logits.call_count == 1 and object_forward.call_count == 1
        cached = blender.result
        for alpha in (0.0, 0.25, 0.7, 0.9, 1.0):
            out = blender.blend(alpha)
            assert out.alpha == alpha
            assert np.array_equal(out.vsl, cached.slavc * alpha + cached.ogl * (1 - alpha))
            assert np.array_equal(out.slavc, cached.slavc) and np.array_equal(out.ogl, cached.ogl)
            expected_conf = float(torch.from_numpy(out.vsl).flatten().topk(224 * 224 // 4).values.mean())
            assert out.confidences["vsl"] == pytest.approx(expected_conf, abs=1e-6)
        blender.figure(0.3)
        blender.png(0.6)
        assert logits.call_count == 1 and object_forward.call_count == 1
    assert blender.blends == 7 and blender.alpha == 0.6
    assert blender.row().alpha == 0.6 and blender.row().boxes == [BOX]
    with pytest.raises(ValueError, match="alpha"):
        blender.blend(1.2)


def test_alpha_slider_view_reblends_on_change(localizer, pair_inputs):
    pytest.importorskip("ipywidgets")
    logits_patch, object_patch = _count_network_calls(localizer)
    with logits_patch as logits, object_patch as object_forward:
        blender = widgets.AlphaBlender.from_localizer(localizer, *pair_inputs, title="untrained")
        view = widgets.alpha_slider(blender)
        first = bytes(view.image.value)
        assert first.startswith(b"\x89PNG") and view.slider.value == pytest.approx(0.4)
        view.slider.value = 0.85
        assert blender.alpha == pytest.approx(0.85)
        assert bytes(view.image.value) != first and "0.85" in view.caption.value
        cached = blender.result
        assert np.array_equal(blender.current.vsl, cached.slavc * 0.85 + cached.ogl * (1 - 0.85))
        assert logits.call_count == 1 and object_forward.call_count == 1
    assert view.widget.children == (view.slider, view.caption, view.image)


def test_views_explain_when_ipywidgets_is_missing(localizer, pair_inputs, monkeypatch):
    blender = widgets.AlphaBlender(localizer.localize(*pair_inputs))
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets -> ImportError
    with pytest.raises(widgets.WidgetsUnavailableError, match="pip install ipywidgets"):
        widgets.alpha_slider(blender)
    with pytest.raises(ImportError):
        widgets.pair_explorer(widgets.PairExplorer(localizer, []))


@pytest.mark.parametrize(("version", "switched_on"), [("7.7.1", False), ("8.1.5", True)])
def test_colab_custom_widget_manager_is_switched_on_for_ipywidgets_8_only(monkeypatch, version, switched_on):
    calls = []
    output = types.ModuleType("google.colab.output")
    output.enable_custom_widget_manager = lambda: calls.append(version)
    colab = types.ModuleType("google.colab")
    colab.output = output
    fake = types.ModuleType("ipywidgets")
    fake.__version__ = version
    for name, module in (("google.colab", colab), ("google.colab.output", output), ("ipywidgets", fake)):
        monkeypatch.setitem(sys.modules, name, module)
    assert widgets._ipywidgets() is fake
    assert calls == ([version] if switched_on else [])


# ------------------------------------------------------------------------------------ uploads


def test_uploaded_files_reads_both_ipywidgets_formats():
    assert widgets.uploaded_files(()) == [] and widgets.uploaded_files(None) == []
    assert widgets.uploaded_files(_upload("a.png", b"xyz")) == [("a.png", b"xyz")]
    assert widgets.uploaded_files({"b.wav": {"metadata": {}, "content": b"123"}}) == [("b.wav", b"123")]


def test_save_upload_keeps_the_name_without_folders_and_leaves_no_temp_file(tmp_path):
    path = widgets.save_upload("../../evil/clip?.wav", b"data", tmp_path / "up")
    assert path == tmp_path / "up" / "clip_.wav" and path.read_bytes() == b"data"
    assert sorted(p.name for p in (tmp_path / "up").iterdir()) == ["clip_.wav"]
    assert widgets.save_upload("..", b"x", tmp_path).name == "upload"


def test_pair_from_uploads_checks_files_with_the_loaders(tmp_path):
    pair = widgets.pair_from_uploads(_upload("scene.png", _png_bytes()), _upload("sound.wav", _wav_bytes()),
                                     tmp_path)
    assert pair.image.name == "scene.png" and pair.audio.name == "sound.wav" and pair.boxes == []
    assert pair.label == "upload: scene.png + sound.wav"
    with pytest.raises(InputFileError, match=r"clip\.wav"):
        widgets.pair_from_uploads(_upload("scene.png", _png_bytes()), _upload("clip.wav", b"not a wav file"),
                                  tmp_path)
    with pytest.raises(InputFileError, match=r"photo\.jpg"):
        widgets.pair_from_uploads(_upload("photo.jpg", b"\xff\xd8 truncated"), _upload("s.wav", _wav_bytes()),
                                  tmp_path)
    with pytest.raises(ValueError, match="an audio file first"):
        widgets.pair_from_uploads(_upload("scene.png", _png_bytes()), (), tmp_path)


# ------------------------------------------------------------------------------------ pairs


def test_example_pairs_are_the_shipped_assets_with_their_boxes(tmp_path):
    pairs = widgets.example_pairs(ASSETS)
    boxes = json.loads((ASSETS / "boxes.json").read_text())
    assert [p.label for p in pairs] == ["example: bell", "example: bird and drum"]
    drum = pairs[1]
    assert drum.boxes == boxes["bird_and_drum"]["sounding"]
    assert drum.silent_boxes == boxes["bird_and_drum"]["silent"]
    assert drum.image.is_file() and drum.audio.is_file()
    assert widgets.example_pairs(tmp_path) == []
    (tmp_path / "boxes.json").write_text("{not json")
    with pytest.raises(InputFileError, match="JSON"):
        widgets.example_pairs(tmp_path)


@pytest.fixture(scope="module")
def toy_world(tmp_path_factory) -> Path:
    from slavc_lite.data.toy import write_toy_world

    root = tmp_path_factory.mktemp("widgets") / "toy"
    write_toy_world(root, n_train=0, n_val=0, n_test=16, seed=3, workers=1, progress=False, verbose=False)
    return root


def test_toy_pairs_have_ground_truth_and_silent_boxes(toy_world):
    from slavc_lite.data.toy import KINDS

    pairs = widgets.toy_pairs(toy_world)
    assert [p.kind for p in pairs] == list(KINDS)
    entries = {e["file"]: e["bbox"] for e in json.loads((toy_world / "test" / "toy.json").read_text())}
    for pair in pairs:
        assert pair.image.is_file() and pair.audio.is_file()
        sample_id = pair.image.stem
        assert pair.boxes == entries.get(sample_id, [])
        assert sample_id in pair.label and pair.note.startswith("heard:")
    by_kind = {p.kind: p for p in pairs}
    assert len(by_kind["silent"].boxes) == 1 and len(by_kind["silent"].silent_boxes) == 1
    assert by_kind["offscreen"].boxes == [] and by_kind["offscreen"].silent_boxes
    assert len(by_kind["mixture"].boxes) == 2
    assert [p.kind for p in widgets.toy_pairs(toy_world, kinds=["small"])] == ["small"]
    with pytest.raises(ValueError, match="unknown scene kinds"):
        widgets.toy_pairs(toy_world, kinds=["loud"])
    with pytest.raises(InputFileError, match="toy_world.json"):
        widgets.toy_pairs(toy_world / "test")


# ------------------------------------------------------------------------------------ explorer


def test_explorer_localizes_each_pair_once(localizer):
    pairs = widgets.example_pairs(ASSETS)
    explorer = widgets.PairExplorer(localizer, pairs, alpha=0.4, title="untrained")
    with mock.patch.object(localizer, "localize", wraps=localizer.localize) as localize:
        a = explorer.result(pairs[1].label)
        b = explorer.result(pairs[1].label, alpha=0.9)
        explorer.figure(pairs[1].label, alpha=0.2)
        assert localize.call_count == 1 and explorer.localized == 1
        assert np.array_equal(b.vsl, a.slavc * 0.9 + a.ogl * (1 - 0.9))
        row = explorer.row(pairs[1].label)
        assert row.boxes == pairs[1].boxes and np.isfinite(row.scores["slavc"]["ciou"])
        explorer.result(pairs[0].label)
        assert localize.call_count == 2
    with pytest.raises(KeyError, match="available"):
        explorer.result("nothing")


def test_explorer_view_picks_reblends_and_reports_bad_uploads(localizer, tmp_path):
    pytest.importorskip("ipywidgets")
    pairs = widgets.example_pairs(ASSETS)
    explorer = widgets.PairExplorer(localizer, pairs)
    view = widgets.pair_explorer(explorer, upload_dir=tmp_path)
    assert view.picker.options == tuple(p.label for p in pairs)
    assert bytes(view.figure.value).startswith(b"\x89PNG") and view.player.format == "wav"
    assert bytes(view.player.value) == pairs[0].audio.read_bytes()
    with mock.patch.object(localizer, "localize", wraps=localizer.localize) as localize:
        before = bytes(view.figure.value)
        view.alpha.value = 0.9
        assert bytes(view.figure.value) != before and localize.call_count == 0  # re-blended from the cache
        view.picker.value = pairs[1].label
        assert localize.call_count == 1 and bytes(view.player.value) == pairs[1].audio.read_bytes()
        # a broken upload: the loader's message (naming the file) shows up, nothing raises
        _set_upload(view.image_upload, "scene.png", _png_bytes())
        _set_upload(view.audio_upload, "broken <clip>.wav", b"RIFF....WAVEfmt garbage")
        assert view.localize_uploads() is None
        assert "broken _clip_.wav" in view.status.value and "<clip>" not in view.status.value
        assert view.picker.value == pairs[1].label
        _set_upload(view.audio_upload, "tone.wav", _wav_bytes())
        pair = view.localize_uploads()
        assert pair is not None and view.picker.value == pair.label and view.status.value == ""
        assert localize.call_count == 2 and bytes(view.player.value) == pair.audio.read_bytes()
        assert pair.image.parent.parent.parent == tmp_path
