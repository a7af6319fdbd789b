"""Make the student edition of the notebooks: solutions removed, everything else kept.

In the source notebooks an exercise's solution is marked so it can be stripped:

* a code cell tagged ``solution`` has its lines between ``# BEGIN SOLUTION`` and
  ``# END SOLUTION`` replaced by ``raise NotImplementedError(...)`` (the student writes them);
* a markdown cell tagged ``solution`` (a worked answer) is dropped.

    python -m slavc_lite.teaching.student notebooks/ build/student/     (``make student``)
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from slavc_lite.atomic_files import atomic_path

SOLUTION_TAG = "solution"
BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
PLACEHOLDER = 'raise NotImplementedError("Exercise: write your solution here")'

_BLOCK = re.compile(r"^([ \t]*)" + re.escape(BEGIN) + r"[^\n]*\n.*?^[ \t]*" + re.escape(END) + r"[^\n]*$",
                    re.MULTILINE | re.DOTALL)


def strip_solution_source(source: str) -> str:
    """Replace every solution block of a code cell by an indented placeholder."""
    if source.count(BEGIN) != source.count(END):
        raise ValueError(f"unbalanced {BEGIN!r} / {END!r} markers in:\n{source}")
    return _BLOCK.sub(lambda m: f"{m.group(1)}# YOUR CODE HERE\n{m.group(1)}{PLACEHOLDER}", source)


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def student_notebook(nb):
    """A copy of ``nb`` (nbformat node) with solutions stripped and outputs cleared."""
    import copy

    out = copy.deepcopy(nb)
    cells = []
    for cell in out.cells:
        solution = SOLUTION_TAG in _tags(cell)
        if solution and cell.cell_type == "markdown":
            continue
        if cell.cell_type == "code":
            if solution:
                cell.source = strip_solution_source(cell.source)
            elif BEGIN in cell.source:
                raise ValueError(f"a code cell has {BEGIN!r} but no {SOLUTION_TAG!r} tag:\n"
                                 f"{cell.source[:200]}")
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
    out.cells = cells
    return out


def write_student_edition(source_dir: str | os.PathLike, out_dir: str | os.PathLike) -> list[Path]:
    """Write the student edition of every ``*.ipynb`` of ``source_dir`` into ``out_dir``."""
    import nbformat

    source_dir, out_dir = Path(source_dir), Path(out_dir)
    notebooks = sorted(source_dir.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"{source_dir}: no notebooks")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        nb = student_notebook(nbformat.read(path, as_version=4))
        target = out_dir / path.name
        with atomic_path(target) as tmp:
            nbformat.write(nb, tmp)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slavc_lite.teaching.student",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("source", nargs="?", default="notebooks", help="folder of source notebooks")
    parser.add_argument("out", nargs="?", default="build/student", help="output folder")
    args = parser.parse_args(argv)
    written = write_student_edition(args.source, args.out)
    print(f"wrote {len(written)} student notebooks to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
