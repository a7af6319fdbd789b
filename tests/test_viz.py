"""Figures: overlays and the review's four-panel row render to PNGs of the documented size."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from slavc_lite import viz
from slavc_lite.images import test_transform


@pytest.fixture
def picture() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray((rng.random((240, 320, 3)) * 255).astype(np.uint8))


@pytest.fixture
def blob() -> np.ndarray:
    y, x = np.mgrid[0:224, 0:224]
    return np.exp(-((x - 80.0) ** 2 + (y - 100.0) ** 2) / 2000).astype(np.float32)


def _size(figsize) -> tuple[int, int]:
    return round(figsize[0] * viz.DPI), round(figsize[1] * viz.DPI)


def test_display_image_accepts_pil_arrays_and_network_tensors(picture):
    expected = np.asarray(picture)
    assert np.array_equal(viz.display_image(picture), expected)
    assert np.array_equal(viz.display_image(expected), expected)
    gray = viz.display_image(expected[:, :, 0])
    assert gray.shape == (240, 320, 3)
    from_tensor = viz.display_image(test_transform()(picture))
    assert from_tensor.shape == (224, 224, 3) and from_tensor.dtype == np.uint8
    with pytest.raises(ValueError, match="uint8"):
        viz.display_image(expected.astype(np.float32))


def test_overlay_stretches_the_map_over_the_picture_on_the_fixed_scale(picture, blob):
    layer = viz.overlay(picture, torch.from_numpy(blob) * 3)  # overshoot is shown, not rescaled
    assert isinstance(layer.axes.figure, Figure)
    assert layer.get_clim() == (0.0, 1.0)
    assert layer.get_extent() == [0, 320, 240, 0]
    with pytest.raises(ValueError, match="one heat map"):
        viz.overlay(picture, np.zeros((2, 7, 7)))


def test_three_panel_figure_renders_with_title_and_shared_colorbar(tmp_path, picture, blob):
    title = "random weights (untrained) - not a real result"
    fig = viz.three_panel_figure(picture, blob, 1 - blob, 0.4 * blob + 0.6 * (1 - blob), alpha=0.4,
                                 title=title, confidences={"slavc": 0.5, "ogl": 0.6, "vsl": 0.55})
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:4] == ["input\n ", "SLAVC\nconfidence 0.500", "OGL\nconfidence 0.600",
                          "VSL (alpha = 0.4)\nconfidence 0.550"]
    assert len(fig.axes) == 5  # four panels and one colour bar
    assert fig.axes[4].get_ylim() == (0.0, 1.0)
    path = viz.save_figure(fig, tmp_path / "deep" / "folder" / "figure.png")
    with Image.open(path) as png:
        assert png.size == _size(viz.THREE_PANEL_FIGSIZE)
        assert png.text["Title"] == title


def test_save_heatmap_png(tmp_path, picture, blob):
    path = viz.save_heatmap_png(picture, blob, tmp_path / "out" / "slavc.png", title="SLAVC\nsecond line")
    with Image.open(path) as png:
        assert png.size == _size(viz.HEATMAP_FIGSIZE)
        assert png.text["Title"] == "SLAVC\nsecond line"
        pixels = np.asarray(png.convert("RGB"))
    assert pixels.std() > 10  # something was drawn
