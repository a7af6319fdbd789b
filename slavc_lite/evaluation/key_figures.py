"""The key figures of a toy-world evaluation, read from its report (``metrics.json``).

One flat dictionary per evaluation, so that several runs (seeds) can be set side by side and
the README's results can be generated from files rather than typed:

* ``<map>.cIoU``, ``<map>.AP``: the official cIoU (relative prediction, top 50%) and the
  extended AP (with the non-sounding pairs) of the ``all`` subset, for SLAVC, VSL, OGL and
  the baselines (centre prior, random map, the ground truth on the 7 x 7 grid);
* ``<map>.pointing_single_silent``: the pointing game (share of maps whose maximum lies in the
  sounding box) on the ``single`` scenes whose frame also holds silent objects;
* ``<map>.contrast_single``: the median, over ``single`` scenes, of the map's mean inside the
  sounding box minus its mean outside, on the map's own scale (the official fixed [0, 1] scale
  for SLAVC, OGL and VSL): how readable a panel is.

:func:`toy_targets` compares them with the toy world's targets (SLAVC above each baseline, by
the margins the project set for the ``cpu-toy`` recipe).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["KEY_MAPS", "TARGETS", "key_figures", "spread", "toy_targets"]

#: Maps reported, in table order.
KEY_MAPS = ("slavc", "vsl", "ogl", "center", "random", "grid_oracle")

#: The targets of the toy recipe, checked per seed (``every``) or on the median (``median``):
#: ``(name, figure, other figure or None, margin, rule)``: ``figure >= other + margin``.
TARGETS: tuple[tuple[str, str, str | None, float, str], ...] = (
    ("SLAVC cIoU > centre prior", "slavc.cIoU", "center.cIoU", 1e-9, "every"),
    ("SLAVC cIoU > random map", "slavc.cIoU", "random.cIoU", 1e-9, "every"),
    ("SLAVC cIoU > OGL", "slavc.cIoU", "ogl.cIoU", 1e-9, "every"),
    ("SLAVC AP > centre prior", "slavc.AP", "center.AP", 1e-9, "every"),
    ("SLAVC AP > random map", "slavc.AP", "random.AP", 1e-9, "every"),
    ("SLAVC AP > OGL", "slavc.AP", "ogl.AP", 1e-9, "every"),
    ("median SLAVC cIoU >= OGL + 0.02", "slavc.cIoU", "ogl.cIoU", 0.02, "median"),
    ("median SLAVC cIoU >= centre + 0.06", "slavc.cIoU", "center.cIoU", 0.06, "median"),
    ("median SLAVC AP >= OGL + 0.10", "slavc.AP", "ogl.AP", 0.10, "median"),
    ("pointing game, single + silent >= 0.8", "slavc.pointing_single_silent", None, 0.8, "median"),
    (
        "pointing game, single + silent > OGL's",
        "slavc.pointing_single_silent",
        "ogl.pointing_single_silent",
        1e-9,
        "every",
    ),
    ("median contrast on single scenes >= 0.15", "slavc.contrast_single", None, 0.15, "median"),
)


def _number(x: Any) -> float:
    return float("nan") if x is None else float(x)


def key_figures(report: Mapping[str, Any]) -> dict[str, float]:
    """The key figures (see the module docstring) of one evaluation report.

    Raises:
        KeyError: the report has no hard-case table (not a toy test set).
    """
    out: dict[str, float] = {}
    tables = report["tables"]
    hard = report["hard_cases"]
    for name in KEY_MAPS:
        if name not in tables:
            continue
        row = tables[name]["all"]
        out[f"{name}.cIoU"] = _number(row["cIoU"])
        out[f"{name}.AP"] = _number(row["AP"])
        rows = hard.get(name, {}).get("rows", {})
        out[f"{name}.pointing_single_silent"] = _number(rows.get("single+silent", {}).get("pointing"))
        out[f"{name}.contrast_single"] = _number(rows.get("single", {}).get("contrast"))
    return out


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, mean, sample standard deviation (0 for one value), min and max."""
    v = [float(x) for x in values]
    return {
        "median": statistics.median(v),
        "mean": statistics.fmean(v),
        "std": statistics.stdev(v) if len(v) > 1 else 0.0,
        "min": min(v),
        "max": max(v),
    }


def toy_targets(per_run: Sequence[Mapping[str, float]]) -> list[dict[str, Any]]:
    """Each target of :data:`TARGETS` checked on the key figures of several runs.

    ``every`` targets must hold in each run; ``median`` targets on the median over runs.
    Returns one row per target: ``name``, ``value`` (the median of the figure), ``needed``
    (the median of the other figure plus the margin, or the margin), ``met``.
    """
    rows = []
    for name, figure, other, margin, rule in TARGETS:
        a = [r.get(figure, math.nan) for r in per_run]
        b = [r.get(other, math.nan) for r in per_run] if other else [0.0] * len(per_run)
        if rule == "every":
            met = all(x >= y + margin for x, y in zip(a, b, strict=True))
        else:
            met = statistics.median(a) >= statistics.median(b) + margin
        needed = statistics.median(b) + (0.0 if margin < 1e-6 else margin)
        rows.append(
            {"name": name, "value": statistics.median(a), "needed": needed, "rule": rule, "met": bool(met)}
        )
    return rows
