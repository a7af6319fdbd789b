"""The slider's fast figure: re-drawing only the VSL panel gives the full re-draw's picture.

Tolerance: both paths draw with the same matplotlib Agg renderer, the same colormap (jet), the
same fixed [0, 1] scale, the same alpha-0.5 blend over the frame and the same bilinear
resampling, so the pictures are expected to be identical; the comparison allows at most 0.2%
of the pixels to differ (anti-aliased edges, should a matplotlib release order them
differently) and a mean difference below 0.5 grey levels.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from slavc_lite import maps
from slavc_lite.teaching import widgets
from slavc_lite.teaching.figures import CaseRow
from slavc_lite.teaching.slider_figure import SliderFigure, png_bytes
from tests.localizers import untrained_localizer

BOX = [0.2, 0.3, 0.6, 0.8]
SILENT = [0.05, 0.05, 0.3, 0.25]


@pytest.fixture(scope="module")
def result():
    localizer = untrained_localizer()
    g = torch.Generator().manual_seed(0)
    return localizer.localize(torch.randn(3, 160, 120, generator=g), torch.randn(1, 257, 60, generator=g) - 1,
                              alpha=0.4)


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def full_redraw(result, alpha: float, boxes, silent, title) -> np.ndarray:
    """What the slider showed before: a whole new figure, saved as PNG."""
    blender = widgets.AlphaBlender(result, label="pair", boxes=boxes, silent_boxes=silent, title=title)
    return pixels(blender.png(alpha))


def assert_same_picture(fast: np.ndarray, full: np.ndarray) -> None:
    assert fast.shape == full.shape
    differs = np.abs(fast - full).max(axis=-1) > 0
    assert differs.mean() <= 0.002, f"{differs.sum()} pixels differ"
    assert np.abs(fast - full).mean() < 0.5


@pytest.mark.parametrize(("boxes", "silent", "title"), [
    ([BOX], [SILENT], "untrained weights: a pipeline check"),
    ([], [], None),  # a non-sounding pair: "no box" in the titles
])
def test_fast_path_draws_the_full_redraws_picture(result, boxes, silent, title):
    blender = widgets.AlphaBlender(result, label="pair", boxes=boxes, silent_boxes=silent, title=title)
    figure = SliderFigure(blender, dpi=widgets.PREVIEW_DPI)
    assert_same_picture(pixels(figure.png()), full_redraw(result, 0.4, boxes, silent, title))
    for alpha in (0.9, 0.0, 0.55, 1.0, 0.15):  # a sequence of moves, each checked
        fast = pixels(figure.png(alpha))
        assert_same_picture(fast, full_redraw(result, alpha, boxes, silent, title))
        assert blender.alpha == alpha and figure.alpha == alpha
    # The comparison can tell pictures apart: another alpha's figure differs in the VSL panel.
    other = full_redraw(result, 0.9, boxes, silent, title)
    assert (np.abs(fast - other).max(axis=-1) > 0).mean() > 0.02


def test_row_scores_are_the_full_rows(result):
    blender = widgets.AlphaBlender(result, label="pair", boxes=[BOX], silent_boxes=[SILENT])
    figure = SliderFigure(blender, dpi=widgets.PREVIEW_DPI)
    for alpha in (0.0, 0.3, 0.8):
        row, mask = figure.row(alpha)
        full = CaseRow.from_result(result.with_alpha(alpha), "pair", [BOX], [SILENT])
        assert np.array_equal(row.vsl, full.vsl) and row.alpha == full.alpha
        for key in ("slavc", "ogl", "vsl"):
            assert row.scores[key]["ciou"] == pytest.approx(full.scores[key]["ciou"], abs=1e-12)
            assert row.scores[key]["confidence"] == pytest.approx(full.scores[key]["confidence"], abs=1e-7)
        assert np.array_equal(mask, maps.relative_prediction(torch.from_numpy(full.vsl)).numpy())


def test_the_slider_view_shows_the_fast_figure(result):
    pytest.importorskip("ipywidgets")
    blender = widgets.AlphaBlender(result, label="pair", boxes=[BOX], title="t")
    view = widgets.alpha_slider(blender)
    view.slider.value = 0.75
    assert_same_picture(pixels(bytes(view.image.value)), full_redraw(result, 0.75, [BOX], [], "t"))
    assert "0.75" in view.caption.value


@pytest.mark.parametrize("seed", range(4))
def test_numpy_relative_prediction_is_the_torch_one(seed):
    g = torch.Generator().manual_seed(seed)
    scores = torch.rand(224, 224, generator=g)
    if seed == 1:
        scores = (scores * 8).round() / 8  # many ties at the threshold
    if seed == 2:
        scores = torch.full((224, 224), 0.3)  # constant: everything is positive
    if seed == 3:
        scores = scores * 1.4 - 0.2  # values outside [0, 1], as bicubic overshoot gives
    expected = maps.relative_prediction(scores).numpy()
    assert np.array_equal(maps.relative_prediction_array(scores.numpy()), expected)
    assert np.array_equal(maps.relative_prediction_array(scores.numpy(), 0.3),
                          maps.relative_prediction(scores, 0.3).numpy())


@pytest.mark.parametrize("channels", [3, 4])
def test_png_bytes_decode_to_the_same_pixels(channels):
    rng = np.random.default_rng(channels)
    array = rng.integers(0, 256, size=(37, 53, channels), dtype=np.uint8)
    for level in (0, 1, 9):
        decoded = np.asarray(Image.open(io.BytesIO(png_bytes(array, level))))
        assert np.array_equal(decoded, array)
    with pytest.raises(ValueError, match="H x W x 3"):
        png_bytes(array[..., 0])


def test_the_explorer_redraws_only_the_vsl_panel_of_the_picked_pair(result, tmp_path):
    """Chapter 08's explorer: same picture as its full figure, the sound not re-sent on a new alpha."""
    pytest.importorskip("ipywidgets")
    from pathlib import Path
    from unittest import mock

    assets = Path(__file__).resolve().parents[1] / "assets" / "examples"
    localizer = untrained_localizer()
    explorer = widgets.PairExplorer(localizer, widgets.example_pairs(assets), title="untrained")
    view = widgets.pair_explorer(explorer, upload_dir=tmp_path)
    label = view.picker.value
    with mock.patch.object(type(view.player), "value", new_callable=mock.PropertyMock) as player_value:
        view.alpha.value = 0.8
        assert player_value.call_count == 0
    full = pixels(widgets.figure_png(explorer.figure(label, 0.8)))
    assert_same_picture(pixels(bytes(view.figure.value)), full)
    assert explorer.localized == 1
