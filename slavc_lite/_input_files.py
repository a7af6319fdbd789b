"""Checks shared by the file loaders (audio, images, video): the path exists and is not empty."""

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
