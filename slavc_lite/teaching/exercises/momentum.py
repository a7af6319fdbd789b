"""Exercise checks of chapter 03 (momentum encoders and image dropout).

* :func:`check_ema_update` - one EMA step ``theta_m <- m * theta_m + (1 - m) * theta`` on a tensor.
* :func:`check_ema_half_life` - the number of steps after which an old weight's share is halved.
* :func:`check_momentum_update` - the EMA of a whole module: parameters averaged, buffers
  (BatchNorm running statistics) left alone, as the official code does.
* :func:`check_image_dropout` - element-wise (inverted) dropout of an image feature map, as
  ``nn.Dropout(p=0.9)`` acts on the ``[B, 512, 7, 7]`` map before the projection heads.

The references are :func:`slavc_lite.momentum.ema_update`,
:func:`slavc_lite.momentum.ema_time_constant` and ``torch.nn.functional.dropout``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from slavc_lite.momentum import ema_time_constant, ema_update, paired_parameters
from slavc_lite.teaching.exercises._checking import assert_close, passed

__all__ = ["check_ema_half_life", "check_ema_update", "check_image_dropout", "check_momentum_update"]

MOMENTA = (0.5, 0.9, 0.99, 0.999, 0.9999)


def check_ema_update(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor], seed: int = 0) -> bool:
    """Check ``fn(target, online, m) -> new target`` against the official EMA rule.

    ``fn`` may update ``target`` in place or return a new tensor; it must not change ``online``.
    """
    g = torch.Generator().manual_seed(seed)
    for m in (0.0, 0.5, 0.9, 0.999, 1.0):
        target = torch.randn(4, 3, generator=g, dtype=torch.float64)
        online = torch.randn(4, 3, generator=g, dtype=torch.float64)
        target_before, online_before = target.clone(), online.clone()
        expected = target.clone()
        ema_update([online.clone()], [expected], m)
        got = fn(target, online, m)
        if got is None:
            raise AssertionError("the function returned None: return the updated target tensor")
        if not torch.equal(online, online_before):
            raise AssertionError("the online parameters were changed: the EMA only writes the momentum copy")
        swapped = m * online_before + (1 - m) * target_before
        if m != 0.5 and torch.allclose(torch.as_tensor(got, dtype=torch.float64), swapped):
            raise AssertionError(f"EMA step with m = {m}: the weights are swapped; the momentum copy keeps "
                                 "the share m of its own value: m * theta_m + (1 - m) * theta")
        assert_close(got, expected, f"EMA step with m = {m}", atol=1e-10, rtol=1e-8)
    return passed("the EMA step theta_m <- m * theta_m + (1 - m) * theta matches "
                  "slavc_lite.momentum.ema_update")


def check_ema_half_life(fn: Callable[[float], float]) -> bool:
    """Check ``fn(m)``: the steps ``n`` after which an old weight's share ``m ** n`` is 1/2.

    Reference: ``ln 2 * ema_time_constant(m)`` (the time constant ``-1 / ln m`` is the 1/e time).
    """
    for m in MOMENTA:
        expected = math.log(2.0) * ema_time_constant(m)
        got = float(fn(m))
        if not math.isclose(got, expected, rel_tol=1e-6):
            hint = ""
            if math.isclose(got, 1.0 / (1.0 - m), rel_tol=1e-6):
                hint = (" (that is 1 / (1 - m), the approximate time constant: the share is then ~1/e, "
                        "not 1/2)")
            elif math.isclose(got, math.log(2.0) / (1.0 - m), rel_tol=1e-6):
                hint = " (ln 2 / (1 - m) is the approximation for m close to 1; solve m ** n = 1/2 exactly)"
            raise AssertionError(f"half-life for m = {m}: got {got:.6g} steps, expected {expected:.6g}{hint}")
    return passed("the half-life ln(1/2) / ln(m) matches ln 2 * slavc_lite.momentum.ema_time_constant(m)")


def _small_encoder(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.LazyLinear(3))
    net(torch.randn(2, 1, 6, 6))  # materialise the lazy layer
    return net


def check_momentum_update(fn: Callable[[nn.Module, nn.Module, float], object], seed: int = 0) -> bool:
    """Check ``fn(online, momentum, m)``, which updates the ``momentum`` module in place.

    Expected (official): every parameter follows ``m * theta_m + (1 - m) * theta``; buffers
    (BatchNorm ``running_mean``/``running_var``/``num_batches_tracked``) are neither averaged nor
    copied; ``online`` is unchanged. Checked on a small Conv-BatchNorm-Linear network.
    """
    online = _small_encoder(seed)
    momentum = _small_encoder(seed + 1)
    for p in momentum.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        online[1].running_mean.uniform_(-1, 1)
        momentum[1].running_mean.uniform_(2, 3)
        momentum[1].num_batches_tracked.fill_(7)
    m = 0.9
    reference = copy.deepcopy(momentum)
    ema_update(*paired_parameters(online, reference), m)
    online_before = copy.deepcopy(online.state_dict())
    buffers_before = {k: v.clone() for k, v in momentum.named_buffers()}

    fn(online, momentum, m)

    for k, v in online.state_dict().items():
        if not torch.equal(v, online_before[k]):
            raise AssertionError(f"the online network's {k} was changed: only the momentum copy is updated")
    expected = dict(reference.named_parameters())
    for k, p in momentum.named_parameters():
        assert_close(p, expected[k], f"momentum parameter {k} after one update with m = {m}", atol=1e-6)
    for k, v in momentum.named_buffers():
        if not torch.equal(v, buffers_before[k]):
            raise AssertionError(f"the momentum network's buffer {k} changed: the official update averages "
                                 "parameters only (iterate over .parameters(), not .state_dict()); the "
                                 "momentum networks keep their own BatchNorm statistics")
    return passed("parameters follow the EMA, buffers are untouched, as in SLAVC.update_momentum")


def check_image_dropout(fn: Callable[[torch.Tensor, float], torch.Tensor], seed: int = 0) -> bool:
    """Check ``fn(features, p)``: train-mode dropout of a ``[B, C, h, w]`` feature map.

    Dropout is random, so the check compares properties with ``F.dropout`` (what
    ``nn.Dropout`` does, element-wise): each element is either 0 or ``x / (1 - p)``, about a
    share ``p`` of them is 0, the zeros are spread over elements (not whole channels, as
    ``Dropout2d`` would do), and the mean is kept on average.
    """
    torch.manual_seed(seed)
    x = torch.rand(8, 64, 7, 7) + 0.5  # positive, never 0, like post-ReLU features
    for p in (0.5, 0.9):
        reference = F.dropout(x, p, training=True)
        got = torch.as_tensor(fn(x.clone(), p)).float()
        if got.shape != x.shape:
            raise AssertionError(f"p = {p}: output shape {tuple(got.shape)}, expected {tuple(x.shape)}")
        kept = got != 0
        scale = 1.0 / (1.0 - p)
        if bool(kept.all()):
            raise AssertionError(f"p = {p}: no element is zero; dropout in training mode zeroes a share p of "
                                 "them (F.dropout(..., training=False) or eval mode does nothing)")
        whole_channels = float((~kept).flatten(2).all(2).float().mean())
        ref_whole = float((reference == 0).flatten(2).all(2).float().mean())
        if whole_channels > ref_whole + 0.1:
            raise AssertionError(f"p = {p}: {whole_channels:.0%} of the channels are zero at every location "
                                 f"(F.dropout: {ref_whole:.0%}): SLAVC drops single elements (nn.Dropout), "
                                 "not whole channels (nn.Dropout2d)")
        if kept.any() and not torch.allclose(got[kept], x[kept] * scale, rtol=1e-5, atol=1e-6):
            ratio = float((got[kept] / x[kept]).mean())
            raise AssertionError(f"p = {p}: kept elements are multiplied by {ratio:.3g}, expected "
                                 f"1 / (1 - p) = {scale:.3g} (inverted dropout keeps the expected value of "
                                 "each feature)")
        share = float((~kept).float().mean())
        ref_share = float((reference == 0).float().mean())
        if abs(share - p) > 0.03:
            raise AssertionError(f"p = {p}: {share:.3f} of the elements are zero, expected about {p} "
                                 f"(F.dropout gave {ref_share:.3f})")
        assert_close(got.mean(), x.mean(), f"p = {p}: mean of the dropped map", atol=0.05 * float(x.mean()),
                     rtol=0.0)
    return passed("element-wise inverted dropout, like nn.Dropout on the image feature map")
