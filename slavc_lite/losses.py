"""The SLAVC training objective (review Eq. 1-4) and the EZ-VSL baseline.

Notation: ``img_k`` is a head-k image map ``[N, C, h, w]``, ``aud_k`` a head-k audio vector
``[M, C]``, both L2-normalised over C; head 1 is the audio-visual correspondence (AVC)
space, head 2 the localization (LOC) space. With ``S_k[n, m, xy] = <img_k[n, :, xy],
aud_k[m]> / tau``:

* Eq. 1  ``P_loc(xy | n, m) = softmax_xy S_2[n, m, xy]``
* Eq. 2  ``P_avc(m | n, xy) = softmax_m  S_1[n, m, xy]``   (normalised over the batch's audio)
* Eq. 3  ``P(m, xy | n) = P_avc * P_loc``
* Eq. 4  ``score[n, m] = log sum_xy P(m, xy | n)``, loss = cross-entropy with the diagonal.

The official code *sums* the joint probability over locations; the paper and the review
write a *max* over locations. ``reduce="sum"`` (default) is the code, ``reduce="max"``
the paper. The loss has two terms: online image vs momentum audio ("i2a") and momentum
image vs online audio ("a2i"). In the official code both terms put the softmax of Eq. 2
and the cross-entropy over the *audio* index; the names only say which side is online.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F

Reduce = Literal["sum", "max"]


def similarity(img: torch.Tensor, aud: torch.Tensor) -> torch.Tensor:
    """All image-audio cosine maps: ``[N, C, h, w] x [M, C] -> [N, M, h*w]``."""
    return torch.einsum("nchw,mc->nmhw", img, aud).flatten(-2, -1)


def slavc_scores(
    img_avc: torch.Tensor,
    img_loc: torch.Tensor,
    aud_avc: torch.Tensor,
    aud_loc: torch.Tensor,
    tau: float,
    reduce: Reduce = "sum",
    exclude: torch.Tensor | None = None,
) -> torch.Tensor:
    """``score[n, m] = log reduce_xy P_avc * P_loc`` (Eq. 1-3, and the inside of Eq. 4).

    ``exclude`` (not in the official code): a bool ``[N, M]`` of pairs to leave out, as if clip
    ``m`` were not in frame ``n``'s batch: they take no share of ``P_avc``'s softmax over the clips
    and score ``-inf`` (no share of the cross-entropy's softmax either). Used to train without
    same-class negatives (:func:`same_class_pairs`); the diagonal must not be excluded.
    """
    if reduce not in ("sum", "max"):
        raise ValueError(f"reduce must be 'sum' or 'max', not {reduce!r}")
    s_avc = similarity(img_avc, aud_avc) / tau
    if exclude is not None:
        exclude = exclude.to(device=s_avc.device, dtype=torch.bool)
        if exclude.shape != s_avc.shape[:2] or exclude.diagonal().any():
            raise ValueError(f"exclude must be a bool [N, M] = {list(s_avc.shape[:2])} that leaves the "
                             f"diagonal in, not {list(exclude.shape)}")
        s_avc = s_avc.masked_fill(exclude[..., None], float("-inf"))
    p_avc = F.softmax(s_avc, dim=1)  # Eq. 2, over audio m
    p_loc = F.softmax(similarity(img_loc, aud_loc) / tau, dim=2)  # Eq. 1, over locations xy
    joint = p_avc * p_loc  # Eq. 3
    pooled = joint.sum(2) if reduce == "sum" else joint.max(2).values
    if exclude is None:
        return torch.log(pooled)
    # log(0) would send NaN gradients back through the excluded pairs: they get no gradient at all.
    return torch.log(pooled.masked_fill(exclude, 1.0)).masked_fill(exclude, float("-inf"))


def same_class_pairs(classes: Sequence[frozenset[str] | set[str]]) -> torch.Tensor:
    """``[B, B]`` bool: the off-diagonal pairs ``(n, m)`` whose clips share a heard class.

    ``classes[n]`` is the set of classes heard in the batch's clip ``n`` (several in a mixture,
    none in silence). These are the negatives that a contrastive loss pushes apart although they
    sound alike (the false negatives of FNAC, Sun et al., CVPR 2023); only a world with labels,
    such as the toy world, knows them.
    """
    names = sorted(set().union(*classes))
    heard = torch.tensor([[c in clip for c in names] for clip in classes], dtype=torch.float32)
    heard = heard.reshape(len(classes), len(names))  # [B, classes] multi-hot; [B, 0] when all silent
    return (heard @ heard.T > 0) & ~torch.eye(len(classes), dtype=torch.bool)


def slavc_loss(
    online_img: tuple[torch.Tensor, torch.Tensor],
    online_aud: tuple[torch.Tensor, torch.Tensor],
    momentum_img: tuple[torch.Tensor, torch.Tensor],
    momentum_aud: tuple[torch.Tensor, torch.Tensor],
    tau: float = 0.03,
    reduce: Reduce = "sum",
    exclude: torch.Tensor | None = None,
) -> torch.Tensor:
    """Eq. 4 as the official code computes it: ``CE(a2i) + CE(i2a)`` with diagonal labels.

    Each argument is the pair (head 1, head 2) of L2-normalised features. Computed in
    float32 whatever the autocast dtype, since the product of two softmaxes is tiny.
    ``exclude``: pairs left out of both terms (:func:`slavc_scores`; ``None``: the official loss).
    """
    with torch.autocast(device_type=online_img[0].device.type, enabled=False):
        oi = [t.float() for t in online_img]
        oa = [t.float() for t in online_aud]
        mi = [t.float() for t in momentum_img]
        ma = [t.float() for t in momentum_aud]
        i2a = slavc_scores(oi[0], oi[1], ma[0], ma[1], tau, reduce, exclude)
        a2i = slavc_scores(mi[0], mi[1], oa[0], oa[1], tau, reduce, exclude)
        labels = torch.arange(i2a.shape[0], device=i2a.device)
        return F.cross_entropy(a2i, labels) + F.cross_entropy(i2a, labels)


def max_mil_loss(img: torch.Tensor, aud: torch.Tensor, tau: float = 0.03) -> torch.Tensor:
    """EZ-VSL's multiple-instance contrastive loss (Mo & Morgado, ECCV 2022).

    ``logits[n, m] = max_xy S[n, m, xy] / tau``; symmetric cross-entropy with the diagonal
    (images classify audio and audio classifies images).
    """
    with torch.autocast(device_type=img.device.type, enabled=False):
        logits = (similarity(img.float(), aud.float()) / tau).max(dim=-1).values
        labels = torch.arange(logits.shape[0], device=logits.device)
        return F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)


def ezvsl_loss(
    online_img: tuple[torch.Tensor, torch.Tensor],
    online_aud: tuple[torch.Tensor, torch.Tensor],
    tau: float = 0.03,
) -> torch.Tensor:
    """The EZ-VSL baseline on both heads of the online networks (no momentum targets).

    Summing over the two heads keeps both spaces trained, so the localization map
    ``(S_1 + S_2) / 2`` means the same thing as for SLAVC; used for ablations.
    """
    return sum(max_mil_loss(i, a, tau) for i, a in zip(online_img, online_aud, strict=True))
