"""Argument types shared by the commands: each turns the text of an option into a checked value,
or raises :class:`argparse.ArgumentTypeError` with a one-line reason that argparse prints after
the usage (exit status 2, no traceback)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["at_least", "count", "positive_int", "positive_number", "share"]


def share(what: str) -> Callable[[str], float]:
    """A number in [0, 1], e.g. ``share("alpha")`` for the VSL weight."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number in [0, 1], got {text!r}") from None
        if not 0.0 <= value <= 1.0:
            raise argparse.ArgumentTypeError(f"{what} must be in [0, 1], got {text}")
        return value

    return parse


def at_least(minimum: int) -> Callable[[str], int]:
    """A whole number ``>= minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a number >= {minimum}, got {value}")
        return value

    return parse


positive_int = at_least(1)
"""A whole number >= 1 (a batch size, a number of samples)."""

count = at_least(0)
"""A whole number >= 0 (a number of figures, of loader workers)."""


def positive_number(text: str) -> float:
    """A finite number > 0 (a frame rate)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value
