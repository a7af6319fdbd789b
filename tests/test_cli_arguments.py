"""The argument types the commands share: checked values, one-line reasons."""

from __future__ import annotations

import argparse

import pytest

from slavc_lite.commands._arguments import at_least, count, positive_int, positive_number, share


@pytest.mark.parametrize(("parse", "text", "value"), [
    (share("alpha"), "0.4", 0.4), (share("alpha"), "1", 1.0), (share("alpha"), "0", 0.0),
    (positive_int, "3", 3), (count, "0", 0), (at_least(5), "5", 5),
    (positive_number, "2.5", 2.5), (positive_number, "1e-3", 1e-3),
])
def test_good_values_pass(parse, text, value):
    assert parse(text) == value


@pytest.mark.parametrize(("parse", "text", "reason"), [
    (share("alpha"), "x", "alpha must be a number in [0, 1], got 'x'"),
    (share("the synchrony weight"), "1.5", "the synchrony weight must be in [0, 1], got 1.5"),
    (share("alpha"), "nan", "alpha must be in [0, 1], got nan"),
    (positive_int, "0", "expected a number >= 1, got 0"),
    (positive_int, "2.5", "expected a whole number, got '2.5'"),
    (count, "-1", "expected a number >= 0, got -1"),
    (positive_number, "0", "expected a positive number, got 0"),
    (positive_number, "inf", "expected a positive number, got inf"),
    (positive_number, "two", "expected a positive number, got 'two'"),
])
def test_bad_values_give_one_line_reasons(parse, text, reason):
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        parse(text)
    assert str(caught.value) == reason
