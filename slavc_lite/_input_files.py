"""What the file loaders (audio, images, video) share: the path names a non-empty file, how a
media file's streams are described in an error, and when a decoded stream counts as truncated."""

from __future__ import annotations

import os
from pathlib import Path

from slavc_lite.errors import InputFileError


def check_input_file(path: str | os.PathLike) -> Path:
    """Return ``path`` as a :class:`~pathlib.Path` after checking it names a non-empty file.

    Raises:
        InputFileError: the file does not exist, is a directory, or has 0 bytes.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(p, "file not found")
    if not p.is_file():
        raise InputFileError(p, "is not a regular file (a directory?)")
    if p.stat().st_size == 0:
        raise InputFileError(p, "file is empty (0 bytes)")
    return p


MIN_DECODED_FRACTION = 0.9
"""A stream that decodes to less than this share of its declared length (less 0.05 s) is
reported as truncated. mp3 files without a Xing header only carry an estimate of their length,
hence the slack."""


def falls_short(decoded: float, declared: float | None) -> bool:
    """Whether ``decoded`` seconds fall short of ``declared`` seconds (:data:`MIN_DECODED_FRACTION`);
    never when nothing is declared."""
    return bool(declared) and decoded < MIN_DECODED_FRACTION * declared - 0.05


def describe_streams(container) -> str:
    """What a PyAV container holds, for an error message: ``"1 video stream, 2 audio streams"``."""
    kinds = [s.type for s in container.streams]
    if not kinds:
        return "no streams at all"
    counts = {k: kinds.count(k) for k in dict.fromkeys(kinds)}
    return ", ".join(f"{n} {k} stream{'s' if n > 1 else ''}" for k, n in counts.items())
