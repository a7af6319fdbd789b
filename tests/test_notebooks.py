"""The tutorial notebooks: stored clean and built like a textbook chapter (goals, equations,
a check against the library, a picture, an exercise with its check function and solution)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from slavc_lite.teaching import tutorial

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
CHAPTERS = [
    "00_overview.ipynb", "01_audio_visual_data.ipynb", "02_encoders.ipynb",
    "03_momentum_and_dropout.ipynb", "04_slavc_loss.ipynb", "05_training.ipynb",
    "06_ogl_and_vsl.ipynb", "07_alpha_figure.ipynb", "08_hard_cases.ipynb", "09_beyond_still_frames.ipynb",
]
PRESENT = sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb"))


def read(name: str):
    return nbformat.read(NOTEBOOKS_DIR / name, as_version=4)


def markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_every_chapter_is_there():
    assert PRESENT == CHAPTERS


@pytest.mark.parametrize("name", PRESENT)
def test_stored_without_outputs(name):
    for cell in code_cells(read(name)):
        assert cell.outputs == [], f"{name}: a code cell has stored outputs"
        assert cell.execution_count is None, f"{name}: a code cell has an execution count"


@pytest.mark.parametrize("name", PRESENT)
def test_chapter_structure(name):
    nb = read(name)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), f"{name}: starts with a title"
    assert tutorial.colab_url(name) in first.source, f"{name}: the first cell has the Open in Colab badge"
    assert re.search(r"learning goals", first.source, re.I), f"{name}: the first cell lists learning goals"
    assert code_cells(nb)[0].source.strip() == tutorial.SETUP_CELL.strip(), \
        f"{name}: the first code cell is tutorial.SETUP_CELL"
    text = markdown(nb)
    assert "$" in text, f"{name}: theory with equations (LaTeX in markdown)"
    for heading in ("summary", "exercises", "next"):
        assert re.search(rf"^#+ .*{heading}", text, re.I | re.M), f"{name}: has a '{heading}' heading"
    sources = "\n".join(c.source for c in code_cells(nb))
    assert "import slavc_lite" in sources or "from slavc_lite" in sources, f"{name}: uses the library"
    assert re.search(r"^\s*assert ", sources, re.M), f"{name}: checks its own build with an assert"
    assert "exercises.check_" in sources or "from slavc_lite.teaching.exercises import" in sources, \
        f"{name}: an exercise with a check function"
    assert any("solution" in c.metadata.get("tags", []) for c in nb.cells), f"{name}: a marked solution"
    assert re.search(r"savefig|save_figure|plt\.|sns\.|show\(", sources), f"{name}: draws a picture"


@pytest.mark.parametrize("name", PRESENT)
def test_every_worked_answer_is_tagged_as_a_solution(name):
    """The student edition drops the cells tagged ``solution``: an untagged answer would be handed out."""
    untagged = [c.get("id", "?") for c in read(name).cells
                if c.cell_type == "markdown" and re.match(r"\s*\*+answer", c.source, re.I)
                and "solution" not in c.metadata.get("tags", [])]
    assert untagged == [], f"{name}: answer cells without the solution tag: {untagged}"

def test_every_notebook_starts_with_the_same_setup_cell_and_installs_nothing_else():
    """The setup cell (tutorial.SETUP_CELL) is each chapter's only install: tests/test_hosted_install.py
    checks what it installs on Colab; no later cell runs pip."""
    firsts = {name: code_cells(read(name))[0].source for name in PRESENT}
    assert {name for name, source in firsts.items() if source != tutorial.SETUP_CELL} == set()
    runs_pip = re.compile(r"""^\s*[!%]pip\b|["']-m["'],\s*["']pip["']|\bpip\.main\(""", re.M)
    for name in PRESENT:
        for cell in code_cells(read(name))[1:]:
            assert not runs_pip.search(cell.source), f"{name}: a cell after the setup cell runs pip"


# Executing every notebook top to bottom in quick mode is tests/test_main_job.py's job: it runs
# them as `make run` does (after the toy world, the training and the evaluation stages), once.
