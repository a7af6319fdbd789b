"""Negative audio: does a map tell a sounding image from one whose sound is not in it?

After X. Juanola et al., "A Critical Assessment of Visual Sound Source Localization Models
Including Negative Audio" (2024). The
official benchmark only asks *where* the sound is, with a per-image relative threshold (top
50% of each map) that always finds something. That paper evaluates each sounding image also
with negative audio, whose source is not visible:

* ``silence``: digital silence (all zeros) through the official audio front end;
* ``noise``: white Gaussian noise, RMS :data:`NOISE_RMS` (seeded per sample);
* ``offscreen``: the audio of another test sample whose class is not in the image (toy
  world: ``scenes.csv`` classes; VGG-SS: the ``class`` of ``vggss.json``).

and asks for a single, universal threshold on the map values: a model that hears must give
maps whose values are high for positive audio and low for negative audio.

**The paper's measurement** (cIoU at fixed and adaptive thresholds, pIA, AUC_pIA, the IoU of
two audios' maps, the F-score, the universal thresholds ``max``, ``max10``, ``maxq3``) is
computed as their code computes it in :mod:`slavc_lite.evaluation.negative_audio_reference`
and importable from here: :func:`ciou_at`, :func:`ciou_adaptive`, :func:`pia`,
:func:`auc_pia`, :func:`map_iou`, :func:`f_score`, :func:`universal_thresholds`, ...; the
paper's tables for a model (SLAVC alone and with OGL, every threshold, every negative kind of
this module) are :mod:`slavc_lite.evaluation.paper_negative_audio`.

**Our extras**, measured our own way and not numbers of the paper, per map:

* the distribution of the maximum map value (summary statistics and histogram counts) for
  positive audio and each kind of negative audio (:func:`peak_distributions`; the paper
  draws these distributions, its thresholds come from :func:`universal_thresholds`);
* a universal threshold on that maximum, chosen to maximise the balanced accuracy of
  "sounding" (max >= threshold) for positive vs "silent" for negative audio, with the
  detection accuracies at it, and the threshold-free detection AUC (probability that a
  positive maximum exceeds a negative one) (:func:`universal_threshold`). The threshold is
  chosen on the evaluated set itself, so the accuracies are optimistic: an upper bound;
* the cIoU of the absolute prediction (pixels ``>= 0.5``, :func:`slavc_lite.maps.absolute_prediction`)
  for positive audio, and the share of pixels it marks for negative audio (ideally none).

The OGL map never hears the audio: its distributions are identical for every audio, which
makes it the reference of a map that cannot tell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import stats

from slavc_lite import metrics
from slavc_lite.audio import HOP, NPERSEG, SAMPLE_RATE, load_spectrogram, log_spectrogram
from slavc_lite.audio import normalize_log_spectrogram as scale_spectrogram
from slavc_lite.evaluation.inference import TestSetScores, score_test_set
from slavc_lite.evaluation.negative_audio_reference import (
    CURVE_THRESHOLDS,
    adaptive_threshold,
    auc_ciou,
    auc_pia,
    binarize,
    ciou_adaptive,
    ciou_at,
    f_score,
    map_iou,
    median_threshold,
    pia,
    universal_thresholds,
)
from slavc_lite.evaluation.testsets import SampleInfo

__all__ = [
    # the paper's measurement (negative_audio_reference)
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
    # negative audio and our extras
    "NEGATIVE_KINDS",
    "NOISE_RMS",
    "HISTOGRAM_BINS",
    "NegativeAudioResult",
    "noise_spectrogram",
    "offscreen_partners",
    "peak_distributions",
    "score_negative_audio",
    "negative_audio_table",
    "silence_spectrogram",
    "universal_threshold",
]

NEGATIVE_KINDS = ("silence", "noise", "offscreen")
#: RMS of the white-noise negative (the toy world's noise scenes use 0.05 - 0.15).
NOISE_RMS = 0.1
HISTOGRAM_BINS = 30
NEGATIVE_SEED = 0


def _waveform_length(frames: int) -> int:
    """Samples that give ``frames`` spectrogram frames (segments of 512 with hop 238)."""
    return (frames - 1) * HOP + NPERSEG


def silence_spectrogram(frames: int) -> torch.Tensor:
    """``[1, 257, frames]``: the official front end (log, / 12) applied to digital silence."""
    spec = log_spectrogram(np.zeros(_waveform_length(frames)), SAMPLE_RATE)
    return torch.from_numpy(scale_spectrogram(spec)).float()[None]


def noise_spectrogram(frames: int, index: int, seed: int = NEGATIVE_SEED,
                      rms: float = NOISE_RMS) -> torch.Tensor:
    """``[1, 257, frames]`` of white Gaussian noise of RMS ``rms``, clipped to [-1, 1] like the
    official reader, seeded from ``(seed, index)``."""
    rng = np.random.default_rng([int(seed), int(index)])
    wave = np.clip(rng.normal(0.0, rms, _waveform_length(frames)), -1.0, 1.0)
    return torch.from_numpy(scale_spectrogram(log_spectrogram(wave, SAMPLE_RATE))).float()[None]


def offscreen_partners(
    dataset, positions: Sequence[int], info: SampleInfo, seed: int = NEGATIVE_SEED
) -> dict[int, int]:
    """For each position, another dataset position whose heard classes are not in this frame.

    Candidates are samples whose audio classes are known and non-empty (not silence or
    noise) and disjoint from the frame's visible classes; one is drawn from a generator
    seeded with ``(seed, position)``. Positions whose frame has no known classes, or with no
    candidate, get no partner.
    """
    audio = [info.audio_classes.get(a, frozenset()) for a in dataset.audio_ids]
    partners: dict[int, int] = {}
    for p in positions:
        visible = info.visible_classes.get(dataset.ids[p])
        if not visible:
            continue
        order = np.random.default_rng([int(seed), int(p)]).permutation(len(audio))
        for q in order:
            if q != p and audio[q] and not (audio[q] & visible):
                partners[int(p)] = int(q)
                break
    return partners


def _spectrogram_of(dataset, position: int) -> torch.Tensor:
    """The ``[1, 257, T]`` spectrogram of one sample's own audio (per-sample or cached dataset)."""
    if hasattr(dataset, "audio_path"):
        return load_spectrogram(dataset.audio_path(position), dataset.audio_seconds, dataset.sample_rate)
    return torch.from_numpy(dataset.cache.specs[dataset.rows[position]].astype(np.float32))[None]


def _replacement(kind: str, dataset, partners: Mapping[int, int],
                 seed: int) -> Callable[[dict], torch.Tensor]:
    def replace(batch: dict) -> torch.Tensor:
        frames = batch["spec"].shape[-1]
        positions = [int(i) for i in batch["index"]]
        if kind == "silence":
            specs = [silence_spectrogram(frames)] * len(positions)
        elif kind == "noise":
            specs = [noise_spectrogram(frames, p, seed) for p in positions]
        else:
            specs = [_spectrogram_of(dataset, partners[p]) for p in positions]
        return torch.stack(specs).to(batch["spec"].device)

    return replace


@dataclass
class NegativeAudioResult:
    """Scores of the sounding samples with their own audio and with each negative audio.

    Attributes:
        positive: the sounding samples with their own audio.
        negatives: ``{kind: scores}`` of the same frames with ``silence``, ``noise`` or
            ``offscreen`` audio (``offscreen`` holds only the frames that got a partner).
        offscreen_audio: ``{frame id: audio id}`` of the off-screen pairs.
        noise_rms, seed: how the negatives were made.
    """

    positive: TestSetScores
    negatives: dict[str, TestSetScores]
    offscreen_audio: dict[str, str] = field(default_factory=dict)
    noise_rms: float = NOISE_RMS
    seed: int = NEGATIVE_SEED

    @property
    def maps(self) -> list[str]:
        return [m for m in self.positive.maps if all(m in s.peaks for s in self.negatives.values())]

    def table(self, map_name: str = "slavc") -> dict:
        """:func:`negative_audio_table` of one map."""
        return negative_audio_table(self, map_name)


def score_negative_audio(
    model: torch.nn.Module,
    dataset,
    positive: TestSetScores,
    *,
    info: SampleInfo | None = None,
    object_net: torch.nn.Module | None = None,
    alpha: float = 0.9,
    kinds: Sequence[str] = NEGATIVE_KINDS,
    seed: int = NEGATIVE_SEED,
    batch_size: int = 32,
    device: torch.device | str | None = None,
    progress: bool = False,
) -> NegativeAudioResult:
    """Score the sounding samples of ``positive`` again with each kind of negative audio.

    ``positive`` are the scores of ``dataset`` with its own audio (e.g. from
    :func:`score_test_set`); its sounding samples are re-scored with the same networks and
    ``alpha``. ``offscreen`` needs ``info`` with classes (:func:`sample_info`); without it, or
    without any partner, it is left out.
    """
    unknown = [k for k in kinds if k not in NEGATIVE_KINDS]
    if unknown:
        raise ValueError(f"unknown negative audio {unknown}; choose from {NEGATIVE_KINDS}")
    sounding = positive.select(positive.sounding)
    if len(sounding) == 0:
        raise ValueError("negative audio needs sounding samples (with boxes); the scores hold none")
    positions = sounding.indices.tolist()
    negatives: dict[str, TestSetScores] = {}
    offscreen_audio: dict[str, str] = {}
    for kind in kinds:
        partners: dict[int, int] = {}
        chosen = positions
        if kind == "offscreen":
            if info is None or not info.visible_classes:
                continue
            partners = offscreen_partners(dataset, positions, info, seed)
            chosen = sorted(partners)
            if not chosen:
                continue
            offscreen_audio = {dataset.ids[p]: dataset.audio_ids[q] for p, q in partners.items()}
        scores = score_test_set(
            model, dataset, object_net=object_net, alpha=alpha, batch_size=batch_size, device=device,
            positions=chosen, progress=progress, replace_audio=_replacement(kind, dataset, partners, seed))
        # what was heard: the partner's audio id, or the name of the synthetic sound
        scores.audio_ids = [dataset.audio_ids[partners[int(p)]] if kind == "offscreen" else kind
                            for p in scores.indices]
        negatives[kind] = scores
    return NegativeAudioResult(sounding, negatives, offscreen_audio, NOISE_RMS, seed)


# ------------------------------------------------------------------------------ statistics


def _stats(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {"n": 0}
    q25, median, q75 = np.percentile(values, [25, 50, 75])
    return {"n": int(values.size), "mean": float(values.mean()), "std": float(values.std()),
            "min": float(values.min()), "q25": float(q25), "median": float(median), "q75": float(q75),
            "max": float(values.max())}


def peak_distributions(result: NegativeAudioResult, map_name: str = "slavc",
                       bins: int = HISTOGRAM_BINS) -> dict:
    """Summary statistics and histogram counts (shared bin edges) of the maximum map value,
    for ``positive`` audio and each negative kind."""
    groups = {"positive": result.positive.peaks[map_name],
              **{k: s.peaks[map_name] for k, s in result.negatives.items()}}
    everything = np.concatenate(list(groups.values()))
    low, high = float(everything.min()), float(everything.max())
    if high <= low:
        high = low + 1e-6
    edges = np.linspace(low, high, bins + 1)
    return {"stats": {k: _stats(v) for k, v in groups.items()},
            "histogram": {"edges": edges.tolist(),
                          "counts": {k: np.histogram(v, edges)[0].tolist() for k, v in groups.items()}}}


def universal_threshold(positive: np.ndarray, negative: np.ndarray) -> dict[str, float]:
    """Our extra: one threshold on a score for all samples, "sounding" when ``score >= threshold``
    (not the paper's :func:`universal_thresholds`).

    Chosen among the observed values to maximise the balanced accuracy
    ``(TPR + TNR) / 2``, ``TPR = mean(positive >= t)``, ``TNR = mean(negative < t)`` (ties:
    the lowest such threshold). Also the detection AUC, ``P(positive > negative)`` with ties
    counting half (the Mann-Whitney statistic over ``n_pos * n_neg``).
    """
    pos = np.asarray(positive, dtype=np.float64)
    neg = np.asarray(negative, dtype=np.float64)
    if pos.size == 0 or neg.size == 0:
        return {"threshold": float("nan"), "positive_accuracy": float("nan"),
                "negative_accuracy": float("nan"), "balanced_accuracy": float("nan"),
                "detection_auc": float("nan")}
    candidates = np.unique(np.concatenate([pos, neg]))
    candidates = np.append(candidates, np.inf)  # "nothing is sounding"
    pos_sorted, neg_sorted = np.sort(pos), np.sort(neg)
    true_pos = pos.size - np.searchsorted(pos_sorted, candidates, side="left")
    true_neg = np.searchsorted(neg_sorted, candidates, side="left")
    # integer numerator of the balanced accuracy: exact ties, so the lowest threshold wins
    best = int(np.argmax(true_pos * neg.size + true_neg * pos.size))
    tpr, tnr = true_pos / pos.size, true_neg / neg.size
    balanced = (tpr + tnr) / 2
    u = stats.mannwhitneyu(pos, neg, alternative="two-sided").statistic
    return {"threshold": float(candidates[best]), "positive_accuracy": float(tpr[best]),
            "negative_accuracy": float(tnr[best]), "balanced_accuracy": float(balanced[best]),
            "detection_auc": float(u / (pos.size * neg.size))}


def negative_audio_table(result: NegativeAudioResult, map_name: str = "slavc") -> dict:
    """The negative-audio numbers of one map (plain floats, JSON-ready).

    ``universal``: :func:`universal_threshold` of the maxima, positive vs all negatives, with
    the negative accuracy per kind at that threshold and ``localized_accuracy``: the share of
    positive samples detected *and* localised (absolute-mode cIoU >= 0.5).
    ``absolute``: positive audio's mean absolute-mode cIoU and its AUC; per negative kind the
    mean share of pixels marked and the share of samples with nothing marked.
    """
    pos = result.positive
    negs = result.negatives
    pos_peaks = pos.peaks[map_name]
    all_neg = np.concatenate([s.peaks[map_name] for s in negs.values()]) if negs else np.empty(0)
    universal = universal_threshold(pos_peaks, all_neg)
    thr = universal["threshold"]
    universal["negative_accuracy_per_kind"] = {k: float(np.mean(s.peaks[map_name] < thr))
                                               for k, s in negs.items()}
    abs_ciou = pos.absolute_cious[map_name]
    universal["localized_accuracy"] = float(np.mean((pos_peaks >= thr) & (abs_ciou >= 0.5)))
    absolute = {
        "threshold": pos.absolute_threshold,
        "positive": {"cIoU": float(np.nanmean(abs_ciou)), "AUC": metrics.auc(abs_ciou),
                     "marked_share": float(np.mean(pos.absolute_shares[map_name]))},
        **{k: {"marked_share": float(np.mean(s.absolute_shares[map_name])),
               "nothing_marked": float(np.mean(s.absolute_shares[map_name] == 0))} for k, s in negs.items()},
    }
    return {"n_positive": len(pos), "n_negative": {k: len(s) for k, s in negs.items()},
            "universal": universal, "absolute": absolute,
            "peaks": peak_distributions(result, map_name)}
