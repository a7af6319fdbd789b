"""Figures of localization maps: heat-map overlays and the review's input | SLAVC | OGL | VSL row.

Like the IPOL review's figures (Juanola & Haro 2024) and its demo, each map is a heat map
(``jet`` by default) laid over the input frame, and all maps share the fixed scale [0, 1] of the
official maps (see :mod:`slavc_lite.maps`: 0.5 is cosine 0 for SLAVC, 2.5 is the top of the
OGL range). Values outside [0, 1] (bicubic overshoot, OGL above 2.5) are drawn with the end
colours of the scale, never rescaled per image: the colours mean the same in every figure.

Figures are :class:`matplotlib.figure.Figure` objects made without pyplot, so nothing here
selects a backend or opens a window: this works in scripts, on servers without a display,
and in notebooks (where a returned figure is shown inline).
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from PIL import Image

from slavc_lite.atomic_files import atomic_write

__all__ = [
    "DPI",
    "PANEL_INCHES",
    "HEATMAP_FIGSIZE",
    "THREE_PANEL_FIGSIZE",
    "display_image",
    "overlay",
    "three_panel_figure",
    "heatmap_figure",
    "save_figure",
    "save_heatmap_png",
]

DPI = 100
"""Resolution of saved figures (pixels per inch)."""

PANEL_INCHES = 3.0
"""Width of one image panel, in inches."""

HEATMAP_FIGSIZE = (3.6, 3.4)
"""Size of a single-overlay figure (:func:`heatmap_figure`) in inches: 360 x 340 px at DPI."""

THREE_PANEL_FIGSIZE = (12.6, 3.6)
"""Size of the four-panel row (:func:`three_panel_figure`) in inches: 1260 x 360 px at DPI."""

#: The fixed colour scale of every map (the official maps' [0, 1] range).
SCALE = (0.0, 1.0)

ImageLike = Image.Image | np.ndarray | torch.Tensor
MapLike = np.ndarray | torch.Tensor


def display_image(image: ImageLike) -> np.ndarray:
    """An image as an ``H x W x 3`` uint8 array for display.

    Accepts a PIL image, a uint8 ``H x W x 3`` (or ``H x W``) array, or an ImageNet-normalised
    tensor ``[3, H, W]`` / ``[1, 3, H, W]`` (the network input, see
    :func:`slavc_lite.images.to_display_array`).
    """
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    if isinstance(image, torch.Tensor):
        from slavc_lite.images import to_display_array

        return to_display_array(image)
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ValueError(f"image arrays must be uint8 (H x W x 3), got {array.dtype}; "
                         "pass a tensor for network inputs")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 image, got shape {array.shape}")
    return array


def _heatmap_array(heatmap: MapLike) -> np.ndarray:
    if isinstance(heatmap, torch.Tensor):
        heatmap = heatmap.detach().float().cpu().numpy()
    array = np.asarray(heatmap, dtype=np.float32)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise ValueError(f"expected one heat map [H, W], got shape {array.shape}")
    return array


def overlay(
    image: ImageLike,
    heatmap: MapLike,
    ax: Axes | None = None,
    cmap: str = "jet",
    alpha: float = 0.5,
    title: str | None = None,
) -> AxesImage:
    """Draw ``heatmap`` (scores on the fixed scale [0, 1]) over ``image``.

    The heat map is stretched over the whole picture whatever the two sizes (the official
    maps are 224 x 224 on the 224 x 224 test input; a frame of another size is shown as it is).

    Args:
        image: PIL image, uint8 array or ImageNet-normalised tensor.
        heatmap: ``[H, W]`` scores (numpy or torch), drawn with ``vmin=0, vmax=1``.
        ax: where to draw; by default a new single-axes :class:`Figure`.
        cmap: matplotlib colour map (default ``jet``).
        alpha: opacity of the heat map.
        title: optional axes title.

    Returns:
        The heat map's :class:`AxesImage` (``ax.figure.colorbar(result)`` adds a scale).
    """
    picture = display_image(image)
    scores = _heatmap_array(heatmap)
    if ax is None:
        ax = Figure(figsize=HEATMAP_FIGSIZE, dpi=DPI).add_subplot()
    height, width = picture.shape[:2]
    extent = (0, width, height, 0)
    ax.imshow(picture, extent=extent, interpolation="bilinear")
    mappable = ax.imshow(scores, cmap=cmap, alpha=alpha, vmin=SCALE[0], vmax=SCALE[1], extent=extent,
                         interpolation="bilinear")
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title, fontsize=10)
    return mappable


def _add_colorbar(fig: Figure, cax: Axes, cmap: str) -> None:
    """An opaque colour bar of the fixed scale [0, 1] (not the translucent overlay's)."""
    fig.colorbar(ScalarMappable(norm=Normalize(*SCALE), cmap=cmap), cax=cax, ticks=np.linspace(*SCALE, 6))


def _wrap(title: str | None, fig_width: float, fontsize: float) -> str | None:
    """Wrap each line of ``title`` to the figure's width (about 0.55 em per character)."""
    if not title:
        return title
    width = max(20, int(fig_width * 72 / (fontsize * 0.55)))
    return "\n".join(textwrap.fill(line, width, break_on_hyphens=False) or line
                     for line in title.split("\n"))


def _top(title: str | None, fig_height: float, fontsize: float, reserve: float) -> float:
    """Top of the panels: below the suptitle's lines and ``reserve`` inches of panel titles."""
    lines = title.count("\n") + 1 if title else 0
    return 1.0 - (0.1 + lines * fontsize * 1.35 / 72 + reserve) / fig_height


def _panel_title(name: str, confidences: Mapping[str, float] | None, key: str) -> str:
    if confidences and key in confidences:
        return f"{name}\nconfidence {confidences[key]:.3f}"
    return name


def three_panel_figure(
    image: ImageLike,
    slavc: MapLike,
    ogl: MapLike,
    vsl: MapLike,
    alpha: float,
    title: str | None = None,
    confidences: Mapping[str, float] | None = None,
    cmap: str = "jet",
) -> Figure:
    """The review's figure row: input | SLAVC | OGL | VSL(alpha), with one colour bar [0, 1].

    SLAVC is the audio-visual map (Eq. 6), OGL the object-guided map (Eq. 5) and VSL their
    blend ``alpha * SLAVC + (1 - alpha) * OGL`` (Eq. 7); see :mod:`slavc_lite.maps`.

    Args:
        image: the input frame (PIL image, uint8 array or normalised tensor).
        slavc, ogl, vsl: the three ``[H, W]`` maps on the [0, 1] scale.
        alpha: the VSL weight, shown in the VSL panel's title.
        title: figure title (e.g. which weights were used), drawn above the row.
        confidences: optional ``{"slavc", "ogl", "vsl"}`` confidences shown under each name.
        cmap: colour map of the heat maps.
    """
    fig = Figure(figsize=THREE_PANEL_FIGSIZE, dpi=DPI)
    title = _wrap(title, THREE_PANEL_FIGSIZE[0], 11)
    # Four square panels and a thin colour-bar column; room on top for the titles.
    grid = fig.add_gridspec(1, 5, width_ratios=[1, 1, 1, 1, 0.06], left=0.01, right=0.95, bottom=0.03,
                            top=_top(title, THREE_PANEL_FIGSIZE[1], 11, 0.4), wspace=0.05)
    axes = [fig.add_subplot(grid[0, i]) for i in range(4)]
    picture = display_image(image)
    axes[0].imshow(picture, interpolation="bilinear")
    axes[0].set_axis_off()
    axes[0].set_title("input" + ("\n " if confidences else ""), fontsize=10)
    panels = (("SLAVC", slavc, "slavc"), ("OGL", ogl, "ogl"), (f"VSL (alpha = {alpha:g})", vsl, "vsl"))
    for ax, (name, scores, key) in zip(axes[1:], panels, strict=True):
        overlay(picture, scores, ax=ax, cmap=cmap, title=_panel_title(name, confidences, key))
    _add_colorbar(fig, fig.add_subplot(grid[0, 4]), cmap)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def heatmap_figure(image: ImageLike, heatmap: MapLike, title: str | None = None, cmap: str = "jet") -> Figure:
    """One overlay with a colour bar [0, 1] and a title (:data:`HEATMAP_FIGSIZE`).

    Long title lines are wrapped to the figure's width.
    """
    fig = Figure(figsize=HEATMAP_FIGSIZE, dpi=DPI)
    title = _wrap(title, HEATMAP_FIGSIZE[0], 9)
    grid = fig.add_gridspec(1, 2, width_ratios=[1, 0.05], left=0.02, right=0.86, bottom=0.03,
                            top=_top(title, HEATMAP_FIGSIZE[1], 9, 0.0), wspace=0.05)
    overlay(image, heatmap, ax=fig.add_subplot(grid[0, 0]), cmap=cmap)
    _add_colorbar(fig, fig.add_subplot(grid[0, 1]), cmap)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def _suptitle(fig: Figure) -> str:
    if hasattr(fig, "get_suptitle"):  # matplotlib >= 3.8
        return fig.get_suptitle()
    text = getattr(fig, "_suptitle", None)  # pragma: no cover - matplotlib 3.7
    return text.get_text() if text is not None else ""


def save_figure(fig: Figure, path: str | os.PathLike, title: str | None = None) -> Path:
    """Save ``fig`` (format from the suffix, :data:`DPI`) atomically, creating parent folders.

    The figure's title (``title``, else its suptitle) is also stored in the file's metadata
    (PNG ``Title`` text chunk, PDF/SVG title), so a result can be checked without OCR.
    The pixel size is exactly ``figsize * DPI`` (no tight bounding box). The file is written
    through :func:`slavc_lite.atomic_files.atomic_write`: a failed save leaves no half image.
    """
    path = Path(path)
    title = title if title is not None else _suptitle(fig)
    suffix = path.suffix.lower()
    if not suffix:
        raise ValueError(f"{path}: a figure file needs a suffix naming its format (.png, .pdf, .svg, ...)")
    metadata = {"Title": title} if title and suffix in (".png", ".pdf", ".svg") else None
    return atomic_write(path, lambda fh: fig.savefig(fh, format=suffix[1:], dpi=DPI, metadata=metadata))


def save_heatmap_png(image: ImageLike, heatmap: MapLike, path: str | os.PathLike, title: str) -> Path:
    """Save one overlay (:func:`heatmap_figure`) as a PNG of 360 x 340 pixels with ``title``.

    The PNG's ``Title`` metadata holds ``title`` as given (the drawn one may be wrapped).
    """
    return save_figure(heatmap_figure(image, heatmap, title=title), path, title=title)
