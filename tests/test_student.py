"""The student edition: solutions become placeholders, worked answers disappear, the rest stays."""

from __future__ import annotations

import nbformat
import pytest

from slavc_lite.teaching.student import (
    PLACEHOLDER,
    strip_solution_source,
    student_notebook,
    write_student_edition,
)


def make_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("def f(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION\n\n"
                                  "check(f)", metadata={"tags": ["solution"]}),
        nbformat.v4.new_markdown_cell("The answer is 2x.", metadata={"tags": ["solution"]}),
        nbformat.v4.new_code_cell("print(1)"),
    ]
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nb.cells[3].execution_count = 3
    return nb


def test_solution_block_becomes_an_indented_placeholder():
    out = strip_solution_source("def f(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION\n")
    assert "return 2 * x" not in out
    assert f"    {PLACEHOLDER}" in out
    compile(out, "<cell>", "exec")


def test_unbalanced_markers_are_refused():
    with pytest.raises(ValueError, match="unbalanced"):
        strip_solution_source("# BEGIN SOLUTION\nx = 1\n")


def test_student_notebook_drops_answers_and_outputs_keeps_the_rest():
    nb = make_notebook()
    out = student_notebook(nb)
    assert [c.cell_type for c in out.cells] == ["markdown", "code", "code"]
    assert PLACEHOLDER in out.cells[1].source and "check(f)" in out.cells[1].source
    assert out.cells[2].outputs == [] and out.cells[2].execution_count is None
    assert "return 2 * x" in nb.cells[1].source  # the source notebook is untouched


def test_untagged_solution_markers_are_an_error():
    nb = make_notebook()
    nb.cells[1].metadata["tags"] = []
    with pytest.raises(ValueError, match="no 'solution' tag"):
        student_notebook(nb)


def test_write_student_edition(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    nbformat.write(make_notebook(), src / "01_x.ipynb")
    written = write_student_edition(src, tmp_path / "student")
    assert [p.name for p in written] == ["01_x.ipynb"]
    assert PLACEHOLDER in nbformat.read(written[0], as_version=4).cells[1].source
    with pytest.raises(FileNotFoundError):
        write_student_edition(tmp_path / "empty", tmp_path / "out")
