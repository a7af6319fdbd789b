"""Scoring the toy video world: per-clip scores, per-kind tables, the gate weight, the verdicts,
and ``slavc-lite evaluate-video`` end to end on a tiny world."""

from __future__ import annotations

import json

import numpy as np
import pytest

from slavc_lite.evaluation.video import (
    ClipMaps,
    choose_gate,
    format_video_tables,
    kind_table,
    score_clip,
    video_findings,
    video_targets,
)
from slavc_lite.synchrony import synchrony_from_correlation


def _bump(cx: float, cy: float, size: int = 224, width: float = 12.0) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    return np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * width**2)).astype(np.float32)


def _same_type_clip(clip_id: str) -> ClipMaps:
    """Two instances side by side, as in the toy video world: the heard one on the left (box
    10..105 x 30..200), a silent one on the right (119..214). Together they fill more than half
    the frame, so the official cIoU sees which one a map picks. SLAVC prefers the silent one;
    synchrony lights the heard one: its correlation grid (56 x 56 cells of 4 pixels) is 1 on the
    left part of the heard instance only, as only part of a moving object changes."""
    heard, silent = (10, 30, 105, 200), (119, 30, 214, 200)
    flat = np.full((224, 224), 0.5, np.float32)
    correlation = np.zeros((56, 56))
    correlation[10:48, 4:14] = 1.0
    maps = {
        "slavc": flat + 0.2 * _bump(57, 115, width=40) + 0.3 * _bump(166, 115, width=40),
        "ogl": flat + 0.3 * _bump(57, 115, width=40) + 0.3 * _bump(166, 115, width=40),
        "synchrony": synchrony_from_correlation(correlation),
        "centre": _bump(112, 112, width=60),
    }
    maps["vsl"] = 0.4 * maps["slavc"] + 0.6 * maps["ogl"]
    return ClipMaps(clip_id, "same_type_one_sounding", maps, [heard], [silent], correlation=correlation)


def test_score_clip_pointing_silent_instance_and_cap():
    scores = score_clip(_same_type_clip("a"), weight=1.0)
    assert scores["slavc"]["pointing"] == 0.0 and scores["slavc"]["silent_instance"] == 1.0
    assert scores["synchrony"]["pointing"] == 1.0 and scores["synchrony"]["silent_instance"] == 0.0
    assert scores["slavc+sync"]["pointing"] == 1.0
    area = 95 * 170 / 224**2
    assert scores["cap"]["ciou"] == pytest.approx(2 * area)
    assert scores["synchrony"]["ciou_adaptive"] > scores["slavc"]["ciou_adaptive"]


def test_weight_zero_gives_the_semantic_map_back_on_its_relative_scale():
    from slavc_lite.synchrony import relative

    clip = _same_type_clip("a")
    gated = clip.with_gates(0.0)
    np.testing.assert_allclose(gated["slavc+sync"], relative(clip.maps["slavc"]), atol=1e-6)
    np.testing.assert_allclose(gated["vsl+sync"], relative(clip.maps["vsl"]), atol=1e-6)
    scores = score_clip(clip, 0.0)
    assert scores["slavc+sync"]["ciou"] == pytest.approx(scores["slavc"]["ciou"])


def test_kind_table_choose_weight_findings_and_markdown():
    clips = [_same_type_clip(str(i)) for i in range(3)]
    table = kind_table(clips, 0.5)
    assert set(table) == {"same_type_one_sounding", "all sounding"}
    row = table["same_type_one_sounding"]
    assert row["slavc"]["n"] == 3 and row["slavc"]["pointing"] == 0.0 and row["slavc+sync"]["pointing"] == 1.0
    assert 0.0 <= row["slavc"]["auc"] <= 1.0
    weight, smooth, tried = choose_gate(clips)
    assert {(t["weight"], t["smooth"]) for t in tried} == {(w, s) for w in (0.25, 0.5, 0.75, 1.0)
                                                           for s in (1.0, 2.0, 4.0, 6.0)}
    best = max(t["same_type_gain"] for t in tried)  # no other kind: every gate is eligible
    chosen = next(t for t in tried if (t["weight"], t["smooth"]) == (weight, smooth))
    assert chosen["same_type_gain"] == best > 0
    result = {"alpha": 0.4, "fps": 2.0, "gate_weight": weight, "gate_smooth": smooth,
              "weights": {"slavc": "s", "ogl": "o"}, "n_test_clips": 3,
              "tables": kind_table(clips, weight, smooth=smooth)}
    lines = video_findings(result)
    assert "heard instance in 0% of clips" in lines[0] and "on a silent one in 100%" in lines[0]
    assert lines[1].startswith("SLAVC with synchrony: picks the heard instance in 100%")
    assert "at least the 80%" in lines[1]
    gain = result["tables"]["same_type_one_sounding"]["slavc+sync"]["ciou"] \
        - result["tables"]["same_type_one_sounding"]["slavc"]["ciou"]
    assert f"cIoU {gain:+.3f} ({'at least' if gain >= 0.10 else 'below'} the +0.10 aimed for)" in lines[1]
    text = format_video_tables(result)
    assert "alpha = 0.4" in text and "silent_instance" in text
    assert f"gate weight = {weight:g}, synchrony smoothed by {smooth:g} cells" in text


def test_a_wider_smoothing_spreads_an_edge_over_its_object():
    clip = _same_type_clip("a")
    np.testing.assert_array_equal(clip.maps_at(None)["synchrony"], clip.maps["synchrony"])
    np.testing.assert_allclose(clip.maps_at(1.0)["synchrony"], clip.maps["synchrony"])
    lit = [(clip.maps_at(s)["synchrony"][30:200, 10:105] > 0.1).mean() for s in (1.0, 4.0)]
    assert lit[1] > lit[0]
    narrow, wide = (score_clip(clip, 1.0, smooth=s)["slavc+sync"]["ciou_adaptive"] for s in (1.0, 4.0))
    assert wide > narrow + 0.1  # the heard instance's whole box rises, not only its moving part
    bare = ClipMaps("b", clip.kind, clip.maps, clip.sounding_boxes)
    with pytest.raises(ValueError, match="clip b: no correlation grid"):
        bare.maps_at(4.0)


def _other_kind_clip(clip_id: str) -> ClipMaps:
    """A `single` clip the gate can only spoil: the sounding object (top half) is where SLAVC is
    high, the synchrony map lights the bottom half (a silent object that happens to move with
    the sound). Its correlation grid is 0.3 on the bottom rows, so its synchrony does not depend
    much on the smoothing."""
    yy = np.mgrid[0:224, 0:224][0].astype(np.float32)
    top = 1.0 - yy / 224
    correlation = np.zeros((56, 56))
    correlation[40:, :] = 0.3
    maps = {"slavc": top, "ogl": top, "vsl": top, "centre": top,
            "synchrony": synchrony_from_correlation(correlation)}
    return ClipMaps(clip_id, "single", maps, [(0, 0, 224, 112)], correlation=correlation)


def test_choose_gate_keeps_the_other_kinds_within_the_tolerance():
    clips = [_same_type_clip("a"), _same_type_clip("b"), _other_kind_clip("c")]
    weight, smooth, tried = choose_gate(clips, tolerance=0.02)
    by_gate = {(t["weight"], t["smooth"]): t for t in tried}
    chosen = by_gate[(weight, smooth)]
    assert chosen["worst_other_kind"] == "single" and chosen["worst_other_gain"] >= -0.02
    spoiling = [t for t in tried if t["worst_other_gain"] < -0.02]
    assert spoiling and any(t["same_type_gain"] > chosen["same_type_gain"] for t in spoiling)
    eligible = [t for t in tried if t["worst_other_gain"] >= -0.02]
    assert chosen["same_type_gain"] == max(t["same_type_gain"] for t in eligible)
    # Nothing eligible: the smallest weight at the smallest smoothing.
    assert choose_gate(clips, tolerance=-1.0)[:2] == (0.25, 1.0)
    # Stored synchrony maps only (no grid needed), and no same-type clip: the pointing game decides.
    bare = [ClipMaps(c.id, c.kind, c.maps, c.sounding_boxes) for c in clips[2:]]
    weight, smooth, tried = choose_gate(bare, smooths=(None,))
    assert smooth is None and {t["weight"] for t in tried} == {0.25, 0.5, 0.75, 1.0}


def test_findings_name_a_kind_where_the_gate_costs_cIoU():
    yy = np.mgrid[0:224, 0:224][0].astype(np.float32)
    top = 1.0 - yy / 224  # high on the top half, where the (half-frame) sounding box is
    maps = {"slavc": top, "ogl": top, "vsl": top, "synchrony": 1.0 - top, "centre": top}
    clip = ClipMaps("c", "same_type", maps, [(0, 0, 224, 112)])
    result = {"tables": kind_table([clip], 1.0)}
    assert result["tables"]["same_type"]["slavc"]["ciou"] > 0.9
    lines = video_findings(result)
    assert "SLAVC with synchrony: is worse than SLAVC by more than 0.02 cIoU on same_type" in lines[0]


@pytest.mark.slow
def test_evaluate_video_command_end_to_end(tmp_path, capsys):
    pytest.importorskip("av")
    import torch

    from slavc_lite.cli import main
    from slavc_lite.data.toy.clip_writer import write_toy_videos
    from slavc_lite.model import SLAVC

    write_toy_videos(tmp_path / "clips", n_per_kind=1, n_val_per_kind=1)
    torch.manual_seed(0)
    model = SLAVC(backbone="mobilenet_v3_small", image_weights=None)
    checkpoint = tmp_path / "model.pth"
    from slavc_lite.checkpoints import save_checkpoint

    save_checkpoint(checkpoint, model)
    object_net = tmp_path / "object_net.pth"
    from slavc_lite.encoders import build_image_encoder

    torch.save(build_image_encoder("mobilenet_v3_small", None).state_dict(), object_net)
    status = main(["evaluate-video", "--clips", str(tmp_path / "clips"), "--checkpoint", str(checkpoint),
                   "--ogl-weights", str(object_net), "--out", str(tmp_path / "eval"), "--device", "cpu"])
    assert status == 0
    metrics = json.loads((tmp_path / "eval" / "metrics_video.json").read_text())
    assert metrics["n_test_clips"] == 10 and metrics["fps"] == 2.0 and metrics["alpha"] == 0.4
    assert set(metrics["tables"]["all sounding"]) >= {"slavc", "synchrony", "slavc+sync", "vsl+sync", "cap"}
    assert "same_type_one_sounding" in capsys.readouterr().out


def test_video_targets_measure_pick_gain_and_cost():
    clips = [_same_type_clip("a"), _same_type_clip("b"), _other_kind_clip("c")]
    tables = kind_table(clips, 1.0, smooth=6.0)
    rows = {(r["map"], r["target"].split()[0]): r for r in video_targets({"tables": tables})}
    assert set(rows) == {(m, t) for m in ("slavc+sync", "vsl+sync") for t in ("picks", "cIoU", "worst")}
    one, single = tables["same_type_one_sounding"], tables["single"]
    pick, gain, cost = (rows[("slavc+sync", t)] for t in ("picks", "cIoU", "worst"))
    assert pick["value"] == 1.0 and pick["met"]
    assert gain["value"] == pytest.approx(one["slavc+sync"]["ciou"] - one["slavc"]["ciou"])
    assert gain["met"] == (gain["value"] >= 0.10)
    assert cost["value"] == pytest.approx(single["slavc+sync"]["ciou"] - single["slavc"]["ciou"])
    assert cost["value"] < -0.02 and not cost["met"] and cost["kind"] == "single"
