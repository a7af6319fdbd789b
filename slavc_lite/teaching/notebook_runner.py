"""Execute the tutorial notebooks into ``build/notebooks/`` with an HTML export of each.

The source notebooks (``notebooks/*.ipynb``) are stored without outputs; executing one writes
``build/notebooks/<name>.ipynb`` (with outputs) and ``build/notebooks/<name>.html``. The kernel
runs in ``notebooks/`` with the environment it is given (quick mode, data and build folders),
so the figures the chapters save land in ``build/figures/``. It runs unattended
(``SLAVC_LITE_UNATTENDED=1``): cells that offer a download do nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from slavc_lite.atomic_files import atomic_write_text
from slavc_lite.teaching import tutorial

__all__ = ["NotebookRun", "execute_notebook", "notebook_error"]

DEFAULT_TIMEOUT_S = 1800


@dataclass
class NotebookRun:
    """The outcome of one executed notebook."""

    name: str
    seconds: float
    executed: Path | None
    html: Path | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def notebook_error(nb) -> str | None:
    """The first error output of an executed notebook (``ename: evalue``), or ``None``."""
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "error":
                return f"{output.get('ename')}: {output.get('evalue')}"
    return None


def execute_notebook(source: str | os.PathLike, out_dir: str | os.PathLike,
                     env: Mapping[str, str] | None = None, timeout: int = DEFAULT_TIMEOUT_S,
                     html: bool = True) -> NotebookRun:
    """Run ``source`` top to bottom (kernel ``python3`` in the notebook's folder, ``env`` added to
    this process's environment) and write the executed copy and its HTML export to ``out_dir``.

    An error in a cell stops the notebook; the partly executed copy is still written (so the
    failing cell and its traceback can be read) and :attr:`NotebookRun.error` says what failed.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    source, out_dir = Path(source), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(source, as_version=4)
    saved = dict(os.environ)
    os.environ.update({tutorial.UNATTENDED_ENV: "1", **(env or {})})  # no reader: no downloads offered
    start = time.perf_counter()
    error = None
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(source.parent)}})
        client.execute()
    except CellExecutionError as exc:
        error = notebook_error(nb) or str(exc).strip().splitlines()[-1]
    finally:
        os.environ.clear()
        os.environ.update(saved)
    seconds = time.perf_counter() - start
    error = error or notebook_error(nb)
    executed = out_dir / source.name
    atomic_write_text(executed, nbformat.writes(nb))
    html_path = None
    if html:
        from nbconvert import HTMLExporter

        body, _ = HTMLExporter().from_notebook_node(nb)
        html_path = executed.with_suffix(".html")
        atomic_write_text(html_path, body)
    return NotebookRun(source.name, seconds, executed, html_path, error)
