"""Figures of an evaluation: per-sample map rows with the ground-truth boxes, and the
negative-audio distributions.

* :func:`sample_figure`: the review's row input | SLAVC | OGL | VSL
  (:func:`slavc_lite.viz.three_panel_figure`, fixed colour scale [0, 1]) with the ground-truth
  boxes drawn on every panel and each map's cIoU in its title.
* :class:`FigureWriter`: a ``score_test_set(on_batch=...)`` callback that saves the figures of
  the first N samples while scoring, so no map has to be kept in memory.
* :func:`negative_audio_figure`: histograms of the maximum map value for positive and
  negative audio, with the universal threshold (:mod:`slavc_lite.evaluation.negative_audio`).
* :func:`paper_maxima_figure`: the main figure of Juanola, Haro and Fuentes (2024) for our
  model: the distributions of the maximum map value for positive and each negative audio,
  with the three universal thresholds ``max``, ``max10``, ``maxq3`` drawn on them, one panel
  per map (:mod:`slavc_lite.evaluation.paper_negative_audio`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from slavc_lite.ground_truth import flickr_boxes_to_pixels, vggss_boxes_to_pixels
from slavc_lite.viz import save_figure, three_panel_figure

__all__ = ["BOX_COLOR", "FigureWriter", "draw_boxes", "negative_audio_figure", "paper_maxima_figure",
           "pixel_boxes", "sample_figure"]

BOX_COLOR = "white"
CONDITION_COLORS = {"positive": "tab:green", "silence": "tab:gray", "noise": "tab:orange",
                    "offscreen": "tab:red"}
#: Line styles of the universal thresholds in :func:`paper_maxima_figure`.
THRESHOLD_STYLES = {"max": "--", "max10": ":", "maxq3": "-."}


def pixel_boxes(boxes: Sequence[Sequence[float]], box_format: str = "vggss") -> list[list[int]]:
    """Boxes of a sample as ``[x0, y0, x1, y1]`` pixels of the 224 x 224 map (official rounding)."""
    if box_format == "flickr":
        return flickr_boxes_to_pixels(boxes)
    return vggss_boxes_to_pixels(boxes)


def draw_boxes(ax, boxes_px: Sequence[Sequence[int]], color: str = BOX_COLOR) -> None:
    """Outline pixel boxes ``[x0, y0, x1, y1]`` (end exclusive) on an image axes."""
    for x0, y0, x1, y1 in boxes_px:
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=color, linewidth=1.5))


def sample_figure(
    image,
    maps: Mapping[str, np.ndarray | torch.Tensor],
    alpha: float,
    boxes_px: Sequence[Sequence[int]] = (),
    title: str | None = None,
    confidences: Mapping[str, float] | None = None,
    cious: Mapping[str, float] | None = None,
) -> Figure:
    """Input | SLAVC | OGL | VSL with the ground-truth boxes; titles carry confidence and cIoU."""
    fig = three_panel_figure(image, maps["slavc"], maps["ogl"], maps["vsl"], alpha, title=title,
                             confidences=confidences)
    panels = fig.axes[:4]
    for ax in panels:
        draw_boxes(ax, boxes_px)
    if cious:
        for ax, key in zip(panels[1:], ("slavc", "ogl", "vsl"), strict=True):
            if key in cious and np.isfinite(cious[key]):
                ax.set_title(f"{ax.get_title()}, cIoU {cious[key]:.3f}", fontsize=10)
    return fig


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:80]


class FigureWriter:
    """An ``on_batch`` callback of :func:`score_test_set` that saves :func:`sample_figure` of
    the first ``count`` scored samples to ``folder/<rank>_<id>.png``.

    Needs the ``slavc``, ``ogl`` and ``vsl`` maps (an object network) and the dataset's boxes.
    """

    def __init__(self, folder: str | os.PathLike, dataset, count: int, alpha: float,
                 title: str | None = None) -> None:
        self.folder = Path(folder)
        self.dataset = dataset
        self.count = int(count)
        self.alpha = float(alpha)
        self.title = title
        self.written: list[Path] = []

    def __call__(self, batch: dict, maps: Mapping[str, torch.Tensor]) -> None:
        from slavc_lite.evaluation.inference import batch_cious
        from slavc_lite.maps import confidence, relative_prediction

        if len(self.written) >= self.count:
            return
        if not {"slavc", "ogl", "vsl"} <= set(maps):
            raise ValueError("per-sample figures need the OGL and VSL maps: give an object network")
        box_format = getattr(self.dataset, "box_format", "vggss")
        take = min(self.count - len(self.written), len(batch["id"]))
        cious = {k: batch_cious(relative_prediction(maps[k][:take]), batch["gt_map"][:take])
                 for k in ("slavc", "ogl", "vsl")}
        confs = {k: confidence(maps[k][:take]).cpu().tolist() for k in ("slavc", "ogl", "vsl")}
        for k in range(take):
            position = int(batch["index"][k])
            sample_id = batch["id"][k]
            audio_id = batch["audio_id"][k]
            boxes = pixel_boxes(self.dataset.boxes[position], box_format)
            heading = sample_id if audio_id == sample_id else f"{sample_id} + audio of {audio_id}"
            heading += f" ({len(boxes)} box{'es' if len(boxes) != 1 else ''})"
            if self.title:
                heading += f"\n{self.title}"
            panels = {m: maps[m][k].cpu() for m in ("slavc", "ogl", "vsl")}
            fig = sample_figure(batch["image"][k].cpu(), panels, self.alpha, boxes, title=heading,
                                confidences={m: confs[m][k] for m in confs},
                                cious={m: float(cious[m][k]) for m in cious})
            path = self.folder / f"{len(self.written):04d}_{_safe_name(sample_id)}.png"
            self.written.append(save_figure(fig, path))


def negative_audio_figure(result, maps: Sequence[str] = ("slavc", "vsl", "ogl"),
                          title: str | None = None) -> Figure:
    """Histograms of the maximum map value for positive and each negative audio, one panel per
    map, with the universal threshold (:func:`slavc_lite.evaluation.negative_audio.negative_audio_table`)."""
    from slavc_lite.evaluation.negative_audio import negative_audio_table

    maps = [m for m in maps if m in result.maps]
    if not maps:
        raise ValueError(f"none of the maps was scored with negative audio; available: {result.maps}")
    fig = Figure(figsize=(4.2 * len(maps), 3.4), dpi=100)
    for i, name in enumerate(maps):
        ax = fig.add_subplot(1, len(maps), i + 1)
        table = negative_audio_table(result, name)
        hist = table["peaks"]["histogram"]
        edges = np.asarray(hist["edges"])
        for condition, counts in hist["counts"].items():
            counts = np.asarray(counts, dtype=float)
            share = counts / counts.sum() if counts.sum() else counts
            ax.stairs(share, edges, label=f"{condition} (n={int(counts.sum())})",
                      color=CONDITION_COLORS.get(condition), linewidth=1.5)
        thr = table["universal"]["threshold"]
        if np.isfinite(thr):
            ax.axvline(thr, color="black", linestyle="--", linewidth=1,
                       label=f"threshold {thr:.3f} (bal. acc. {table['universal']['balanced_accuracy']:.2f})")
        ax.set_title(f"{name.upper()}: maximum of the map", fontsize=10)
        ax.set_xlabel("maximum map value")
        ax.set_ylabel("share of samples")
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def paper_maxima_figure(paper, maps: Sequence[str] = ("slavc", "vsl@0.4"), bins: int = 30,
                        title: str | None = None) -> Figure:
    """Distributions of the maximum map value for positive and each negative audio, with the
    universal thresholds ``max``, ``max10`` and ``maxq3`` as vertical lines: the paper's main
    figure (Juanola, Haro, Fuentes 2024) for the maps of a
    :class:`~slavc_lite.evaluation.paper_negative_audio.PaperNegativeAudio`, one panel per map
    (SLAVC alone: maxima on the 7 x 7 grid, as the paper; a blend with OGL: on the 224 x 224
    map). Shares of samples per bin, bins shared by the audios of a panel.
    """
    maps = [m for m in maps if m in paper.maxima]
    if not maps:
        raise ValueError(f"none of the maps was measured; available: {list(paper.maxima)}")
    fig = Figure(figsize=(5.2 * len(maps), 4.0), dpi=100)
    for i, name in enumerate(maps):
        ax = fig.add_subplot(1, len(maps), i + 1)
        groups = {a: np.asarray(v, dtype=float) for a, v in paper.maxima[name].items() if len(v)}
        values = np.concatenate([*groups.values(), np.asarray(list(paper.universal.values()))])
        low, high = float(values.min()), float(values.max())
        edges = np.linspace(low, high if high > low else low + 1e-6, bins + 1)
        widths = iter((2.4, 1.7, 1.0))  # negatives drawn over each other stay visible where they coincide
        for audio, v in groups.items():
            counts = np.histogram(v, edges)[0].astype(float)
            share = counts / counts.sum()
            color, label = CONDITION_COLORS.get(audio), f"{audio} (n={v.size})"
            if audio == "positive":
                ax.stairs(share, edges, fill=True, alpha=0.35, color=color, label=label)
            else:
                ax.stairs(share, edges, color=color, linewidth=next(widths, 1.0), label=label)
        for key, value in paper.universal.items():
            ax.axvline(value, color="black", linestyle=THRESHOLD_STYLES.get(key, "--"), linewidth=1,
                       label=f"{key} = {value:.3f}")
        alpha = paper.alphas[name]
        where = "on the 7 x 7 grid" if alpha is None else "of the 224 x 224 map"
        label = "SLAVC alone (no OGL)" if alpha is None else f"with OGL, alpha = {alpha:g}"
        ax.set_title(f"{label}: maximum {where}", fontsize=9)
        ax.set_xlabel("maximum map value")
        ax.set_ylabel("share of samples")
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig
