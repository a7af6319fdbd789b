"""Where things live: the clone's root and its ``data/``, ``runs/`` and ``build/`` folders.

Each folder can be moved with an environment variable (``SLAVC_LITE_DATA``, ``SLAVC_LITE_RUNS``,
``SLAVC_LITE_BUILD``); outside a clone they default to ``~/slavc-lite/<name>``. The notebooks
(:mod:`slavc_lite.teaching.tutorial`), ``make run`` and the weights fetcher
(:mod:`slavc_lite.fetch`) all use these.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["build_dir", "data_dir", "project_root", "runs_dir"]


def project_root(start: str | os.PathLike | None = None) -> Path | None:
    """The clone's root (the folder whose ``pyproject.toml`` names slavc-lite), if we are in one."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and 'name = "slavc-lite"' in pyproject.read_text(encoding="utf-8"):
            return folder
    package_parent = Path(__file__).resolve().parents[1]
    if (package_parent / "pyproject.toml").is_file() and (package_parent / "notebooks").is_dir():
        return package_parent
    return None


def _folder(env: str, name: str) -> Path:
    if os.environ.get(env):
        path = Path(os.environ[env]).expanduser()
    else:
        root = project_root()
        path = root / name if root is not None else Path.home() / "slavc-lite" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """Where data go: ``SLAVC_LITE_DATA``, else ``data/`` of the clone, else ``~/slavc-lite/data``."""
    return _folder("SLAVC_LITE_DATA", "data")


def build_dir() -> Path:
    """Where outputs go: ``SLAVC_LITE_BUILD``, else ``build/`` of the clone."""
    return _folder("SLAVC_LITE_BUILD", "build")


def runs_dir() -> Path:
    """Where training runs go: ``SLAVC_LITE_RUNS``, else ``runs/`` of the clone."""
    return _folder("SLAVC_LITE_RUNS", "runs")
