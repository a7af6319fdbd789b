"""The figure layouts of the IPOL review of SLAVC (Juanola & Haro, 2024), on our maps.

* :func:`figure2`: input | SLAVC | OGL with one colour bar (the review's Figure 2: the
  audio-visual map of Eq. 6 next to the object prior of Eq. 5).
* :func:`figure3`: VSL = alpha * SLAVC + (1 - alpha) * OGL (Eq. 7) for alpha = 0, 0.2, ..., 1
  (the review's Figure 3: alpha 0 is OGL alone, alpha 1 is SLAVC alone).
* :func:`case_rows_figure`: rows input | SLAVC | OGL | VSL with the ground-truth boxes drawn
  (the layout of the review's Figures 4-9: easy cases, mixtures, small objects, silent
  objects, off-screen sounds, same-type instances), each panel titled with the map's cIoU
  against the boxes and its confidence.

Every map is drawn with :func:`slavc_lite.viz.overlay` on the fixed [0, 1] scale of the
official maps (never rescaled per image), so colours mean the same in every figure. Boxes
are normalised ``[x0, y0, x1, y1]`` (VGG-SS convention), drawn over the displayed frame:
solid for the sounding objects (the ground truth), dashed for visible objects that make no
sound (silent objects, the visible objects of off-screen scenes).

Figures are :class:`matplotlib.figure.Figure` objects made without pyplot (see
:mod:`slavc_lite.viz`): returned from a notebook cell they are shown inline.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from slavc_lite import maps, metrics
from slavc_lite.ground_truth import vggss_gt_map
from slavc_lite.viz import DPI, PANEL_INCHES, SCALE, ImageLike, MapLike, display_image, overlay

__all__ = [
    "FIGURE3_ALPHAS",
    "MAP_NAMES",
    "RELATIVE_NOTE",
    "CaseRow",
    "case_rows_figure",
    "draw_boxes",
    "draw_mask_outline",
    "draw_prediction",
    "panel_title",
    "figure2",
    "figure3",
    "map_scores",
    "records_markdown",
]

FIGURE3_ALPHAS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
"""The alphas of the review's Figure 3."""

MAP_NAMES = ("slavc", "ogl", "vsl")
"""The three maps of a row, in panel order."""

Box = Sequence[float]

_TITLE_INCHES = 0.45  # room above a row of panels for two-line panel titles
_LABEL_INCHES = 0.3  # room left of a row for its label


# ------------------------------------------------------------------------------------ pieces


def draw_boxes(ax: Axes, boxes: Sequence[Box], size: tuple[int, int], color: str = "white",
               dashed: bool = False, linewidth: float = 2.0) -> list[Rectangle]:
    """Draw normalised ``[x0, y0, x1, y1]`` boxes on ``ax`` over a picture of ``size = (W, H)``.

    The lines get a thin dark outline so that they stay visible on any heat-map colour.
    Returns the rectangles (one per box).
    """
    width, height = size
    outline = [patheffects.Stroke(linewidth=linewidth + 1.5, foreground="black"), patheffects.Normal()]
    patches = []
    for box in boxes:
        if len(box) != 4:
            raise ValueError(f"a box is [x0, y0, x1, y1] (normalised), got {list(box)}")
        x0, y0, x1, y1 = (float(np.clip(v, 0.0, 1.0)) for v in box)
        rect = Rectangle((x0 * width, y0 * height), (x1 - x0) * width, (y1 - y0) * height, fill=False,
                         edgecolor=color, linewidth=linewidth, linestyle="--" if dashed else "-")
        rect.set_path_effects(outline)
        ax.add_patch(rect)
        patches.append(rect)
    return patches


def _as_tensor(scores: MapLike) -> torch.Tensor:
    t = scores.detach().float().cpu() if isinstance(scores, torch.Tensor) else torch.from_numpy(
        np.asarray(scores, dtype=np.float32))
    while t.ndim > 2 and t.shape[0] == 1:
        t = t[0]
    if t.ndim != 2:
        raise ValueError(f"expected one map [H, W], got shape {tuple(t.shape)}")
    return t


def map_scores(scores: MapLike, boxes: Sequence[Box]) -> dict[str, float]:
    """The official per-sample numbers of one ``[224, 224]`` map against normalised boxes.

    ``{"ciou": ..., "confidence": ...}``: the cIoU of the relative prediction (top 50% of the
    min-max normalised map, :func:`slavc_lite.maps.relative_prediction`) with the VGG-SS
    ground truth of ``boxes`` (:func:`slavc_lite.ground_truth.vggss_gt_map`), and the
    confidence (mean of the top quarter, :func:`slavc_lite.maps.confidence`). Without boxes
    (a non-sounding pair) the cIoU is NaN: the official formula gives 0 whatever the map.
    """
    t = _as_tensor(scores)
    confidence = float(maps.confidence(t[None])[0])
    if not boxes:
        return {"ciou": float("nan"), "confidence": confidence}
    if t.shape[0] != t.shape[1]:
        raise ValueError(f"maps are square (224 x 224 officially), got {tuple(t.shape)}")
    gt = vggss_gt_map(boxes, t.shape[0])
    return {"ciou": metrics.ciou(maps.relative_prediction(t), gt), "confidence": confidence}


def _colorbar(fig: Figure, cax: Axes, cmap: str) -> None:
    fig.colorbar(ScalarMappable(norm=Normalize(*SCALE), cmap=cmap), cax=cax, ticks=np.linspace(*SCALE, 6))


def _grid(fig: Figure, n_rows: int, n_panels: int, height: float, top_inches: float, left: float = 0.01):
    return fig.add_gridspec(n_rows, n_panels + 1, width_ratios=[1] * n_panels + [0.06], left=left, right=0.95,
                            bottom=0.02, top=1 - top_inches / height, wspace=0.05,
                            hspace=_TITLE_INCHES / PANEL_INCHES + 0.02)


def _show_input(ax: Axes, picture: np.ndarray) -> None:
    """The frame in pixel coordinates ``(0, W) x (0, H)``, like :func:`slavc_lite.viz.overlay`."""
    height, width = picture.shape[:2]
    ax.imshow(picture, extent=(0, width, height, 0), interpolation="bilinear")
    ax.set_title("input", fontsize=10)


def draw_prediction(ax: Axes, scores: MapLike, size: tuple[int, int], pred_size: float = 0.5,
                    color: str = "white") -> None:
    """Outline the official relative prediction of a map (the top ``pred_size`` of its min-max
    normalised values, :func:`slavc_lite.maps.relative_prediction`): the region cIoU scores."""
    draw_mask_outline(ax, maps.relative_prediction(_as_tensor(scores), pred_size), size, color)


def draw_mask_outline(ax: Axes, mask: MapLike, size: tuple[int, int], color: str = "white") -> None:
    """Outline a binary ``[H, W]`` mask over a picture of ``size = (W, H)`` with a dotted line
    (nothing for a constant mask)."""
    mask = np.asarray(mask, dtype=np.float32)
    if mask.min() == mask.max():  # a constant map: everything is predicted, there is no outline
        return
    rows, cols = mask.shape
    width, height = size
    xs = (np.arange(cols) + 0.5) * width / cols
    ys = (np.arange(rows) + 0.5) * height / rows
    contour = ax.contour(xs, ys, mask, levels=[0.5], colors=[color], linewidths=1.3, linestyles=":")
    contour.set_path_effects([patheffects.Stroke(linewidth=2.6, foreground="black"), patheffects.Normal()])


def _min_max(scores: MapLike) -> torch.Tensor:
    t = _as_tensor(scores)
    span = t.max() - t.min()
    return (t - t.min()) / span if span > 0 else t


def _draw_map(ax: Axes, picture: np.ndarray, scores: MapLike, title: str, cmap: str, relative: bool) -> None:
    """One map over the frame: on the fixed scale, or min-max normalised with the prediction outlined."""
    if relative:
        overlay(picture, _min_max(scores), ax=ax, cmap=cmap, title=title)
        draw_prediction(ax, scores, (picture.shape[1], picture.shape[0]))
    else:
        overlay(picture, scores, ax=ax, cmap=cmap, title=title)


RELATIVE_NOTE = "maps min-max normalised per panel; dotted: the official top-50% prediction"
"""The line that :func:`figure2` and :func:`figure3` add to the title of a ``relative=True`` figure."""


def _with_note(title: str | None, relative: bool) -> str | None:
    if not relative:
        return title
    return f"{title}\n{RELATIVE_NOTE}" if title else RELATIVE_NOTE


def _wrapped(title: str | None, width_inches: float, fontsize: float = 11) -> str | None:
    """``title`` with each line wrapped to the figure's width (about 0.55 em per character)."""
    if not title:
        return title
    chars = max(20, int(width_inches * 72 / (fontsize * 0.55)))
    return "\n".join(textwrap.fill(line, chars, break_on_hyphens=False) or line for line in title.split("\n"))


def _set_title(fig: Figure, title: str | None, height_inches: float) -> None:
    """The figure title, its top 0.08 inch below the figure's top whatever the figure's height."""
    if title:
        fig.suptitle(title, fontsize=11, y=1 - 0.08 / height_inches, va="top")


def _suptitle_inches(title: str | None) -> float:
    return 0.12 + 0.22 * (title.count("\n") + 1) if title else 0.0


# ------------------------------------------------------------------------------------ figures


def figure2(image: ImageLike, slavc: MapLike, ogl: MapLike, title: str | None = None,
            boxes: Sequence[Box] = (), silent_boxes: Sequence[Box] = (),
            confidences: Mapping[str, float] | None = None, cmap: str = "jet",
            relative: bool = False) -> Figure:
    """The review's Figure 2: input | SLAVC (Eq. 6) | OGL (Eq. 5), with a colour bar [0, 1].

    Args:
        image: the input frame (PIL image, uint8 array or normalised tensor).
        slavc, ogl: ``[H, W]`` maps on the fixed [0, 1] scale.
        title: figure title (say which weights made the maps).
        boxes, silent_boxes: normalised boxes of sounding (solid) and silent (dashed) objects,
            drawn on the input panel.
        confidences: optional ``{"slavc", "ogl"}`` confidences for the panel titles.
        relative: draw each map min-max normalised, as the official relative prediction sees
            it, with that prediction (top 50%) outlined; the title says so. Default: the fixed
            [0, 1] scale of the official maps, as in the review.
    """
    width = 3 * PANEL_INCHES + 0.6
    title = _wrapped(_with_note(title, relative), width)
    height = PANEL_INCHES + _TITLE_INCHES + _suptitle_inches(title)
    fig = Figure(figsize=(width, height), dpi=DPI)
    grid = _grid(fig, 1, 3, height, _TITLE_INCHES + _suptitle_inches(title))
    axes = [fig.add_subplot(grid[0, i]) for i in range(3)]
    picture = display_image(image)
    size = (picture.shape[1], picture.shape[0])
    _show_input(axes[0], picture)
    axes[0].set_axis_off()
    draw_boxes(axes[0], boxes, size)
    draw_boxes(axes[0], silent_boxes, size, dashed=True)
    panels = ((axes[1], "SLAVC (Eq. 6)", "slavc", slavc), (axes[2], "OGL (Eq. 5)", "ogl", ogl))
    for ax, name, key, scores in panels:
        label = f"{name}\nconfidence {confidences[key]:.3f}" if confidences and key in confidences else name
        _draw_map(ax, picture, scores, label, cmap, relative)
    _colorbar(fig, fig.add_subplot(grid[0, 3]), cmap)
    _set_title(fig, title, height)
    return fig


def figure3(image: ImageLike, slavc: MapLike, ogl: MapLike, alphas: Sequence[float] = FIGURE3_ALPHAS,
            title: str | None = None, boxes: Sequence[Box] = (), silent_boxes: Sequence[Box] = (),
            cmap: str = "jet", relative: bool = False) -> Figure:
    """The review's Figure 3: VSL (Eq. 7) for each alpha, in one row with a colour bar [0, 1].

    Each panel is ``maps.vsl_map(slavc, ogl, alpha)`` drawn over the frame, titled with alpha
    (alpha 0 is the OGL map, alpha 1 the SLAVC map) and the VSL map's confidence. ``boxes``
    (sounding objects, solid) and ``silent_boxes`` (dashed) are drawn on every panel.
    ``relative``: as in :func:`figure2`.
    """
    if not alphas:
        raise ValueError("give at least one alpha")
    s, o = _as_tensor(slavc), _as_tensor(ogl)
    n = len(alphas)
    width = n * PANEL_INCHES * 0.8 + 0.6
    title = _wrapped(_with_note(title, relative), width)
    panel = PANEL_INCHES * 0.8
    height = panel + _TITLE_INCHES + _suptitle_inches(title)
    fig = Figure(figsize=(width, height), dpi=DPI)
    grid = fig.add_gridspec(1, n + 1, width_ratios=[1] * n + [0.06], left=0.01, right=0.95, bottom=0.02,
                            top=1 - (_TITLE_INCHES + _suptitle_inches(title)) / height, wspace=0.05)
    picture = display_image(image)
    size = (picture.shape[1], picture.shape[0])
    for i, alpha in enumerate(alphas):
        vsl = maps.vsl_map(s, o, float(alpha))
        ax = fig.add_subplot(grid[0, i])
        note = " (OGL)" if alpha == 0 else " (SLAVC)" if alpha == 1 else ""
        conf = float(maps.confidence(vsl[None])[0])
        _draw_map(ax, picture, vsl, f"alpha = {alpha:g}{note}\nconfidence {conf:.3f}", cmap, relative)
        draw_boxes(ax, boxes, size)
        draw_boxes(ax, silent_boxes, size, dashed=True)
    _colorbar(fig, fig.add_subplot(grid[0, n]), cmap)
    _set_title(fig, title, height)
    return fig


@dataclass
class CaseRow:
    """One row of :func:`case_rows_figure`: a pair's three maps and what is known about it.

    Attributes:
        label: what the row shows (e.g. ``"silent object: bird heard, drum silent"``).
        image: the displayed frame (224 x 224 for the network input).
        slavc, ogl, vsl: ``[224, 224]`` maps on the [0, 1] scale.
        alpha: the VSL weight of ``vsl``.
        boxes: normalised boxes of the sounding objects (the ground truth; empty for a
            non-sounding pair).
        silent_boxes: normalised boxes of visible objects that make no sound.
        scores: ``{map: {"ciou", "confidence"}}`` (:func:`map_scores`); computed when empty.
    """

    label: str
    image: ImageLike
    slavc: MapLike
    ogl: MapLike
    vsl: MapLike
    alpha: float
    boxes: list = field(default_factory=list)
    silent_boxes: list = field(default_factory=list)
    scores: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.scores:
            self.scores = {name: map_scores(getattr(self, name), self.boxes) for name in MAP_NAMES}

    @classmethod
    def from_result(cls, result, label: str, boxes: Sequence[Box] = (),
                    silent_boxes: Sequence[Box] = ()) -> CaseRow:
        """A row from a :class:`slavc_lite.localize.LocalizationResult` (its maps and alpha)."""
        return cls(label=label, image=result.image, slavc=result.slavc, ogl=result.ogl, vsl=result.vsl,
                   alpha=result.alpha, boxes=[list(b) for b in boxes],
                   silent_boxes=[list(b) for b in silent_boxes])

    def as_record(self) -> dict[str, float | str]:
        """``{"case", "slavc_ciou", "slavc_confidence", ...}``: one line of a per-case table."""
        record: dict[str, float | str] = {"case": self.label}
        for name in MAP_NAMES:
            record[f"{name}_ciou"] = self.scores[name]["ciou"]
            record[f"{name}_confidence"] = self.scores[name]["confidence"]
        return record


def panel_title(row: CaseRow, key: str) -> str:
    """The title of map ``key``'s panel (``"slavc"``, ``"ogl"``, ``"vsl"``) in :func:`case_rows_figure`."""
    name = {"slavc": "SLAVC", "ogl": "OGL", "vsl": f"VSL (alpha {row.alpha:g})"}[key]
    return _panel_title(name, row.scores[key])


def _panel_title(name: str, score: Mapping[str, float]) -> str:
    ciou = score["ciou"]
    first = f"{name}: cIoU {ciou:.2f}" if np.isfinite(ciou) else f"{name}: no box"
    return f"{first}\nconfidence {score['confidence']:.3f}"


def case_rows_figure(rows: Sequence[CaseRow], title: str | None = None, cmap: str = "jet",
                     show_prediction: bool = True) -> Figure:
    """Rows input | SLAVC | OGL | VSL(alpha) with ground-truth boxes (the review's Figures 4-9).

    Each row is labelled on the left; each map panel is titled with its cIoU against the
    row's ground-truth boxes ("no box" for a non-sounding pair) and its confidence. Sounding
    boxes are solid, silent objects' boxes dashed, on every panel. Maps are on the fixed
    [0, 1] scale; with ``show_prediction`` the official relative prediction (top 50%, the
    region cIoU scores) is outlined with a dotted line.
    """
    if not rows:
        raise ValueError("give at least one row")
    width = 4 * PANEL_INCHES + 0.6 + _LABEL_INCHES
    title = _wrapped(title, width)
    title_inches = _suptitle_inches(title)
    height = len(rows) * (PANEL_INCHES + _TITLE_INCHES) + title_inches + 0.1
    fig = Figure(figsize=(width, height), dpi=DPI)
    grid = _grid(fig, len(rows), 4, height, _TITLE_INCHES + title_inches, left=_LABEL_INCHES / width)
    for r, row in enumerate(rows):
        picture = display_image(row.image)
        size = (picture.shape[1], picture.shape[0])
        axes = [fig.add_subplot(grid[r, i]) for i in range(4)]
        _show_input(axes[0], picture)
        axes[0].set_xticks([])
        axes[0].set_yticks([])
        axes[0].set_ylabel(row.label, fontsize=11, fontweight="bold")
        for ax, key in zip(axes[1:], MAP_NAMES, strict=True):
            overlay(picture, getattr(row, key), ax=ax, cmap=cmap, title=panel_title(row, key))
            ax.set_label(key)  # how a re-drawer finds a map's panel (slavc_lite.teaching.slider_figure)
            if show_prediction:
                draw_prediction(ax, getattr(row, key), size)
        for ax in axes:
            draw_boxes(ax, row.boxes, size)
            draw_boxes(ax, row.silent_boxes, size, dashed=True)
        _colorbar(fig, fig.add_subplot(grid[r, 4]), cmap)
    _set_title(fig, title, height)
    return fig


def records_markdown(records: Sequence[Mapping[str, object]], columns: Sequence[str] | None = None,
                     digits: int = 3) -> str:
    """A list of dicts as a Markdown table (for ``IPython.display.Markdown``; no pandas needed).

    ``columns`` picks and orders the keys (default: the first record's). Floats get ``digits``
    decimals, NaN and missing values show as an en dash.
    """
    if not records:
        raise ValueError("no records to show")
    columns = list(columns or records[0])

    def cell(value: object) -> str:
        if value is None:
            return "\u2013"
        if isinstance(value, float | np.floating):
            return "\u2013" if not np.isfinite(value) else f"{value:.{digits}f}"
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in records]
    return "\n".join(lines)
