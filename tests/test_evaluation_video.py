"""Scoring the toy video world: per-clip scores, per-kind tables, the gate weight, the verdicts,
and ``slavc-lite evaluate-video`` end to end on a tiny world."""

from __future__ import annotations

import json

import numpy as np
import pytest

from slavc_lite.evaluation.video import (
    ClipMaps,
    choose_gate_weight,
    format_video_tables,
    kind_table,
    score_clip,
    video_findings,
)


def _bump(cx: float, cy: float, size: int = 224, width: float = 12.0) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    return np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * width**2)).astype(np.float32)


def _same_type_clip(clip_id: str) -> ClipMaps:
    """Heard instance on the left (box 20..80), a silent one on the right (140..200). SLAVC
    prefers the silent one; synchrony lights the heard one."""
    heard, silent = (20, 80, 80, 140), (140, 80, 200, 140)
    flat = np.full((224, 224), 0.5, np.float32)
    maps = {
        "slavc": flat + 0.2 * _bump(50, 110) + 0.3 * _bump(170, 110),
        "ogl": flat + 0.3 * _bump(50, 110) + 0.3 * _bump(170, 110),
        "synchrony": _bump(50, 110),
        "centre": _bump(112, 112, width=60),
    }
    maps["vsl"] = 0.4 * maps["slavc"] + 0.6 * maps["ogl"]
    return ClipMaps(clip_id, "same_type_one_sounding", maps, [heard], [silent])


def test_score_clip_pointing_silent_instance_and_cap():
    scores = score_clip(_same_type_clip("a"), weight=1.0)
    assert scores["slavc"]["pointing"] == 0.0 and scores["slavc"]["silent_instance"] == 1.0
    assert scores["synchrony"]["pointing"] == 1.0 and scores["synchrony"]["silent_instance"] == 0.0
    assert scores["slavc+sync"]["pointing"] == 1.0
    area = 60 * 60 / 224**2
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
    weight, tried = choose_gate_weight(clips)
    assert set(tried) == {0.25, 0.5, 0.75, 1.0}
    eligible = [w for w, r in tried.items() if r["ciou"] >= r["slavc_ciou"] - 0.01]
    assert weight in eligible and tried[weight]["pointing"] == max(tried[w]["pointing"] for w in eligible)
    result = {"alpha": 0.4, "fps": 2.0, "gate_weight": weight, "weights": {"slavc": "s", "ogl": "o"},
              "n_test_clips": 3, "tables": kind_table(clips, weight)}
    lines = video_findings(result)
    assert "heard instance in 0% of clips" in lines[0] and "on a silent one in 100%" in lines[0]
    assert lines[1].startswith("SLAVC with synchrony: picks the heard instance in 100%")
    assert "at least the 80%" in lines[1]
    text = format_video_tables(result)
    assert "alpha = 0.4" in text and f"gate weight = {weight:g}" in text and "silent_instance" in text


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
