"""Exceptions with messages that say which file failed and what to do about it.

Every loader in :mod:`slavc_lite` raises one of these instead of silently replacing a bad
sample (the official loader swaps a failing sample for a random other one; we never do).
"""

from __future__ import annotations

import os


class SlavcLiteError(Exception):
    """Base class of every error raised on purpose by slavc_lite."""


class InputFileError(SlavcLiteError, ValueError):
    """A user-supplied file is missing, empty, truncated or not what it claims to be.

    The message always starts with the file's path, so a failure in a long run names the
    sample that caused it.
    """

    def __init__(self, path: str | os.PathLike, problem: str | None = None):
        if problem is None:
            # One argument: an already formatted "path: problem" message. This is how torch's
            # DataLoader re-raises a worker's exception (``exc_type(message)``).
            path, _, problem = os.fspath(path).partition(": ")
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self):
        return (type(self), (self.path, self.problem))


class WeightsUnavailableError(SlavcLiteError, RuntimeError):
    """Pretrained weights were asked for but cannot be had (offline, missing file)."""


class CheckpointError(SlavcLiteError, ValueError):
    """A checkpoint file or folder cannot be read as a SLAVC model."""
