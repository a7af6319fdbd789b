"""Our views beside the official metrics (pointing game, inside/outside contrast, the single-scene
groups), the key figures of a report, the toy recipe's targets, and the README's generated results."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from slavc_lite.evaluation import hard_case_table, score_test_set
from slavc_lite.evaluation.hard_cases import SINGLE_GROUPS, single_scene_groups
from slavc_lite.evaluation.inference import inside_outside_contrast, pointing_hits
from slavc_lite.evaluation.key_figures import TARGETS, key_figures, spread, toy_targets
from slavc_lite.evaluation.results_page import (
    BEGIN,
    END,
    readme_block,
    render_results,
    update_readme,
    variant_base,
)
from slavc_lite.evaluation.testsets import load_test_set, read_toy_scenes
from tests.test_evaluation_support import tiny_model, tiny_object_net, write_world

ROOT = Path(__file__).resolve().parents[1]


def test_pointing_hits_by_hand():
    scores = torch.zeros(3, 4, 4)
    gt = torch.zeros(3, 4, 4)
    gt[:, 1:3, 1:3] = 1
    scores[0, 2, 2] = 1.0  # maximum inside
    scores[1, 0, 3] = 1.0  # maximum outside
    gt[2] = 0  # no box
    hits = pointing_hits(scores, gt)
    assert hits[0] == 1.0 and hits[1] == 0.0 and math.isnan(hits[2])
    flat = torch.zeros(1, 4, 4)  # ties: argmax takes the first pixel, (0, 0), outside the box
    assert pointing_hits(flat, gt[:1]) == [0.0]


def test_inside_outside_contrast_by_hand():
    gt = torch.zeros(2, 4, 4)
    gt[:, :2, :] = 1  # top half
    scores = torch.full((2, 4, 4), 0.2)
    scores[0, :2] = 0.8  # 0.8 inside, 0.2 outside
    out = inside_outside_contrast(scores, gt)
    assert out[0] == pytest.approx(0.6) and out[1] == pytest.approx(0.0)
    full = torch.ones(1, 4, 4)
    assert math.isnan(inside_outside_contrast(scores[:1], full)[0])
    assert math.isnan(inside_outside_contrast(scores[:1], torch.zeros(1, 4, 4))[0])


def test_single_scene_groups():
    kinds = {"a": "single", "b": "single", "c": "silent"}
    visible = {"a": frozenset({"bell"}), "b": frozenset({"bell", "vase"}), "c": frozenset({"bell", "vase"})}
    heard = {"a": frozenset({"bell"}), "b": frozenset({"bell"}), "c": frozenset({"bell"})}
    assert single_scene_groups(kinds, visible, heard) == {"a": SINGLE_GROUPS[1], "b": SINGLE_GROUPS[0]}


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    world = write_world(tmp_path_factory.mktemp("key_figures") / "toy")
    dataset = load_test_set(world, "toy_plus_silent")
    return world, score_test_set(tiny_model(), dataset, object_net=tiny_object_net(), alpha=0.9, batch_size=8)


def test_hard_case_rows_hold_pointing_contrast_and_groups(scored):
    world, scores = scored
    info = read_toy_scenes(world / "test" / "scenes.csv")
    groups = single_scene_groups(info.kinds, info.visible_classes, info.audio_classes)
    table = hard_case_table(scores, info.kinds, "slavc", groups=groups)
    rows = table["rows"]
    singles = [i for i, s in enumerate(scores.ids) if info.kinds[s] == "single"]
    assert sum(rows[g]["n"] for g in SINGLE_GROUPS if g in rows) == rows["single"]["n"] == len(singles)
    assert rows["single"]["pointing"] == pytest.approx(np.nanmean(scores.pointing["slavc"][singles]))
    assert rows["single"]["contrast"] == pytest.approx(np.nanmedian(scores.contrasts["slavc"][singles]))
    assert "pointing" not in rows.get("silence", {})


def _report(slavc=(0.45, 0.6, 0.9, 0.2), ogl=(0.40, 0.4, 0.6, 0.08)) -> dict:
    def entry(c, ap, p, k):
        return {
            "tables": {"all": {"cIoU": c, "AP": ap}},
            "rows": {"single+silent": {"pointing": p}, "single": {"contrast": k}},
        }

    maps = {
        "slavc": entry(*slavc),
        "ogl": entry(*ogl),
        "center": entry(0.34, 0.0, 0.6, 0.27),
        "random": entry(0.2, 0.01, 0.2, 0.0),
    }
    return {
        "tables": {m: e["tables"] for m, e in maps.items()},
        "hard_cases": {m: {"rows": e["rows"]} for m, e in maps.items()},
    }


def test_key_figures_and_targets():
    figures = key_figures(_report())
    assert figures["slavc.cIoU"] == 0.45 and figures["ogl.AP"] == 0.4
    assert figures["slavc.pointing_single_silent"] == 0.9 and figures["center.contrast_single"] == 0.27
    rows = toy_targets([figures, figures, figures])
    assert len(rows) == len(TARGETS) and all(r["met"] for r in rows)
    weak = key_figures(_report(slavc=(0.41, 0.45, 0.7, 0.1)))
    failed = {r["name"] for r in toy_targets([figures, weak, weak]) if not r["met"]}
    assert "SLAVC AP > OGL" not in failed  # 0.45 > 0.40 in every seed
    assert {"median SLAVC AP >= OGL + 0.10", "pointing game, single + silent >= 0.8",
            "median contrast on single scenes >= 0.15"} <= failed
    assert "median SLAVC cIoU >= centre + 0.06" not in failed  # median 0.41 >= 0.34 + 0.06
    s = spread([1.0, 2.0, 4.0])
    assert (
        s["median"] == 2.0 and s["min"] == 1.0 and s["max"] == 4.0 and s["std"] == pytest.approx(1.5275, 1e-4)
    )


def test_results_page_renders_and_updates_a_readme(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    figures = key_figures(_report())
    seeds = {
        "seeds": [0, 1],
        "runs": [
            {
                "seed": s,
                "figures": figures,
                "times": {"pretrain_s": 80.0, "train_s": 300.0, "evaluate_s": 30.0},
            }
            for s in (0, 1)
        ],
        "over_seeds": {k: spread([v, v]) for k, v in figures.items()},
        "targets": toy_targets([figures, figures]),
    }
    (results / "toy_seeds.json").write_text(json.dumps(seeds))
    point = {"best_cIoU": 0.31, "best_cIoU_epoch": 2, "last_cIoU": 0.27, "best_AP": 0.4, "best_AP_epoch": 3,
             "last_AP": 0.3}
    decay = {"epochs": 12, "backbone": "local_cnn", "runs": {"SLAVC": point}}
    (results / "toy_decay.json").write_text(json.dumps(decay))
    (results / "toy_seed_variants").mkdir()
    lower = {**figures, "slavc.cIoU": figures["slavc.cIoU"] - 0.1}
    variant = {"seeds": [1], "overrides": {"model.tau": "0.1"}, "runs": [{"seed": 1, "figures": lower}]}
    (results / "toy_seed_variants" / "tau0.1.json").write_text(json.dumps(variant))
    probe = {"local_cnn": {"object_accuracy": 0.9, "far_accuracy": 0.12, "chance": 0.05, "object_cells": 40,
                           "far_cells": 300, "far_share": 0.082}}
    (results / "cell_locality.json").write_text(json.dumps(probe))
    shares = {"official map": 0.6, "best cell at its node": 0.55, "best cell at its window": 0.875}
    placement = {"runs": "runs/seeds", "seeds": {"0": {"single+silent": {**shares, "pairs": 8}}},
                 "median": {"single+silent": shares}}
    (results / "peak_placement.json").write_text(json.dumps(placement))
    text = render_results(results)
    assert "| seed | single+silent: official map | single+silent: best cell at its node |" in text
    assert "| median | 0.600 | 0.550 | 0.875 |" in text
    ciou = figures["slavc.cIoU"]
    assert "| `local_cnn` | 0.900 (40) | 0.120 (300) | 0.050 | 0.082 |" in text
    # the variant's seed-1 figure beside the recipe's seed-1 figure
    assert f"| `tau0.1` | `model.tau=0.1` | 1 | {ciou - 0.1:.3f} ({ciou:.3f}) |" in text
    assert text.count("| the recipe |") == 1
    assert "Longer runs (12 epochs of the recipe, `local_cnn` image trunk" in text
    assert "| SLAVC | 0.310 (2) | 0.270 | 0.400 (3) | 0.300 |" in text
    assert text.startswith(BEGIN) and text.endswith(END) and "0.450" in text and "**no**" not in text
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{BEGIN}\nold\n{END}\n\nafter\n")
    assert update_readme(readme, results) and not update_readme(readme, results)
    assert readme_block(readme.read_text()) == text and readme.read_text().endswith("\nafter\n")


def test_a_variant_of_a_variant_is_compared_with_that_variant(tmp_path):
    figures = key_figures(_report())
    results = tmp_path / "results"
    (results / "toy_seed_variants").mkdir(parents=True)
    times = {"pretrain_s": 80.0, "train_s": 300.0, "evaluate_s": 30.0}
    recipe = {"seeds": [0], "runs": [{"seed": 0, "figures": figures, "times": times}],
              "over_seeds": {k: spread([v]) for k, v in figures.items()}, "targets": toy_targets([figures])}
    (results / "toy_seeds.json").write_text(json.dumps(recipe))

    def variant(tag, overrides, ciou):
        data = {"seeds": [0], "overrides": overrides,
                "runs": [{"seed": 0, "figures": {**figures, "slavc.cIoU": ciou}}]}
        (results / "toy_seed_variants" / f"{tag}.json").write_text(json.dumps(data))
        return data

    variants = {
        "mobilenet": variant("mobilenet", {"model.backbone": "mobilenet_v3_small"}, 0.2),
        "mobilenet-tau": variant("mobilenet-tau",
                                 {"model.backbone": "mobilenet_v3_small", "model.tau": "0.1"}, 0.1),
        "tau": variant("tau", {"model.tau": "0.2"}, 0.3),
    }
    assert variant_base("mobilenet-tau", variants) == "mobilenet"
    assert variant_base("mobilenet", variants) is None and variant_base("tau", variants) is None
    # a base must have been measured on the variant's seeds
    two_seeds = {**variants["mobilenet-tau"], "runs": [{"seed": 0}, {"seed": 1}]}
    assert variant_base("x", {**variants, "x": two_seeds}) is None
    text = render_results(results)
    ciou = figures["slavc.cIoU"]
    assert "| `mobilenet-tau` | `model.tau=0.1` | 0 | 0.100 (0.200) |" in text
    assert text.split("| `mobilenet-tau`")[1].split("\n")[0].endswith("| `mobilenet` |")
    assert f"| `mobilenet` | `model.backbone=mobilenet_v3_small` | 0 | 0.200 ({ciou:.3f}) |" in text
    assert f"| `tau` | `model.tau=0.2` | 0 | 0.300 ({ciou:.3f}) |" in text


def test_readme_results_are_the_committed_results():
    """The README's results block is exactly what the committed results/ files render to: a
    number typed into the block, or a results file changed without regenerating, fails here."""
    assert readme_block((ROOT / "README.md").read_text()) == render_results(ROOT / "results")


def test_the_committed_peak_placement_comes_from_the_seed_tables_runs():
    """Its official-map pointing game is the seed table's, seed by seed: the two files were measured
    on the same runs (rerun ``experiments/peak_placement.py`` after ``experiments/toy_seeds.py``)."""
    seeds = json.loads((ROOT / "results" / "toy_seeds.json").read_text())
    placement = json.loads((ROOT / "results" / "peak_placement.json").read_text())
    assert sorted(placement["seeds"]) == sorted(str(run["seed"]) for run in seeds["runs"])
    for run in seeds["runs"]:
        official = placement["seeds"][str(run["seed"])]["single+silent"]["official map"]
        assert official == pytest.approx(run["figures"]["slavc.pointing_single_silent"], abs=1e-9)


def test_results_page_renders_the_video_worlds(tmp_path):
    def targets(name, pick, gain, worst):
        return [
            {"map": name, "target": "picks", "value": pick, "needed": 0.8, "met": pick >= 0.8},
            {"map": name, "target": "gain", "value": gain, "needed": 0.1, "met": gain >= 0.1},
            {"map": name, "target": "worst", "value": worst, "needed": -0.02, "met": worst >= -0.02,
             "kind": "same_type"},
        ]

    seeds = [{"seed": s, "gate_weight": 0.75, "gate_smooth": 4.0, "slavc_ciou": 0.3, "ceiling": 0.6,
              "targets": targets("slavc+sync", 0.85, 0.15, worst) + targets("vsl+sync", 0.9, 0.12, 0.0)}
             for s, worst in ((0, -0.01), (1, -0.05))]
    results = tmp_path / "results"
    results.mkdir()
    (results / "toy_video_worlds.json").write_text(json.dumps({"run": "runs/cpu-toy", "seeds": seeds}))
    text = render_results(results)
    assert "| 1 | 0.75 / 4 | 0.300 / 0.600 | SLAVC with synchrony | 0.85 (yes) | +0.150 (yes) | " \
        "-0.050 same_type (**no**) |" in text
    assert "* SLAVC with synchrony: every target met on 1 of 2 worlds." in text
    assert "* VSL with synchrony: every target met on 2 of 2 worlds." in text
