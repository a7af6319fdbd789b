"""The package layout: the method at the root never leans on the teaching wing, and the wing's
modules have one path each."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "slavc_lite"
ROOT = PACKAGE.parent
TEACHING = ("tutorial", "widgets", "figures", "training_plots", "student", "notebook_runner", "run_all",
            "exercises", "slider_figure")


def _imports(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (functions included), as dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _outside_the_wing() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "teaching" not in p.relative_to(PACKAGE).parts]


def test_no_module_outside_the_teaching_wing_imports_it():
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in _imports(p) if m.startswith("slavc_lite.teaching"))
        for p in _outside_the_wing()
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"method modules importing the teaching wing: {offenders}"


def test_the_import_check_sees_imports_inside_functions(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from slavc_lite.teaching import tutorial\n")
    assert "slavc_lite.teaching.tutorial" in _imports(sample)


@pytest.mark.parametrize("name", TEACHING)
def test_teaching_modules_live_only_in_the_wing(name):
    importlib.import_module(f"slavc_lite.teaching.{name}")
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(f"slavc_lite.{name}")


def test_no_tracked_file_uses_an_old_path():
    listing = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    files = listing.stdout.split()
    names = "|".join(TEACHING)
    old_dotted = re.compile(rf"slavc_lite\.({names})\b")
    old_from = re.compile(rf"from slavc_lite import [\w, ]*\b({names})\b")
    hits = []
    for name in files:
        path = ROOT / name
        if path.suffix not in {".py", ".ipynb", ".md", ".toml", ".yml", ".cfg"} and path.name != "Makefile":
            continue
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (old_dotted, old_from):
            hits += [f"{name}: {m.group(0)}" for m in pattern.finditer(text)]
    assert not hits, hits
