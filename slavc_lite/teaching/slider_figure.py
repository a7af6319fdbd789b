"""Chapter 07's slider figure at any alpha, redrawing only its VSL panel.

Moving the alpha slider changes one panel of the figure input | SLAVC | OGL | VSL
(:func:`slavc_lite.teaching.figures.case_rows_figure`): the VSL map, its outline of the official relative
prediction, and its title (alpha, cIoU, confidence). Re-drawing and encoding the whole figure for
every new alpha takes well over 100 ms on a laptop CPU; :class:`SliderFigure` draws the figure
once, keeps the pixels around the VSL panel with that panel hidden (matplotlib's blitting:
``copy_from_bbox`` / ``restore_region``), and for a new alpha only

1. re-blends VSL from the cached maps (review Eq. 7) and scores it (cIoU, confidence),
2. puts the new map into the panel's heat-map image (``set_data``), re-draws the prediction
   outline and the title,
3. restores the saved pixels and draws that one panel on them with the same Agg renderer,
4. encodes the canvas as PNG (fast zlib level).

The picture is the one a full re-draw gives (same colormap, same fixed [0, 1] scale, same
blending and resampling, drawn by the same renderer); ``tests/test_slider_figure.py`` compares
the two pixel by pixel.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.transforms import Bbox

from slavc_lite import maps, metrics
from slavc_lite.ground_truth import vggss_gt_map
from slavc_lite.teaching.figures import CaseRow, case_rows_figure, draw_mask_outline, panel_title
from slavc_lite.viz import display_image

__all__ = ["SliderFigure", "png_bytes"]

PNG_COMPRESS_LEVEL = 1
"""zlib level of the slider's PNGs (1: fastest compression; 0 would store them uncompressed)."""


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def png_bytes(pixels: np.ndarray, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """An ``H x W x 3`` (RGB) or ``H x W x 4`` (RGBA) uint8 array as PNG bytes.

    A plain PNG writer (8-bit colour, no interlace, no row filter, one zlib stream): it spends
    its time in zlib only, several times faster than Pillow's encoder with its per-row filter
    search, for files a little larger. Any PNG reader decodes it to exactly ``pixels``.
    """
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(f"expected H x W x 3 or H x W x 4 pixels, got shape {pixels.shape}")
    height, width, channels = pixels.shape
    rows = np.zeros((height, 1 + width * channels), np.uint8)  # a 0 byte per row: filter "None"
    rows[:, 1:] = pixels.reshape(height, width * channels)
    header = struct.pack(">IIBBBBB", width, height, 8, 6 if channels == 4 else 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), compress_level)) + _png_chunk(b"IEND", b""))


class SliderFigure:
    """One pair's row input | SLAVC | OGL | VSL(alpha) whose VSL panel follows a new alpha.

    Args:
        blender: the pair's :class:`slavc_lite.teaching.widgets.AlphaBlender` (cached maps, boxes, title).
        dpi: the resolution the figure is drawn at (the widgets' preview resolution).

    The SLAVC and OGL panels, the colour bar and the titles of the other panels are drawn once.
    """

    def __init__(self, blender, dpi: float) -> None:
        self.blender = blender
        row = blender.row()
        self._fixed_scores = {key: row.scores[key] for key in ("slavc", "ogl")}
        n = np.asarray(row.vsl).shape[0]
        self._gt = vggss_gt_map(blender.boxes, n) if blender.boxes else None
        self.fig = case_rows_figure([row], title=blender.title)
        self.fig.set_dpi(dpi)
        self.canvas = FigureCanvasAgg(self.fig)
        self.ax = next(ax for ax in self.fig.axes if ax.get_label() == "vsl")
        frame, self.heat = self.ax.images  # overlay draws the frame, then the map over it
        picture = display_image(row.image)
        self.size = (picture.shape[1], picture.shape[0])  # the panel's pixel coordinates
        # Everything the panel draws over its frame changes with alpha (the map, the prediction
        # outline, the title) or lies over what changes (the boxes): "animated" artists, which a
        # canvas draw leaves out, so the saved background holds the figure with the bare frame.
        for artist in (self.heat, *self.ax.collections, *self.ax.patches, *self.ax.texts, self.ax.title):
            artist.set_animated(True)
        self.canvas.draw()
        self.region = self._panel_region()
        self.background = self.canvas.copy_from_bbox(self.region)
        self.alpha = row.alpha
        self._draw_panel()

    def _panel_region(self) -> Bbox:
        """The VSL panel's column (from halfway to its neighbours), the whole height of the figure."""
        renderer = self.canvas.get_renderer()
        boxes = [ax.get_window_extent(renderer) for ax in self.fig.axes if ax is not self.ax]
        panel = self.ax.get_window_extent(renderer)
        left = max((b.x1 for b in boxes if b.x1 <= panel.x0), default=0.0)
        right = min((b.x0 for b in boxes if b.x0 >= panel.x1), default=self.fig.bbox.width)
        return Bbox.from_extents((left + panel.x0) / 2, 0, (panel.x1 + right) / 2, self.fig.bbox.height)

    def row(self, alpha: float) -> tuple[CaseRow, np.ndarray]:
        """The figure's row at ``alpha`` and its VSL relative prediction (the top 50%).

        VSL is re-blended (:meth:`AlphaBlender.blend`), its confidence is the one the blend
        computed, its cIoU is scored against the pair's boxes as :func:`map_scores` does; the
        SLAVC and OGL scores do not change with alpha and are reused.
        """
        result = self.blender.blend(alpha)
        mask = maps.relative_prediction_array(result.vsl)
        ciou = metrics.ciou(mask, self._gt) if self._gt is not None else float("nan")
        scores = {**self._fixed_scores, "vsl": {"ciou": ciou, "confidence": result.confidences["vsl"]}}
        row = CaseRow(label=self.blender.label, image=result.image, slavc=result.slavc, ogl=result.ogl,
                      vsl=result.vsl, alpha=result.alpha, boxes=self.blender.boxes,
                      silent_boxes=self.blender.silent_boxes, scores=scores)
        return row, mask

    def update(self, alpha: float) -> None:
        """Re-draw the VSL panel for ``alpha`` on the canvas."""
        row, mask = self.row(alpha)
        self.heat.set_data(np.asarray(row.vsl))
        for collection in list(self.ax.collections):  # the previous prediction outline
            collection.remove()
        draw_mask_outline(self.ax, mask, self.size)
        for collection in self.ax.collections:
            collection.set_animated(True)
        self.ax.title.set_text(panel_title(row, "vsl"))
        self.alpha = row.alpha
        self._draw_panel()

    def _draw_panel(self) -> None:
        """The saved background, then the panel's animated artists in the order ``Axes.draw`` uses."""
        self.canvas.restore_region(self.background)
        artists = sorted((a for a in self.ax.get_children() if a.get_animated()), key=lambda a: a.zorder)
        for artist in artists:
            self.ax.draw_artist(artist)

    def rgba(self) -> np.ndarray:
        """The canvas as an ``H x W x 4`` uint8 array (a copy)."""
        return np.array(self.canvas.buffer_rgba())

    def png(self, alpha: float | None = None) -> bytes:
        """The figure as PNG bytes, at ``alpha`` if given (re-drawing only the VSL panel).

        The figure is opaque, so the PNG holds RGB (the alpha channel would be 255 everywhere).
        """
        if alpha is not None:
            self.update(alpha)
        rgba = np.asarray(self.canvas.buffer_rgba())
        return png_bytes(rgba[..., :3] if (rgba[..., 3] == 255).all() else rgba)
