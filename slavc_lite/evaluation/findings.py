"""The review's findings, measured on the toy world's test split, each with a computed verdict.

The IPOL review of SLAVC (Juanola & Haro, 2024) draws its conclusions from examples
(Figures 4-9). The toy world knows every object of every test scene (``objects.json``: class,
role, box, and the loudness of each sounding object's own sound), so each conclusion can be
measured over all scenes of its kind. For every map (SLAVC, OGL, VSL, the centre prior and the
ground truth on the 7 x 7 grid) we record, per scene, the **coverage** of every object: the
share of its box inside the map's official relative prediction (the top 50% of the pixels).

* **silent objects** (``silent`` scenes): mean coverage of the sounding box and of the silent
  one. A map that hears prefers the sounding object; OGL, which never hears, cannot.
* **the object prior across alpha**: VSL = alpha * SLAVC + (1 - alpha) * OGL (Eq. 7) at
  :data:`ALPHAS`, mean cIoU on the scenes where the sounding objects are the salient ones
  (``single alone``, ``same_type``) and on those with salient silent objects (``single+silent``,
  ``silent``); the review (section 5.4) expects OGL to help on the first and to hurt on the second.
* **mixtures**: coverage of the louder and of the quieter source (by the active RMS of each
  source in the clip): is the quieter one "masked by volume"?
* **same type**: mean coverage of every instance, and the share of scenes in which every
  instance is at least half covered.
* **small objects**: the top-50% rule marks half of the frame, so a box of ``|G|`` pixels
  caps cIoU at ``|G| / (n / 2)`` for any map, the oracle included; we report that cap.
* **non-sounding pairs** (``offscreen``, ``silence``, ``noise``): the share of confident maps
  (from the hard-case tables, at each map's max-F1 threshold).

Each finding comes with a one-line verdict written from the numbers (never typed).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from slavc_lite.evaluation.inference import batch_cious, relative_masks
from slavc_lite.ground_truth import vggss_boxes_to_pixels

__all__ = [
    "ALPHAS",
    "FINDING_MAPS",
    "OBJECTS_FILE",
    "CoverageRecorder",
    "box_coverage",
    "findings",
    "read_objects",
]

OBJECTS_FILE = "objects.json"
FINDING_MAPS = ("slavc", "ogl", "vsl", "center", "grid_oracle")
ALPHAS = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0)
PREFERENCE_MARGIN = 0.05
"""Smallest difference of mean coverage (sounding box minus silent box) that the silent-objects
verdict calls a preference; closer than that, a map "covers both about equally"."""
SALIENT_SOUNDING = ("single alone", "same_type")
SALIENT_SILENT = ("single+silent", "silent")


def read_objects(folder: str | os.PathLike) -> dict[str, list[dict]]:
    """The toy world's ``objects.json`` of an evaluation split (``{id: [object, ...]}``)."""
    path = Path(folder) / OBJECTS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no objects file (a toy world written by slavc-lite 0.x before the "
            "findings existed? regenerate it with `slavc-lite data toy --overwrite`)"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def box_coverage(mask: torch.Tensor, box: Sequence[float]) -> float:
    """Share of the pixels of the normalised ``box`` (official pixel conversion) where ``mask``
    is true; NaN for an empty box."""
    ((x0, y0, x1, y1),) = vggss_boxes_to_pixels([list(box)], mask.shape[-1])
    region = mask[y0:y1, x0:x1]
    return float(region.float().mean()) if region.numel() else float("nan")


class CoverageRecorder:
    """A ``score_test_set(on_batch=...)`` callback: per map and scene, the coverage of every
    object by the map's relative prediction, and the cIoU of VSL at every alpha of ``alphas``."""

    def __init__(
        self,
        objects: Mapping[str, list[dict]],
        maps: Sequence[str] = FINDING_MAPS,
        alphas: Sequence[float] = ALPHAS,
        pred_size: float = 0.5,
    ) -> None:
        self.objects = objects
        self.maps = tuple(maps)
        self.alphas = tuple(alphas)
        self.pred_size = pred_size
        self.coverage: dict[str, dict[str, list[float]]] = {m: {} for m in self.maps}
        self.alpha_cious: dict[float, dict[str, float]] = {a: {} for a in self.alphas}

    def __call__(self, batch: dict, maps: Mapping[str, torch.Tensor]) -> None:
        ids = list(batch["id"])
        for name in self.maps:
            if name not in maps:
                continue
            masks = relative_masks(maps[name], self.pred_size).cpu()
            for k, sample in enumerate(ids):
                self.coverage[name][sample] = [
                    box_coverage(masks[k], o["box"]) for o in self.objects.get(sample, [])
                ]
        if "slavc" in maps and "ogl" in maps:
            gt = batch["gt_map"]
            for alpha in self.alphas:
                blended = alpha * maps["slavc"] + (1.0 - alpha) * maps["ogl"]
                cious = batch_cious(relative_masks(blended, self.pred_size), gt)
                self.alpha_cious[alpha].update(zip(ids, cious.tolist(), strict=True))


def _mean(values: Sequence[float]) -> float:
    v = np.asarray(values, dtype=np.float64)
    return float(np.nanmean(v)) if v.size and np.isfinite(v).any() else float("nan")


def _covered(recorder: CoverageRecorder, name: str, sample: str, role: str) -> list[tuple[dict, float]]:
    """``(object, coverage by map name)`` of the objects of one scene that have ``role``."""
    return [(o, c) for o, c in zip(recorder.objects.get(sample, []), recorder.coverage[name].get(sample, []),
                                   strict=False) if o["role"] == role]


def _by_role(recorder: CoverageRecorder, name: str, ids: Sequence[str], role: str) -> list[float]:
    return [c for i in ids for _, c in _covered(recorder, name, i, role)]


def _preference(coverage: Mapping[str, float]) -> str:
    """Which box a map covers more, with :data:`PREFERENCE_MARGIN`."""
    gap = coverage["sounding"] - coverage["silent"]
    if gap > PREFERENCE_MARGIN:
        return "prefers the sounding object"
    if gap < -PREFERENCE_MARGIN:
        return "prefers the silent object"
    return "covers both about equally"


def _silent(recorder: CoverageRecorder, ids: Sequence[str]) -> dict[str, Any]:
    rows = {
        m: {
            "sounding": _mean(_by_role(recorder, m, ids, "sounding")),
            "silent": _mean(_by_role(recorder, m, ids, "silent")),
        }
        for m in recorder.maps
    }
    s, o = rows.get("slavc"), rows.get("ogl")
    verdict = ""
    if s and o:
        verdict = (
            f"silent objects ({len(ids)} scenes): SLAVC covers {s['sounding']:.2f} of the sounding box and "
            f"{s['silent']:.2f} of the silent one, OGL {o['sounding']:.2f} and {o['silent']:.2f}: SLAVC "
            f"{_preference(s)}, OGL {_preference(o)} (a preference: a gap above {PREFERENCE_MARGIN})."
        )
    return {"n": len(ids), "coverage": rows, "verdict": verdict}


def _alpha(recorder: CoverageRecorder, groups: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    curves = {
        g: {
            a: _mean([recorder.alpha_cious[a][i] for i in ids if i in recorder.alpha_cious[a]])
            for a in recorder.alphas
        }
        for g, ids in groups.items()
    }
    parts = []
    for g, curve in curves.items():
        alone = curve.get(1.0, float("nan"))
        best = max(curve, key=lambda a: -np.inf if np.isnan(curve[a]) else curve[a])
        effect = "helps" if curve[best] > alone and best < 1.0 else "does not help"
        parts.append(
            f"on {g} scenes OGL {effect} (best alpha {best:g}: cIoU {curve[best]:.3f}; "
            f"SLAVC alone {alone:.3f})"
        )
    return {
        "alphas": list(recorder.alphas),
        "cIoU": {g: [curve[a] for a in recorder.alphas] for g, curve in curves.items()},
        "verdict": "the object prior across alpha: " + "; ".join(parts) + ".",
    }


def _mixture(recorder: CoverageRecorder, ids: Sequence[str]) -> dict[str, Any]:
    rows = {}
    for m in recorder.maps:
        louder, quieter = [], []
        for i in ids:
            pairs = [(o["level"], c) for o, c in _covered(recorder, m, i, "sounding")]
            if len(pairs) == 2:
                (la, ca), (lb, cb) = sorted(pairs, key=lambda p: -p[0])
                louder.append(ca)
                quieter.append(cb)
        rows[m] = {"louder": _mean(louder), "quieter": _mean(quieter)}
    s = rows.get("slavc", {})
    verdict = ""
    if s:
        verdict = (
            f"mixtures ({len(ids)} scenes): SLAVC covers {s['louder']:.2f} of the louder source's box and "
            f"{s['quieter']:.2f} of the quieter one's: the quieter source is "
            f"{'less covered (masked by volume)' if s['louder'] > s['quieter'] else 'not less covered'}."
        )
    return {"n": len(ids), "coverage": rows, "verdict": verdict}


def _same_type(recorder: CoverageRecorder, ids: Sequence[str]) -> dict[str, Any]:
    rows = {}
    for m in recorder.maps:
        per_scene = [[c for _, c in _covered(recorder, m, i, "sounding")] for i in ids]
        rows[m] = {
            "instance": _mean([c for s in per_scene for c in s]),
            "all_half_covered": _mean([float(all(c >= 0.5 for c in s)) for s in per_scene if s]),
        }
    s = rows.get("slavc", {})
    verdict = ""
    if s:
        verdict = (
            f"same type ({len(ids)} scenes): SLAVC covers {s['instance']:.2f} of each instance's box on "
            f"average, and covers every instance at least half in {s['all_half_covered']:.0%} of the scenes."
        )
    return {"n": len(ids), "coverage": rows, "verdict": verdict}


def _small(areas: np.ndarray, oracle_cious: np.ndarray | None, n_pixels: int) -> dict[str, Any]:
    cap = float(np.mean(np.minimum(1.0, areas / (n_pixels // 2)))) if areas.size else float("nan")
    oracle = _mean(oracle_cious) if oracle_cious is not None else float("nan")
    return {
        "n": int(areas.size),
        "mean_cap": cap,
        "oracle_cIoU": oracle,
        "verdict": (
            f"small objects ({areas.size} scenes): the top-50% rule marks half of the frame, so "
            f"cIoU cannot exceed |G| / (n / 2), {cap:.3f} on average here, for any map, the oracle "
            f"included (oracle {oracle:.3f})."
        ),
    }


def _negatives(hard_cases: Mapping[str, Any], maps: Sequence[str]) -> dict[str, Any]:
    kinds = ("offscreen", "silence", "noise")
    rows = {
        m: {k: hard_cases[m]["rows"][k]["confident_share"] for k in kinds if k in hard_cases[m]["rows"]}
        for m in maps
        if m in hard_cases
    }
    parts = [f"{m} {', '.join(f'{k} {v:.0%}' for k, v in r.items())}" for m, r in rows.items() if r]
    return {
        "confident_share": rows,
        "verdict": "non-sounding pairs, share of confident maps (max-F1 threshold of each map): "
        + "; ".join(parts)
        + ".",
    }


def findings(
    recorder: CoverageRecorder,
    kinds: Mapping[str, str],
    groups: Mapping[str, str],
    hard_cases: Mapping[str, Any],
    areas: Mapping[str, float],
    oracle_cious: Mapping[str, float] | None = None,
    n_pixels: int = 224 * 224,
) -> dict[str, Any]:
    """Every finding of the module docstring, each with its numbers and its ``verdict``.

    Args:
        recorder: the coverage recorded while scoring.
        kinds: ``{id: kind}``; groups: ``{id: "single+silent" or "single alone"}``.
        hard_cases: the hard-case tables (for the non-sounding pairs).
        areas: ``{id: ground-truth area in pixels}``; oracle_cious: ``{id: the oracle's cIoU}``.
    """

    def ids_of(*names: str) -> list[str]:
        return [i for i in kinds if kinds[i] in names or groups.get(i) in names]

    small = ids_of("small")
    out = {
        "silent": _silent(recorder, ids_of("silent")),
        "alpha": _alpha(
            recorder,
            {"salient sounding": ids_of(*SALIENT_SOUNDING), "salient silent": ids_of(*SALIENT_SILENT)},
        ),
        "mixture": _mixture(recorder, ids_of("mixture")),
        "same_type": _same_type(recorder, ids_of("same_type")),
        "small": _small(
            np.array([areas[i] for i in small if i in areas]),
            None if oracle_cious is None else np.array([oracle_cious[i] for i in small if i in oracle_cious]),
            n_pixels,
        ),
        "negatives": _negatives(hard_cases, recorder.maps),
    }
    return out
