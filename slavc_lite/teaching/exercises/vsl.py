"""Exercise checks of chapters 07 (the alpha figure) and 08 (hard cases).

* :func:`check_reblend` - VSL from cached maps, ``alpha * SLAVC + (1 - alpha) * OGL`` (review
  Eq. 7; reference :func:`slavc_lite.maps.vsl_map`).
* :func:`check_alpha_sweep` - the cIoU of the VSL map of every sample for every alpha: blend,
  official relative prediction (top 50%), cIoU against the ground truth.
* :func:`check_box_share` - which share of a map's official prediction lies on given objects
  (e.g. on the silent object of a scene).
* :func:`check_mean_by_kind` - the mean of a per-sample value for each scene kind, NaN ignored
  (the per-case table of chapter 08).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from slavc_lite import maps, metrics
from slavc_lite.ground_truth import vggss_gt_map
from slavc_lite.teaching.exercises._checking import as_numpy, assert_close, call, passed

__all__ = ["check_alpha_sweep", "check_box_share", "check_mean_by_kind", "check_reblend"]

_ALPHAS = (0.0, 0.4, 0.9, 1.0)



def _blobs(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """``n`` smooth random maps ``[n, size, size]`` in [0, 1]: one or two Gaussian bumps each."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = np.zeros((n, size, size), np.float32)
    for i in range(n):
        for _ in range(int(rng.integers(1, 3))):
            cx, cy, width = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.05, 0.3)
            out[i] += rng.uniform(0.3, 0.8) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * width**2))
        out[i] += 0.05 * rng.standard_normal((size, size))
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _random_boxes(rng: np.random.Generator, k: int) -> list[list[float]]:
    boxes = []
    for _ in range(k):
        w, h = rng.uniform(0.15, 0.5, size=2)
        x0, y0 = rng.uniform(0, 1 - w), rng.uniform(0, 1 - h)
        boxes.append([float(x0), float(y0), float(x0 + w), float(y0 + h)])
    return boxes


# ------------------------------------------------------------------------------------ chapter 07


def check_reblend(fn: Callable, seed: int | None = None) -> bool:
    """Check ``fn(slavc, ogl, alpha) -> vsl`` (numpy maps, as cached in a LocalizationResult).

    Eq. 7: ``VSL = alpha * SLAVC + (1 - alpha) * OGL``, no clipping, no re-normalisation.
    Tried on random ``[2, 56, 56]`` float32 maps for alpha 0, 0.4, 0.9, 1 and a random one.
    """
    rng = np.random.default_rng(seed)
    slavc, ogl = _blobs(rng, 2, 56), _blobs(rng, 2, 56)
    ogl *= 1.3 / ogl.max(axis=(1, 2), keepdims=True)  # OGL values above 2.5 leave [0, 1], as officially
    for alpha in (*_ALPHAS, float(rng.uniform(0.05, 0.95))):
        what = f"VSL at alpha = {alpha:g}"
        got = as_numpy(call(fn, slavc.copy(), ogl.copy(), alpha, what=what))
        expected = as_numpy(maps.vsl_map(slavc, ogl, alpha))
        swapped = as_numpy(maps.vsl_map(slavc, ogl, 1 - alpha))
        if got.shape == expected.shape and np.allclose(got, swapped, atol=1e-5) \
                and not np.allclose(got, expected, atol=1e-5):
            raise AssertionError(f"{what}: you weighted OGL by alpha and SLAVC by 1 - alpha; Eq. 7 is "
                                 "alpha * SLAVC + (1 - alpha) * OGL (alpha 1 gives the SLAVC map)")
        if got.shape == expected.shape and got.max() <= 1.0 and expected.max() > 1.0 + 1e-6:
            raise AssertionError(f"{what}: your values stay in [0, 1] but the reference goes above 1: "
                                 "do not clip or re-normalise, the official blend does neither")
        assert_close(got, expected, what)
    return passed("your re-blend is Eq. 7, alpha * SLAVC + (1 - alpha) * OGL, on five alphas")


def _reference_sweep(slavc: torch.Tensor, ogl: torch.Tensor, gt: np.ndarray,
                     alphas: Sequence[float]) -> np.ndarray:
    out = np.empty((len(alphas), len(slavc)))
    for a, alpha in enumerate(alphas):
        prediction = maps.relative_prediction(maps.vsl_map(slavc, ogl, alpha))
        out[a] = [metrics.ciou(prediction[i], gt[i]) for i in range(len(slavc))]
    return out


def check_alpha_sweep(fn: Callable, seed: int | None = None) -> bool:
    """Check ``fn(slavc, ogl, gt, alphas) -> cious [len(alphas), N]``.

    ``slavc`` and ``ogl`` are ``[N, H, W]`` torch maps (computed once), ``gt`` the ``[N, H, W]``
    numpy ground-truth maps. For each alpha: VSL (Eq. 7), the official relative prediction
    (:func:`slavc_lite.maps.relative_prediction`: top 50% of the min-max normalised map), then
    cIoU (:func:`slavc_lite.metrics.ciou`) of every sample.
    """
    rng = np.random.default_rng(seed)
    n, size = 6, 64
    slavc = torch.from_numpy(_blobs(rng, n, size))
    ogl = torch.from_numpy(_blobs(rng, n, size))
    gt = np.stack([vggss_gt_map(_random_boxes(rng, int(rng.integers(1, 3))), size) for _ in range(n)])
    alphas = [0.0, 0.25, 0.5, 0.75, 1.0]
    what = "cIoU for every alpha and sample"
    got = as_numpy(call(fn, slavc.clone(), ogl.clone(), gt.copy(), list(alphas), what=what))
    expected = _reference_sweep(slavc, ogl, gt, alphas)
    if got.shape == expected.shape[::-1]:
        raise AssertionError(f"{what}: shape {got.shape}, expected {expected.shape}: one row per alpha, "
                             "one column per sample")
    if got.shape == expected.shape and not np.allclose(got, expected, atol=1e-6):
        absolute = np.stack([[metrics.ciou(maps.absolute_prediction(maps.vsl_map(slavc, ogl, a))[i], gt[i])
                              for i in range(n)] for a in alphas])
        if np.allclose(got, absolute, atol=1e-6):
            raise AssertionError(f"{what}: you thresholded the map at 0.5 (absolute mode); the official "
                                 "benchmark uses the relative prediction, the top 50% of each min-max "
                                 "normalised map (maps.relative_prediction)")
        swapped = _reference_sweep(slavc, ogl, gt, [1 - a for a in alphas])
        if np.allclose(got, swapped, atol=1e-6):
            raise AssertionError(f"{what}: alpha weights SLAVC and 1 - alpha weights OGL (Eq. 7); your "
                                 "sweep has them the other way round")
    assert_close(got, expected, what, atol=1e-6, rtol=0)
    return passed("your sweep gives the official cIoU of the VSL map for every alpha and sample")


# ------------------------------------------------------------------------------------ chapter 08


def _reference_share(scores: torch.Tensor, boxes: Sequence[Sequence[float]]) -> float:
    prediction = maps.relative_prediction(scores).numpy()
    inside = vggss_gt_map(boxes, scores.shape[-1]) > 0
    return float((prediction & inside).sum() / prediction.sum())


def check_box_share(fn: Callable, seed: int | None = None) -> bool:
    """Check ``fn(scores, boxes) -> share``: the share of a map's official prediction on ``boxes``.

    ``scores`` is one ``[H, W]`` torch map (H = W), ``boxes`` a list of normalised
    ``[x0, y0, x1, y1]`` boxes. The prediction is the official relative one (top 50% of the
    min-max normalised map); the objects' pixels are those of the VGG-SS ground-truth map of
    the boxes (:func:`slavc_lite.ground_truth.vggss_gt_map`). The share is
    ``|prediction and boxes| / |prediction|``: how much of what the map points at lies on them.
    """
    rng = np.random.default_rng(seed)
    size = 96
    for trial in range(6):
        scores = torch.from_numpy(_blobs(rng, 1, size)[0])
        boxes = _random_boxes(rng, 1 + trial % 2)
        what = f"share on {len(boxes)} box(es), trial {trial + 1}"
        got = float(as_numpy(call(fn, scores.clone(), [list(b) for b in boxes], what=what)))
        expected = _reference_share(scores, boxes)
        if not np.isclose(got, expected, atol=1e-6):
            prediction = maps.relative_prediction(scores).numpy()
            inside = vggss_gt_map(boxes, size) > 0
            recall = float((prediction & inside).sum() / inside.sum())
            if np.isclose(got, recall, atol=1e-6):
                raise AssertionError(f"{what}: {got:.4f} is the share of the boxes that the prediction "
                                     "covers; the question is the share of the prediction that lies on "
                                     "the boxes (divide by the number of predicted pixels)")
            raise AssertionError(f"{what}: {got:.4f}, expected {expected:.4f} (prediction: "
                                 "maps.relative_prediction; boxes: ground_truth.vggss_gt_map)")
    return passed("your share of the prediction on the boxes matches the reference on six maps")


def _reference_mean_by_kind(kinds: Sequence[str], values: np.ndarray) -> dict[str, float]:
    out = {}
    for kind in dict.fromkeys(kinds):
        chosen = values[np.asarray(kinds) == kind]
        chosen = chosen[~np.isnan(chosen)]
        out[kind] = float(chosen.mean()) if chosen.size else float("nan")
    return out


def check_mean_by_kind(fn: Callable, seed: int | None = None) -> bool:
    """Check ``fn(kinds, values) -> {kind: mean}``: per-kind means with NaN values left out.

    ``kinds`` is a list of scene kinds (one per sample), ``values`` a float numpy array of the
    same length that may hold NaN (e.g. a cIoU where there is no box). A kind whose values are
    all NaN gets NaN. Every kind that occurs must be a key.
    """
    rng = np.random.default_rng(seed)
    names = ["single", "mixture", "silent", "offscreen"]
    kinds = [names[i] for i in rng.integers(0, len(names), size=40)]
    kinds[:4] = names  # every kind occurs
    values = rng.uniform(0, 1, size=40)
    values[rng.random(40) < 0.2] = np.nan
    values[[i for i, k in enumerate(kinds) if k == "offscreen"]] = np.nan  # a kind without values
    what = "per-kind means"
    got = call(fn, list(kinds), values.copy(), what=what)
    expected = _reference_mean_by_kind(kinds, values)
    if not isinstance(got, dict):
        raise AssertionError(f"{what}: return a dict {{kind: mean}}, got a {type(got).__name__}")
    if set(got) != set(expected):
        raise AssertionError(f"{what}: keys {sorted(got)}, expected {sorted(expected)}")
    for kind, mean in expected.items():
        value = float(got[kind])
        if np.isnan(mean):
            if not np.isnan(value):
                raise AssertionError(f"{what}: {kind!r} has only NaN values, so its mean is NaN, not {value}")
            continue
        if np.isnan(value):
            raise AssertionError(f"{what}: {kind!r} gives NaN: leave the NaN values out (np.nanmean, or a "
                                 "mask ~np.isnan(values)) before averaging")
        if not np.isclose(value, mean, atol=1e-9):
            raise AssertionError(f"{what}: {kind!r} gives {value:.6f}, expected {mean:.6f}")
    return passed("your per-kind means match the reference (NaN left out, all-NaN kinds give NaN)")
