"""Score a whole test set: SLAVC, OGL and VSL maps, per-sample cIoU and confidence.

This is the loop of the official ``test.py`` (github.com/stoneMo/SLAVC), batched:

* SLAVC map (review Eq. 6): ``model.localization_logits`` from the momentum encoders,
  :func:`slavc_lite.maps.slavc_map`;
* OGL map (Eq. 5): :func:`slavc_lite.maps.ogl_map` of the object network's features;
* VSL map (Eq. 7): :func:`slavc_lite.maps.vsl_map` with ``alpha`` (0.9 in the official
  extended benchmark, 0.4 in the IPOL demo);
* any further map (the baselines of :mod:`slavc_lite.evaluation.baselines`) from a
  :data:`MapFunction`;

then, per map and sample, exactly what the official ``EvaluatorFull.update`` records: the
cIoU of the relative prediction (top 50% of the min-max normalised map,
:func:`slavc_lite.maps.relative_prediction`) against the ground-truth map, the confidence
(mean of the top quarter, :func:`slavc_lite.maps.confidence`), the number of boxes and the
ground-truth area ``gt.sum()``. We also keep the cIoU of the absolute prediction (threshold
0.5, :func:`slavc_lite.maps.absolute_prediction`) and the maximum of each map, which the
negative-audio analysis needs (:mod:`slavc_lite.evaluation.negative_audio`), and two views
of our own that the official evaluator does not record:

* the **pointing game** (Zhang et al., "Top-down neural attention by excitation backprop",
  ECCV 2016): whether the map's maximum (first one in row-major order on ties) falls inside
  a ground-truth box (:func:`pointing_hits`);
* the **contrast** on the map's own scale (the official fixed [0, 1] scale for SLAVC, OGL and
  VSL): the map's mean inside the ground-truth boxes minus its mean outside them
  (:func:`inside_outside_contrast`); a map with contrast 0.02 is one colour on screen.

:meth:`TestSetScores.table` turns the arrays into the official table with
:func:`slavc_lite.metrics.summary`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Subset

from slavc_lite import maps as M
from slavc_lite import metrics

__all__ = [
    "CORE_MAPS",
    "MapFunction",
    "TestSetScores",
    "batch_cious",
    "compute_maps",
    "inside_outside_contrast",
    "iterate_batches",
    "pointing_hits",
    "relative_masks",
    "score_test_set",
]

#: The maps every evaluation computes (OGL and VSL only with an object network).
CORE_MAPS = ("slavc", "ogl", "vsl")

MapFunction = Callable[[dict, Mapping[str, torch.Tensor]], torch.Tensor]
"""A further map: ``(batch, maps so far) -> [B, 224, 224]`` scores on the [0, 1] scale.

``batch`` holds the keys of :func:`slavc_lite.data.datasets.collate` (``index`` is the
position in the dataset, so a seeded map can be made independent of the batch size)."""


# ------------------------------------------------------------------------------------ results


@dataclass
class TestSetScores:
    """Per-sample results of one test set, one entry per scored sample.

    Attributes:
        ids, audio_ids: frame and audio ids (they differ for non-sounding pairs).
        indices: positions in the dataset.
        n_boxes: number of ground-truth boxes (0: a non-sounding pair).
        areas: ground-truth area ``gt.sum()`` in pixels (the official size subsets).
        cious: ``{map name: [N]}`` cIoU of the relative prediction (official).
        confidences: ``{map name: [N]}`` official confidence (mean of the top quarter).
        absolute_cious: ``{map name: [N]}`` cIoU of the absolute prediction (threshold
            ``absolute_threshold``), for the negative-audio analysis.
        absolute_shares: ``{map name: [N]}`` share of the pixels the absolute prediction marks
            positive (with negative audio a map should mark none).
        peaks: ``{map name: [N]}`` maximum value of each map.
        pointing: ``{map name: [N]}`` 1.0 when the map's maximum is inside a box, 0.0 when
            not, NaN for a pair without boxes (:func:`pointing_hits`).
        contrasts: ``{map name: [N]}`` mean inside the boxes minus mean outside them, NaN
            without boxes or without outside (:func:`inside_outside_contrast`).
        alpha: the VSL weight, or None without VSL.
        heatmaps: ``{map name: float16 [N, 224, 224]}`` when kept (``keep_maps=True``).
        skipped: samples that could not be loaded (``on_error="skip"`` datasets).
    """

    ids: list[str]
    audio_ids: list[str]
    indices: np.ndarray
    n_boxes: np.ndarray
    areas: np.ndarray
    cious: dict[str, np.ndarray]
    confidences: dict[str, np.ndarray]
    absolute_cious: dict[str, np.ndarray] = field(default_factory=dict)
    absolute_shares: dict[str, np.ndarray] = field(default_factory=dict)
    peaks: dict[str, np.ndarray] = field(default_factory=dict)
    pointing: dict[str, np.ndarray] = field(default_factory=dict)
    contrasts: dict[str, np.ndarray] = field(default_factory=dict)
    alpha: float | None = None
    absolute_threshold: float = 0.5
    heatmaps: dict[str, np.ndarray] | None = None
    skipped: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def maps(self) -> list[str]:
        """Names of the scored maps, in the order they were added."""
        return list(self.cious)

    def _check(self, map_name: str) -> None:
        if map_name not in self.cious:
            raise KeyError(f"no map {map_name!r} was scored; available: {self.maps}")

    def table(self, map_name: str = "slavc", ciou_threshold: float = 0.5) -> dict[str, dict[str, float]]:
        """The official table of one map (:func:`slavc_lite.metrics.summary`): per subset
        (all, visible, small, medium, large, huge) n, cIoU, AUC, AP, max-F1, Precision."""
        self._check(map_name)
        return metrics.summary(self.cious[map_name], self.confidences[map_name], self.n_boxes,
                               self.areas, ciou_threshold)

    def tables(self, ciou_threshold: float = 0.5) -> dict[str, dict[str, dict[str, float]]]:
        """:meth:`table` of every map."""
        return {name: self.table(name, ciou_threshold) for name in self.maps}

    @property
    def sounding(self) -> np.ndarray:
        """Bool ``[N]``: samples with at least one box."""
        return self.n_boxes > 0

    def select(self, mask: np.ndarray | Sequence[bool] | Sequence[int]) -> TestSetScores:
        """The scores of a subset of samples (a bool mask or positions in this object)."""
        idx = np.asarray(mask)
        idx = np.flatnonzero(idx) if idx.dtype == bool else idx.astype(np.int64)

        def pick(d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            return {k: v[idx] for k, v in d.items()}

        return TestSetScores(
            ids=[self.ids[i] for i in idx], audio_ids=[self.audio_ids[i] for i in idx],
            indices=self.indices[idx], n_boxes=self.n_boxes[idx], areas=self.areas[idx],
            cious=pick(self.cious), confidences=pick(self.confidences),
            absolute_cious=pick(self.absolute_cious), absolute_shares=pick(self.absolute_shares),
            peaks=pick(self.peaks), pointing=pick(self.pointing), contrasts=pick(self.contrasts),
            alpha=self.alpha,
            absolute_threshold=self.absolute_threshold,
            heatmaps=None if self.heatmaps is None else pick(self.heatmaps), skipped=list(self.skipped),
        )

    def per_sample(self) -> list[dict]:
        """One plain dict per sample (for JSON or a DataFrame)."""
        rows = []
        for i, sample_id in enumerate(self.ids):
            row = {"id": sample_id, "audio_id": self.audio_ids[i], "index": int(self.indices[i]),
                   "n_boxes": int(self.n_boxes[i]), "area": float(self.areas[i])}
            for name in self.maps:
                row[f"{name}_ciou"] = _finite_or_none(self.cious[name][i])
                row[f"{name}_confidence"] = float(self.confidences[name][i])
                if name in self.peaks:
                    row[f"{name}_peak"] = float(self.peaks[name][i])
                if name in self.pointing:
                    row[f"{name}_pointing"] = _finite_or_none(self.pointing[name][i])
                    row[f"{name}_contrast"] = _finite_or_none(self.contrasts[name][i])
            rows.append(row)
        return rows


def _finite_or_none(x: float) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


# ------------------------------------------------------------------------------------ pieces


def compute_maps(
    model: nn.Module,
    images: torch.Tensor,
    specs: torch.Tensor,
    object_net: nn.Module | None = None,
    alpha: float = M.DEFAULT_ALPHA,
) -> dict[str, torch.Tensor]:
    """The ``[B, 224, 224]`` maps of one batch: ``slavc``, and ``ogl`` + ``vsl`` with an object network.

    The caller sets eval mode and the grad mode (see :func:`score_test_set`).
    """
    logits = model.localization_logits(images, specs)
    out = {"slavc": M.slavc_map(logits, model.tau).float()}
    if object_net is not None:
        out["ogl"] = M.ogl_map(object_net(images)).float()
        out["vsl"] = M.vsl_map(out["slavc"], out["ogl"], alpha)
    return out


def relative_masks(scores: torch.Tensor, pred_size: float = 0.5) -> torch.Tensor:
    """:func:`slavc_lite.maps.relative_prediction` of a batch ``[B, H, W]``, the same masks.

    The threshold, the value of rank ``int(n * pred_size)`` of the ascending min-max normalised
    map, is found with ``torch.kthvalue`` (linear time) instead of a full sort: about 4x faster
    for 224 x 224 maps on the CPU. MPS has no ``kthvalue``: there the sort is used.
    """
    if not 0.0 <= pred_size < 1.0:
        raise ValueError(f"pred_size must be in [0, 1), not {pred_size}")
    if scores.device.type == "mps" or scores.ndim != 3:
        return M.relative_prediction(scores, pred_size)
    flat = scores.reshape(scores.shape[0], -1)
    low = flat.min(dim=1, keepdim=True).values
    high = flat.max(dim=1, keepdim=True).values
    span = high - low
    norm = torch.where(span != 0, (flat - low) / torch.where(span != 0, span, 1), flat)
    rank = int(flat.shape[1] * pred_size)
    thr = norm.kthvalue(rank + 1, dim=1, keepdim=True).values
    return (norm >= thr).reshape(scores.shape)


def batch_cious(pred_masks: torch.Tensor, gt_maps: torch.Tensor) -> np.ndarray:
    """cIoU of each binary prediction ``[B, H, W]`` with its ground truth ``[B, H, W]``.

    The official ``sum(pred * gt) / (sum(gt) + sum(pred * (gt == 0)))``. The three sums are
    taken in float32 on the maps' device: for the official ground truths (values 0, 0.5, 1,
    see :mod:`slavc_lite.ground_truth`) every partial sum is a multiple of 0.5 below 2^24, so
    they are exact; the division is done in float64, so every value equals
    :func:`slavc_lite.metrics.ciou` of the same sample. NaN for 0 / 0.
    """
    pred = pred_masks.flatten(1).float()
    gt = gt_maps.to(pred.device).flatten(1).float()
    sums = torch.stack([(pred * gt).sum(1), gt.sum(1), (pred * (gt == 0)).sum(1)]).cpu().double()
    inter, union = sums[0], sums[1] + sums[2]
    ciou = torch.where(union != 0, inter / torch.where(union != 0, union, 1.0),
                       torch.full_like(inter, float("nan")))
    return ciou.numpy()


def pointing_hits(scores: torch.Tensor, gt_maps: torch.Tensor) -> np.ndarray:
    """Pointing game per sample: 1.0 when the maximum of ``scores[b]`` (the first one in
    row-major order, as ``argmax`` picks) lies where ``gt_maps[b] > 0``, else 0.0; NaN where
    the ground truth is empty (no box to point at)."""
    flat_gt = gt_maps.flatten(1).to(scores.device)
    at_max = scores.flatten(1).argmax(1, keepdim=True)
    hit = (flat_gt.gather(1, at_max).squeeze(1) > 0).double().cpu().numpy()
    hit[(flat_gt > 0).sum(1).cpu().numpy() == 0] = np.nan
    return hit


def inside_outside_contrast(scores: torch.Tensor, gt_maps: torch.Tensor) -> np.ndarray:
    """Per sample: mean of ``scores`` where ``gt_maps > 0`` minus its mean elsewhere (on the
    map's own scale); NaN when either region is empty."""
    inside = (gt_maps.flatten(1) > 0).to(scores.device).double()
    values = scores.flatten(1).double()
    n_in, n_out = inside.sum(1), (1 - inside).sum(1)
    mean_in = (values * inside).sum(1) / n_in.clamp(min=1)
    mean_out = (values * (1 - inside)).sum(1) / n_out.clamp(min=1)
    out = (mean_in - mean_out).cpu().numpy()
    out[((n_in == 0) | (n_out == 0)).cpu().numpy()] = np.nan
    return out


def _check_test_mode(dataset) -> None:
    mode = getattr(dataset, "mode", "test")
    if mode != "test":
        raise ValueError(f"{type(dataset).__name__} is in {mode!r} mode: evaluation needs a test-mode "
                         "dataset (224 x 224 resize, no random crop or flip)")


def iterate_batches(
    dataset,
    batch_size: int = 32,
    limit: int | None = None,
    device: torch.device | str | None = None,
    num_workers: int = 0,
    positions: Sequence[int] | None = None,
) -> Iterator[dict]:
    """Test batches in dataset order, from an ``AudioVisualDataset`` (DataLoader + collate) or a
    ``CachedAudioVisualDataset`` (its ``get_batch``); ``positions``: these samples only (in
    ascending order), ``limit``: the first N of them only.

    Tensors are on ``device`` (``image``, ``spec``, ``gt_map``); keys as
    :func:`slavc_lite.data.datasets.collate`.
    """
    from slavc_lite.data.datasets import collate

    _check_test_mode(dataset)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    chosen = _chosen_positions(len(dataset), positions, limit)
    device = torch.device(device) if device is not None else None
    if hasattr(dataset, "get_batch"):
        for start in range(0, len(chosen), batch_size):
            yield dataset.get_batch(chosen[start : start + batch_size], device=device)
        return
    full = positions is None and len(chosen) == len(dataset)
    subset = dataset if full else Subset(dataset, chosen.tolist())
    loader = DataLoader(subset, batch_size=batch_size, shuffle=False, collate_fn=collate,
                        num_workers=num_workers, pin_memory=device is not None and device.type == "cuda")
    for batch in loader:
        if device is not None and len(batch["id"]):
            batch = {**batch, **{k: batch[k].to(device, non_blocking=True)
                                 for k in ("image", "spec", "gt_map")}}
        yield batch


def _chosen_positions(n: int, positions: Sequence[int] | None, limit: int | None) -> np.ndarray:
    chosen = np.arange(n) if positions is None else np.unique(np.asarray(positions, dtype=np.int64))
    if chosen.size and (chosen[0] < 0 or chosen[-1] >= n):
        raise IndexError(f"positions must lie in [0, {n}), got {chosen[0]}..{chosen[-1]}")
    if limit is not None:
        chosen = chosen[: max(0, int(limit))]
    if chosen.size == 0:
        raise ValueError(f"nothing to evaluate: the dataset has {n} samples, "
                         f"{'all' if positions is None else len(positions)} chosen, limit {limit}")
    return chosen


class _Modes:
    """Put modules in eval mode and restore each one's train/eval mode afterwards."""

    def __init__(self, *modules: nn.Module | None) -> None:
        self.modules = [m for m in modules if m is not None]

    def __enter__(self) -> _Modes:
        self.saved = [[(sub, sub.training) for sub in m.modules()] for m in self.modules]
        for m in self.modules:
            m.eval()
        return self

    def __exit__(self, *exc) -> None:
        for saved in self.saved:
            for sub, training in saved:
                sub.train(training)


def _module_device(module: nn.Module) -> torch.device:
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


# ------------------------------------------------------------------------------------ the loop


def score_test_set(
    model: nn.Module,
    dataset,
    *,
    object_net: nn.Module | None = None,
    alpha: float = M.DEFAULT_ALPHA,
    batch_size: int = 32,
    device: torch.device | str | None = None,
    limit: int | None = None,
    positions: Sequence[int] | None = None,
    progress: bool = False,
    extra_maps: Mapping[str, MapFunction] | None = None,
    replace_audio: Callable[[dict], torch.Tensor] | None = None,
    keep_maps: bool | Sequence[str] = False,
    on_batch: Callable[[dict, Mapping[str, torch.Tensor]], None] | None = None,
    pred_size: float = 0.5,
    absolute_threshold: float = 0.5,
    num_workers: int = 0,
) -> TestSetScores:
    """Score every sample of a test set with the SLAVC (and OGL, VSL, further) maps.

    Args:
        model: a SLAVC model; its momentum encoders give the SLAVC map (official).
        dataset: an ``AudioVisualDataset`` or a ``CachedAudioVisualDataset``, in test mode.
        object_net: the OGL network (never fine-tuned); with it the ``ogl`` and ``vsl`` maps.
        alpha: the VSL weight (Eq. 7); the official extended benchmark uses 0.9.
        batch_size: samples per forward pass.
        device: where to run; default the model's device. The networks are not moved.
        limit: score only the first ``limit`` samples (of ``positions`` when given).
        positions: score only these dataset positions (sorted ascending).
        progress: show a progress bar.
        extra_maps: further maps ``{name: MapFunction}`` (e.g. baselines), scored the same way.
        replace_audio: ``batch -> [B, 1, F, T]`` spectrograms used instead of the batch's own
            (negative audio: silence, noise, another sample's sound).
        keep_maps: keep the maps as float16 ``[N, 224, 224]`` arrays in ``heatmaps`` (``True``:
            all; or a list of names). 100 kB per map and sample: mind the memory.
        on_batch: called with ``(batch, maps)`` after each batch (maps on the device), e.g. to
            draw figures without keeping every map.
        pred_size: share of pixels of the relative prediction (official 0.5).
        absolute_threshold: threshold of the absolute prediction (official 0.5).
        num_workers: DataLoader workers for an ``AudioVisualDataset``.

    The networks run in eval mode under ``torch.inference_mode``; each module's train/eval
    mode is restored afterwards (the trainer calls this mid-training).
    """
    device = torch.device(device) if device is not None else _module_device(model)
    extra_maps = dict(extra_maps or {})
    clash = set(extra_maps) & set(CORE_MAPS)
    if clash:
        raise ValueError(f"extra map names {sorted(clash)} clash with the core maps {CORE_MAPS}")
    if object_net is not None and not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], not {alpha}")

    ids: list[str] = []
    audio_ids: list[str] = []
    indices: list[np.ndarray] = []
    n_boxes: list[np.ndarray] = []
    areas: list[np.ndarray] = []
    cious: dict[str, list[np.ndarray]] = {}
    abs_cious: dict[str, list[np.ndarray]] = {}
    abs_shares: dict[str, list[np.ndarray]] = {}
    confs: dict[str, list[np.ndarray]] = {}
    peaks: dict[str, list[np.ndarray]] = {}
    pointing: dict[str, list[np.ndarray]] = {}
    contrasts: dict[str, list[np.ndarray]] = {}
    kept: dict[str, list[np.ndarray]] = {}
    skipped: list = []

    total = len(_chosen_positions(len(dataset), positions, limit))
    batches = iterate_batches(dataset, batch_size, limit, device, num_workers, positions)
    bar = None
    if progress:
        from slavc_lite.progress import tqdm

        bar = tqdm(total=total, desc=f"scoring {getattr(dataset, 'name', None) or 'test set'}", unit="pair")
    try:
        with _Modes(model, object_net), torch.inference_mode():
            for batch in batches:
                skipped.extend(batch.get("skipped", []))
                if not len(batch["id"]):
                    continue
                specs = replace_audio(batch) if replace_audio is not None else batch["spec"]
                images = batch["image"]
                maps = compute_maps(model, images, specs.to(images.device), object_net, alpha)
                for name, fn in extra_maps.items():
                    maps[name] = fn(batch, maps).to(images.device).float()
                gt = batch["gt_map"]
                ids.extend(batch["id"])
                audio_ids.extend(batch["audio_id"])
                indices.append(np.asarray(batch["index"]).astype(np.int64))
                n_boxes.append(np.asarray(batch["n_boxes"]).astype(np.int64))
                areas.append(gt.flatten(1).float().sum(1).cpu().double().numpy())  # exact, see batch_cious
                for name, scores in maps.items():
                    relative = relative_masks(scores, pred_size)
                    cious.setdefault(name, []).append(batch_cious(relative, gt))
                    absolute = M.absolute_prediction(scores, absolute_threshold)
                    abs_cious.setdefault(name, []).append(batch_cious(absolute, gt))
                    abs_shares.setdefault(name, []).append(
                        absolute.flatten(1).sum(1).cpu().numpy() / absolute[0].numel())
                    confs.setdefault(name, []).append(M.confidence(scores).cpu().numpy().astype(np.float64))
                    peaks.setdefault(name, []).append(
                        scores.flatten(1).max(1).values.cpu().numpy().astype(np.float64))
                    pointing.setdefault(name, []).append(pointing_hits(scores, gt))
                    contrasts.setdefault(name, []).append(inside_outside_contrast(scores, gt))
                    if keep_maps is True or (keep_maps and name in keep_maps):
                        kept.setdefault(name, []).append(scores.cpu().numpy().astype(np.float16))
                if on_batch is not None:
                    on_batch(batch, maps)
                if bar is not None:
                    bar.update(len(batch["id"]))
    finally:
        if bar is not None:
            bar.close()
    if not ids:
        raise ValueError("no sample of the test set could be scored (every sample was skipped)")

    def cat(d: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in d.items()}

    return TestSetScores(
        ids=ids, audio_ids=audio_ids, indices=np.concatenate(indices), n_boxes=np.concatenate(n_boxes),
        areas=np.concatenate(areas), cious=cat(cious), confidences=cat(confs),
        absolute_cious=cat(abs_cious), absolute_shares=cat(abs_shares), peaks=cat(peaks),
        pointing=cat(pointing), contrasts=cat(contrasts),
        alpha=float(alpha) if object_net is not None else None, absolute_threshold=float(absolute_threshold),
        heatmaps=cat(kept) if keep_maps else None, skipped=skipped,
    )
