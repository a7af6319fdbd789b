"""The JSON files of a run: strict JSON (no NaN), written atomically.

Every file of a run is written through :mod:`slavc_lite.atomic_files` (a temporary file beside
it, fsynced, renamed over it): a run killed at any moment leaves either the old file or the new one.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from slavc_lite.atomic_files import atomic_write_text

__all__ = ["json_safe", "write_json"]


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
