"""Writing the files of a run so that none is ever half-written.

Every file is written to a temporary file in the same folder, flushed and fsynced, then
renamed over its final name (``os.replace`` is atomic on POSIX and Windows): a run killed at
any moment leaves either the old file or the new one. The run folder may be anywhere, e.g. a
mounted Google Drive; the temporary file lives next to the target so the rename never
crosses file systems.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

__all__ = ["atomic_torch_save", "atomic_write_text", "json_safe", "write_json"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_DEFAULT_MODE = 0o666 & ~_umask()


def _atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, _DEFAULT_MODE)  # mkstemp makes it private (0600); give it a new file's usual mode
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return _atomic_write(Path(path), lambda fh: fh.write(text.encode("utf-8")))


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj, path)``, atomically."""
    return _atomic_write(Path(path), lambda fh: torch.save(obj, fh))


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by ``None`` (strict JSON has no NaN),
    tuples as lists and numpy/torch scalars as Python numbers."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented strict JSON, atomically."""
    return atomic_write_text(path, json.dumps(json_safe(data), indent=2, sort_keys=True) + "\n")
