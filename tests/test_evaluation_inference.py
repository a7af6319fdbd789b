"""``score_test_set``: equal to a per-sample loop over maps and metrics, modes restored, both
dataset kinds, options (limit, kept maps, callbacks, replaced audio)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from slavc_lite import maps, metrics
from slavc_lite.data.cache import CachedAudioVisualDataset
from slavc_lite.data.datasets import AudioVisualDataset, build_test_set, collate
from slavc_lite.evaluation import score_test_set
from slavc_lite.evaluation.inference import batch_cious, relative_masks
from tests.test_evaluation_support import N_TEST, tiny_model, tiny_object_net, write_world

ALPHA = 0.9


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return write_world(tmp_path_factory.mktemp("eval_inference") / "toy")


@pytest.fixture(scope="module")
def dataset(world):
    return build_test_set("toy_plus_silent", world / "test", metadata=world / "test")


@pytest.fixture(scope="module")
def nets():
    return tiny_model(), tiny_object_net()


@pytest.fixture(scope="module")
def scores(dataset, nets):
    model, object_net = nets
    return score_test_set(model, dataset, object_net=object_net, alpha=ALPHA, batch_size=1)


def test_matches_a_per_sample_loop_exactly(dataset, nets, scores):
    model, object_net = nets
    assert len(scores) == len(dataset) == N_TEST
    assert scores.maps == ["slavc", "ogl", "vsl"]
    with torch.inference_mode():
        for i in range(len(dataset)):
            sample = dataset[i]
            image, spec = sample["image"][None], sample["spec"][None]
            slavc = maps.slavc_map(model.localization_logits(image, spec), model.tau)
            ogl = maps.ogl_map(object_net(image))
            per_map = {"slavc": slavc, "ogl": ogl, "vsl": maps.vsl_map(slavc, ogl, ALPHA)}
            gt = sample["gt_map"].numpy()
            assert scores.ids[i] == sample["id"]
            assert scores.n_boxes[i] == sample["n_boxes"]
            assert scores.areas[i] == gt.sum()
            for name, m in per_map.items():
                expected = metrics.ciou(maps.relative_prediction(m)[0], gt)
                got = scores.cious[name][i]
                assert (np.isnan(expected) and np.isnan(got)) or got == expected, (name, i)
                assert scores.confidences[name][i] == float(maps.confidence(m)[0])
                assert scores.absolute_cious[name][i] == pytest.approx(
                    metrics.ciou(maps.absolute_prediction(m)[0], gt), nan_ok=True)
                assert scores.peaks[name][i] == float(m.max())


def test_table_is_the_official_summary(scores):
    for name in scores.maps:
        expected = metrics.summary(scores.cious[name], scores.confidences[name], scores.n_boxes, scores.areas)
        table = scores.table(name)
        assert json.dumps(table, sort_keys=True) == json.dumps(expected, sort_keys=True)  # NaN == NaN
        assert table["all"]["n"] == N_TEST
        assert table["visible"]["n"] == int((scores.n_boxes > 0).sum())
        assert table["all"]["AP"] == expected["all"]["AP"]
    with pytest.raises(KeyError, match="available"):
        scores.table("center")


def test_batch_size_does_not_change_the_results(dataset, nets, scores):
    model, object_net = nets
    batched = score_test_set(model, dataset, object_net=object_net, alpha=ALPHA, batch_size=7)
    assert batched.ids == scores.ids
    for name in scores.maps:
        np.testing.assert_allclose(batched.confidences[name], scores.confidences[name], atol=1e-5)
        # an untrained model's maps are nearly flat, so the min-max normalised relative threshold
        # moves a little with float rounding; the cIoU stays close
        assert np.nanmean(np.abs(batched.cious[name] - scores.cious[name])) < 0.02


def test_modes_are_restored_and_eval_mode_is_used(dataset, nets, scores):
    model, object_net = nets
    model.train()
    model.momentum_imgnet.train()
    object_net.train()
    try:
        again = score_test_set(model, dataset, object_net=object_net, alpha=ALPHA, batch_size=1, limit=5)
        assert model.training and model.momentum_imgnet.training and object_net.training
        # eval mode inside: dropout (p = 0.9 in training) and batch norm statistics did not act
        np.testing.assert_array_equal(again.confidences["slavc"], scores.confidences["slavc"][:5])
    finally:
        model.eval()
        object_net.eval()


def test_without_object_net_only_the_slavc_map(dataset, nets):
    out = score_test_set(nets[0], dataset, limit=3)
    assert out.maps == ["slavc"] and out.alpha is None and len(out) == 3


def test_keep_maps_callbacks_and_extra_maps(dataset, nets, scores):
    model, object_net = nets
    seen = []

    def whole_image(batch, current):
        assert set(current) >= {"slavc", "ogl", "vsl"}
        return torch.ones(len(batch["id"]), 224, 224)

    out = score_test_set(model, dataset, object_net=object_net, alpha=ALPHA, batch_size=4, limit=6,
                         keep_maps=["vsl"], extra_maps={"whole": whole_image},
                         on_batch=lambda batch, m: seen.append((list(batch["id"]), sorted(m))))
    assert [ids for ids, _ in seen] == [scores.ids[:4], scores.ids[4:6]]
    assert seen[0][1] == ["ogl", "slavc", "vsl", "whole"]
    assert list(out.heatmaps) == ["vsl"] and out.heatmaps["vsl"].shape == (6, 224, 224)
    assert out.heatmaps["vsl"].dtype == np.float16
    # a constant map is predicted positive everywhere: cIoU = |gt| / 224^2
    sounding = out.n_boxes > 0
    np.testing.assert_allclose(out.cious["whole"][sounding], out.areas[sounding] / 224**2)
    assert np.all(out.confidences["whole"] == 1.0)
    with pytest.raises(ValueError, match="clash"):
        score_test_set(model, dataset, extra_maps={"ogl": whole_image}, limit=1)


def test_replace_audio_changes_only_the_audio_maps(dataset, nets, scores):
    model, object_net = nets
    silent = score_test_set(model, dataset, object_net=object_net, alpha=ALPHA, batch_size=1, limit=4,
                            replace_audio=lambda batch: torch.full_like(batch["spec"], np.log(1e-7) / 12))
    np.testing.assert_array_equal(silent.confidences["ogl"], scores.confidences["ogl"][:4])
    assert not np.array_equal(silent.confidences["slavc"], scores.confidences["slavc"][:4])


def test_cached_dataset_gives_the_same_scores(dataset, nets, scores, tmp_path):
    model, object_net = nets
    cached = CachedAudioVisualDataset.from_dataset(dataset, tmp_path / "cache", progress=False, workers=0)
    out = score_test_set(model, cached, object_net=object_net, alpha=ALPHA, batch_size=1)
    assert out.ids == scores.ids
    # frames are byte-identical; spectrograms are float16 in the cache
    np.testing.assert_array_equal(out.cious["ogl"], scores.cious["ogl"])
    np.testing.assert_allclose(out.confidences["slavc"], scores.confidences["slavc"], atol=1e-3)


def test_train_mode_datasets_and_empty_limits_are_refused(dataset, nets):
    train = AudioVisualDataset(dataset.root, dataset.ids[:2], mode="train")
    with pytest.raises(ValueError, match="test-mode"):
        score_test_set(nets[0], train)
    with pytest.raises(ValueError, match="nothing to evaluate"):
        score_test_set(nets[0], dataset, limit=0)


def test_batch_cious_equals_the_metric():
    rng = np.random.default_rng(0)
    pred = torch.from_numpy(rng.random((3, 224, 224)) > 0.5)
    gt = torch.from_numpy((rng.random((3, 224, 224)) > 0.7) * 0.5)
    gt[2] = 0
    pred[2] = False
    got = batch_cious(pred, gt)
    for i in range(2):
        assert got[i] == metrics.ciou(pred[i], gt[i])
    assert np.isnan(got[2]) and np.isnan(metrics.ciou(pred[2], gt[2]))
    assert collate  # the collate of the per-sample path is what iterate_batches uses


@pytest.mark.parametrize("pred_size", [0.5, 0.25, 0.0])
def test_relative_masks_equal_the_official_relative_prediction(pred_size):
    generator = torch.Generator().manual_seed(0)
    scores = torch.rand(4, 224, 224, generator=generator)
    scores[1] = 0.7  # constant map: left unnormalised, everything positive
    scores[2] = (scores[2] * 4).floor() / 4  # many ties at the threshold
    scores[3] = maps.upsample(torch.rand(1, 7, 7, generator=generator))[0]
    assert torch.equal(relative_masks(scores, pred_size), maps.relative_prediction(scores, pred_size))
    with pytest.raises(ValueError, match="pred_size"):
        relative_masks(scores, 1.0)
