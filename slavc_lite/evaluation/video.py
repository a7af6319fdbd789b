"""Evaluation on the toy video world: which map finds the sounding instance in a clip?

For every clip of ``OUT/<split>/clips.json`` (:mod:`slavc_lite.data.toy.clip_writer`), read
back from its mp4 through the reader ``slavc-lite localize --video`` uses:

* the SLAVC, OGL and VSL maps of the frames sampled at ``fps`` (each frame with the 3 s audio
  window centred on it, :func:`slavc_lite.video_localize.localize_video`), averaged over the
  clip: the still-image method, applied to every frame;
* the audio-visual synchrony map of all the clip's frames (:mod:`slavc_lite.synchrony`);
* SLAVC and VSL with synchrony: :func:`slavc_lite.synchrony.gated_map` of each with the
  synchrony map, at a gate weight and a smoothing of the synchrony map chosen on the ``val``
  split (:func:`choose_gate`: the pair that gains the most official cIoU on the same-type
  kinds among those that cost no other kind more than :data:`CIOU_TOLERANCE` against SLAVC),
  then reported on ``test``;
* the centre prior (:func:`slavc_lite.evaluation.baselines.centre_prior_map`).

Scores per clip and map: the official cIoU (top 50% of the min-max normalised map, the
review's Eq. 8-9), the adaptive cIoU of Juanola et al. (the map thresholded to mark as many
pixels as the ground truth: :func:`slavc_lite.evaluation.negative_audio.ciou_adaptive`), the
pointing game (the map's maximum inside a sounding box) and, for the same-type kinds, whether
the maximum falls on a silent instance. ``cap`` is the best official cIoU any map can reach
on the clip (``min(2A, 0.5 / A)`` for a ground truth covering a share ``A`` of the frame: the
predicted region always covers half the frame), so a gain the rule cannot show is visible.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from slavc_lite import maps
from slavc_lite.atomic_files import atomic_write_text
from slavc_lite.data.toy.clip_writer import CLIPS_FILE
from slavc_lite.data.toy.clips import CLIP_KINDS, CLIP_SOUNDING_KINDS
from slavc_lite.ground_truth import boxes_to_map, vggss_boxes_to_pixels
from slavc_lite.metrics import auc, ciou
from slavc_lite.synchrony import (
    DEFAULT_SMOOTH,
    clip_correlation,
    gated_maps,
    synchrony_from_correlation,
)

__all__ = [
    "BASE_MAPS", "GATED_MAPS", "GATE_WEIGHTS", "GATE_SMOOTHS", "ClipMaps", "clip_maps", "load_clip_maps",
    "score_clip", "kind_table", "choose_gate", "evaluate_videos", "format_video_tables", "video_targets",
]

BASE_MAPS = ("slavc", "ogl", "vsl", "synchrony", "centre")
GATED_MAPS = ("slavc+sync", "vsl+sync")
MAP_ORDER = ("slavc", "ogl", "vsl", "synchrony", "slavc+sync", "vsl+sync", "centre")
GATE_WEIGHTS = (0.25, 0.5, 0.75, 1.0)
"""Gate weights tried on the ``val`` split."""
GATE_SMOOTHS = (1.0, 2.0, 4.0, 6.0)
"""Smoothings of the synchrony map tried on the ``val`` split (Gaussian standard deviation in
cells of 4 pixels: from the moving edge itself to about the size of a toy object's part)."""
EVAL_FPS = 2.0
"""Frames per second at which the still maps are computed (the synchrony map uses every frame)."""
SAME_TYPE_KINDS = ("same_type_one_sounding", "same_type_two_sounding")

PICK_TARGET = 0.8
"""Share of ``same_type_one_sounding`` clips whose gated map's maximum is on the heard instance."""
GAIN_TARGET = 0.10
"""Official cIoU a gated map should gain over SLAVC on ``same_type_one_sounding``."""
COST_LIMIT = 0.02
"""Official cIoU a gated map may lose against SLAVC on any other sounding kind, at most."""


@dataclass
class ClipMaps:
    """The clip-level maps of one clip (``[224, 224]`` each, fixed [0, 1] scale) and its truth."""

    id: str
    kind: str
    maps: dict[str, np.ndarray]
    sounding_boxes: list[list[int]]
    silent_instance_boxes: list[list[int]] = field(default_factory=list)
    correlation: np.ndarray | None = None
    """The clip's raw synchrony correlation grid (:func:`slavc_lite.synchrony.clip_correlation`),
    from which the synchrony map is made again at another smoothing; ``maps["synchrony"]`` is the
    map at :data:`~slavc_lite.synchrony.DEFAULT_SMOOTH`."""

    @property
    def gt_map(self) -> np.ndarray:
        """The VGG-SS ground truth at 224 x 224 (union of the sounding boxes)."""
        return boxes_to_map(self.sounding_boxes, "vggss", 224)

    def maps_at(self, smooth: float | None = None) -> dict[str, np.ndarray]:
        """The base maps, with the synchrony map smoothed by ``smooth`` cells (``None``: as stored)."""
        if smooth is None:
            return self.maps
        if self.correlation is None:
            raise ValueError(f"clip {self.id}: no correlation grid, so its synchrony map cannot be "
                             f"smoothed again (smooth={smooth})")
        return {**self.maps, "synchrony": synchrony_from_correlation(self.correlation, smooth)}

    def with_gates(self, weight: float, semantic: tuple[str, ...] = ("slavc", "vsl"),
                   smooth: float | None = None) -> dict[str, np.ndarray]:
        """The base maps plus the ``semantic`` maps (SLAVC and VSL) gated by synchrony at ``weight``,
        the synchrony map smoothed by ``smooth`` cells (:meth:`maps_at`)."""
        base = self.maps_at(smooth)
        return {**base, **gated_maps(base, base["synchrony"], weight, semantic)}


def clip_maps(localizer, path: str | os.PathLike, record: dict, fps: float = EVAL_FPS,
              alpha: float = maps.DEFAULT_ALPHA, batch_size: int = 16) -> ClipMaps:
    """The clip-level maps of the clip file ``path`` (module docstring); ``record`` is its
    ``clips.json`` entry (the ground truth)."""
    from slavc_lite.evaluation.baselines import center_prior_map
    from slavc_lite.video_clip import read_clip_samplings
    from slavc_lite.video_localize import localize_video

    sampled, every = read_clip_samplings(path, [(fps, None), (None, None)])
    video = localize_video(localizer, sampled, alpha=alpha, batch_size=batch_size)
    out = {name: np.asarray(video.maps[name], dtype=np.float32).mean(axis=0)
           for name in ("slavc", "ogl", "vsl")}
    correlation = clip_correlation(every.frames, every.times - every.audio_offset, every.audio,
                                   every.sample_rate)
    out["synchrony"] = synchrony_from_correlation(correlation, DEFAULT_SMOOTH)
    out["centre"] = center_prior_map(224).numpy().astype(np.float32).reshape(224, 224)
    objects = record["objects"]
    return ClipMaps(
        id=record["id"], kind=record["kind"], maps=out,
        sounding_boxes=vggss_boxes_to_pixels(record["boxes"]),
        silent_instance_boxes=vggss_boxes_to_pixels(
            o["box"] for o in objects if o["role"] == "silent" and o["class"] in record["sounding_classes"]),
        correlation=correlation,
    )


def load_clip_maps(localizer, folder: str | os.PathLike, fps: float = EVAL_FPS,
                   alpha: float = maps.DEFAULT_ALPHA, progress: bool = False) -> list[ClipMaps]:
    """:func:`clip_maps` of every clip listed in ``folder/clips.json``, read from its mp4."""
    folder = Path(folder)
    records = json.loads((folder / CLIPS_FILE).read_text(encoding="utf-8"))
    iterator = records
    if progress:
        from slavc_lite.progress import tqdm

        iterator = tqdm(records, desc=f"clips ({folder.name})")
    return [clip_maps(localizer, folder / record["file"], record, fps=fps, alpha=alpha)
            for record in iterator]


def _inside(point: tuple[int, int], boxes) -> bool:
    y, x = point
    return any(x0 <= x < x1 and y0 <= y < y1 for x0, y0, x1, y1 in boxes)


def _score_map(m: np.ndarray, gt: np.ndarray, clip: ClipMaps) -> dict[str, float]:
    from slavc_lite.evaluation.negative_audio import ciou_adaptive

    t = torch.from_numpy(np.ascontiguousarray(m, dtype=np.float32))[None]
    pred = maps.relative_prediction(t)[0].numpy()
    peak = np.unravel_index(int(np.argmax(m)), m.shape)
    return {
        "ciou": float(ciou(pred, gt)),
        "ciou_adaptive": float(ciou_adaptive(m, gt)),
        "pointing": float(_inside(peak, clip.sounding_boxes)),
        "silent_instance": float(_inside(peak, clip.silent_instance_boxes))
        if clip.silent_instance_boxes else float("nan"),
    }


def score_clip(clip: ClipMaps, weight: float, names: tuple[str, ...] = MAP_ORDER,
               smooth: float | None = None) -> dict[str, dict[str, float]]:
    """Per map of ``names``: ``ciou``, ``ciou_adaptive``, ``pointing`` and ``silent_instance``
    (1/0 or NaN); ``cap``: the official cIoU ceiling of the clip. Gated maps are made only when
    asked for; the synchrony map (alone and in the gates) is smoothed by ``smooth`` cells
    (``None``: as stored)."""
    gt = clip.gt_map
    area = float(gt.mean())
    semantic = tuple(n.removesuffix("+sync") for n in names if n in GATED_MAPS)
    every = clip.with_gates(weight, semantic, smooth)
    scores = {name: _score_map(every[name], gt, clip) for name in names}
    scores["cap"] = {"ciou": min(2 * area, 0.5 / area) if area > 0 else float("nan")}
    return scores


def kind_table(clips: list[ClipMaps], weight: float, names: tuple[str, ...] = MAP_ORDER,
               smooth: float | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """``{kind: {map: {"ciou", "auc", "ciou_adaptive", "pointing", "silent_instance", "n"}}}`` over
    the sounding kinds, plus ``"all sounding"``, for the maps of ``names`` (gate ``weight``,
    synchrony smoothed by ``smooth`` cells); each kind's ``cap`` row gives the ceiling."""
    per_clip = [(c.kind, score_clip(c, weight, names, smooth)) for c in clips if c.sounding_boxes]
    groups = {k: [s for kind, s in per_clip if kind == k] for k in CLIP_SOUNDING_KINDS}
    groups = {k: v for k, v in groups.items() if v}
    groups["all sounding"] = [s for _, s in per_clip]
    table = {}
    for kind, rows in groups.items():
        table[kind] = {}
        for name in (*names, "cap"):
            values = {key: [r[name][key] for r in rows] for key in rows[0][name]}
            entry = {key: float(np.nanmean(v)) if not np.all(np.isnan(v)) else float("nan")
                     for key, v in values.items()}
            if name != "cap":
                entry["auc"] = auc(values["ciou"])
            entry["n"] = len(rows)
            table[kind][name] = entry
    return table


CIOU_TOLERANCE = COST_LIMIT
"""How much mean official cIoU the gate may cost SLAVC on any kind other than the same-type
kinds (on the validation clips), at most, for a gate to be eligible: the test's own limit."""


def _ciou_changes(table: dict, name: str, leave_out: tuple[str, ...] = ()) -> dict[str, float]:
    """``{kind: mean official cIoU of map name - SLAVC's}`` over the kinds of a :func:`kind_table`,
    without ``"all sounding"`` and the kinds of ``leave_out``."""
    return {kind: rows[name]["ciou"] - rows["slavc"]["ciou"] for kind, rows in table.items()
            if kind != "all sounding" and kind not in leave_out}


def _gate_scores(val_clips: list[ClipMaps], weight: float, smooth: float | None) -> dict[str, float]:
    """Validation scores of one gate: the mean cIoU gain of ``slavc+sync`` over SLAVC on the
    same-type clips, the worst gain on another kind (with its name), and the pointing game of
    ``slavc+sync`` on every sounding clip."""
    table = kind_table(val_clips, weight, names=("slavc", "slavc+sync"), smooth=smooth)
    gains = _ciou_changes(table, "slavc+sync")
    same = [k for k in SAME_TYPE_KINDS if k in gains]
    others = {k: g for k, g in gains.items() if k not in SAME_TYPE_KINDS}
    n = sum(table[k]["slavc"]["n"] for k in same)
    worst = min(others, key=others.get) if others else None
    return {
        "weight": float(weight), "smooth": smooth,
        "same_type_gain": sum(gains[k] * table[k]["slavc"]["n"] for k in same) / n if n else float("nan"),
        "worst_other_gain": others[worst] if worst else float("nan"), "worst_other_kind": worst,
        "pointing": table["all sounding"]["slavc+sync"]["pointing"],
    }


def choose_gate(val_clips: list[ClipMaps], weights=GATE_WEIGHTS, smooths=GATE_SMOOTHS,
                tolerance: float = CIOU_TOLERANCE) -> tuple[float, float | None, list[dict]]:
    """The gate (weight, smoothing of the synchrony map) chosen on the validation clips.

    What the gate is for: finding the heard one among look-alike instances, which only the
    same-type kinds (:data:`SAME_TYPE_KINDS`) ask for, without costing the cases the still map
    already handles. So: among the pairs whose ``slavc+sync`` mean official cIoU is no more than
    ``tolerance`` below SLAVC's on every *other* sounding kind, the one with the largest mean
    cIoU gain on the same-type clips (ties: the larger pointing game over all sounding clips,
    then the smaller weight, then the smaller smoothing). If
    the validation clips hold no same-type clip, the largest pointing game over all sounding
    clips decides instead. If no pair is eligible, the smallest weight at the smallest
    smoothing is taken. ``smooths=(None,)`` keeps each clip's stored synchrony map.

    Returns the weight, the smoothing and, for every pair tried, its validation scores.
    """
    tried = [_gate_scores(val_clips, w, s) for s in smooths for w in weights]
    eligible = [t for t in tried if not t["worst_other_gain"] < -tolerance]  # NaN (no other kind) passes
    if not eligible:
        return float(min(weights)), smooths[0], tried
    has_same_type = any(c.kind in SAME_TYPE_KINDS and c.sounding_boxes for c in val_clips)
    key = "same_type_gain" if has_same_type else "pointing"
    best = max(eligible, key=lambda t: (t[key], t["pointing"], -t["weight"], -(t["smooth"] or 0.0)))
    return best["weight"], best["smooth"], tried


def evaluate_videos(localizer, root: str | os.PathLike, out: str | os.PathLike | None = None,
                    fps: float = EVAL_FPS, alpha: float = maps.DEFAULT_ALPHA, progress: bool = False) -> dict:
    """Choose the gate (:func:`choose_gate`) on ``root/val``, score ``root/test``; write
    ``metrics_video.json`` and ``metrics_video.md`` to ``out`` when given. Returns the result."""
    root = Path(root)
    val = load_clip_maps(localizer, root / "val", fps=fps, alpha=alpha, progress=progress)
    weight, smooth, tried = choose_gate(val)
    test = load_clip_maps(localizer, root / "test", fps=fps, alpha=alpha, progress=progress)
    result = {
        "alpha": float(alpha), "fps": float(fps), "gate_weight": weight, "gate_smooth": smooth,
        "gates_tried_on_val": tried,
        "gate_rule": f"largest mean cIoU gain of SLAVC with synchrony on the same-type val clips, among "
                     f"the gates that cost no other kind more than {CIOU_TOLERANCE:g} cIoU against SLAVC",
        "weights": dict(localizer.weights_description), "clips": str(root),
        "n_test_clips": len(test), "tables": kind_table(test, weight, smooth=smooth),
        "kinds": [k for k in CLIP_KINDS if any(c.kind == k for c in test)],
    }
    if out is not None:
        out = Path(out)
        atomic_write_text(out / "metrics_video.json", json.dumps(result, indent=2) + "\n")
        atomic_write_text(out / "metrics_video.md", format_video_tables(result) + "\n")
    return result


def format_video_tables(result: dict, metric_keys=("ciou", "ciou_adaptive", "auc", "pointing")) -> str:
    """Markdown: one table per sounding kind, one row per map, and a caption naming alpha, the
    gate and the weights."""
    lines = [f"Toy video test set ({result['n_test_clips']} clips). Still maps on frames sampled at "
             f"{result['fps']:g} fps and averaged over the clip; VSL alpha = {result['alpha']:g}; "
             f"synchrony gate weight = {result['gate_weight']:g}, {_smooth_words(result['gate_smooth'])} "
             "(chosen on val); "
             f"SLAVC: {result['weights'].get('slavc', '?')}; OGL: {result['weights'].get('ogl', '?')}."]
    for kind, rows in result["tables"].items():
        n = rows["slavc"]["n"]
        cap = rows["cap"]["ciou"]
        lines += ["", f"**{kind}** ({n} clips; official cIoU ceiling of any map: {cap:.3f})", ""]
        extra = ("silent_instance",) if kind in SAME_TYPE_KINDS else ()
        keys = (*metric_keys, *extra)
        lines.append("| map | " + " | ".join(keys) + " |")
        lines.append("|---" * (len(keys) + 1) + "|")
        for name in MAP_ORDER:
            lines.append(f"| {name} | " + " | ".join(f"{rows[name][k]:.3f}" for k in keys) + " |")
    return "\n".join(lines)


def _smooth_words(smooth: float | None) -> str:
    return "synchrony as stored" if smooth is None else f"synchrony smoothed by {smooth:g} cells"


GATED_LABELS = {"slavc+sync": "SLAVC with synchrony", "vsl+sync": "VSL with synchrony"}


def video_findings(result: dict) -> list[str]:
    """One sentence per question of the toy video evaluation, with its numbers and a verdict
    computed from them (nothing typed): which instance the maximum picks when several of one
    type are shown, what each gated map gains in cIoU there (and what the official rule lets any
    map gain), and whether it costs SLAVC's cIoU more than 0.02 on any other kind."""
    tables = result["tables"]
    lines = []
    one = tables.get("same_type_one_sounding")
    if one is not None:
        s = one["slavc"]
        lines.append(
            f"same_type_one_sounding ({s['n']} clips, two or three instances, one heard): the SLAVC map's "
            f"maximum is on the heard instance in {s['pointing']:.0%} of clips and on a silent one in "
            f"{s['silent_instance']:.0%}; the official top-50% rule caps any map's cIoU at "
            f"{one['cap']['ciou']:.3f} here, {one['cap']['ciou'] - s['ciou']:+.3f} above SLAVC's "
            f"{s['ciou']:.3f}.")
    for name, label in GATED_LABELS.items():
        parts = []
        if one is not None:
            g, s = one[name], one["slavc"]
            gain_adaptive = g["ciou_adaptive"] - s["ciou_adaptive"]
            gain = g["ciou"] - s["ciou"]
            pick_verdict = "at least" if g["pointing"] >= PICK_TARGET else "below"
            gain_verdict = "at least" if gain >= GAIN_TARGET else "below"
            parts.append(
                f"picks the heard instance in {g['pointing']:.0%} of same_type_one_sounding clips "
                f"({pick_verdict} the {PICK_TARGET:.0%} aimed for), cIoU {gain:+.3f} ({gain_verdict} the "
                f"{GAIN_TARGET:+.2f} aimed for) and adaptive cIoU {gain_adaptive:+.3f} against SLAVC there")
        deltas = _ciou_changes(tables, name, leave_out=("same_type_one_sounding",))
        worse = [f"{kind} ({delta:+.3f})" for kind, delta in deltas.items() if delta < -COST_LIMIT]
        parts.append(f"is never worse than SLAVC by more than {COST_LIMIT:g} cIoU on the other kinds"
                     if not worse else
                     f"is worse than SLAVC by more than {COST_LIMIT:g} cIoU on " + ", ".join(worse))
        lines.append(f"{label}: " + "; ".join(parts) + ".")
    return lines


def video_targets(result: dict) -> list[dict]:
    """The targets of the video work, measured on ``result["tables"]`` (a test split): for each
    gated map, ``{"map", "target", "value", "needed", "met"}`` for the pick rate and the cIoU gain
    on ``same_type_one_sounding``, and the worst cIoU change against SLAVC on the other kinds
    (that row also names the ``kind``)."""
    tables = result["tables"]
    one = tables["same_type_one_sounding"]
    rows = []
    for name in GATED_MAPS:
        gain = one[name]["ciou"] - one["slavc"]["ciou"]
        changes = _ciou_changes(tables, name, leave_out=("same_type_one_sounding",))
        worst_kind = min(changes, key=changes.get)
        worst = changes[worst_kind]
        rows += [
            {"map": name, "target": "picks the heard instance (same_type_one_sounding)",
             "value": one[name]["pointing"], "needed": PICK_TARGET,
             "met": one[name]["pointing"] >= PICK_TARGET},
            {"map": name, "target": "cIoU gain over SLAVC (same_type_one_sounding)",
             "value": gain, "needed": GAIN_TARGET, "met": gain >= GAIN_TARGET},
            {"map": name, "target": "worst cIoU change against SLAVC on the other kinds",
             "value": worst, "needed": -COST_LIMIT, "met": worst >= -COST_LIMIT, "kind": worst_kind},
        ]
    return rows

