"""The negative-audio tables of Juanola, Haro and Fuentes, computed for our model.

X. Juanola, G. Haro, M. Fuentes, "A Critical Assessment of Visual Sound Source Localization
Models Including Negative Audio", ICASSP 2025 (arXiv:2410.01020), code
github.com/xavijuanola/vssl_eval (``eval.py: eval``, ``utils_dir/eval_utils.py``). Every sounding
test image is scored with its own audio (positive) and with each negative audio of
:mod:`slavc_lite.evaluation.negative_audio` (silence, noise, off-screen sound), all in one
batch, and each sample's maps are measured with the functions of
:mod:`slavc_lite.evaluation.negative_audio_reference`, as ``eval.py`` measures them:

* thresholds: the fixed ``0.5``; the three universal thresholds ``max``, ``max10``, ``maxq3``
  (:func:`universal_thresholds` of the positive SLAVC maxima, one per sample, taken on the
  7 x 7 grid before upsampling as ``eval.py`` takes ``torch.max`` of the model's heatmap); and
  two per-sample thresholds of the positive map, ``median`` (``threshold_ciou_*``, the
  official relative threshold) and ``adap`` (``threshold_ciouadap_*``). The negative maps of a
  sample are binarised at the positive map's ``median`` and ``adap`` thresholds too;
* positive audio: cIoU at each threshold (:func:`ciou_at`) and its AUC (:func:`auc_ciou`);
  ``eval.py`` turns a NaN cIoU into 0 for the map without OGL only, so do we;
* each negative audio: pIA of the binarised map (:func:`pia`) and AUC_pIA (:func:`auc_pia`);
* map IoU (:func:`map_iou`) of the binarised maps of two audios of one image: positive vs each
  negative (positive first) and the negatives between them;
* F-score (:func:`f_score`): ``F(AUC, AUC_pIA)`` and ``F(cIoU, 1 - pIA)`` per negative kind and
  against the mean over the kinds. The paper reports these at ``maxq3`` for the map without
  OGL (``F_AUC_AOC_Pos_Neg``, ``F_Pos_Neg``); we give them at every threshold.

Negative inputs (``inputs``): ``"ours"`` (default) are the negatives of
:mod:`slavc_lite.evaluation.negative_audio`, each through the official audio front end (silence
is ``log(1e-7) / 12`` everywhere; white noise of RMS 0.1, logged). ``"reference"`` builds them as
the paper's data loader does (``datasets/datasets.py: load_spectrogram``): the spectrograms of
digital silence and of unit-variance white noise are **not** logged before the division by 12,
so silence is an all-zero input and noise one of about ``2 / 16000 / 12`` everywhere
(:func:`reference_silence_spectrogram`, :func:`reference_noise_spectrogram`); the off-screen
sound is logged in both.

Maps: "without OGL" is the SLAVC map alone; "with OGL" is ``alpha * SLAVC + (1 - alpha) * OGL``
for each alpha of :data:`PAPER_ALPHAS` (0.4 as ``eval.py``, 0.9 as SLAVC's own test script).
As ``eval.py`` does, the universal thresholds of the SLAVC map are used for the blends too.
Where we differ from ``eval.py``: the maps are those of SLAVC's official test
(:mod:`slavc_lite.maps`: bicubic upsampling, OGL on the fixed range [0, 2.5]) where ``eval.py``
upsamples bilinearly and blends the raw OGL value; and the off-screen audio of an image is the
sound of a sample drawn by :func:`offscreen_partners` (seeded; its classes are not in the
image), where the paper's loader draws, at random in each pass, a clip of a class other than the
image's. Values are fractions (the paper prints them times 100).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import signal
from torch import nn

from slavc_lite import maps as M
from slavc_lite.audio import NOVERLAP, NPERSEG, SAMPLE_RATE, SPEC_SCALE
from slavc_lite.evaluation.inference import TestSetScores, _Modes, _module_device, iterate_batches
from slavc_lite.evaluation.negative_audio import (
    NEGATIVE_KINDS,
    NEGATIVE_SEED,
    _replacement,
    _waveform_length,
    offscreen_partners,
)
from slavc_lite.evaluation.negative_audio_reference import (
    adaptive_threshold,
    auc_ciou,
    auc_pia,
    binarize,
    ciou_at,
    f_score,
    map_iou,
    median_threshold,
    pia,
    universal_thresholds,
)
from slavc_lite.evaluation.testsets import SampleInfo

__all__ = [
    "NEGATIVE_INPUTS",
    "PAPER_ALPHAS",
    "PAPER_F_THRESHOLD",
    "THRESHOLDS",
    "PaperNegativeAudio",
    "grid_maxima",
    "map_name",
    "paper_tables",
    "reference_noise_spectrogram",
    "reference_silence_spectrogram",
    "sample_measures",
    "score_paper_negative_audio",
]

#: VSL alphas of the tables "with OGL": ``eval.py``'s 0.4 and SLAVC's test script's 0.9.
PAPER_ALPHAS = (0.4, 0.9)
#: Thresholds of every table: fixed, universal (one per model), per sample (of the positive map).
THRESHOLDS = ("0.5", "max", "max10", "maxq3", "median", "adap")
#: The threshold at which the paper reports its F-scores (``compute_metrics``).
PAPER_F_THRESHOLD = "maxq3"
POSITIVE = "positive"
#: How the silence and noise inputs are built: our front end, or as the paper's loader does.
NEGATIVE_INPUTS = ("ours", "reference")


def reference_silence_spectrogram(frames: int) -> torch.Tensor:
    """``[1, 257, frames]`` zeros: the paper's silence input (``signal.spectrogram`` of zeros,
    not logged, then divided by 12)."""
    return torch.zeros(1, NPERSEG // 2 + 1, frames)


def reference_noise_spectrogram(frames: int, index: int, seed: int = NEGATIVE_SEED) -> torch.Tensor:
    """``[1, 257, frames]``: the paper's noise input, the power spectral density of white noise
    ``N(0, 1)`` (``np.random.normal(0, 1, n)``, not clipped) by ``signal.spectrogram(x, 16000,
    nperseg=512, noverlap=274)``, **not** logged, divided by 12; seeded from ``(seed, index)``."""
    rng = np.random.default_rng([int(seed), int(index)])
    wave = rng.normal(0.0, 1.0, _waveform_length(frames))
    spec = signal.spectrogram(wave, SAMPLE_RATE, nperseg=NPERSEG, noverlap=NOVERLAP)[2]
    return torch.from_numpy(spec / SPEC_SCALE).float()[None]


def _reference_replacement(kind: str, dataset, partners: Mapping[int, int], seed: int):
    if kind == "offscreen":
        return _replacement(kind, dataset, partners, seed)

    def replace(batch: dict) -> torch.Tensor:
        frames = batch["spec"].shape[-1]
        positions = [int(i) for i in batch["index"]]
        specs = [reference_silence_spectrogram(frames) if kind == "silence"
                 else reference_noise_spectrogram(frames, p, seed) for p in positions]
        return torch.stack(specs).to(batch["spec"].device)

    return replace


def map_name(alpha: float | None) -> str:
    """``"slavc"`` for the map without OGL, ``"vsl@0.4"`` for the blend with OGL at alpha 0.4."""
    return "slavc" if alpha is None else f"vsl@{alpha:g}"


def grid_maxima(model: nn.Module, images: torch.Tensor, specs: torch.Tensor) -> torch.Tensor:
    """``[B]`` maxima of the SLAVC map on the 7 x 7 grid, before upsampling, on the [0, 1] scale
    (``(cos + 1) / 2``): what ``eval.py`` takes ``torch.max`` of."""
    return _grid_max(model.localization_logits(images, specs), model.tau)


def _grid_max(logits: torch.Tensor, tau: float) -> torch.Tensor:
    """``[B]`` maxima of ``[B, 7, 7]`` localization logits on the fixed [0, 1] scale."""
    return M.min_max_scale(logits, -1.0 / tau, 1.0 / tau).flatten(1).max(1).values


def sample_measures(
    positive_map: np.ndarray,
    gt_map: np.ndarray,
    negative_maps: Mapping[str, np.ndarray],
    universal: Mapping[str, float],
    *,
    nan_as_zero: bool = False,
) -> dict[str, dict]:
    """Every number ``eval.py`` records for one image of one map (with or without OGL).

    Args:
        positive_map: the map with the image's own audio, ``[H, W]``.
        gt_map: its ground truth.
        negative_maps: ``{kind: map}`` of the same image with each negative audio.
        universal: ``{"max", "max10", "maxq3"}`` (:func:`universal_thresholds`).
        nan_as_zero: a NaN cIoU counts 0 (``eval.py`` does so for the map without OGL).

    Returns ``{"thresholds": {name: value}, "cIoU": {thr: v}, "pIA": {kind: {thr: v}},
    "IoU": {"a-b": {thr: v}}}`` for the names of :data:`THRESHOLDS` (``median`` and ``adap``
    of this positive map).
    """
    thresholds = {"0.5": 0.5, **{k: float(universal[k]) for k in ("max", "max10", "maxq3")},
                  "median": median_threshold(positive_map), "adap": adaptive_threshold(positive_map, gt_map)}
    cious = {}
    for name, t in thresholds.items():
        value = ciou_at(positive_map, gt_map, t)
        cious[name] = 0.0 if (nan_as_zero and np.isnan(value)) else value
    masks = {audio: {name: binarize(m, t) for name, t in thresholds.items()}
             for audio, m in {POSITIVE: positive_map, **negative_maps}.items()}
    pias = {kind: {name: pia(masks[kind][name]) for name in thresholds} for kind in negative_maps}
    ious = {f"{a}-{b}": {name: map_iou(masks[a][name], masks[b][name]) for name in thresholds}
            for a, b in itertools.combinations([POSITIVE, *negative_maps], 2)}
    return {"thresholds": thresholds, "cIoU": cious, "pIA": pias, "IoU": ious}


@dataclass
class PaperNegativeAudio:
    """Per-sample numbers of the paper's measurement, per map.

    Attributes:
        universal: the universal thresholds ``{max, max10, maxq3}`` used for every map.
        universal_source: how they were obtained.
        alphas: ``{map name: alpha}`` (``None``: SLAVC alone, without OGL).
        kinds: the negative audios measured.
        inputs: how silence and noise were built (:data:`NEGATIVE_INPUTS`).
        ids: frame ids of the positive samples; ``kind_ids``: of each negative kind.
        cious: ``{map: {threshold: [n]}}`` positive cIoU.
        pias: ``{map: {kind: {threshold: [n_kind]}}}``.
        ious: ``{map: {"a-b": {threshold: [n_pair]}}}``.
        maxima: ``{map: {audio: [n]}}`` maximum of each map (SLAVC alone: on the 7 x 7 grid,
            as the paper; the blends: on the 224 x 224 map, the only place they exist).
    """

    universal: dict[str, float]
    universal_source: str
    alphas: dict[str, float | None]
    kinds: list[str]
    inputs: str = "ours"
    ids: list[str] = field(default_factory=list)
    kind_ids: dict[str, list[str]] = field(default_factory=dict)
    cious: dict = field(default_factory=dict)
    pias: dict = field(default_factory=dict)
    ious: dict = field(default_factory=dict)
    maxima: dict = field(default_factory=dict)

    def table(self, name: str) -> dict:
        """:func:`paper_tables` of one map."""
        return paper_tables(self, name)

    def tables(self) -> dict:
        """``{map: table}`` of every map (JSON-ready)."""
        return {name: paper_tables(self, name) for name in self.alphas}


def _mean(values) -> float:
    v = np.asarray(values, dtype=np.float64)
    return float(np.mean(v)) if v.size else float("nan")


def paper_tables(result: PaperNegativeAudio, name: str) -> dict:
    """The paper's numbers for one map, as fractions (the paper prints them times 100).

    ``positive[thr]``: mean cIoU and AUC; ``negative[kind][thr]``: mean pIA and AUC_pIA;
    ``iou[pair][thr]``: mean map IoU; ``f_score[thr]``: ``AUC-AUC_pIA`` and ``cIoU-pIA``, each
    per kind and ``negatives`` (against the mean over the kinds, as ``compute_metrics``).
    """
    positive = {t: {"cIoU": _mean(v), "AUC": auc_ciou(v)} for t, v in result.cious[name].items()}
    negative = {k: {t: {"pIA": _mean(v), "AUC_pIA": auc_pia(v)} for t, v in per_t.items()}
                for k, per_t in result.pias[name].items()}
    iou = {pair: {t: _mean(v) for t, v in per_t.items()} for pair, per_t in result.ious[name].items()}
    f = {}
    for t in THRESHOLDS:
        kinds = [k for k in result.kinds if k in negative]
        auc_pias = {k: negative[k][t]["AUC_pIA"] for k in kinds}
        unmarked = {k: 1.0 - negative[k][t]["pIA"] for k in kinds}
        f[t] = {"AUC-AUC_pIA": {**{k: f_score(positive[t]["AUC"], v) for k, v in auc_pias.items()},
                                "negatives": f_score(positive[t]["AUC"], _mean(list(auc_pias.values())))},
                "cIoU-pIA": {**{k: f_score(positive[t]["cIoU"], v) for k, v in unmarked.items()},
                             "negatives": f_score(positive[t]["cIoU"], _mean(list(unmarked.values())))}}
    maxima = {audio: {"mean": _mean(v), "median": float(np.median(v)) if len(v) else float("nan"),
                      "n": len(v)} for audio, v in result.maxima[name].items()}
    return {"alpha": result.alphas[name], "n_positive": len(result.ids),
            "n_negative": {k: len(v) for k, v in result.kind_ids.items()},
            "positive": positive, "negative": negative, "iou": iou, "f_score": f, "maxima": maxima}


def score_paper_negative_audio(
    model: nn.Module,
    dataset,
    positive: TestSetScores,
    *,
    info: SampleInfo | None = None,
    object_net: nn.Module | None = None,
    alphas: Sequence[float] = PAPER_ALPHAS,
    kinds: Sequence[str] = NEGATIVE_KINDS,
    seed: int = NEGATIVE_SEED,
    universal: Mapping[str, float] | None = None,
    inputs: str = "ours",
    batch_size: int = 32,
    device: torch.device | str | None = None,
    progress: bool = False,
) -> PaperNegativeAudio:
    """Measure the sounding samples of ``positive`` as the paper does, with every negative audio.

    Two passes over the sounding images: the positive SLAVC maxima (for
    :func:`universal_thresholds`, unless ``universal`` gives them), then each image with its
    own audio and every negative audio at once, measured by :func:`sample_measures` for the
    SLAVC map and, with ``object_net``, for the blend with OGL at each alpha. The negatives are
    those of :func:`slavc_lite.evaluation.negative_audio.score_negative_audio` with the same
    ``seed`` (``offscreen`` needs ``info``; images without a partner have no off-screen map);
    ``inputs="reference"`` builds silence and noise as the paper's loader does (module docstring).
    """
    unknown = [k for k in kinds if k not in NEGATIVE_KINDS]
    if unknown:
        raise ValueError(f"unknown negative audio {unknown}; choose from {NEGATIVE_KINDS}")
    if inputs not in NEGATIVE_INPUTS:
        raise ValueError(f"inputs must be one of {NEGATIVE_INPUTS}, not {inputs!r}")
    sounding = positive.select(positive.sounding)
    if len(sounding) == 0:
        raise ValueError("the paper's measurement needs sounding samples (with boxes); the scores hold none")
    positions = sounding.indices.tolist()
    partners: dict[int, int] = {}
    if "offscreen" in kinds and info is not None and info.visible_classes:
        partners = offscreen_partners(dataset, positions, info, seed)
    kinds = [k for k in kinds if k != "offscreen" or partners]
    make = _replacement if inputs == "ours" else _reference_replacement
    replace = {k: make(k, dataset, partners, seed) for k in kinds}
    device = torch.device(device) if device is not None else _module_device(model)
    alpha_of: dict[str, float | None] = {map_name(None): None}
    if object_net is not None:
        alpha_of.update({map_name(a): float(a) for a in alphas})

    bar = None
    if progress:
        from slavc_lite.progress import tqdm

        bar = tqdm(total=2 * len(positions), desc="negative audio (the paper's measurement)", unit="pair")
    with _Modes(model, object_net), torch.inference_mode():
        if universal is None:
            found = []
            for batch in iterate_batches(dataset, batch_size, device=device, positions=positions):
                if len(batch["id"]):
                    found.append(grid_maxima(model, batch["image"], batch["spec"]).double().cpu().numpy())
                if bar is not None:
                    bar.update(len(batch["id"]))
            universal = universal_thresholds(np.concatenate(found))
            source = (f"mean (max), 1.1 x mean (max10) and 75th percentile (maxq3) of the "
                      f"{sum(map(len, found))} positive SLAVC maxima on the 7 x 7 grid")
        else:
            universal = {k: float(universal[k]) for k in ("max", "max10", "maxq3")}
            source = "given"
        result = PaperNegativeAudio(universal, source, alpha_of, list(kinds), inputs)
        for name in alpha_of:
            result.cious[name] = {t: [] for t in THRESHOLDS}
            result.pias[name] = {k: {t: [] for t in THRESHOLDS} for k in kinds}
            result.ious[name] = {}
            result.maxima[name] = {a: [] for a in (POSITIVE, *kinds)}
        result.kind_ids = {k: [] for k in kinds}
        for batch in iterate_batches(dataset, batch_size, device=device, positions=positions):
            if not len(batch["id"]):
                continue
            _measure_batch(model, object_net, batch, replace, partners, result)
            if bar is not None:
                bar.update(len(batch["id"]))
    if bar is not None:
        bar.close()
    return result


def _measure_batch(model, object_net, batch: dict, replace: dict, partners: Mapping[int, int],
                   result: PaperNegativeAudio) -> None:
    images = batch["image"]
    indices = [int(i) for i in batch["index"]]
    ogl = M.ogl_map(object_net(images)).float() if object_net is not None else None
    # {audio: (rows of the batch, 224 maps, grid maxima)}
    heard: dict[str, tuple[list[int], torch.Tensor, torch.Tensor]] = {}
    for audio in (POSITIVE, *result.kinds):
        rows = list(range(len(indices)))
        if audio == "offscreen":
            rows = [r for r, p in enumerate(indices) if p in partners]
            if not rows:
                continue
        if audio == POSITIVE:
            specs = batch["spec"]
        else:
            specs = replace[audio]({"spec": batch["spec"][rows], "index": [indices[r] for r in rows]})
        logits = model.localization_logits(images[rows], specs.to(images.device))
        heard[audio] = (rows, M.slavc_map(logits, model.tau).float(), _grid_max(logits, model.tau))
    gts = batch["gt_map"].float().cpu().numpy()
    for name, alpha in result.alphas.items():
        maps = {}
        for audio, (rows, slavc, grid_max) in heard.items():
            m = slavc if alpha is None else M.vsl_map(slavc, ogl[rows], alpha)
            maps[audio] = (rows, m.cpu().numpy())
            peaks = grid_max if alpha is None else m.flatten(1).max(1).values
            result.maxima[name][audio].extend(peaks.double().cpu().tolist())
        for r in range(len(indices)):
            negatives = {k: m[rows.index(r)] for k, (rows, m) in maps.items() if k != POSITIVE and r in rows}
            found = sample_measures(maps[POSITIVE][1][r], gts[r], negatives, result.universal,
                                    nan_as_zero=alpha is None)
            for t, v in found["cIoU"].items():
                result.cious[name][t].append(v)
            for k, per_t in found["pIA"].items():
                for t, v in per_t.items():
                    result.pias[name][k][t].append(v)
            for pair, per_t in found["IoU"].items():
                slot = result.ious[name].setdefault(pair, {t: [] for t in THRESHOLDS})
                for t, v in per_t.items():
                    slot[t].append(v)
    result.ids.extend(batch["id"])
    for k in result.kinds:
        if k in heard:
            result.kind_ids[k].extend(batch["id"][r] for r in heard[k][0])
