"""Localization maps (review Eq. 5-7) and how the official test turns them into decisions.

* SLAVC map (Eq. 6): ``(S_1 + S_2) / 2 / tau`` on the 7x7 grid, upsampled bicubically
  (``align_corners=True``) to 224x224, then scaled from the fixed range ``[-1/tau, 1/tau]``
  to ``[0, 1]``, i.e. ``(cos + 1) / 2``. The review writes the plain sum of the cosines;
  the code averages them.
* OGL map (Eq. 5): a never fine-tuned ImageNet network's 512x7x7 map, mean of ``|o|`` over
  channels (Eq. 5's L1 norm divided by 512), bicubic upsampling, fixed range ``[0, 2.5]``.
* VSL map (Eq. 7): ``alpha * SLAVC + (1 - alpha) * OGL``.

No clipping anywhere: bicubic overshoot and OGL values above 2.5 pass through, as in the
official evaluation. Maps are ``[B, 224, 224]`` tensors.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

MAP_SIZE = 224
OGL_RANGE = (0.0, 2.5)
#: IPOL demo default; the official extended-benchmark script uses 0.9.
DEFAULT_ALPHA = 0.4


def upsample(grid: torch.Tensor, size: int = MAP_SIZE) -> torch.Tensor:
    """``[B, h, w] -> [B, size, size]`` bicubic with ``align_corners=True`` (official)."""
    return F.interpolate(grid.unsqueeze(1), size=(size, size), mode="bicubic", align_corners=True)[
        :, 0
    ]


def min_max_scale(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """``(x - low) / (high - low)``: the official fixed-range normalisation."""
    return (x - low) / (high - low)


def slavc_map(logits: torch.Tensor, tau: float = 0.03, size: int = MAP_SIZE) -> torch.Tensor:
    """Eq. 6: localization logits ``[B, h, w]`` -> scores ``[B, size, size]`` (0.5 = cosine 0)."""
    return min_max_scale(upsample(logits, size), -1.0 / tau, 1.0 / tau)


def object_saliency(features: torch.Tensor) -> torch.Tensor:
    """Eq. 5 on the grid: mean over channels of ``|o|``, ``[B, C, h, w] -> [B, h, w]``."""
    return features.abs().mean(dim=1)


def ogl_map(object_features: torch.Tensor, size: int = MAP_SIZE) -> torch.Tensor:
    """Eq. 5: object-network features ``[B, C, h, w]`` -> OGL scores ``[B, size, size]``."""
    return min_max_scale(upsample(object_saliency(object_features), size), *OGL_RANGE)


def vsl_map(slavc: torch.Tensor, ogl: torch.Tensor, alpha: float = DEFAULT_ALPHA) -> torch.Tensor:
    """Eq. 7: ``alpha * slavc + (1 - alpha) * ogl`` (works on tensors and numpy arrays)."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], not {alpha}")
    return slavc * alpha + ogl * (1 - alpha)


def _flat(scores: torch.Tensor) -> torch.Tensor:
    return scores.reshape(scores.shape[0], -1) if scores.ndim == 3 else scores.reshape(1, -1)


def relative_prediction(scores: torch.Tensor, pred_size: float = 0.5) -> torch.Tensor:
    """Official relative mode: per-map min-max normalisation, then the top share is positive.

    The threshold is the value of rank ``int(n * pred_size)`` in ascending order, and pixels
    ``>=`` it are positive (so ties can make the positive share a little larger). A constant
    map is left unnormalised, as in the official ``normalize_img``. Returns a bool mask of
    the input's shape (``[B, H, W]`` or ``[H, W]``).
    """
    flat = _flat(scores)
    low = flat.min(dim=1, keepdim=True).values
    high = flat.max(dim=1, keepdim=True).values
    span = high - low
    norm = torch.where(span != 0, (flat - low) / torch.where(span != 0, span, 1), flat)
    rank = int(flat.shape[1] * pred_size)
    thr = norm.sort(dim=1).values[:, rank : rank + 1]
    return (norm >= thr).reshape(scores.shape)


def relative_prediction_array(scores: np.ndarray, pred_size: float = 0.5) -> np.ndarray:
    """:func:`relative_prediction` of one map with numpy: the same rule, the same float32
    arithmetic, the same mask, without torch's thread pool (an interactive re-draw on a busy
    laptop CPU calls it once per slider move)."""
    flat = np.asarray(scores, dtype=np.float32).ravel()
    low, high = flat.min(), flat.max()
    span = high - low
    norm = (flat - low) / span if span != 0 else flat
    rank = int(flat.size * pred_size)
    threshold = np.partition(norm, rank)[rank]
    return (norm >= threshold).reshape(np.shape(scores))


def absolute_prediction(scores: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Official absolute mode: pixels with score ``>= threshold`` are positive."""
    return scores >= threshold


def confidence(scores: torch.Tensor) -> torch.Tensor:
    """Official confidence: mean of the top quarter of the scores of each map -> ``[B]``.

    The official slice ``np.sort(s)[-n//4:]`` keeps ``ceil(n / 4)`` values (``-n//4`` floors
    the negative number); for a 224x224 map that is exactly ``n / 4 = 12544``.
    """
    flat = _flat(scores)
    k = -(-flat.shape[1] // 4)
    return flat.topk(k, dim=1).values.mean(dim=1)
