"""Exercise checks of chapter 02 (encoders): the two trunks and the cosine-similarity maps.

* :func:`check_image_encoder` - ResNet-18 without ``avgpool`` and ``fc``: a 224x224 image gives a
  512x7x7 map (reference :class:`slavc_lite.encoders.ResNetFeatureMap`, official ``imgnet``);
* :func:`check_audio_encoder` - the audio trunk on a 1-channel spectrogram with global max
  pooling: a 512-vector for ResNet-18 (reference :class:`slavc_lite.encoders.ResNetAudioEncoder`,
  official ``audnet``) or a 576-vector for MobileNetV3-small
  (:class:`slavc_lite.encoders.MobileNetAudioEncoder`);
* :func:`check_similarity_map` - ``S[n, xy] = <img[n, :, xy], aud[n]> / tau`` of L2-normalised
  features, each image with its own clip (the maps of review Eq. 6);
* :func:`check_similarity_matrix` - ``S[n, m, xy]`` for every image ``n`` and every clip ``m``
  of a batch (the input of review Eq. 1 and 2; reference :func:`slavc_lite.losses.similarity`).

An encoder check takes a function that *builds* the student's module. It copies the reference
module's (random) weights into it, key for key (``load_state_dict(strict=True)``: torchvision's
names, as in the official checkpoint; a module that wraps the torchvision network in an
attribute, e.g. ``self.resnet``, is fine), and compares the outputs on the same random batch in
train mode (BatchNorm normalises with the batch's statistics; in eval mode a freshly initialised
MobileNetV3 gives outputs of about 1e-7, too small to compare): same weights must give the
same outputs. Every check takes ``seed=`` for repeatable
inputs and leaves the caller's torch random state as it was.
"""

from __future__ import annotations

import functools
import os
import random
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from slavc_lite import encoders, losses
from slavc_lite.teaching.exercises._checking import assert_close, passed

__all__ = ["check_audio_encoder", "check_image_encoder", "check_similarity_map", "check_similarity_matrix"]

_ATOL = 1e-4
_RTOL = 1e-4
_CLASSIFIERS = {"fc", "classifier", "avgpool"}


def _isolated_rng(check: Callable) -> Callable:
    """Run ``check`` under its own torch random state (seeded by ``seed``, else fresh), leaving the
    caller's global generator untouched: a check in a notebook must not change what comes after."""

    @functools.wraps(check)
    def wrapper(fn: Callable, *args, seed: int | None = None, **kwargs) -> bool:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed if seed is not None else random.SystemRandom().randrange(2**31))
            return check(fn, *args, **kwargs)

    return wrapper


def _not_written(what: str) -> AssertionError:
    return AssertionError(f"{what}: the function is not written yet (it raises NotImplementedError)")


def _build(build: Callable[[], nn.Module], what: str) -> nn.Module:
    try:
        module = build()
    except NotImplementedError:
        raise _not_written(what) from None
    if not isinstance(module, nn.Module):
        raise AssertionError(f"{what}: the builder must return a torch.nn.Module, "
                             f"got {type(module).__name__}")
    return module


def _dotted_prefix(keys: list[str]) -> str:
    """The longest dotted prefix all ``keys`` share (``"resnet."``, ``"features."`` or ``""``)."""
    common = os.path.commonprefix(keys) if len(keys) > 1 else keys[0].rpartition(".")[0] + "."
    return common[: common.rfind(".") + 1]


def _by_suffix(state: dict) -> tuple[str, dict]:
    prefix = _dotted_prefix(list(state))
    return prefix, {k[len(prefix):]: v for k, v in state.items()}


def _copy_weights(reference: nn.Module, student: nn.Module, what: str, hints: dict[str, str]) -> None:
    """Load the reference's weights into the student's module, explaining key mismatches.

    Keys are compared without the prefix every key of a module shares, so ``self.resnet =
    resnet18()`` (keys ``resnet.conv1.weight``, ...) matches ``conv1.weight``.
    """
    state = student.state_dict()
    if not state:
        raise AssertionError(f"{what}: the module has no parameters")
    prefix, own = _by_suffix(state)
    _, ref = _by_suffix(reference.state_dict())
    if own.keys() == ref.keys() and all(own[k].shape == ref[k].shape for k in ref):
        student.load_state_dict({prefix + k: v for k, v in ref.items()}, strict=True)
        return
    kept = {k: v for k, v in state.items() if not _CLASSIFIERS.intersection(k.split("."))}
    if kept and kept.keys() != state.keys() and _by_suffix(kept)[1].keys() == ref.keys():
        extra = sorted({k for k in state if k not in kept})
        raise AssertionError(f"{what}: it still has a classifier or pooling layer with parameters "
                             f"({', '.join(extra[:4])}); the official trunk has none: replace it by "
                             "nn.Identity()")
    missing = [k for k in ref if k not in own]
    extra = [k for k in own if k not in ref]
    wrong = [k for k in ref if k in own and own[k].shape != ref[k].shape]
    lines = [f"{what}: its parameters do not match the reference's names and shapes (torchvision's, as in "
             "the official checkpoint)."]
    if extra:
        lines.append(f"  not in the reference: {extra[:4]}{' ...' if len(extra) > 4 else ''}")
    if missing:
        lines.append(f"  missing: {missing[:4]}{' ...' if len(missing) > 4 else ''}")
    for k in wrong:
        lines.append(f"  {k}: shape {tuple(own[k].shape)}, expected {tuple(ref[k].shape)}")
    for key_start, hint in hints.items():
        if any(k.startswith(key_start) for k in extra + missing + wrong):
            lines.append(f"  hint: {hint}")
    raise AssertionError("\n".join(lines))


def _forward(module: nn.Module, x: torch.Tensor, what: str) -> torch.Tensor:
    try:
        with torch.no_grad():
            out = module(x)
    except NotImplementedError:
        raise AssertionError(f"{what}: forward is not written yet (it raises NotImplementedError)") from None
    if not isinstance(out, torch.Tensor):
        raise AssertionError(f"{what}: forward must return a tensor, got {type(out).__name__}")
    return out


@_isolated_rng
def check_image_encoder(build: Callable[[], nn.Module]) -> bool:
    """Check that ``build()`` makes the official image trunk: ``[B, 3, 224, 224] -> [B, 512, 7, 7]``.

    Official ``imgnet``: torchvision ``resnet18`` with ``avgpool`` and ``fc`` replaced by
    ``nn.Identity()``; the official forward unflattens the result to ``[B, 512, 7, 7]``, so
    the module must return the map (e.g. a small wrapper around the ResNet).
    """
    what = "your image encoder"
    reference = encoders.build_image_encoder("resnet18", None).train()
    student = _build(build, what).train()
    _copy_weights(reference, student, what, {
        "conv1.": "the image trunk keeps torchvision's first conv: 3 input channels",
    })
    x = torch.randn(2, 3, 224, 224)
    got = _forward(student, x, what)
    with torch.no_grad():
        expected = reference(x)
    if tuple(got.shape) == (2, 512 * 7 * 7):
        raise AssertionError(f"{what}: output shape {tuple(got.shape)}, expected (2, 512, 7, 7): "
                             "torchvision's ResNet.forward flattens after avgpool; unflatten it, "
                             "x.unflatten(1, (512, 7, 7)), as the official code does")
    if tuple(got.shape) == (2, 512):
        raise AssertionError(f"{what}: output shape (2, 512), expected (2, 512, 7, 7): the average pooling "
                             "is still there; replace resnet.avgpool by nn.Identity() to keep the 7x7 map")
    assert_close(got, expected, what + " (same weights, same batch)", atol=_ATOL, rtol=_RTOL)
    return passed("your image encoder gives the reference's 512x7x7 map with the same weights")


@_isolated_rng
def check_audio_encoder(build: Callable[[], nn.Module], backbone: str = "resnet18") -> bool:
    """Check that ``build()`` makes the official audio trunk: ``[B, 1, 257, 200] -> [B, C]``.

    ``backbone="resnet18"`` (C = 512), the official ``audnet``: torchvision ``resnet18`` (random
    init) whose ``conv1`` is ``Conv2d(1, 64, 7, stride 2, padding 3, bias=False)``, ``avgpool``
    an ``AdaptiveMaxPool2d((1, 1))`` (global *max* pooling) and ``fc`` an ``nn.Identity()``.

    ``backbone="mobilenet_v3_small"`` (C = 576): torchvision ``mobilenet_v3_small().features``
    whose first conv (``features[0][0]``) takes one channel (same kernel, stride and padding,
    no bias), then global max pooling and a flatten.
    """
    what = f"your {backbone} audio encoder"
    if backbone not in encoders.BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r}; choose one of {encoders.BACKBONES}")
    reference = encoders.build_audio_encoder(backbone).train()
    student = _build(build, what).train()
    first = "conv1." if backbone == "resnet18" else "0.0."
    conv = ("nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)" if backbone == "resnet18"
            else "nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1, bias=False)")
    hint = f"the first conv takes one channel and has no bias: {conv}"
    _copy_weights(reference, student, what, {first: hint})
    x = torch.randn(2, 1, 257, 200)
    got = _forward(student, x, what)
    with torch.no_grad():
        expected = reference(x)
    if got.shape != expected.shape:
        raise AssertionError(f"{what}: output shape {tuple(got.shape)}, expected {tuple(expected.shape)} "
                             "(one vector per spectrogram: global pooling over time and frequency, "
                             "then flatten)")
    with torch.no_grad():
        trunk = (encoders.ResNetFeatureMap.forward(reference, x) if backbone == "resnet18"
                 else reference.features(x))
        average = trunk.mean(dim=(2, 3))
    if torch.allclose(got, average, atol=_ATOL, rtol=_RTOL) and not torch.allclose(got, expected, atol=_ATOL):
        raise AssertionError(f"{what}: you average over time and frequency; the official audio net takes the "
                             "global *max* (nn.AdaptiveMaxPool2d((1, 1)))")
    assert_close(got, expected, what + " (same weights, same batch)", atol=_ATOL, rtol=_RTOL)
    return passed(f"your {backbone} audio encoder gives the reference's {expected.shape[1]}-vector "
                  "with the same weights")


def _random_features(batch_img: int, batch_aud: int, dim: int, h: int, w: int):
    """Raw (unnormalised) head outputs with offsets, so that forgetting to normalise shows."""
    return 3 * torch.randn(batch_img, dim, h, w) + 1, 2 * torch.randn(batch_aud, dim) - 0.5


def _call(fn: Callable, what: str, *args) -> torch.Tensor:
    try:
        out = fn(*(a.clone() if isinstance(a, torch.Tensor) else a for a in args))
    except NotImplementedError:
        raise _not_written(what) from None
    return torch.as_tensor(out).detach().float()


def _check_scale(got: torch.Tensor, expected: torch.Tensor, tau: float, what: str) -> None:
    if got.abs().max() <= 1.0 + 1e-5 and torch.allclose(got, expected * tau, atol=1e-5):
        raise AssertionError(f"{what}: these are the cosines; divide by tau (the temperature) to get S")
    if got.abs().max() > 1.0 / tau + 1e-3:
        raise AssertionError(f"{what}: |S| reaches {got.abs().max():.3g} > 1 / tau = {1 / tau:.3g}, "
                             "impossible for cosines / tau: L2-normalise img over its channel dimension "
                             "(dim=1) and aud over its feature dimension (dim=1) first")


@_isolated_rng
def check_similarity_map(fn: Callable) -> bool:
    """Check ``fn(img, aud, tau) -> S``: ``img [B, D, h, w]``, ``aud [B, D]`` -> ``S [B, h, w]``.

    ``img`` and ``aud`` are raw head outputs (not yet normalised): ``fn`` L2-normalises each
    over its channel dimension D, takes the dot product of every location of image ``n``
    with audio ``n`` (its own clip) and divides by ``tau``.
    """
    for batch, dim, h, w, tau in ((3, 16, 7, 7, 0.03), (2, 8, 5, 4, 0.07)):
        img, aud = _random_features(batch, batch, dim, h, w)
        what = f"similarity map of img {tuple(img.shape)} and aud {tuple(aud.shape)}, tau {tau}"
        got = _call(fn, what, img, aud, tau)
        all_pairs = losses.similarity(F.normalize(img, dim=1), F.normalize(aud, dim=1))  # [B, B, h*w]
        expected = all_pairs[torch.arange(batch), torch.arange(batch)].reshape(batch, h, w) / tau
        if got.shape != expected.shape:
            hint = " (image n with its own audio n only, not every pair)" if got.ndim == 4 else ""
            raise AssertionError(f"{what}: shape {tuple(got.shape)}, expected {tuple(expected.shape)}{hint}")
        _check_scale(got, expected, tau, what)
        assert_close(got, expected, what, atol=1e-4, rtol=1e-4)
    return passed("your similarity maps match <img, aud> / tau of L2-normalised features")


@_isolated_rng
def check_similarity_matrix(fn: Callable) -> bool:
    """Check ``fn(img, aud, tau) -> S``: ``img [N, D, h, w]``, ``aud [M, D]`` -> ``S [N, M, h, w]``.

    Every image ``n`` against every clip ``m``: ``S[n, m, y, x] = <img[n, :, y, x], aud[m]> / tau``
    after L2-normalising both over D, what review Eq. 1 and 2 take their softmaxes of. ``N`` and
    ``M`` differ in the test, so the order of the two indices matters. An output ``[N, M, h * w]``
    (locations flattened, as :func:`slavc_lite.losses.similarity` returns) is accepted too.
    """
    for n_img, n_aud, dim, h, w, tau in ((3, 5, 16, 7, 7, 0.03), (4, 2, 8, 5, 3, 0.1)):
        img, aud = _random_features(n_img, n_aud, dim, h, w)
        what = f"similarity matrix of img {tuple(img.shape)} and aud {tuple(aud.shape)}, tau {tau}"
        got = _call(fn, what, img, aud, tau)
        expected = losses.similarity(F.normalize(img, dim=1), F.normalize(aud, dim=1)).reshape(
            n_img, n_aud, h, w) / tau
        if tuple(got.shape) == (n_img, n_aud, h * w):
            got = got.reshape(n_img, n_aud, h, w)
        if tuple(got.shape) == (n_aud, n_img, h, w):
            raise AssertionError(f"{what}: shape {tuple(got.shape)}, expected {tuple(expected.shape)}: the "
                                 "image index comes first, S[n, m] compares image n with clip m")
        if got.shape != expected.shape:
            raise AssertionError(f"{what}: shape {tuple(got.shape)}, expected {tuple(expected.shape)}: "
                                 "every image with every clip, e.g. torch.einsum('nchw,mc->nmhw', img, aud)")
        _check_scale(got, expected, tau, what)
        assert_close(got, expected, what, atol=1e-4, rtol=1e-4)
    return passed("your similarity matrix matches slavc_lite.losses.similarity / tau")
