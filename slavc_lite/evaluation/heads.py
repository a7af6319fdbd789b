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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["head_diagnostics"]


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
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        images, specs = batch["image"].to(device), batch["spec"].to(device)
        gt = torch.as_tensor(batch["gt_map"]).float()[:, None].to(device)
        cells = model.encode_image(images, momentum=True)  # eval mode: no dropout
        inside = F.adaptive_avg_pool2d(gt, cells[0].shape[-2:])[:, 0] >= 0.5
        auds = model.encode_audio(specs, momentum=True)
        out = {}
        for k, name in enumerate(("head 1", "head 2")):
            cos = torch.einsum("nchw,nc->nhw", cells[k], auds[k])
            same, other = _audio_cosines(auds[k], classes)
            out[name] = {"audio_same_class": same, "audio_other_class": other,
                         "cell_inside_box": float(cos[inside].mean()) if inside.any() else float("nan"),
                         "cell_outside_box": float(cos[~inside].mean()) if (~inside).any() else float("nan")}
        return out
    finally:
        model.train(was_training)
