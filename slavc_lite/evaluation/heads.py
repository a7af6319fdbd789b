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

**Why the loss asks for it** (:func:`loc_gradient_agreement`). Differentiate Eq. 4 of frame ``n``
with respect to the logits ``l[m, xy] = S_2[n, m, xy]`` of ``P_loc(. | n, m)``. With
``w_m = softmax_m score[n, m]`` and ``r_m(xy) = P_avc(m | n, xy) / sum_x' P_loc(x' | n, m)
P_avc(m | n, x')``, gradient descent moves them by

* ``(1 - w_n) P_loc(xy | n, n) (r_n(xy) - 1)`` for the frame's own clip: up where the own clip's
  ``P_avc`` is above its average;
* ``-w_m P_loc(xy | n, m) (r_m(xy) - 1)`` for every other clip ``m``: up where *that* clip's
  ``P_avc`` is below its average.

``P_avc`` sums to one over the clips at each location (Eq. 2), so where the own clip's share is
high the others' is low: both kinds of term push ``P_loc`` towards the same cells, those where
head 1 recognises the frame's own clip. The loss gives every clip of the batch one target map per
frame; wherever the frame alone shows where its sound is, a head 2 that ignores the audio reaches
it as well as one that listens, and the negatives even push a listening head away from a visible
(silent) object of their own class. :func:`loc_gradient_agreement` measures the cosine between
the two pushes on real pairs.

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

from slavc_lite.losses import similarity

__all__ = ["MAP_PARTS", "clip_part_profile", "head_diagnostics", "loc_descent", "loc_gradient_agreement",
           "map_parts_pointing", "pair_similarity_grids"]

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
def _eval_embeddings(model: nn.Module, batch: Mapping[str, Any],
                         image_momentum: bool = True) -> tuple[tuple, tuple]:
    """Head-1 and head-2 image maps and audio embeddings of ``batch``, in eval mode (no dropout);
    the model's mode is restored. The audio comes from the momentum networks, and so do the image
    maps unless ``image_momentum`` is false (then the online image networks, as in Eq. 4's i2a term)."""
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        cells = model.encode_image(batch["image"].to(device), momentum=image_momentum)
        auds = model.encode_audio(batch["spec"].to(device), momentum=True)
        return cells, auds
    finally:
        model.train(was_training)


@torch.no_grad()
def pair_similarity_grids(model: nn.Module, batch: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """The cosine grids of each pair with its own clip, ``S_1 tau`` and ``S_2 tau`` (Eq. 1-2),
    from the momentum networks in eval mode (as the test map, Eq. 6): two ``[N, h, w]`` tensors."""
    (y1, y2), (a1, a2) = _eval_embeddings(model, batch)
    return torch.einsum("nchw,nc->nhw", y1, a1), torch.einsum("nchw,nc->nhw", y2, a2)


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
    cells, auds = _eval_embeddings(model, batch)
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

    (y1, y2), (a1, a2) = _eval_embeddings(model, batch)
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
    (y1, _), (a1, _) = _eval_embeddings(model, batch)
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


def loc_descent(img_avc: torch.Tensor, img_loc: torch.Tensor, aud_avc: torch.Tensor, aud_loc: torch.Tensor,
                tau: float) -> torch.Tensor:
    """``[N, M, h*w]``: minus the gradient of Eq. 4's image-to-audio term (mean over the N frames)
    with respect to the head-2 logits ``S_2[n, m, xy] / tau``, in float64; the module docstring
    gives it in closed form. Arguments as for :func:`slavc_lite.losses.slavc_scores`."""
    with torch.enable_grad():
        logits = (similarity(img_loc.double(), aud_loc.double()) / tau).detach().requires_grad_(True)
        p_avc = F.softmax(similarity(img_avc.double(), aud_avc.double()) / tau, dim=1)
        score = torch.log((p_avc * F.softmax(logits, dim=2)).sum(2))
        loss = F.cross_entropy(score, torch.arange(score.shape[0], device=score.device))
        (grad,) = torch.autograd.grad(loss, logits)
    return -grad


@torch.no_grad()
def loc_gradient_agreement(
    model: nn.Module, batch: Mapping[str, Any], tau: float | None = None
) -> dict[str, float | int]:
    """Does Eq. 4 ask head 2 for one map per clip, or one per frame? (module docstring)

    On ``batch`` (sounding pairs, as for :func:`head_diagnostics`), the official loss's
    image-to-audio term (online image networks against momentum audio networks, both in eval mode
    so that dropout does not blur the picture) is differentiated with respect to the head-2 logits
    of every frame ``n`` and clip ``m`` (:func:`loc_descent`). For each frame, the descent direction
    over the 7 x 7 cells for its own clip is compared with the sum of the descent directions for
    all the other clips of the batch.

    Args:
        model: a SLAVC model (its mode is restored).
        batch: ``{"image", "spec", ...}`` as for :func:`head_diagnostics`.
        tau: the temperature; default ``model.tau`` (else the official 0.03).

    Returns:
        ``cos_median`` / ``cos_mean``: the cosine over cells between the two directions (1: the
        other clips push ``P_loc`` exactly where the own clip does); ``same_direction``: the share
        of frames with a positive cosine; ``others_to_own``: the median ratio of the two
        directions' norms; ``frames``. An untrained model gives the same features everywhere and
        gradients at the level of rounding errors, so its cosines mean nothing.
    """
    tau = float(getattr(model, "tau", 0.03)) if tau is None else float(tau)
    (y1, y2), (a1, a2) = _eval_embeddings(model, batch, image_momentum=False)
    descent = loc_descent(y1, y2, a1, a2, tau)
    own = descent.diagonal(dim1=0, dim2=1).T  # [N, h*w]
    others = descent.sum(dim=1) - own
    cos = F.cosine_similarity(own, others, dim=1, eps=1e-300)
    ratio = others.norm(dim=1) / own.norm(dim=1).clamp(min=1e-300)
    return {"cos_median": float(cos.median()), "cos_mean": float(cos.mean()),
            "same_direction": float((cos > 0).double().mean()), "others_to_own": float(ratio.median()),
            "frames": int(cos.numel())}
