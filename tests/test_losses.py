"""The loss (Eq. 1-4, official and paper variants) and EZ-VSL against explicit loops."""

import math

import pytest
import torch

from slavc_lite import losses
from tests.reference_impl import max_mil_loss_loops, normalized, scores_loops, slavc_loss_loops

TAU = 0.03


def _features(seed: int, n=3, c=5, h=2, w=3, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    img = [normalized(torch.randn(n, c, h, w, generator=g, dtype=torch.float64), 1) for _ in range(2)]
    aud = [normalized(torch.randn(n, c, generator=g, dtype=torch.float64), 1) for _ in range(2)]
    return tuple(img), tuple(aud)


@pytest.mark.parametrize("reduce", ["sum", "max"])
def test_scores_match_loops(reduce):
    img, aud = _features(0)
    fast = losses.slavc_scores(img[0], img[1], aud[0], aud[1], TAU, reduce)
    slow = torch.tensor(scores_loops(img[0], img[1], aud[0], aud[1], TAU, reduce), dtype=torch.float64)
    torch.testing.assert_close(fast, slow, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("reduce", ["sum", "max"])
def test_slavc_loss_matches_loops(reduce):
    online_img, online_aud = _features(1)
    mom_img, mom_aud = _features(2)
    fast = losses.slavc_loss(online_img, online_aud, mom_img, mom_aud, TAU, reduce)
    slow = slavc_loss_loops(online_img, online_aud, mom_img, mom_aud, TAU, reduce)
    assert abs(float(fast) - slow) < 1e-5


def test_float32_loss_agrees_with_float64_loops():
    online_img, online_aud = _features(3, n=4)
    mom_img, mom_aud = _features(4, n=4)
    as32 = [tuple(t.float() for t in pair) for pair in (online_img, online_aud, mom_img, mom_aud)]
    fast = losses.slavc_loss(*as32, tau=TAU)
    assert abs(float(fast) - slavc_loss_loops(online_img, online_aud, mom_img, mom_aud, TAU)) < 1e-4


def test_sum_and_max_variants_differ_and_sum_bounds_max():
    online_img, online_aud = _features(5)
    mom_img, mom_aud = _features(6)
    s = losses.slavc_scores(online_img[0], online_img[1], mom_aud[0], mom_aud[1], TAU, "sum")
    m = losses.slavc_scores(online_img[0], online_img[1], mom_aud[0], mom_aud[1], TAU, "max")
    assert torch.all(s >= m - 1e-12)  # a sum of non-negative terms bounds its largest term
    assert not torch.allclose(s, m)


def test_max_mil_loss_matches_loops():
    img, aud = _features(7)
    fast = losses.max_mil_loss(img[0], aud[0], TAU)
    assert abs(float(fast) - max_mil_loss_loops(img[0], aud[0], TAU)) < 1e-6


def test_ezvsl_loss_sums_both_heads():
    img, aud = _features(8)
    expected = max_mil_loss_loops(img[0], aud[0], TAU) + max_mil_loss_loops(img[1], aud[1], TAU)
    assert abs(float(losses.ezvsl_loss(img, aud, TAU)) - expected) < 1e-6


def test_aligned_pairs_have_the_known_loss():
    # Each image holds its own audio direction at location (0, 0); the three other locations
    # are orthogonal to every audio. Matching pair: P_loc ~ 1 at (0, 0) and P_avc ~ 1 there,
    # so the score is log 1. Non-matching pair: P_loc is uniform (1/4) and P_avc is 1/3 on
    # the three background locations, so the score is log(3 * 1/4 * 1/3) = log 1/4.
    # Each direction's cross-entropy is log(1 + 2/4); the loss is twice that.
    n, c = 3, 8
    aud = torch.eye(c, dtype=torch.float64)[:n]
    img = torch.zeros(n, c, 2, 2, dtype=torch.float64)
    img[:, n:, :, :] = 1.0
    for i in range(n):
        img[i, :, 0, 0] = aud[i]
    img = normalized(img, 1)
    loss = losses.slavc_loss((img, img), (aud, aud), (img, img), (aud, aud), TAU)
    shuffled = losses.slavc_loss((img, img), (aud, aud), (img, img), (aud.roll(1, 0),) * 2, TAU)
    assert abs(float(loss) - 2 * math.log(1.5)) < 1e-6
    assert float(shuffled) > float(loss) + 1


def test_unknown_reduce_is_refused():
    img, aud = _features(9)
    with pytest.raises(ValueError, match="reduce"):
        losses.slavc_scores(img[0], img[1], aud[0], aud[1], TAU, "mean")


def test_gradient_flows_to_online_features_only():
    online_img, online_aud = _features(10)
    mom_img, mom_aud = _features(11)
    online_img = tuple(t.clone().requires_grad_(True) for t in online_img)
    losses.slavc_loss(online_img, online_aud, mom_img, mom_aud, TAU).backward()
    assert all(t.grad is not None and t.grad.abs().sum() > 0 for t in online_img)


@pytest.mark.parametrize("reduce", ["sum", "max"])
def test_an_excluded_pair_is_as_if_the_clip_were_not_in_the_batch(reduce):
    img, aud = _features(12, n=4)
    exclude = torch.zeros(4, 4, dtype=torch.bool)
    exclude[0, 1] = exclude[1, 0] = True
    scores = losses.slavc_scores(img[0], img[1], aud[0], aud[1], TAU, reduce, exclude)
    kept = [0, 2, 3]  # frame 0's batch without clip 1
    alone = losses.slavc_scores(img[0][:1], img[1][:1], aud[0][kept], aud[1][kept], TAU, reduce)
    torch.testing.assert_close(scores[0, kept], alone[0], rtol=1e-12, atol=1e-12)
    assert scores[0, 1] == -math.inf and scores[1, 0] == -math.inf
    official = losses.slavc_scores(img[0], img[1], aud[0], aud[1], TAU, reduce)
    torch.testing.assert_close(scores[2:], official[2:])  # rows without an excluded pair are unchanged
    none_out = torch.zeros(4, 4, dtype=torch.bool)
    nothing = losses.slavc_scores(img[0], img[1], aud[0], aud[1], TAU, reduce, none_out)
    torch.testing.assert_close(nothing, official, rtol=0, atol=0)


def test_excluded_pairs_leave_the_loss_and_its_gradients_finite():
    online_img, online_aud = _features(13, n=4)
    mom_img, mom_aud = _features(14, n=4)
    online_img = tuple(t.clone().requires_grad_(True) for t in online_img)
    exclude = losses.same_class_pairs([{"dog"}, {"dog", "bell"}, {"bell"}, set()])
    loss = losses.slavc_loss(online_img, online_aud, mom_img, mom_aud, TAU, exclude=exclude)
    loss.backward()
    assert torch.isfinite(loss) and all(torch.isfinite(t.grad).all() for t in online_img)
    assert loss < losses.slavc_loss(online_img, online_aud, mom_img, mom_aud, TAU)  # fewer negatives


def test_same_class_pairs_and_bad_masks():
    pairs = losses.same_class_pairs([{"dog"}, {"dog", "bell"}, {"bell"}, frozenset()])
    assert pairs.tolist() == [[False, True, False, False], [True, False, True, False],
                              [False, True, False, False], [False, False, False, False]]
    img, aud = _features(15, n=3)
    with pytest.raises(ValueError, match="diagonal"):
        losses.slavc_scores(img[0], img[1], aud[0], aud[1], TAU, exclude=torch.eye(3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"\[3, 3\]"):
        losses.slavc_scores(img[0], img[1], aud[0], aud[1], TAU, exclude=torch.zeros(2, 2, dtype=torch.bool))
