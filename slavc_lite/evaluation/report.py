"""The evaluation report: the same numbers as JSON (``metrics.json``) and markdown (``metrics.md``).

``metrics.json`` holds, at the top level, one dict per map with the numbers of the ``all``
subset (``n``, ``cIoU``, ``AUC``, ``AP``, ``max-F1``, ``Precision``, the official metrics of
:func:`slavc_lite.metrics.summary`) for ``slavc``, ``ogl``, ``vsl`` and the baselines
(``center``, ``random``, ``oracle``, ``grid_oracle``), then ``tables`` (every size subset of every map),
``hard_cases`` (toy world), ``negative_audio_paper`` (the negative-audio tables of Juanola,
Haro and Fuentes, :mod:`slavc_lite.evaluation.paper_negative_audio`), ``negative_audio`` (our
extra negative-audio views) and ``config``. NaN (a metric without
samples) is written as ``null``. Both files are written atomically (:mod:`slavc_lite.atomic_files`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from slavc_lite.atomic_files import atomic_write_text
from slavc_lite.metrics import SUBSETS

__all__ = ["MAP_LABELS", "METRICS", "PAPER_THRESHOLD_LABELS", "json_safe", "main_table", "markdown_report",
           "paper_map_caption", "paper_table_rows", "write_report"]

METRICS = ("cIoU", "AUC", "AP", "max-F1", "Precision")
MAP_LABELS = {
    "slavc": "SLAVC (Eq. 6, audio-visual)",
    "ogl": "OGL (Eq. 5, object prior, no audio)",
    "vsl": "VSL (Eq. 7, alpha * SLAVC + (1 - alpha) * OGL)",
    "center": "centre prior (baseline)",
    "random": "random map (baseline, seeded)",
    "oracle": "oracle from the ground truth (upper bound)",
    "grid_oracle": "the ground truth on the networks' 7 x 7 grid (their practical ceiling)",
}
#: Maps whose hard-case tables metrics.md shows (metrics.json holds every map's).
HARD_CASE_MAPS = ("slavc", "ogl", "vsl")
JSON_FILE = "metrics.json"
MARKDOWN_FILE = "metrics.md"


def json_safe(value: Any) -> Any:
    """Plain JSON types, NaN/inf as None, numpy scalars as Python numbers, tuples as lists."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def main_table(tables: Mapping[str, Mapping[str, Mapping[str, float]]]) -> dict[str, dict[str, float]]:
    """``{map: numbers of the "all" subset}`` from ``{map: official table}``."""
    return {name: dict(table["all"]) for name, table in tables.items()}


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    return f"{x:.{digits}f}"


def _fmt_value(x: Any) -> str:
    """A raw score (threshold, map value): 4 significant digits."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.4g}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _label(name: str, alpha: Any) -> str:
    label = MAP_LABELS.get(name, name)
    if name == "vsl" and alpha is not None:
        label = f"VSL (Eq. 7, alpha = {alpha:g})"
    return f"`{name}`: {label}"


def _hard_case_section(hard_cases: Mapping[str, Any]) -> list[str]:
    lines = ["## Hard cases (toy world)", "",
             "Per scene kind (`scenes.csv`). With boxes: mean cIoU, AUC, share with cIoU >= 0.5, "
             "pointing game (share of maps whose maximum is in a box) and median contrast (mean "
             "inside the boxes minus mean outside, on the map's own scale). "
             "Always: mean confidence and the share of confident predictions (confidence >= the "
             "stated threshold, the map's max-F1 operating point); without boxes every confident "
             "prediction is a false positive. The tables of the baselines are in metrics.json.", ""]
    for name, table in hard_cases.items():
        if name not in HARD_CASE_MAPS:
            continue
        lines += [f"### {name} (confidence threshold {_fmt_value(table['confidence_threshold'])})", ""]
        rows = [[kind, _fmt(r["n"]), _fmt(r["has_boxes"]), _fmt(r.get("cIoU")), _fmt(r.get("AUC")),
                 _fmt(r.get("cIoU@0.5")), _fmt(r.get("pointing")), _fmt(r.get("contrast")),
                 _fmt(r["confidence"]), _fmt(r["confident_share"]),
                 _fmt(r.get("false_positive_rate"))] for kind, r in table["rows"].items()]
        lines += _table(["kind", "n", "boxes", "cIoU", "AUC", "cIoU@0.5", "pointing", "contrast",
                         "mean conf.", "confident", "false-positive rate"], rows)
        lines.append("")
    return lines


def _findings_section(found: Mapping[str, Any], alpha: Any) -> list[str]:
    lines = ["## The review's findings (toy world)", "",
             "Measured over every test scene of each kind (coverage: the share of an object's box "
             "inside the map's relative prediction); each verdict is written from the numbers. "
             f"VSL in the coverage tables at alpha = {_fmt_value(alpha)}.", ""]
    lines += [f"* {f['verdict']}" for f in found.values() if f.get("verdict")]
    alpha_rows = found.get("alpha", {})
    if alpha_rows:
        lines += ["", "VSL cIoU against alpha (alpha = 1: SLAVC alone, 0: OGL alone):", ""]
        header = ["scenes", *(f"{a:g}" for a in alpha_rows["alphas"])]
        rows = [[g, *(_fmt(v) for v in values)] for g, values in alpha_rows["cIoU"].items()]
        lines += _table(header, rows)
    lines.append("")
    return lines


#: Names of the thresholds in the paper's tables.
PAPER_THRESHOLD_LABELS = {"0.5": "0.5", "max": "max", "max10": "max10", "maxq3": "maxq3",
                          "median": "median (per image)", "adap": "adap (per image)"}


def _pct(x: Any) -> str:
    """A fraction in percent with 2 decimals, as the paper prints its numbers."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{100 * x:.2f}"


def paper_map_caption(name: str, alpha: Any, checkpoint: Any) -> str:
    """Caption of one map's tables: which map, its alpha, and the checkpoint."""
    what = ("SLAVC alone, without OGL" if alpha is None
            else f"with OGL: VSL = {alpha:g} * SLAVC + {1 - alpha:g} * OGL (alpha = {alpha:g})")
    return f"`{name}`: {what}; checkpoint {checkpoint}"


def paper_table_rows(table: Mapping[str, Any], thresholds: Mapping[str, Any],
                     kinds: list[str]) -> tuple[list[str], list[list[str]]]:
    """Header and rows (percent) of the positive / negative / F-score table of one map."""
    header = ["threshold", "value", "cIoU", "AUC",
              *[f"{m} {k}" for k in kinds for m in ("pIA", "AUC_pIA")],
              "F(AUC, AUC_pIA)", "F(cIoU, 100-pIA)"]
    rows = []
    for t, label in PAPER_THRESHOLD_LABELS.items():
        if t not in table["positive"]:
            continue
        pos = table["positive"][t]
        neg = [table["negative"].get(k, {}).get(t, {}) for k in kinds]
        f = table["f_score"][t]
        value = _fmt_value(thresholds[t]) if t in thresholds else ("0.5" if t == "0.5" else "per image")
        rows.append([label, value, _pct(pos["cIoU"]), _pct(pos["AUC"]),
                     *[_pct(n.get(m)) for n in neg for m in ("pIA", "AUC_pIA")],
                     _pct(f["AUC-AUC_pIA"]["negatives"]), _pct(f["cIoU-pIA"]["negatives"])])
    return header, rows


def _paper_section(paper: Mapping[str, Any], checkpoint: Any) -> list[str]:
    u = paper["universal_thresholds"]
    kinds = list(paper["kinds"])
    lines = ["## Negative audio: the paper's metrics", "",
             "Measured as Juanola, Haro and Fuentes measure it (\"A Critical Assessment of Visual Sound "
             "Source Localization Models Including Negative Audio\", ICASSP 2025, arXiv:2410.01020; "
             "their code xavijuanola/vssl_eval), so the numbers can stand beside theirs. In percent, as "
             "the paper prints them. Every sounding image is scored with its own audio (positive: cIoU, "
             "AUC) and with each negative audio (pIA: share of the image marked, AUC_pIA: area under "
             "\"share of images with pIA <= t\", the paper's AOC); maps are binarised with `value > "
             "threshold`. F(AUC, AUC_pIA) and F(cIoU, 100-pIA) are the harmonic means against the mean "
             "over the negative kinds; the paper reports them at maxq3 for the map without OGL.", "",
             "Negative inputs: " + ("silence and noise through the official audio front end, as our "
                                    "extra views" if paper.get("inputs", "ours") == "ours" else
                                    "silence and noise built as the paper's data loader builds them "
                                    "(spectrograms not logged)") + ".", "",
             f"Universal thresholds: max = {_fmt_value(u.get('max'))}, max10 = {_fmt_value(u.get('max10'))}, "
             f"maxq3 = {_fmt_value(u.get('maxq3'))} ({paper.get('universal_source', '')}); the same "
             "thresholds for the maps with OGL, as the paper's code does. `median` and `adap` are per "
             "image, from its positive map (the official top-50% threshold, and the one that marks as "
             "many pixels as the ground truth has).", ""]
    for name, table in paper["maps"].items():
        caption = paper_map_caption(name, table["alpha"], checkpoint)
        counts = ", ".join(f"{k} {n}" for k, n in table["n_negative"].items())
        lines += [f"### {caption}", "",
                  f"Positive audio and each negative audio ({table['n_positive']} images; {counts}):", ""]
        header, rows = paper_table_rows(table, u, kinds)
        lines += _table(header, rows)
        pairs = list(table["iou"])
        lines += ["", f"Map IoU between the binarised maps of two audios of one image ({caption}):", ""]
        rows = [[label, *[_pct(table["iou"][p].get(t)) for p in pairs]]
                for t, label in PAPER_THRESHOLD_LABELS.items()]
        lines += _table(["threshold", *pairs], rows)
        lines.append("")
    return lines


def _negative_section(negative: Mapping[str, Any]) -> list[str]:
    tables = negative["maps"]
    lines = ["## Negative audio: our extra views (not the paper's metrics)", "",
             "Each sounding image scored again with silence, white noise "
             f"(RMS {_fmt(negative.get('noise_rms'), 2)}) and off-screen audio (another sample's sound "
             "whose class is not in the image), after Juanola et al. (2024), \"A Critical Assessment of "
             "Visual Sound Source Localization Models Including Negative Audio\". One universal threshold "
             "on the maximum map value separates positive from negative audio (chosen on this set to "
             "maximise the balanced accuracy: an upper bound); detection AUC = P(max for positive audio > "
             "max for negative audio). Absolute mode: pixels >= 0.5 are predicted sounding.", ""]
    kinds = list(next(iter(tables.values()))["n_negative"]) if tables else []
    header = ["map", "threshold", "positive acc.", *[f"{k} acc." for k in kinds], "balanced acc.",
              "detection AUC", "detected + cIoU>=0.5", "abs. cIoU (positive)",
              *[f"marked share ({k})" for k in kinds]]
    rows = []
    for name, t in tables.items():
        u, a = t["universal"], t["absolute"]
        rows.append([name, _fmt_value(u["threshold"]), _fmt(u["positive_accuracy"]),
                     *[_fmt(u["negative_accuracy_per_kind"].get(k)) for k in kinds],
                     _fmt(u["balanced_accuracy"]), _fmt(u["detection_auc"]), _fmt(u["localized_accuracy"]),
                     _fmt(a["positive"]["cIoU"]), *[_fmt(a.get(k, {}).get("marked_share")) for k in kinds]])
    lines += _table(header, rows)
    lines += ["", "Maximum map value (mean +- std) per audio:", ""]
    conditions = ["positive", *kinds]
    rows = []
    for name, t in tables.items():
        st = t["peaks"]["stats"]
        rows.append([name, *[f"{_fmt_value(st[c].get('mean'))} +- {_fmt_value(st[c].get('std'))}" if c in st
                             else "-"
                             for c in conditions]])
    lines += _table(["map", *conditions], rows)
    if tables:
        first = next(iter(tables.values()))
        counts = ", ".join(f"{k}: {v}" for k, v in first["n_negative"].items())
        lines += ["", f"Samples: {first['n_positive']} positive; {counts}.", ""]
    return lines


def markdown_report(report: Mapping[str, Any]) -> str:
    """``metrics.md``: main table (maps and baselines as rows), size subsets, hard cases,
    negative audio, configuration."""
    config = report.get("config", {})
    alpha = config.get("alpha")
    tables = report["tables"]
    lines = [f"# Evaluation: {config.get('testset', 'test set')}", ""]
    if config:
        lines += [f"- checkpoint: {config.get('checkpoint')} ({config.get('weights', {}).get('slavc', '')})",
                  f"- OGL network: {config.get('weights', {}).get('ogl', '-')}",
                  f"- samples: {config.get('n_samples')} ({config.get('n_sounding')} sounding), "
                  f"alpha = {alpha}, device {config.get('device')}", ""]
    lines += ["## Official metrics (all samples)", "",
              "cIoU and AUC over sounding samples (relative prediction: the top 50% of each map); AP, "
              "max-F1 and Precision over all samples (a confident non-sounding sample is a false "
              "positive), exactly as the official extended evaluation.", ""]
    rows = [[_label(name, alpha), _fmt(t["all"]["n"]), *[_fmt(t["all"][m]) for m in METRICS]]
            for name, t in tables.items()]
    lines += _table(["map", "n", *METRICS], rows)
    lines += ["", "The centre prior has the same confidence for every image: every threshold of the AP "
              "sweep marks all samples confident, recall never increases, so its AP is 0 by "
              "construction and its max-F1 is 2P / (1 + P); compare it on cIoU and AUC.", "",
              "## Size subsets (cIoU / AUC, n)", ""]
    subsets = [s for s in SUBSETS if s != "all" and any(s in t for t in tables.values())]
    rows = [[name, *[f"{_fmt(t[s]['cIoU'])} / {_fmt(t[s]['AUC'])} ({t[s]['n']})" if s in t else "-"
                     for s in subsets]] for name, t in tables.items()]
    lines += _table(["map", *subsets], rows)
    lines.append("")
    if report.get("hard_cases"):
        lines += _hard_case_section(report["hard_cases"])
    if report.get("findings"):
        lines += _findings_section(report["findings"], alpha)
    if report.get("negative_audio_paper"):
        lines += _paper_section(report["negative_audio_paper"], config.get("checkpoint"))
    if report.get("negative_audio"):
        lines += _negative_section(report["negative_audio"])
    return "\n".join(lines).rstrip() + "\n"


def write_report(report: Mapping[str, Any], out: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``out/metrics.md`` then ``out/metrics.json`` (last: its presence means both are there)."""
    out = Path(out)
    safe = json_safe(report)
    md = atomic_write_text(out / MARKDOWN_FILE, markdown_report(safe))
    js = atomic_write_text(out / JSON_FILE, json.dumps(safe, indent=2, allow_nan=False) + "\n")
    return js, md
