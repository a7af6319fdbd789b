"""The tutorial notebooks: stored clean, built like a textbook chapter, and running top to
bottom in quick mode (``SLAVC_LITE_QUICK=1``) on the CPU, offline."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from slavc_lite import tutorial

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
CHAPTERS = [
    "00_overview.ipynb", "01_audio_visual_data.ipynb", "02_encoders.ipynb",
    "03_momentum_and_dropout.ipynb", "04_slavc_loss.ipynb", "05_training.ipynb",
    "06_ogl_and_vsl.ipynb", "07_alpha_figure.ipynb", "08_hard_cases.ipynb",
]
PRESENT = sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb"))
EXECUTION_TIMEOUT_S = 600


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
    assert "exercises.check_" in sources or "from slavc_lite.exercises import" in sources, \
        f"{name}: an exercise with a check function"
    assert any("solution" in c.metadata.get("tags", []) for c in nb.cells), f"{name}: a marked solution"
    assert re.search(r"savefig|save_figure|plt\.|sns\.|show\(", sources), f"{name}: draws a picture"


@pytest.fixture(scope="session")
def quick_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("notebooks")
    return {"SLAVC_LITE_QUICK": "1", "SLAVC_LITE_DATA": str(root / "data"),
            "SLAVC_LITE_BUILD": str(root / "build"), "SLAVC_LITE_RUNS": str(root / "runs"),
            "MPLBACKEND": "Agg", "TQDM_DISABLE": "1"}


@pytest.mark.slow
@pytest.mark.parametrize("name", PRESENT)
def test_runs_top_to_bottom_in_quick_mode(name, quick_env, monkeypatch, tmp_path):
    from nbclient import NotebookClient

    for key, value in quick_env.items():
        monkeypatch.setenv(key, value)
    nb = read(name)
    client = NotebookClient(nb, timeout=EXECUTION_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS_DIR)}})
    client.execute()
    errors = [o for c in code_cells(nb) for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
