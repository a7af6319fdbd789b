"""Exercise checks of chapter 04 (the SLAVC loss, review Eq. 1-4, and the EZ-VSL baseline).

* :func:`check_p_loc` - Eq. 1, ``P_loc``: softmax over the locations ``xy`` of ``S_2 / tau``.
* :func:`check_p_avc` - Eq. 2, ``P_avc``: softmax over the audio index ``m`` of ``S_1 / tau``.
* :func:`check_slavc_scores` - Eq. 3 and the inside of Eq. 4: ``log reduce_xy P_avc * P_loc``,
  with ``reduce="sum"`` (the official code) and ``reduce="max"`` (the paper).
* :func:`check_slavc_loss` - Eq. 4 as the official code computes it: two cross-entropies with
  diagonal labels, online image vs momentum audio and momentum image vs online audio.
* :func:`check_max_mil_loss` - EZ-VSL's max-over-locations contrastive loss.

Shapes: image maps ``[N, C, h, w]`` and audio vectors ``[M, C]``, L2-normalised over ``C``;
probabilities ``[N, M, h * w]`` (``[N, M, h, w]`` is accepted too). References:
:mod:`slavc_lite.losses`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from slavc_lite import losses
from slavc_lite.teaching.exercises._checking import as_numpy, assert_close, passed

__all__ = ["check_max_mil_loss", "check_p_avc", "check_p_loc", "check_slavc_loss", "check_slavc_scores"]

TAU = 0.03


def _features(seed: int, n: int = 5, c: int = 8, h: int = 3, w: int = 4, m: int | None = None):
    """Random L2-normalised image maps ``[n, c, h, w]`` and audio vectors ``[m, c]`` (float64)."""
    g = torch.Generator().manual_seed(seed)
    img = F.normalize(torch.randn(n, c, h, w, generator=g, dtype=torch.float64), dim=1)
    aud = F.normalize(torch.randn(n if m is None else m, c, generator=g, dtype=torch.float64), dim=1)
    return img, aud


def _as_nm_xy(got, n: int, m: int, hw: int, what: str) -> torch.Tensor:
    t = torch.as_tensor(got, dtype=torch.float64)
    if t.dim() == 4 and t.shape[:2] == (n, m) and t.shape[2] * t.shape[3] == hw:
        t = t.flatten(2)
    if tuple(t.shape) != (n, m, hw):
        raise AssertionError(f"{what}: shape {tuple(t.shape)}, expected [N, M, h*w] = {(n, m, hw)}")
    return t


def _check_probability(fn, dim: int, name: str, eq: str, wrong_axis: str, seed: int) -> None:
    # N != M so that an axis mix-up shows as a shape or value error.
    img, aud = _features(seed, n=4, m=6)
    n, _, h, w = img.shape
    got = _as_nm_xy(fn(img, aud, TAU), n, aud.shape[0], h * w, name)
    expected = F.softmax(losses.similarity(img, aud) / TAU, dim=dim)
    if not torch.allclose(got, expected, atol=1e-6, rtol=1e-5):
        other = F.softmax(losses.similarity(img, aud) / TAU, dim=3 - dim)
        if torch.allclose(got, other, atol=1e-6, rtol=1e-5):
            raise AssertionError(f"{name} ({eq}): the softmax runs over {wrong_axis}")
        plain = F.softmax(losses.similarity(img, aud), dim=dim)
        if torch.allclose(got, plain, atol=1e-6, rtol=1e-5):
            raise AssertionError(f"{name} ({eq}): the similarities must be divided by tau = {TAU} first")
        assert_close(got, expected, f"{name} ({eq})", atol=1e-6, rtol=1e-5)


def check_p_loc(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor], seed: int = 0) -> bool:
    """Check ``fn(img_loc, aud_loc, tau) -> P_loc [N, M, h*w]`` (Eq. 1): softmax over locations."""
    _check_probability(fn, 2, "P_loc", "Eq. 1", "the audio index m instead of the locations xy", seed)
    return passed("P_loc (Eq. 1) sums to 1 over the locations of each image-audio pair")


def check_p_avc(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor], seed: int = 0) -> bool:
    """Check ``fn(img_avc, aud_avc, tau) -> P_avc [N, M, h*w]`` (Eq. 2): softmax over the audio index."""
    _check_probability(fn, 1, "P_avc", "Eq. 2", "the locations xy instead of the audio index m", seed)
    return passed("P_avc (Eq. 2) sums to 1 over the batch's audio clips at each location")


def check_slavc_scores(fn: Callable[..., torch.Tensor], seed: int = 0) -> bool:
    """Check ``fn(img_avc, img_loc, aud_avc, aud_loc, tau, reduce) -> [N, M]`` for both reductions.

    ``reduce="sum"``: ``log sum_xy P_avc * P_loc`` (official code); ``reduce="max"``:
    ``log max_xy P_avc * P_loc`` (paper, review Eq. 4).
    """
    img_avc, aud_avc = _features(seed, n=4, m=4)
    img_loc, aud_loc = _features(seed + 1, n=4, m=4)
    for reduce in ("sum", "max"):
        expected = losses.slavc_scores(img_avc, img_loc, aud_avc, aud_loc, TAU, reduce)
        got = torch.as_tensor(fn(img_avc, img_loc, aud_avc, aud_loc, TAU, reduce), dtype=torch.float64)
        if got.shape == expected.shape and not torch.allclose(got, expected, atol=1e-6, rtol=1e-5):
            other_reduce = "max" if reduce == "sum" else "sum"
            other = losses.slavc_scores(img_avc, img_loc, aud_avc, aud_loc, TAU, other_reduce)
            if torch.allclose(got, other, atol=1e-6, rtol=1e-5):
                raise AssertionError(f"reduce={reduce!r}: you computed the other reduction "
                                     f"({other_reduce} over locations)")
            no_log = torch.exp(expected)
            if torch.allclose(got, no_log, atol=1e-9, rtol=1e-5):
                raise AssertionError(f"reduce={reduce!r}: take the log of the reduced joint probability")
        assert_close(got, expected, f"scores with reduce={reduce!r} (Eq. 3-4)", atol=1e-6, rtol=1e-5)
    return passed("log sum_xy and log max_xy of P_avc * P_loc match slavc_lite.losses.slavc_scores")


def _wrong_losses(oi, oa, mi, ma, reduce: str) -> dict[str, float]:
    labels = torch.arange(oi[0].shape[0])
    i2a = losses.slavc_scores(oi[0], oi[1], ma[0], ma[1], TAU, reduce)
    a2i = losses.slavc_scores(mi[0], mi[1], oa[0], oa[1], TAU, reduce)
    online_only = losses.slavc_scores(oi[0], oi[1], oa[0], oa[1], TAU, reduce)
    ce = F.cross_entropy
    return {
        "only the i2a term (online image vs momentum audio)": float(ce(i2a, labels)),
        "only the a2i term (momentum image vs online audio)": float(ce(a2i, labels)),
        "the mean of the two terms instead of their sum": float((ce(i2a, labels) + ce(a2i, labels)) / 2),
        "a cross-entropy over the image index (transposed scores) in the a2i term":
            float(ce(i2a, labels) + ce(a2i.t(), labels)),
        "online features on both sides (no momentum targets)": float(2 * ce(online_only, labels)),
    }


def check_slavc_loss(fn: Callable[..., torch.Tensor], seed: int = 0) -> bool:
    """Check ``fn(online_img, online_aud, momentum_img, momentum_aud, tau, reduce) -> loss`` (Eq. 4).

    Each argument is a pair ``(head 1, head 2)``. Expected: :func:`slavc_lite.losses.slavc_loss`
    with ``reduce="sum"`` and ``"max"``.
    """
    oi = _features(seed)[0], _features(seed + 1)[0]
    oa = _features(seed + 2)[1], _features(seed + 3)[1]
    mi = _features(seed + 4)[0], _features(seed + 5)[0]
    ma = _features(seed + 6)[1], _features(seed + 7)[1]
    for reduce in ("sum", "max"):
        expected = float(losses.slavc_loss(oi, oa, mi, ma, TAU, reduce))
        got = fn(oi, oa, mi, ma, TAU, reduce)
        value = as_numpy(got)
        if value.size != 1:
            raise AssertionError(f"reduce={reduce!r}: the loss must be one number, got shape {value.shape}")
        value = float(value.reshape(()))
        if abs(value - expected) > 1e-5 * max(1.0, abs(expected)):
            for what, wrong in _wrong_losses(oi, oa, mi, ma, reduce).items():
                if abs(value - wrong) <= 1e-6 * max(1.0, abs(wrong)):
                    raise AssertionError(f"reduce={reduce!r}: your loss {value:.6f} is {what}; expected "
                                         f"{expected:.6f} = CE(i2a) + CE(a2i), both over the audio index")
            raise AssertionError(f"reduce={reduce!r}: loss {value:.6f}, expected {expected:.6f}")
    return passed("CE(i2a) + CE(a2i) matches slavc_lite.losses.slavc_loss (sum and max variants)")


def check_max_mil_loss(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor],
                       seed: int = 0) -> bool:
    """Check ``fn(img, aud, tau) -> loss``: EZ-VSL's loss on one head.

    ``logits[n, m] = max_xy S[n, m, xy] / tau``; cross-entropy with the diagonal over the audio
    index plus the same over the image index (:func:`slavc_lite.losses.max_mil_loss`).
    """
    img, aud = _features(seed)
    expected = float(losses.max_mil_loss(img, aud, TAU))
    value = float(as_numpy(fn(img, aud, TAU)).reshape(()))
    if abs(value - expected) > 1e-5 * max(1.0, abs(expected)):
        sims = losses.similarity(img, aud) / TAU
        labels = torch.arange(img.shape[0])
        logits = sims.max(-1).values
        mean_logits = sims.mean(-1)
        hints = {
            "only the image-to-audio direction (add the cross-entropy of the transposed logits)":
                float(F.cross_entropy(logits, labels)),
            "a mean over locations instead of the max (that is average pooling, not multiple-instance "
            "learning)": float(F.cross_entropy(mean_logits, labels)
                               + F.cross_entropy(mean_logits.t(), labels)),
            "logits without the temperature": float(F.cross_entropy(logits * TAU, labels)
                                                    + F.cross_entropy(logits.t() * TAU, labels)),
        }
        for what, wrong in hints.items():
            if abs(value - wrong) <= 1e-6 * max(1.0, abs(wrong)):
                raise AssertionError(f"your loss {value:.6f} uses {what}; expected {expected:.6f}")
        raise AssertionError(f"max-MIL loss {value:.6f}, expected {expected:.6f}")
    return passed("the EZ-VSL loss matches slavc_lite.losses.max_mil_loss")
