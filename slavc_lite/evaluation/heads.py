"""What the two heads of a trained SLAVC model have learnt, measured with chapter 02's tools.

SLAVC has two spaces (review Eq. 1-2): head 1, the audio-visual **correspondence** space
(``P_avc``, a softmax over the batch's clips), and head 2, the **localization** space
(``P_loc``, a softmax over the 7 x 7 locations). Two cosines per head say what each learnt,
on pairs whose boxes and sounding classes are known (the toy world's test split):

* **audio embeddings**: the mean cosine between the momentum audio embeddings of two clips of
  the same class and of two clips of different classes. A head whose audio embeddings are
  nearly the same for every clip (both near 1) has *collapsed*: it no longer depends on what is
  heard.
* **image cells against the clip**: the mean cosine between the momentum image feature of a
  7 x 7 cell and the pair's own audio embedding, for the cells inside the sounding box (a cell
  counts as inside when the box covers at least half of it) and for the cells outside.

Why head 2 can collapse under the official loss: when ``P_loc`` does not depend on the clip,
``sum_m exp(score[n, m]) = sum_xy P_loc(xy) sum_m P_avc(m | xy) = 1``, so the loss of frame n is
``-log sum_xy P_avc(n | xy) P_loc(xy)``: it is minimal when ``P_loc`` is an *objectness* map that
points where head 1 is confident, whatever the clip. And if head 1 matches the clip's class at
every cell (context), that objectness loses its gradient.

**The part of head 1's map the loss never sees** (:func:`map_parts_pointing`). Write each head-1
audio embedding as the mean of the batch's embeddings plus the clip's own deviation,
``a_m = a_bar + d_m``. Then ``S_1(xy, m) = <y(xy), a_bar> + <y(xy), d_m>``. ``P_avc`` is a softmax
over the clips ``m`` *at each location*, so the first term, equal for every clip at ``xy``, cancels
in it: Eq. 4 does not depend on it, so nothing in training pushes it towards the object or away
from it. The test map (Eq. 6) adds it back all the same.
When the audio embeddings share a large mean direction (clips of different classes far from
orthogonal, as :func:`head_diagnostics` shows), this *shared part* is a large, clip-independent
pattern on every map.

**Where the clip part is high** (:func:`clip_part_profile`): on average over the cells inside
and outside the box, and at its peak. The two can disagree: a clip part that is higher on the
object on average can still peak on the background when the background cells vary from one to
the next by as much as that gap, and the pointing game and the relative prediction only see
the peak.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MAP_PARTS", "clip_part_profile", "head_diagnostics", "map_parts_pointing"]

#: The maps :func:`map_parts_pointing` scores, in table order.
MAP_PARTS = ("S1", "S1 shared part", "S1 clip part", "S2", "S1 + S2")


def _audio_cosines(emb: torch.Tensor, classes: Sequence[str]) -> tuple[float, float]:
    sim = (emb @ emb.T).cpu().numpy()
    labels = np.asarray(classes)
    same = labels[:, None] == labels[None, :]
    off = ~np.eye(len(labels), dtype=bool)
    within = sim[same & off]
    between = sim[~same]
    return (float(within.mean()) if within.size else float("nan"),
            float(between.mean()) if between.size else float("nan"))


@torch.no_grad()
def _momentum_embeddings(model: nn.Module, batch: Mapping[str, Any]) -> tuple[tuple, tuple]:
    """Head-1 and head-2 image maps and audio embeddings of ``batch`` from the momentum networks,
    in eval mode (no dropout); the model's mode is restored."""
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        cells = model.encode_image(batch["image"].to(device), momentum=True)
        auds = model.encode_audio(batch["spec"].to(device), momentum=True)
        return cells, auds
    finally:
        model.train(was_training)


def _inside_cells(gt_map: Any, grid: tuple[int, int], device: torch.device) -> torch.Tensor:
    """``[N, h, w]`` bool: the cells the ground truth covers at least half of."""
    gt = torch.as_tensor(gt_map).float()[:, None].to(device)
    return F.adaptive_avg_pool2d(gt, grid)[:, 0] >= 0.5


@torch.no_grad()
def head_diagnostics(model: nn.Module, batch: Mapping[str, Any], classes: Sequence[str]) -> dict[str, dict]:
    """The cosines of the module docstring, per head, on one batch of test pairs.

    Args:
        model: a SLAVC model (its momentum networks are read, in eval mode; the mode is restored).
        batch: ``{"image": [N, 3, 224, 224], "spec": [N, 1, F, T], "gt_map": [N, 224, 224]}``
            of sounding pairs (e.g. a :func:`slavc_lite.data.datasets.collate` batch).
        classes: the sounding class of each pair (for the same/different-class means).

    Returns:
        ``{"head 1": {...}, "head 2": {...}}``, each with ``audio_same_class``,
        ``audio_other_class``, ``cell_inside_box`` and ``cell_outside_box``.
    """
    cells, auds = _momentum_embeddings(model, batch)
    inside = _inside_cells(batch["gt_map"], cells[0].shape[-2:], cells[0].device)
    out = {}
    for k, name in enumerate(("head 1", "head 2")):
        cos = torch.einsum("nchw,nc->nhw", cells[k], auds[k])
        same, other = _audio_cosines(auds[k], classes)
        out[name] = {"audio_same_class": same, "audio_other_class": other,
                     "cell_inside_box": float(cos[inside].mean()) if inside.any() else float("nan"),
                     "cell_outside_box": float(cos[~inside].mean()) if (~inside).any() else float("nan")}
    return out


@torch.no_grad()
def map_parts_pointing(model: nn.Module, batch: Mapping[str, Any]) -> dict[str, float]:
    """Pointing game (maximum inside the sounding box) of the parts of the SLAVC map.

    For each pair of ``batch`` (sounding pairs, as for :func:`head_diagnostics`), the 7 x 7 maps
    of the momentum networks with the pair's own clip, upsampled as the official test map
    (:func:`slavc_lite.maps.upsample`): ``S1``; its **shared part** ``<y(xy), a_bar>``, with
    ``a_bar`` the mean head-1 audio embedding over the batch, which Eq. 4 cannot see (module
    docstring); its **clip part** ``<y(xy), a_n - a_bar>``, the only part ``P_avc`` depends on;
    ``S2``; and ``S1 + S2``, the SLAVC map of Eq. 6 up to its fixed scale.

    Returns:
        ``{name: share of pairs whose map peaks in the sounding box}`` for :data:`MAP_PARTS`.
    """
    from slavc_lite.evaluation.inference import pointing_hits
    from slavc_lite.maps import upsample

    (y1, y2), (a1, a2) = _momentum_embeddings(model, batch)
    gt = torch.as_tensor(batch["gt_map"]).float()
    shared = a1.mean(dim=0, keepdim=True).expand_as(a1)
    s1_shared = torch.einsum("nchw,nc->nhw", y1, shared)
    s1_clip = torch.einsum("nchw,nc->nhw", y1, a1 - shared)
    s2 = torch.einsum("nchw,nc->nhw", y2, a2)
    grids = (s1_shared + s1_clip, s1_shared, s1_clip, s2, s1_shared + s1_clip + s2)
    return {name: float(np.nanmean(pointing_hits(upsample(grid.float()), gt)))
            for name, grid in zip(MAP_PARTS, grids, strict=True)}


@torch.no_grad()
def clip_part_profile(model: nn.Module, batch: Mapping[str, Any]) -> dict[str, float | int]:
    """Where head 1's clip part is high: on average inside and outside the box, and at its peak.

    For each pair of ``batch`` (sounding pairs, as for :func:`head_diagnostics`), the cosine of
    every 7 x 7 momentum image cell ``y(xy)`` with the unit direction of the pair's own deviation
    ``d_n = a_n - a_bar`` (module docstring; ``a_bar`` the batch's mean head-1 audio embedding).
    Pairs whose box covers no cell or every cell are left out.

    Returns:
        ``shared_norm`` (``|a_bar|``), ``clip_cos_inside`` / ``clip_cos_outside`` (the mean over
        pairs of the mean cosine of the cells inside / outside the box), ``mean_higher_inside``
        (share of pairs whose inside mean is the higher), ``best_cell_inside`` (share of pairs
        whose best cell is inside the box: the pointing game on the 7 x 7 grid),
        ``background_std`` (the mean over pairs of the cosines' standard deviation over the cells
        outside the box) and ``pairs`` (how many pairs were counted).
    """
    (y1, _), (a1, _) = _momentum_embeddings(model, batch)
    inside = _inside_cells(batch["gt_map"], y1.shape[-2:], y1.device)
    a_bar = a1.mean(dim=0, keepdim=True)
    cos = torch.einsum("nchw,nc->nhw", y1, F.normalize(a1 - a_bar, dim=1))
    rows = []
    for c, m in zip(cos, inside, strict=True):
        if m.any() and not m.all():
            rows.append((float(c[m].mean()), float(c[~m].mean()), float(c[m].max()) > float(c[~m].max()),
                         float(c[~m].std(unbiased=False))))
    if not rows:
        raise ValueError("no pair has a box that covers some cells and leaves others: nothing to compare")
    mean_in, mean_out, best_in, std_out = (np.asarray(v, dtype=np.float64) for v in zip(*rows, strict=True))
    return {"shared_norm": float(a_bar.norm()),
            "clip_cos_inside": float(mean_in.mean()), "clip_cos_outside": float(mean_out.mean()),
            "mean_higher_inside": float((mean_in > mean_out).mean()),
            "best_cell_inside": float(best_in.mean()), "background_std": float(std_out.mean()),
            "pairs": len(rows)}
