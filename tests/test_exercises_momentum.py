"""The exercise checks of chapter 03: reference answers pass, plausible mistakes fail with a reason."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from slavc_lite.teaching import exercises
from slavc_lite.teaching.exercises import momentum as checks


def ema_right(target, online, m):
    return m * target + (1 - m) * online


def ema_in_place(target, online, m):
    target.mul_(m).add_(online, alpha=1 - m)
    return target


def test_ema_update_accepts_the_rule_returned_or_in_place():
    assert checks.check_ema_update(ema_right)
    assert checks.check_ema_update(ema_in_place)


def test_ema_update_rejects_swapped_weights():
    with pytest.raises(AssertionError, match="swapped"):
        checks.check_ema_update(lambda t, o, m: (1 - m) * t + m * o)


def test_ema_update_rejects_changing_the_online_tensor():
    def writes_online(t, o, m):
        o.mul_(0.5)
        return m * t + (1 - m) * o

    with pytest.raises(AssertionError, match="online"):
        checks.check_ema_update(writes_online)


def test_ema_update_rejects_none():
    with pytest.raises(AssertionError, match="None"):
        checks.check_ema_update(lambda t, o, m: None)


def test_half_life():
    assert checks.check_ema_half_life(lambda m: math.log(0.5) / math.log(m))
    with pytest.raises(AssertionError, match="time constant"):
        checks.check_ema_half_life(lambda m: 1 / (1 - m))
    with pytest.raises(AssertionError, match="approximation"):
        checks.check_ema_half_life(lambda m: math.log(2) / (1 - m))


def update_parameters(online, momentum, m):
    with torch.no_grad():
        for p, q in zip(online.parameters(), momentum.parameters(), strict=True):
            q.mul_(m).add_(p, alpha=1 - m)


def update_state_dict(online, momentum, m):
    # A plausible mistake: the state dict also holds the BatchNorm buffers.
    state = momentum.state_dict()
    for k, v in online.state_dict().items():
        if v.dtype.is_floating_point:
            state[k].mul_(m).add_(v, alpha=1 - m)


def test_momentum_update_parameters_only_passes():
    assert checks.check_momentum_update(update_parameters)


def test_momentum_update_of_buffers_fails():
    with pytest.raises(AssertionError, match="buffer"):
        checks.check_momentum_update(update_state_dict)


def test_momentum_update_copying_everything_fails():
    def copy_all(online, momentum, m):
        momentum.load_state_dict(copy.deepcopy(online.state_dict()))

    with pytest.raises(AssertionError, match="momentum parameter"):
        checks.check_momentum_update(copy_all)


def test_momentum_update_that_moves_the_online_net_fails():
    def pulls_online_back(online, momentum, m):
        update_parameters(online, momentum, m)
        update_parameters(momentum, online, m)

    with pytest.raises(AssertionError, match="online network"):
        checks.check_momentum_update(pulls_online_back)


def test_image_dropout_reference_passes():
    assert checks.check_image_dropout(lambda x, p: F.dropout(x, p, training=True))
    assert checks.check_image_dropout(lambda x, p: x * (torch.rand_like(x) >= p) / (1 - p))


def test_image_dropout_without_rescaling_fails():
    with pytest.raises(AssertionError, match=r"1 / \(1 - p\)"):
        checks.check_image_dropout(lambda x, p: x * (torch.rand_like(x) >= p))


def test_channel_dropout_fails():
    with pytest.raises(AssertionError, match="whole channels"):
        checks.check_image_dropout(lambda x, p: F.dropout2d(x, p, training=True))


def test_eval_mode_dropout_fails():
    with pytest.raises(AssertionError, match="no element is zero"):
        checks.check_image_dropout(lambda x, p: F.dropout(x, p, training=False))


def test_image_dropout_with_the_keep_probability_swapped_fails():
    with pytest.raises(AssertionError, match="elements are zero"):
        checks.check_image_dropout(lambda x, p: F.dropout(x, 1 - p, training=True) * p / (1 - p)
                                   if p != 0.5 else F.dropout(x, p, training=True))


def test_checks_are_exported():
    for name in ("check_ema_update", "check_ema_half_life", "check_momentum_update", "check_image_dropout"):
        assert getattr(exercises, name) is getattr(checks, name)
