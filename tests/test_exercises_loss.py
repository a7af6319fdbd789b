"""The exercise checks of chapter 04: reference answers pass, plausible mistakes fail with a reason."""

import pytest
import torch
import torch.nn.functional as F

from slavc_lite import losses
from slavc_lite.teaching import exercises
from slavc_lite.teaching.exercises import loss as checks


def sims(img, aud, tau):
    return torch.einsum("nchw,mc->nmhw", img, aud).flatten(2) / tau


def p_loc(img, aud, tau):
    return F.softmax(sims(img, aud, tau), dim=2)


def p_avc(img, aud, tau):
    return F.softmax(sims(img, aud, tau), dim=1)


def test_probabilities_pass():
    assert checks.check_p_loc(p_loc)
    assert checks.check_p_avc(p_avc)


def test_probabilities_as_maps_pass():
    assert checks.check_p_loc(lambda i, a, t: p_loc(i, a, t).unflatten(2, i.shape[2:]))


def test_softmax_over_the_wrong_axis_fails():
    with pytest.raises(AssertionError, match="over the audio index"):
        checks.check_p_loc(p_avc)
    with pytest.raises(AssertionError, match="over the locations"):
        checks.check_p_avc(p_loc)


def test_missing_temperature_fails():
    with pytest.raises(AssertionError, match="tau"):
        checks.check_p_loc(lambda i, a, t: F.softmax(sims(i, a, 1.0), dim=2))


def test_wrong_shape_fails():
    with pytest.raises(AssertionError, match="shape"):
        checks.check_p_avc(lambda i, a, t: p_avc(i, a, t).transpose(0, 1))


def scores(img_avc, img_loc, aud_avc, aud_loc, tau, reduce="sum"):
    joint = p_avc(img_avc, aud_avc, tau) * p_loc(img_loc, aud_loc, tau)
    return torch.log(joint.sum(2) if reduce == "sum" else joint.max(2).values)


def test_scores_pass_and_mistakes_fail():
    assert checks.check_slavc_scores(scores)
    with pytest.raises(AssertionError, match="other reduction"):
        checks.check_slavc_scores(lambda *a: scores(*a[:-1], "max" if a[-1] == "sum" else "sum"))
    with pytest.raises(AssertionError, match="log"):
        checks.check_slavc_scores(lambda *a: torch.exp(scores(*a)))
    with pytest.raises(AssertionError, match="sum"):
        checks.check_slavc_scores(lambda *a: scores(*a[:-1], "sum"))  # ignores reduce


def loss_right(oi, oa, mi, ma, tau, reduce="sum"):
    labels = torch.arange(oi[0].shape[0])
    i2a = scores(oi[0], oi[1], ma[0], ma[1], tau, reduce)
    a2i = scores(mi[0], mi[1], oa[0], oa[1], tau, reduce)
    return F.cross_entropy(i2a, labels) + F.cross_entropy(a2i, labels)


def test_loss_passes():
    assert checks.check_slavc_loss(loss_right)
    assert checks.check_slavc_loss(lambda *a: float(losses.slavc_loss(*a)))


@pytest.mark.parametrize("wrong, message", [
    (lambda oi, oa, mi, ma, tau, reduce: F.cross_entropy(
        scores(oi[0], oi[1], ma[0], ma[1], tau, reduce), torch.arange(5)), "only the i2a term"),
    (lambda *a: loss_right(*a) / 2, "mean of the two terms"),
    (lambda oi, oa, mi, ma, tau, reduce: F.cross_entropy(scores(oi[0], oi[1], ma[0], ma[1], tau, reduce),
                                                         torch.arange(5))
        + F.cross_entropy(scores(mi[0], mi[1], oa[0], oa[1], tau, reduce).t(), torch.arange(5)),
     "transposed"),
    (lambda oi, oa, mi, ma, tau, reduce: loss_right(oi, oa, oi, oa, tau, reduce), "no momentum targets"),
    (lambda *a: loss_right(*a) + 0.1, "expected"),
])
def test_loss_mistakes_fail(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.check_slavc_loss(wrong)


def test_loss_must_be_a_number():
    with pytest.raises(AssertionError, match="one number"):
        checks.check_slavc_loss(lambda *a: torch.zeros(3))


def max_mil(img, aud, tau):
    logits = sims(img, aud, tau).max(-1).values
    labels = torch.arange(img.shape[0])
    return F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)


def test_max_mil_passes_and_mistakes_fail():
    assert checks.check_max_mil_loss(max_mil)
    with pytest.raises(AssertionError, match="one direction|image-to-audio"):
        checks.check_max_mil_loss(lambda i, a, t: F.cross_entropy(sims(i, a, t).max(-1).values,
                                                                  torch.arange(i.shape[0])))
    def mean_pooled(i, a, t):
        logits, labels = sims(i, a, t).mean(-1), torch.arange(i.shape[0])
        return F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)

    with pytest.raises(AssertionError, match="mean over locations"):
        checks.check_max_mil_loss(mean_pooled)


def test_checks_are_exported():
    names = ("check_p_loc", "check_p_avc", "check_slavc_scores", "check_slavc_loss", "check_max_mil_loss")
    for name in names:
        assert getattr(exercises, name) is getattr(checks, name)
