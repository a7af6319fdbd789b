"""The paper's negative-audio tables (Juanola, Haro, Fuentes 2024): one image's numbers against
the slow transcriptions of their code, the whole pass on a generated toy world, and the wiring
into ``evaluate``, ``metrics.json``, ``metrics.md``, the CLI and ``make run``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from slavc_lite import maps as M
from slavc_lite.cli import main
from slavc_lite.evaluation import score_test_set
from slavc_lite.evaluation.inference import iterate_batches
from slavc_lite.evaluation.negative_audio import offscreen_partners, silence_spectrogram
from slavc_lite.evaluation.paper_negative_audio import (
    PAPER_ALPHAS,
    THRESHOLDS,
    grid_maxima,
    paper_tables,
    reference_noise_spectrogram,
    reference_silence_spectrogram,
    sample_measures,
    score_paper_negative_audio,
)
from slavc_lite.evaluation.testsets import load_test_set, sample_info
from tests import reference_vssl_eval as ref
from tests.test_evaluation_support import tiny_model, tiny_object_net, write_run, write_world

UNIVERSAL = {"max": 0.55, "max10": 0.605, "maxq3": 0.6}


def _ref_sample(positive, gt, negatives, universal, nan_as_zero):
    """``eval.py``'s per-image numbers, from the loop transcriptions of its functions."""
    thresholds = {"0.5": 0.5, **universal, "median": ref.median_threshold_loops(positive),
                  "adap": ref.adaptive_threshold_loops(positive, gt)}
    maps = {"positive": positive, **negatives}
    masks = {a: {t: (np.asarray(m) > v).astype(int) for t, v in thresholds.items()} for a, m in maps.items()}
    cious = {}
    for t, v in thresholds.items():
        c = ref.ciou_loops(positive, gt, v)
        cious[t] = 0.0 if (nan_as_zero and math.isnan(c)) else c
    pias = {k: {t: ref.pia_loops(masks[k][t]) for t in thresholds} for k in negatives}
    names = list(maps)
    ious = {f"{a}-{b}": {t: ref.map_iou_loops(masks[a][t], masks[b][t]) for t in thresholds}
            for i, a in enumerate(names) for b in names[i + 1:]}
    return cious, pias, ious


@pytest.mark.parametrize("seed", range(4))
def test_one_image_matches_the_reference_code(seed):
    rng = np.random.default_rng(seed)
    positive = rng.uniform(0.3, 0.8, (12, 12)).astype(np.float32)
    gt = np.zeros((12, 12))
    gt[2:7, 3:9] = 1.0
    negatives = {"silence": rng.uniform(0.2, 0.7, (12, 12)).astype(np.float32),
                 "noise": rng.uniform(0.4, 0.9, (12, 12)).astype(np.float32),
                 "offscreen": np.full((12, 12), 0.1, np.float32)}  # empty at every threshold
    found = sample_measures(positive, gt, negatives, UNIVERSAL)
    cious, pias, ious = _ref_sample(positive, gt, negatives, UNIVERSAL, nan_as_zero=False)
    assert list(found["thresholds"]) == list(THRESHOLDS)
    assert found["cIoU"] == pytest.approx(cious)
    for kind, per_t in pias.items():
        assert found["pIA"][kind] == pytest.approx(per_t), kind
    assert set(found["IoU"]) == set(ious)
    for pair, per_t in ious.items():
        assert found["IoU"][pair] == pytest.approx(per_t), pair
    assert set(found["IoU"]) == {"positive-silence", "positive-noise", "positive-offscreen", "silence-noise",
                                 "silence-offscreen", "noise-offscreen"}


def test_empty_maps_and_empty_ground_truth_follow_the_reference_conventions():
    flat = np.full((8, 8), 0.2, np.float32)  # nothing above 0.5 or any universal threshold
    gt = np.zeros((8, 8))
    found = sample_measures(flat, gt, {"silence": flat, "noise": np.full((8, 8), 0.9, np.float32)}, UNIVERSAL)
    assert math.isnan(found["cIoU"]["0.5"])  # empty ground truth, nothing marked: 0 / 0
    assert sample_measures(flat, gt, {}, UNIVERSAL, nan_as_zero=True)["cIoU"]["0.5"] == 0.0
    assert found["IoU"]["positive-silence"]["0.5"] == 1.0  # both empty
    assert found["IoU"]["positive-noise"]["0.5"] == 0.0  # only the first empty
    assert found["pIA"]["noise"]["0.5"] == 1.0 and found["pIA"]["silence"]["max"] == 0.0


def test_tables_aggregate_as_compute_metrics():
    from slavc_lite.evaluation.paper_negative_audio import PaperNegativeAudio

    r = PaperNegativeAudio(UNIVERSAL, "given", {"slavc": None}, ["silence", "noise"])
    r.ids, r.kind_ids = ["a", "b"], {"silence": ["a", "b"], "noise": ["a", "b"]}
    r.cious["slavc"] = {t: [0.2, 0.6] for t in THRESHOLDS}
    r.pias["slavc"] = {"silence": {t: [0.0, 0.5] for t in THRESHOLDS},
                       "noise": {t: [1.0, 0.1] for t in THRESHOLDS}}
    r.ious["slavc"] = {"positive-silence": {t: [1.0, 0.0] for t in THRESHOLDS}}
    r.maxima["slavc"] = {"positive": [0.6, 0.7], "silence": [0.1, 0.2], "noise": [0.3, 0.4]}
    table = paper_tables(r, "slavc")
    t = table["positive"]["maxq3"]
    assert t["cIoU"] == pytest.approx(0.4) and t["AUC"] == pytest.approx(ref.auc_ciou_loops([0.2, 0.6]))
    neg = table["negative"]
    assert neg["silence"]["maxq3"]["pIA"] == pytest.approx(0.25)
    assert neg["noise"]["maxq3"]["AUC_pIA"] == pytest.approx(ref.auc_pia_loops([1.0, 0.1]))
    f = table["f_score"]["maxq3"]
    # compute_metrics: F(AUC_maxq3, mean of the AOCs), F(cIoU_maxq3, mean of 1 - pIA)
    mean_aoc = (neg["silence"]["maxq3"]["AUC_pIA"] + neg["noise"]["maxq3"]["AUC_pIA"]) / 2
    assert f["AUC-AUC_pIA"]["negatives"] == pytest.approx(ref.f_loops(t["AUC"], mean_aoc))
    assert f["cIoU-pIA"]["negatives"] == pytest.approx(ref.f_loops(0.4, 1 - (0.25 + 0.55) / 2))
    assert f["cIoU-pIA"]["silence"] == pytest.approx(ref.f_loops(0.4, 0.75))
    assert table["iou"]["positive-silence"]["0.5"] == 0.5
    assert table["maxima"]["positive"]["mean"] == pytest.approx(0.65)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    world = write_world(tmp_path_factory.mktemp("paper_negative") / "toy")
    dataset = load_test_set(world, "toy_plus_silent")
    model, object_net = tiny_model(), tiny_object_net()
    positive = score_test_set(model, dataset, object_net=object_net, alpha=0.9, batch_size=8)
    info = sample_info(dataset, "toy_plus_silent")
    result = score_paper_negative_audio(model, dataset, positive, info=info, object_net=object_net,
                                        batch_size=8)
    return dataset, info, model, object_net, positive, result


def test_the_pass_covers_every_sounding_image_and_map(scored):
    dataset, info, model, object_net, positive, result = scored
    sounding = [i for i, b in zip(positive.ids, positive.n_boxes, strict=True) if b > 0]
    assert result.ids == sounding
    assert result.alphas == {"slavc": None, "vsl@0.4": 0.4, "vsl@0.9": 0.9}
    assert result.kinds == ["silence", "noise", "offscreen"]
    for name in result.alphas:
        for t in THRESHOLDS:
            assert len(result.cious[name][t]) == len(sounding)
            for kind in result.kinds:
                assert len(result.pias[name][kind][t]) == len(result.kind_ids[kind])
        assert set(result.maxima[name]) == {"positive", *result.kinds}
    tables = result.tables()
    assert set(tables) == {"slavc", "vsl@0.4", "vsl@0.9"} and tables["vsl@0.4"]["alpha"] == 0.4


def test_universal_thresholds_come_from_the_positive_grid_maxima(scored):
    dataset, info, model, object_net, positive, result = scored
    model.eval()
    with torch.inference_mode():
        maxima = np.concatenate([grid_maxima(model, b["image"], b["spec"]).double().numpy() for b in
                                 iterate_batches(dataset, 8, positions=positive.indices[positive.sounding])])
    np.testing.assert_array_equal(result.maxima["slavc"]["positive"], maxima)
    expected = ref.universal_thresholds_loops(list(maxima))
    assert result.universal == pytest.approx(expected, rel=1e-6)
    # the grid maximum never exceeds the upsampled map's (its grid points are on the map)
    assert np.all(maxima <= positive.peaks["slavc"][positive.sounding] + 1e-6)


def test_one_negative_number_recomputed_from_the_maps(scored):
    """pIA of the silence map of the first image, with and without OGL, and its IoU with the
    positive map, rebuilt from the networks with the public map functions (the same batch of 8
    as the pass: an untrained model's maps are so flat that a different batch's rounding moves
    pixels across a threshold)."""
    dataset, info, model, object_net, positive, result = scored
    batch = next(iterate_batches(dataset, batch_size=8, positions=positive.indices[positive.sounding]))
    silence = silence_spectrogram(batch["spec"].shape[-1])[None].expand(len(batch["id"]), -1, -1, -1)
    model.eval()
    object_net.eval()
    with torch.inference_mode():
        ogl = M.ogl_map(object_net(batch["image"]))
        own = M.slavc_map(model.localization_logits(batch["image"], batch["spec"]), model.tau)
        silent = M.slavc_map(model.localization_logits(batch["image"], silence), model.tau)
    gt = batch["gt_map"][0].numpy()
    for alpha, name in ((None, "slavc"), (0.4, "vsl@0.4")):
        pos = own if alpha is None else M.vsl_map(own, ogl, alpha)
        neg = silent if alpha is None else M.vsl_map(silent, ogl, alpha)
        pos, neg = pos[0].float().numpy(), neg[0].float().numpy()
        for t, value in (("0.5", 0.5), ("maxq3", result.universal["maxq3"]),
                         ("adap", ref.adaptive_threshold_loops(pos, gt))):
            assert result.cious[name][t][0] == pytest.approx(ref.ciou_loops(pos, gt, value))
            expected = ref.pia_loops((neg > value).astype(int))
            assert result.pias[name]["silence"][t][0] == pytest.approx(expected)
            assert result.ious[name]["positive-silence"][t][0] == pytest.approx(
                ref.map_iou_loops((pos > value).astype(int), (neg > value).astype(int)))


def test_the_papers_figure_draws_each_audio_and_the_three_thresholds(scored):
    from slavc_lite.evaluation.visualize import paper_maxima_figure

    *_, result = scored
    fig = paper_maxima_figure(result, maps=("slavc", "vsl@0.4", "vsl@0.9"))
    assert len(fig.axes) == 3
    labels = fig.legends[0].get_texts()
    labels = [t.get_text() for t in labels]
    assert sum(label.startswith(("positive", "silence", "noise", "offscreen")) for label in labels) == 4
    assert [label.split(" =")[0] for label in labels if " = " in label] == ["max", "max10", "maxq3"]
    with pytest.raises(ValueError, match="none of the maps"):
        paper_maxima_figure(result, maps=("ogl",))


def test_offscreen_uses_the_same_partners_as_our_extras(scored):
    dataset, info, model, object_net, positive, result = scored
    partners = offscreen_partners(dataset, positive.indices[positive.sounding].tolist(), info)
    assert result.kind_ids["offscreen"] == [dataset.ids[p] for p in sorted(partners)]


def test_reference_inputs_are_the_papers_unlogged_spectrograms():
    silence = reference_silence_spectrogram(200)
    assert silence.shape == (1, 257, 200) and torch.count_nonzero(silence) == 0
    noise = reference_noise_spectrogram(200, index=3)
    assert noise.shape == (1, 257, 200) and torch.equal(noise, reference_noise_spectrogram(200, index=3))
    # unit-variance white noise: one-sided power spectral density 2 / 16000, divided by 12, not logged
    assert float(noise[0, 1:-1].double().mean()) == pytest.approx(2 / 16000 / 12, rel=0.05)
    assert float(noise.min()) >= 0.0


def test_reference_inputs_change_silence_and_noise_only(scored):
    dataset, info, model, object_net, positive, ours = scored
    theirs = score_paper_negative_audio(model, dataset, positive, info=info, object_net=object_net,
                                        universal=ours.universal, inputs="reference", batch_size=8)
    assert theirs.inputs == "reference" and ours.inputs == "ours"
    assert theirs.cious == ours.cious  # the same positive maps and thresholds
    assert theirs.pias["slavc"]["offscreen"] == ours.pias["slavc"]["offscreen"]
    assert theirs.maxima["slavc"]["silence"] != ours.maxima["slavc"]["silence"]
    assert theirs.maxima["slavc"]["noise"] != ours.maxima["slavc"]["noise"]
    with pytest.raises(ValueError, match="inputs must be one of"):
        score_paper_negative_audio(model, dataset, positive, inputs="theirs")


def test_without_an_object_network_only_slavc_and_bad_kinds_refused(scored):
    dataset, info, model, object_net, positive, _ = scored
    alone = score_paper_negative_audio(model, dataset, positive, kinds=("silence",), universal=UNIVERSAL,
                                       batch_size=8)
    assert list(alone.alphas) == ["slavc"] and alone.kinds == ["silence"]
    assert alone.universal == UNIVERSAL and alone.universal_source == "given"
    with pytest.raises(ValueError, match="unknown negative audio"):
        score_paper_negative_audio(model, dataset, positive, kinds=("music",))


@pytest.fixture(scope="module")
def cli_out(tmp_path_factory):
    root = tmp_path_factory.mktemp("paper_cli")
    world, run = write_world(root / "toy"), write_run(root / "run")
    out = root / "eval"
    assert main(["evaluate", "--checkpoint", str(run), "--data", str(world), "--testset", "toy_plus_silent",
                 "--out", str(out), "--device", "cpu", "--batch-size", "8", "--negative-audio"]) == 0
    return out, run


def test_cli_writes_the_papers_tables_beside_ours(cli_out, capsys):
    out, run = cli_out
    report = json.loads((out / "metrics.json").read_text())
    paper = report["negative_audio_paper"]
    assert set(paper["maps"]) == {"slavc", *(f"vsl@{a:g}" for a in PAPER_ALPHAS)}
    assert set(paper["universal_thresholds"]) == {"max", "max10", "maxq3"}
    table = paper["maps"]["vsl@0.4"]
    assert table["alpha"] == 0.4
    assert set(table["positive"]) == set(THRESHOLDS)
    assert set(table["negative"]) == {"silence", "noise", "offscreen"}
    assert "positive-offscreen" in table["iou"] and "silence-noise" in table["iou"]
    assert report["negative_audio"]["measured"].startswith("our extra views")
    assert report["config"]["negative_audio_paper_alphas"] == list(PAPER_ALPHAS)
    assert paper["inputs"] == "ours" and report["config"]["negative_audio_paper_inputs"] == "ours"
    md = (out / "metrics.md").read_text()
    assert md.index("## Negative audio: the paper's metrics") < md.index("## Negative audio: our extra views")
    for caption in ("`slavc`: SLAVC alone, without OGL; checkpoint",
                    "`vsl@0.4`: with OGL: VSL = 0.4 * SLAVC + 0.6 * OGL (alpha = 0.4); checkpoint",
                    "`vsl@0.9`: with OGL: VSL = 0.9 * SLAVC + 0.1 * OGL (alpha = 0.9); checkpoint"):
        assert md.count(caption) == 2  # the table and the map IoU table
    assert f"checkpoint {run}" in md
    assert (out / "negative_audio_paper.png").is_file()
    # percent in metrics.md, fractions in metrics.json
    row = next(line for line in md.splitlines() if line.startswith("| maxq3 |"))
    assert f"{100 * paper['maps']['slavc']['positive']['maxq3']['cIoU']:.2f}" in row


def test_no_negative_audio_leaves_both_out(tmp_path):
    root = tmp_path
    world, run = write_world(root / "toy"), write_run(root / "run")
    assert main(["evaluate", "--checkpoint", str(run), "--data", str(world), "--testset", "toy",
                 "--out", str(root / "eval"), "--limit", "3", "--no-negative-audio"]) == 0
    report = json.loads((root / "eval" / "metrics.json").read_text())
    assert "negative_audio_paper" not in report and "negative_audio" not in report


def test_make_run_evaluates_with_negative_audio(monkeypatch, tmp_path):
    import slavc_lite.evaluation as evaluation
    from slavc_lite.teaching.run_all import MainJob

    calls = []
    monkeypatch.setattr(evaluation, "evaluate_run", lambda *a, **kw: calls.append(kw) or {})
    MainJob(build=tmp_path / "build", data=tmp_path / "data", runs=tmp_path / "runs", quick=True).evaluate()
    assert calls and calls[0]["negative_audio"] is True


def test_the_readme_block_renders_the_committed_negative_audio_tables():
    from pathlib import Path

    from slavc_lite.evaluation.results_page import MAKE_RUN_FILE, render_results

    results = Path(__file__).resolve().parents[1] / "results"
    paper = json.loads((results / MAKE_RUN_FILE).read_text())["negative_audio_paper"]
    text = render_results(results)
    for name, table in paper["maps"].items():
        assert f"`{name}`: " in text
        threshold = f"{paper['universal_thresholds']['maxq3']:.4g}"
        ciou = f"{100 * table['positive']['maxq3']['cIoU']:.2f}"
        assert f"| maxq3 | {threshold} | {ciou} |" in text, name
    assert "checkpoint `best.pth` of `make run`" in text and "checkpoint /" not in text  # no machine path
