"""Negative audio: silence, noise and off-screen sound for every sounding image, the maximum
map value distributions and the universal threshold."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from slavc_lite.audio import LOG_EPS, SPEC_SCALE
from slavc_lite.evaluation import score_negative_audio, score_test_set
from slavc_lite.evaluation.negative_audio import (
    NOISE_RMS,
    noise_spectrogram,
    offscreen_partners,
    peak_distributions,
    silence_spectrogram,
    universal_threshold,
)
from slavc_lite.evaluation.testsets import load_test_set, sample_info
from slavc_lite.evaluation.visualize import negative_audio_figure
from tests.test_evaluation_support import tiny_model, tiny_object_net, write_world


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    world = write_world(tmp_path_factory.mktemp("eval_negative") / "toy")
    dataset = load_test_set(world, "toy_plus_silent")
    model, object_net = tiny_model(), tiny_object_net()
    positive = score_test_set(model, dataset, object_net=object_net, alpha=0.9, batch_size=8)
    info = sample_info(dataset, "toy_plus_silent")
    result = score_negative_audio(model, dataset, positive, info=info, object_net=object_net, alpha=0.9,
                                  batch_size=8)
    return dataset, info, positive, result


def test_negative_spectrograms():
    silence = silence_spectrogram(200)
    assert silence.shape == (1, 257, 200)
    assert torch.all(silence == float(np.log(LOG_EPS) / SPEC_SCALE))
    noise = noise_spectrogram(200, index=3)
    assert noise.shape == (1, 257, 200)
    assert torch.equal(noise, noise_spectrogram(200, index=3))
    assert not torch.equal(noise, noise_spectrogram(200, index=4))
    # white noise of RMS 0.1: one-sided power spectral density 2 * 0.1^2 / 16000 in every bin
    power = (torch.exp(noise[0, 1:-1].double() * SPEC_SCALE) - LOG_EPS).mean()
    assert float(power) == pytest.approx(2 * NOISE_RMS**2 / 16000, rel=0.05)


def test_offscreen_partners_are_heard_elsewhere_and_not_seen_here(setup):
    dataset, info, positive, _ = setup
    positions = positive.indices[positive.sounding].tolist()
    partners = offscreen_partners(dataset, positions, info)
    assert set(partners) == set(positions)  # the toy world always has candidates
    for p, q in partners.items():
        heard = info.audio_classes[dataset.audio_ids[q]]
        assert heard and not heard & info.visible_classes[dataset.ids[p]] and q != p
    assert offscreen_partners(dataset, positions, info) == partners  # seeded
    assert offscreen_partners(dataset, positions, info, seed=1) != partners


def test_every_sounding_image_is_scored_with_each_negative(setup):
    dataset, info, positive, result = setup
    sounding_ids = [i for i, b in zip(positive.ids, positive.n_boxes, strict=True) if b > 0]
    assert result.positive.ids == sounding_ids
    assert set(result.negatives) == {"silence", "noise", "offscreen"}
    for kind, scores in result.negatives.items():
        assert scores.ids == sounding_ids
        # The OGL map does not hear: identical for every audio.
        np.testing.assert_array_equal(scores.peaks["ogl"], result.positive.peaks["ogl"])
        assert not np.array_equal(scores.peaks["slavc"], result.positive.peaks["slavc"]), kind
    off = result.negatives["offscreen"]
    assert all(a != i for a, i in zip(off.audio_ids, off.ids, strict=True))
    assert set(result.negatives["silence"].audio_ids) == {"silence"}
    assert result.offscreen_audio == dict(zip(off.ids, off.audio_ids, strict=True))


def test_tables_distributions_and_figure(setup):
    *_, result = setup
    table = result.table("slavc")
    assert table["n_positive"] == len(result.positive)
    assert table["n_negative"] == {k: len(result.positive) for k in ("silence", "noise", "offscreen")}
    u = table["universal"]
    assert 0.5 <= u["balanced_accuracy"] <= 1.0
    assert set(u["negative_accuracy_per_kind"]) == {"silence", "noise", "offscreen"}
    assert result.table("ogl")["universal"]["detection_auc"] == 0.5  # cannot tell at all
    peaks = peak_distributions(result, "slavc", bins=10)
    assert len(peaks["histogram"]["edges"]) == 11
    assert {k: sum(v) for k, v in peaks["histogram"]["counts"].items()} == {
        "positive": len(result.positive), "silence": len(result.positive), "noise": len(result.positive),
        "offscreen": len(result.positive)}
    assert peaks["stats"]["positive"]["max"] == result.positive.peaks["slavc"].max()
    assert set(table["absolute"]) == {"threshold", "positive", "silence", "noise", "offscreen"}
    fig = negative_audio_figure(result)
    assert len(fig.axes) == 3


def test_universal_threshold_on_known_values():
    out = universal_threshold(np.array([0.8, 0.9, 0.7]), np.array([0.1, 0.75, 0.2]))
    # t = 0.7: TPR 1, TNR 2/3; t = 0.8: TPR 2/3, TNR 1: tie, the lowest wins
    assert out["threshold"] == 0.7
    assert out["positive_accuracy"] == 1.0 and out["negative_accuracy"] == pytest.approx(2 / 3)
    assert out["balanced_accuracy"] == pytest.approx(5 / 6)
    assert out["detection_auc"] == pytest.approx(8 / 9)
    perfect = universal_threshold(np.array([0.6, 0.7]), np.array([0.1, 0.2]))
    assert perfect["threshold"] == 0.6 and perfect["balanced_accuracy"] == 1.0
    assert np.isnan(universal_threshold(np.array([0.5]), np.array([]))["threshold"])


def test_unknown_kind_and_no_sounding_samples_are_refused(setup):
    dataset, info, positive, _ = setup
    with pytest.raises(ValueError, match="unknown negative audio"):
        score_negative_audio(tiny_model(), dataset, positive, kinds=["music"])
    with pytest.raises(ValueError, match="sounding"):
        score_negative_audio(tiny_model(), dataset, positive.select(~positive.sounding))
