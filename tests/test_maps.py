"""SLAVC, OGL and VSL maps (Eq. 5-7) and the official prediction and confidence rules."""

import numpy as np
import pytest
import torch

from slavc_lite import maps
from tests.reference_impl import bicubic_align_corners_loops

TAU = 0.03


def test_upsampling_is_bicubic_with_aligned_corners():
    grid = torch.randn(1, 4, 5, dtype=torch.float64)
    fast = maps.upsample(grid.reshape(1, 4, 5), size=9)[0].numpy()
    # non-square inputs are resized to size x size; check against loops on a square grid too
    square = torch.randn(1, 3, 3, dtype=torch.float64)
    np.testing.assert_allclose(
        maps.upsample(square, size=8)[0].numpy(),
        bicubic_align_corners_loops(square[0].numpy(), 8),
        atol=1e-12,
    )
    assert fast.shape == (9, 9)
    # corners are kept exactly with align_corners=True
    assert fast[0, 0] == pytest.approx(float(grid[0, 0, 0]))
    assert fast[-1, -1] == pytest.approx(float(grid[0, -1, -1]))


def test_slavc_map_uses_the_fixed_cosine_range():
    cos = torch.tensor([[[-1.0, 0.0], [0.5, 1.0]]], dtype=torch.float64)
    scores = maps.slavc_map(cos / TAU, tau=TAU, size=2)
    np.testing.assert_allclose(scores[0].numpy(), ((cos + 1) / 2)[0].numpy(), atol=1e-12)


def test_slavc_map_equals_upsample_then_scale_by_loops():
    logits = torch.randn(2, 7, 7, dtype=torch.float64) * 10
    out = maps.slavc_map(logits, tau=TAU)
    assert out.shape == (2, 224, 224)
    expected = (bicubic_align_corners_loops(logits[1].numpy(), 224) + 1 / TAU) / (2 / TAU)
    np.testing.assert_allclose(out[1].numpy(), expected, atol=1e-9)


def test_ogl_map_is_mean_abs_over_channels_in_fixed_range():
    feats = torch.randn(2, 512, 7, 7, dtype=torch.float64)
    out = maps.ogl_map(feats)
    saliency = np.abs(feats[0].numpy()).mean(axis=0)  # Eq. 5's L1 norm / 512
    assert saliency.sum() * 512 == pytest.approx(np.abs(feats[0].numpy()).sum())
    np.testing.assert_allclose(out[0].numpy(), bicubic_align_corners_loops(saliency, 224) / 2.5,
                               atol=1e-9)


def test_no_clipping_of_values_outside_the_range():
    big = torch.full((1, 8, 7, 7), 10.0)
    assert float(maps.ogl_map(big).max()) == pytest.approx(4.0, rel=1e-5)
    assert float(maps.slavc_map(torch.full((1, 7, 7), 2 / TAU), TAU).max()) == pytest.approx(1.5, rel=1e-5)


def test_vsl_blend():
    a, b = torch.rand(2, 224, 224), torch.rand(2, 224, 224)
    torch.testing.assert_close(maps.vsl_map(a, b, 0.4), 0.4 * a + 0.6 * b)
    torch.testing.assert_close(maps.vsl_map(a, b, 1.0), a)
    torch.testing.assert_close(maps.vsl_map(a, b, 0.0), b)
    np.testing.assert_allclose(maps.vsl_map(a.numpy(), b.numpy(), 0.9), 0.9 * a.numpy() + 0.1 * b.numpy())
    with pytest.raises(ValueError):
        maps.vsl_map(a, b, 1.5)


def _official_relative(scores: np.ndarray, pred_size=0.5) -> np.ndarray:
    low, high = scores.min(), scores.max()
    norm = (scores - low) / (high - low) if high - low != 0 else scores
    n = scores.size
    thr = np.sort(norm.flatten())[int(n * pred_size)]
    return norm >= thr


def test_relative_prediction_marks_the_top_half():
    scores = torch.rand(3, 224, 224, dtype=torch.float64)
    pred = maps.relative_prediction(scores)
    assert pred.dtype == torch.bool and pred.shape == scores.shape
    for i in range(3):
        np.testing.assert_array_equal(pred[i].numpy(), _official_relative(scores[i].numpy()))
        assert int(pred[i].sum()) == 224 * 224 // 2


def test_relative_prediction_on_a_constant_map_marks_everything():
    pred = maps.relative_prediction(torch.full((224, 224), 0.3))
    assert bool(pred.all())


def test_absolute_prediction():
    scores = torch.tensor([[0.2, 0.5], [0.7, 0.49]])
    assert maps.absolute_prediction(scores).tolist() == [[False, True], [True, False]]


def test_confidence_is_the_mean_of_the_top_quarter():
    scores = torch.arange(224 * 224, dtype=torch.float64).reshape(1, 224, 224) / (224 * 224)
    n = 224 * 224
    expected = np.sort(scores.numpy().flatten())[-n // 4 :].mean()
    assert float(maps.confidence(scores)[0]) == pytest.approx(expected, abs=1e-12)
    odd = torch.arange(7.0).reshape(1, 7)  # official slice keeps ceil(7 / 4) = 2 values
    assert float(maps.confidence(odd)[0]) == pytest.approx(np.sort(np.arange(7.0))[-7 // 4 :].mean())
