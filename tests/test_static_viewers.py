"""Readers of a saved notebook (GitHub, nbviewer, nbconvert's HTML) see a line of text in place of
each widget and the final state of each progress bar, where they used to see ``VBox(children=...)``
or a bar stuck at 0%."""

from __future__ import annotations

import json
import re
import sys
import types

import nbformat
import pytest
import torch

from slavc_lite import progress
from slavc_lite.localize import Localizer
from slavc_lite.teaching import widgets
from tests.localizers import untrained_localizer

ipywidgets = pytest.importorskip("ipywidgets")


@pytest.fixture(scope="module")
def localizer() -> Localizer:
    return untrained_localizer()


@pytest.fixture(scope="module")
def slider(localizer):
    g = torch.Generator().manual_seed(0)
    result = localizer.localize(torch.randn(3, 96, 96, generator=g), torch.randn(1, 257, 60, generator=g) - 1)
    blender = widgets.AlphaBlender(result, label="bird and drum", boxes=[[0.2, 0.2, 0.6, 0.7]])
    return widgets.alpha_slider(blender)


def displayed(obj) -> dict:
    """The output IPython records for ``display(obj)``."""
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(obj)
    return data


def test_a_displayed_view_is_its_widget_with_a_text_fallback(slider):
    data = displayed(slider)
    assert data[widgets.WIDGET_VIEW_MIMETYPE]["model_id"] == slider.widget.model_id
    assert data["text/plain"] == slider.static_text()
    text = data["text/plain"]
    assert "alpha slider for bird and drum" in text and "running Jupyter kernel" in text
    assert "alpha = 0.40" in text and "VBox" not in text
    slider.slider.value = 0.7  # the text says what the view showed when the notebook ran
    assert "alpha = 0.70" in displayed(slider)["text/plain"]


def test_the_explorer_says_what_it_offers(localizer, tmp_path):
    from pathlib import Path

    pairs = widgets.example_pairs(Path(__file__).resolve().parents[1] / "assets" / "examples")
    view = widgets.pair_explorer(widgets.PairExplorer(localizer, pairs), upload_dir=tmp_path)
    data = displayed(view)
    assert data[widgets.WIDGET_VIEW_MIMETYPE]["model_id"] == view.widget.model_id
    assert f"pick one of {len(pairs)} image-sound pairs" in data["text/plain"]
    assert "upload your own" in data["text/plain"]


def test_ipywidgets_7_widgets_get_the_same_bundle():
    old_style = types.SimpleNamespace(model_id="abc123")  # no _repr_mimebundle_ (ipywidgets 7)
    bundle = widgets.widget_bundle(old_style, "a line")
    view = {"version_major": 2, "version_minor": 0, "model_id": "abc123"}
    assert bundle == {widgets.WIDGET_VIEW_MIMETYPE: view, "text/plain": "a line"}


def test_nbconvert_html_shows_the_text_where_no_widget_state_was_saved(slider):
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("display(widgets.alpha_slider(blender))")
    cell.outputs = [nbformat.v4.new_output("display_data", data=displayed(slider))]
    nb.cells.append(cell)
    html, _ = HTMLExporter().from_notebook_node(nb)
    assert "Interactive alpha slider for bird and drum" in html
    assert "VBox(children" not in html


def test_a_notebook_progress_bar_leaves_its_final_state_as_text(capsys):
    notebook_tqdm = pytest.importorskip("tqdm.notebook").tqdm

    class NotebookBar(progress.StaticLineMixin, notebook_tqdm):
        pass

    bar = NotebookBar(range(7), desc="train")
    for _ in bar:
        pass
    bar.close()  # a second close adds nothing
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("train: 100%") and "7/7" in lines[-1]
    assert sum("7/7" in line for line in lines) == 1

    for _ in NotebookBar(range(3), desc="off", disable=True):
        pass
    assert capsys.readouterr().out == ""


def test_a_terminal_progress_bar_is_left_as_it_is(capsys):
    for _ in progress.tqdm(range(3), desc="terminal", file=sys.stdout):
        pass
    assert capsys.readouterr().out.count("3/3") == 1  # tqdm's own line only


def test_the_library_takes_its_bars_from_slavc_lite_progress():
    from pathlib import Path

    package = Path(progress.__file__).parent
    direct = re.compile(r"^\s*(from tqdm[ .]|import tqdm)", re.M)
    users = [p for p in package.rglob("*.py")
             if "slavc_lite.progress import tqdm" in p.read_text(encoding="utf-8")]
    assert len(users) >= 5, "the library's progress bars come from slavc_lite.progress"
    for path in package.rglob("*.py"):
        if path.name != "progress.py":
            assert not direct.search(path.read_text(encoding="utf-8")), f"{path.name} uses tqdm directly"


def test_chapters_display_the_views_themselves():
    from pathlib import Path

    notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    cells = {name: json.loads((notebooks / name).read_text(encoding="utf-8"))["cells"]
             for name in ("07_alpha_figure.ipynb", "08_hard_cases.ipynb")}
    sources = {name: "\n".join("".join(c["source"]) for c in nb) for name, nb in cells.items()}
    assert "display(widgets.alpha_slider(blender))" in sources["07_alpha_figure.ipynb"]
    assert "display(widgets.pair_explorer(explorer))" in sources["08_hard_cases.ipynb"]
    assert not any(".widget)" in s for s in sources.values()), "display the view, not its bare widget"
