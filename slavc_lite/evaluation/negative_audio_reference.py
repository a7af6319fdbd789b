"""Negative audio measured as Juanola, Haro and Fuentes measure it.

X. Juanola, G. Haro, M. Fuentes, "A Critical Assessment of Visual Sound Source Localization
Models Including Negative Audio", ICASSP 2025 (arXiv:2410.01020). Their code,
github.com/xavijuanola/vssl_eval (commit ``e8ebbc9``), defines the numbers of the paper; each
function below names the function of that code it reproduces, with its conventions:

* binarisation is strict, ``value > threshold``, everywhere ``eval.py`` binarises (the
  positive maps through ``utils_dir/utils.py: Evaluator_iiou.cal_CIOU`` and ``cal_CIOU_adap``,
  the negative maps in ``eval_utils.binarized_negatives_thresholds``). The unused
  ``eval_utils.cal_CIOU`` marks ``value >= threshold``: ``ciou_at(..., inclusive=True)``;
* curves run over the thresholds ``0.05 * i``, ``i = 0 .. 20``, as floating-point products
  (``0.05 * 6 = 0.30000000000000004``), with ``>=`` for cIoU and ``<=`` for pIA, and their
  area is the trapezoid rule of ``sklearn.metrics.auc``;
* a cIoU whose denominator is 0 (empty ground truth, nothing marked) is NaN. ``eval.py``
  turns it into 0 in the lists of maps without OGL (``ciou_05_wogl``, ``ciou_max_wogl``,
  ...) before averaging, not in the lists with OGL.

Which array is which: :func:`ciou_at`, :func:`adaptive_threshold`, :func:`ciou_adaptive`,
:func:`median_threshold`, :func:`binarize`, :func:`pia` and :func:`map_iou` take the maps of
one sample (pixels); :func:`auc_ciou`, :func:`auc_pia` and :func:`universal_thresholds` take
one value per sample; :func:`f_score` takes two aggregate numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = [
    "CURVE_THRESHOLDS",
    "adaptive_threshold",
    "auc_ciou",
    "auc_pia",
    "binarize",
    "ciou_adaptive",
    "ciou_at",
    "f_score",
    "map_iou",
    "median_threshold",
    "pia",
    "universal_thresholds",
]

MapLike = np.ndarray | torch.Tensor
Values = Sequence[float] | np.ndarray | torch.Tensor

#: The 21 thresholds of the cIoU and pIA curves, computed as the reference computes them.
CURVE_THRESHOLDS = [0.05 * i for i in range(21)]


def _as_numpy(x) -> np.ndarray:
    """A numpy view of an array, tensor or sequence, keeping its dtype."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _scalar(x):
    """A threshold as numpy compares it: a tensor becomes a Python number, a numpy scalar
    keeps its dtype (a float32 map against a Python float compares in float32)."""
    return x.item() if isinstance(x, torch.Tensor) else x


def _pair(a, b, what: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = _as_numpy(a), _as_numpy(b)
    if a.shape != b.shape:
        raise ValueError(f"{what}: shapes {a.shape} and {b.shape} differ")
    return a, b


# ------------------------------------------------------------------------------ one sample


def ciou_at(pred: MapLike, gt_map: MapLike, threshold: float, *, inclusive: bool = False) -> float:
    """cIoU of a map binarised at a fixed threshold.

    Reference: ``utils_dir/utils.py: Evaluator_iiou.cal_CIOU(infer, gtmap, thres)``, the one
    ``eval.py`` calls for every cIoU it reports (``CIoU_05``, ``CIoU_max``, ...). With
    ``M = pred > threshold``,

        cIoU = sum(M * gt) / (sum(gt) + sum(M * (gt == 0)))

    on the ground-truth values as they are (binary for VGG-SS, annotator consensus for
    Flickr-SoundNet). NaN when the denominator is 0: empty ground truth and nothing marked.
    ``inclusive=True`` marks ``pred >= threshold`` instead, as ``utils_dir/eval_utils.py:
    cal_CIOU`` does (a function ``eval.py`` does not use).

    Args:
        pred: the score map (any shape; the reference allows 224 x 224 only), numpy or torch.
        gt_map: the ground-truth map, same shape.
        threshold: the fixed threshold (0.5, or one of :func:`universal_thresholds`).
        inclusive: mark ties (``>=``) too.
    """
    p, g = _pair(pred, gt_map, "ciou_at")
    thr = _scalar(threshold)
    marked = np.zeros(p.shape)  # float64, as the reference's 0/1 map
    marked[(p >= thr) if inclusive else (p > thr)] = 1
    inter = np.sum(marked * g)
    union = np.sum(g) + np.sum(marked * (g == 0))
    return float(inter / union) if union != 0 else float("nan")


def adaptive_threshold(pred: MapLike, gt_map: MapLike) -> float:
    """The "adap" threshold of one positive map: it leaves as many pixels above as the
    ground truth has.

    Reference: inline in ``eval.py`` (``threshold_ciouadap_wogl``, and ``_ogl`` on the OGL
    blend): with ``N`` pixels and ``n`` the number of non-zero ground-truth pixels (``N // 2``
    when there is none), the ``(N - n)``-th smallest map value (0-based index of the sorted
    values). Binarised strictly (``>``), it marks ``n - 1`` pixels when the values are
    distinct. ``eval.py`` also binarises the negative maps of the sample at this threshold.
    """
    p, g = _pair(pred, gt_map, "adaptive_threshold")
    size = p.size
    n_gt = int(np.count_nonzero(g))
    if n_gt == 0:
        n_gt = size // 2
    return float(np.sort(p.ravel())[size - n_gt])


def ciou_adaptive(pred: MapLike, gt_map: MapLike) -> float:
    """cIoU at the :func:`adaptive_threshold` of the map (the paper's "ciouadap").

    Reference: ``eval.py`` then ``Evaluator_iiou.cal_CIOU_adap``, the same formula as
    :func:`ciou_at` (strict ``>``) at that threshold.
    """
    return ciou_at(pred, gt_map, adaptive_threshold(pred, gt_map))


def median_threshold(pred: MapLike) -> float:
    """The official benchmark's relative threshold of one positive map (``thrciou``).

    Reference: inline in ``eval.py`` (``threshold_ciou_wogl``, ``threshold_ciou_ogl``): the
    value at 0-based index ``int(N * 0.5)`` of the sorted ``N`` map values. ``eval.py``
    binarises the negative maps of the sample at it for ``pIA_*_ThrCIoU``.
    """
    p = _as_numpy(pred)
    return float(np.sort(p.ravel())[int(p.size * 0.5)])


def binarize(pred: MapLike, threshold: float) -> np.ndarray:
    """``pred > threshold`` as a 0/1 integer map: how ``eval_utils.binarized_negatives_thresholds``
    turns every map (positive or negative, with or without OGL) into the masks of :func:`pia`
    and :func:`map_iou`."""
    return (_as_numpy(pred) > _scalar(threshold)).astype(int)


def pia(mask: MapLike) -> float:
    """pIA: the fraction of the image a binarised map marks (for a negative audio, ideally 0).

    Reference: ``utils_dir/eval_utils.py: compute_pIA(binarized_mask)``, the sum of the mask
    over its number of elements (no binarisation of its own: pass :func:`binarize`'s 0/1 or a
    bool mask). The paper's pIA is this fraction averaged over the samples, in percent.
    """
    m = _as_numpy(mask)
    if m.size == 0:
        return float("nan")
    return float(np.sum(m) / m.size)


def map_iou(mask_a: MapLike, mask_b: MapLike) -> float:
    """IoU of two binarised maps of one image heard with two audios.

    Reference: ``utils_dir/eval_utils.py: compute_IOU_maps(binarized_map1, binarized_map2)``,
    called with the positive map first and a negative one second (or two negatives). Its
    conventions for empty maps: ``0.0`` when the second is empty and the first is not,
    ``1.0`` when both are empty, otherwise ``|A and B| / |A or B|`` (so ``0.0`` when only
    the first is empty).
    """
    a, b = _pair(mask_a, mask_b, "map_iou")
    sum_a, sum_b = a.sum(), b.sum()
    if sum_b == 0 and sum_a > 0:
        return 0.0
    if sum_a == 0 and sum_b == 0:
        return 1.0
    return float(np.logical_and(a, b).sum() / np.logical_or(a, b).sum())


# ------------------------------------------------------------------------------ one value per sample


def _curve_area(values: Values, below: bool) -> float:
    """Trapezoid area of the share of ``values >= t`` (``<= t`` when ``below``) over
    :data:`CURVE_THRESHOLDS`; NaN without values. The values keep their dtype, so they are
    compared with the thresholds as the reference compares them."""
    v = _as_numpy(values).ravel()
    if v.size == 0:
        return float("nan")
    rates = [np.sum((v <= t) if below else (v >= t)) / v.size for t in CURVE_THRESHOLDS]
    return float(np.trapezoid(rates, CURVE_THRESHOLDS))


def auc_ciou(ciou_values: Values) -> float:
    """AUC of the positive audio: area under "share of samples with cIoU >= t".

    Reference: ``utils_dir/eval_utils.py: compute_AUC(metric)`` on one cIoU per sample (e.g.
    the cIoUs at ``maxq3`` for ``AUC_maxq3``). A NaN cIoU never counts (``eval.py`` has
    already replaced NaN by 0 in its lists without OGL). The paper prints it times 100.
    """
    return _curve_area(ciou_values, below=False)


def auc_pia(pia_values: Values) -> float:
    """AUC_pIA (the paper's AOC): area under "share of samples with pIA <= t".

    Reference: ``utils_dir/eval_utils.py: compute_AUC_pIA(metric)`` on one :func:`pia` per
    negative sample, thresholds ``0.05 * i`` for ``i = 0 .. 20``. 1 when no negative map
    marks anything, 0.025 when every one marks the whole image. The paper prints it times 100.
    """
    return _curve_area(pia_values, below=True)


def universal_thresholds(positive_maxima: Values, *, center: str = "mean") -> dict[str, float]:
    """The paper's three universal thresholds from the maxima of the positive-audio maps.

    One maximum per positive sample, taken as ``eval.py`` takes it: ``torch.max`` of the
    model's map before upsampling (for SLAVC the 7 x 7 map of ``models/model.py``, the mean of
    the two cosine maps mapped to [0, 1] by ``(cos + 1) / 2``, not min-max normalised).

    * ``max``: the mean of the maxima (``center="median"``: their median);
    * ``max10``: ``1.1 * max``;
    * ``maxq3``: the third quartile (75th percentile, numpy's linear interpolation).

    What is confirmed and what is inferred:

    * confirmed (the paper's abstract): the thresholds come from an analysis of the maximum
      values of the similarity maps for positive and negative audio, and one threshold is to
      hold for every image;
    * confirmed (``eval.py``): the thresholds are per-model constants (SLAVC: ``max = 0.5201``,
      ``max10 = 0.5721``, ``maxq3 = 0.5450``), applied to the maps with and without OGL alike;
      the code records each positive map's maximum as above and writes their mean as
      ``Max_Heatmap`` and their median as ``Median_Max_Heatmap``;
    * inferred: ``max`` is that mean (the name and the ``Max_Heatmap`` record); ``max10`` is
      ``1.1 * max`` (every model's two constants agree with it within the rounding of their
      4 decimals); ``maxq3`` is the 75th percentile (its name; ``eval.py`` keeps a second,
      commented-out ``maxq3`` constant per model, so it was computed from data more than once).
      The sentence of the paper that defines them could not be read here (only its abstract).
    """
    v = _as_numpy(positive_maxima).astype(np.float64).ravel()
    if v.size == 0 or not np.all(np.isfinite(v)):
        raise ValueError("universal_thresholds needs at least one maximum, all finite")
    if center == "mean":
        base = float(np.mean(v))
    elif center == "median":
        base = float(np.median(v))
    else:
        raise ValueError(f"center must be 'mean' or 'median', not {center!r}")
    return {"max": base, "max10": 1.1 * base, "maxq3": float(np.percentile(v, 75))}


# ------------------------------------------------------------------------------ aggregates


def f_score(a: float | np.ndarray, b: float | np.ndarray) -> float | np.ndarray:
    """Harmonic mean ``2 a b / (a + b)`` of a positive and a negative score.

    Reference: ``utils_dir/eval_utils.py: compute_f(metric1, metric2)``. ``compute_metrics``
    uses it at the ``maxq3`` threshold, without OGL, in percent: ``F_AUC_AOC_Pos_Neg`` of
    the positives' AUC (:func:`auc_ciou`) and the mean of the three negatives' AUC_pIA
    (:func:`auc_pia`), and ``F_Pos_Neg`` of the mean cIoU and the mean of ``100 - pIA``.
    NaN where ``a + b == 0`` (numpy's ``0 / 0``). Scalars give a float, arrays an array.
    """
    x = np.asarray(_as_numpy(a), dtype=np.float64)
    y = np.asarray(_as_numpy(b), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = 2 * (x * y) / (x + y)
    return float(f) if f.ndim == 0 else f
