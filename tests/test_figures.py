"""The review's figure layouts: Figure 2, Figure 3 (alphas), Figures 4-9 rows with ground truth."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.patches import Rectangle
from PIL import Image

from slavc_lite import maps, metrics, viz
from slavc_lite.ground_truth import vggss_gt_map
from slavc_lite.teaching import figures

BOX = [0.25, 0.25, 0.75, 0.75]
SILENT = [0.0, 0.0, 0.2, 0.2]


@pytest.fixture
def picture() -> np.ndarray:
    return (np.random.default_rng(0).random((240, 320, 3)) * 255).astype(np.uint8)


@pytest.fixture
def slavc() -> np.ndarray:
    y, x = np.mgrid[0:224, 0:224]
    return np.exp(-((x - 112.0) ** 2 + (y - 112.0) ** 2) / 3000).astype(np.float32)


@pytest.fixture
def ogl() -> np.ndarray:
    y, x = np.mgrid[0:224, 0:224]
    return (1.2 * np.exp(-((x - 30.0) ** 2 + (y - 30.0) ** 2) / 800)).astype(np.float32)


def _rectangles(ax) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def test_draw_boxes_maps_normalised_boxes_onto_the_picture(picture):
    fig = viz.heatmap_figure(picture, np.zeros((224, 224)))
    ax = fig.axes[0]
    solid, dashed = figures.draw_boxes(ax, [BOX], (320, 240)), figures.draw_boxes(ax, [SILENT], (320, 240),
                                                                                  dashed=True)
    assert solid[0].get_xy() == (80.0, 60.0)
    assert solid[0].get_width() == 160.0 and solid[0].get_height() == 120.0
    assert solid[0].get_linestyle() == "-" and dashed[0].get_linestyle() == "--"
    with pytest.raises(ValueError, match="x0, y0, x1, y1"):
        figures.draw_boxes(ax, [[0.1, 0.2, 0.3]], (320, 240))


def test_map_scores_are_the_official_ciou_and_confidence(slavc):
    scores = figures.map_scores(slavc, [BOX])
    t = torch.from_numpy(slavc)
    assert scores["ciou"] == metrics.ciou(maps.relative_prediction(t), vggss_gt_map([BOX]))
    assert scores["confidence"] == pytest.approx(float(maps.confidence(t[None])[0]))
    perfect = vggss_gt_map([[0.0, 0.0, 1.0, 0.5]]).astype(np.float32)  # half the frame: the top 50%
    assert figures.map_scores(perfect, [[0.0, 0.0, 1.0, 0.5]])["ciou"] == 1.0
    assert np.isnan(figures.map_scores(slavc, [])["ciou"])  # no box: the official formula says nothing
    with pytest.raises(ValueError, match="one map"):
        figures.map_scores(np.zeros((2, 3, 224, 224)), [BOX])


def test_figure2_is_input_slavc_ogl_with_one_colorbar(tmp_path, picture, slavc, ogl):
    fig = figures.figure2(picture, slavc, ogl, title="toy model", boxes=[BOX], silent_boxes=[SILENT],
                          confidences={"slavc": 0.61, "ogl": 0.42})
    assert len(fig.axes) == 4
    titles = [ax.get_title() for ax in fig.axes[:3]]
    assert titles == ["input", "SLAVC (Eq. 6)\nconfidence 0.610", "OGL (Eq. 5)\nconfidence 0.420"]
    assert len(_rectangles(fig.axes[0])) == 2
    assert fig.axes[3].get_ylim() == (0.0, 1.0)
    assert np.array_equal(fig.axes[1].images[1].get_array(), slavc)
    assert fig.get_suptitle() == "toy model"
    path = viz.save_figure(fig, tmp_path / "figure2.png")
    with Image.open(path) as png:
        assert png.size[0] > 2 * png.size[1]


def test_figure3_blends_each_alpha_from_the_two_maps(picture, slavc, ogl):
    fig = figures.figure3(picture, slavc, ogl, boxes=[BOX])
    panels = fig.axes[:-1]
    assert len(panels) == len(figures.FIGURE3_ALPHAS) == 6
    for ax, alpha in zip(panels, figures.FIGURE3_ALPHAS, strict=True):
        expected = maps.vsl_map(torch.from_numpy(slavc), torch.from_numpy(ogl), alpha).numpy()
        assert np.allclose(ax.images[1].get_array(), expected)
        conf = float(maps.confidence(torch.from_numpy(expected)[None])[0])
        assert f"alpha = {alpha:g}" in ax.get_title() and f"confidence {conf:.3f}" in ax.get_title()
        assert len(_rectangles(ax)) == 1
    assert "(OGL)" in panels[0].get_title() and "(SLAVC)" in panels[-1].get_title()
    assert np.allclose(panels[0].images[1].get_array(), ogl)
    with pytest.raises(ValueError, match="alpha"):
        figures.figure3(picture, slavc, ogl, alphas=[0.2, 1.5])
    with pytest.raises(ValueError, match="at least one"):
        figures.figure3(picture, slavc, ogl, alphas=[])


def test_case_rows_figure_draws_ground_truth_and_per_map_ciou(picture, slavc, ogl):
    vsl = maps.vsl_map(slavc, ogl, 0.4)
    sounding = figures.CaseRow("silent object", picture, slavc, ogl, vsl, 0.4, boxes=[BOX],
                               silent_boxes=[SILENT])
    offscreen = figures.CaseRow("off-screen sound", picture, slavc, ogl, vsl, 0.4, silent_boxes=[SILENT])
    fig = figures.case_rows_figure([sounding, offscreen], title="hard cases")
    assert len(fig.axes) == 2 * 5  # four panels and a colour bar per row
    first, second = fig.axes[:5], fig.axes[5:]
    assert first[0].get_ylabel() == "silent object" and second[0].get_ylabel() == "off-screen sound"
    expected = figures.map_scores(slavc, [BOX])
    assert first[1].get_title() == (f"SLAVC: cIoU {expected['ciou']:.2f}\n"
                                    f"confidence {expected['confidence']:.3f}")
    assert first[3].get_title().startswith("VSL (alpha 0.4): cIoU")
    assert all(ax.get_title().split("\n")[0].endswith("no box") for ax in second[1:4])
    for ax in first[:4]:
        styles = sorted(r.get_linestyle() for r in _rectangles(ax))
        assert styles == ["-", "--"]
    assert all(len(_rectangles(ax)) == 1 for ax in second[:4])
    with pytest.raises(ValueError, match="at least one row"):
        figures.case_rows_figure([])


def test_case_row_records_and_from_result(picture, slavc, ogl):
    from slavc_lite.localize import LocalizationResult

    result = LocalizationResult(image=picture, slavc=slavc, ogl=ogl, vsl=maps.vsl_map(slavc, ogl, 0.9),
                                confidences={"slavc": 0.0, "ogl": 0.0, "vsl": 0.0}, alpha=0.9)
    row = figures.CaseRow.from_result(result, "easy", boxes=[BOX])
    record = row.as_record()
    assert record["case"] == "easy" and row.alpha == 0.9
    for name in figures.MAP_NAMES:
        scores = figures.map_scores(getattr(result, name), [BOX])
        assert record[f"{name}_ciou"] == scores["ciou"]
        assert record[f"{name}_confidence"] == scores["confidence"]


def test_long_titles_are_wrapped_and_stay_inside_the_figure(tmp_path, picture, slavc, ogl):
    title = "weights: " + "a rather long description of the weights " * 6
    rows = [figures.CaseRow("easy", picture, slavc, ogl, maps.vsl_map(slavc, ogl, 0.4), 0.4, boxes=[BOX])] * 3
    made = (figures.figure2(picture, slavc, ogl, title=title),
            figures.figure3(picture, slavc, ogl, title=title), figures.case_rows_figure(rows, title=title))
    for fig in made:
        text = fig.get_suptitle()
        assert text.count("\n") >= 1 and text.replace("\n", " ").split() == title.split()
        fig.canvas.draw()
        box = fig._suptitle.get_window_extent()
        panel_top = max(ax.get_window_extent().y1 for ax in fig.axes)
        assert box.y1 <= fig.bbox.y1 + 1 and box.y0 >= panel_top  # inside the figure, above the panels


def test_records_markdown_renders_a_table_without_pandas():
    records = [{"kind": "single", "cIoU": 0.41237, "n": 3},
               {"kind": "off|screen", "cIoU": float("nan"), "n": np.int64(2)}]
    text = figures.records_markdown(records, digits=2)
    assert text.splitlines() == ["| kind | cIoU | n |", "|---|---|---|", "| single | 0.41 | 3 |",
                                 "| off\\|screen | \u2013 | 2 |"]
    assert figures.records_markdown([{"a": 1}], columns=["a", "b"]).splitlines()[-1] == "| 1 | \u2013 |"
    with pytest.raises(ValueError, match="no records"):
        figures.records_markdown([])


def test_relative_view_shows_min_max_maps_and_outlines_the_prediction(picture, slavc, ogl):
    fig = figures.figure2(picture, slavc, ogl, title="toy", relative=True)
    assert fig.get_suptitle() == f"toy\n{figures.RELATIVE_NOTE}"
    shown = fig.axes[2].images[1].get_array()
    assert np.allclose(shown, (ogl - ogl.min()) / (ogl.max() - ogl.min()))
    assert all(len(ax.collections) == 1 for ax in fig.axes[1:3])  # one outline per map panel
    fixed = figures.figure2(picture, slavc, ogl)
    assert all(len(ax.collections) == 0 for ax in fixed.axes[1:3])
    fig3 = figures.figure3(picture, slavc, ogl, alphas=[0.0, 1.0], relative=True)
    expected = (slavc - slavc.min()) / (slavc.max() - slavc.min())
    assert np.allclose(fig3.axes[1].images[1].get_array(), expected)


def test_draw_prediction_outlines_the_top_half(picture):
    ax = viz.heatmap_figure(picture, np.zeros((224, 224))).axes[0]
    left_half = np.zeros((224, 224), np.float32)
    left_half[:, :112] = 1.0
    figures.draw_prediction(ax, left_half, (320, 240))
    (outline,) = ax.collections
    xs = np.concatenate([p.vertices[:, 0] for p in outline.get_paths()])
    assert np.all(np.abs(xs - 160) < 2)  # the boundary between the halves, at x = 160 of 320 px
    figures.draw_prediction(ax, np.ones((224, 224)), (320, 240))  # constant map: nothing to outline
    assert len(ax.collections) == 1
