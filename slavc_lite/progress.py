"""Progress bars that leave a line of text behind, for readers of a saved notebook.

In a notebook, ``tqdm.auto`` draws its bar as an ipywidgets widget. A static viewer of the
executed notebook (GitHub, nbviewer, the HTML that ``make run`` writes) has no widget state, so it
shows the widget's plain-text fallback as it was when the bar appeared ("0%| | 0/250"), or nothing.
:class:`tqdm` is ``tqdm.auto.tqdm`` plus one thing: when a notebook bar closes, it prints the
bar's final state as text (``train: 100%|##########| 250/250 [03:12<00:00, 1.30it/s]``), which a
saved notebook keeps. In a terminal the bar itself is already that text; nothing is added.

Every progress bar of the library comes from here: ``from slavc_lite.progress import tqdm``.
"""

from __future__ import annotations

from tqdm.auto import tqdm as _auto_tqdm

__all__ = ["StaticLineMixin", "tqdm"]


class StaticLineMixin:
    """Print a notebook bar's final state as plain text when it closes (once)."""

    def close(self) -> None:
        was_open = not getattr(self, "disable", True)
        widget = getattr(self, "container", None)
        super().close()
        if was_open and widget is not None and getattr(self, "leave", True):
            print(self.static_line(), flush=True)

    def static_line(self) -> str:
        """The bar's state as one line of text (tqdm's own terminal format)."""
        return self.format_meter(**{**self.format_dict, "ncols": 80, "ascii": True})


class tqdm(StaticLineMixin, _auto_tqdm):  # noqa: N801 - the name tqdm's users expect
    """``tqdm.auto.tqdm`` whose notebook bars leave their final state as text (:class:`StaticLineMixin`)."""
