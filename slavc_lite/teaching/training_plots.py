"""Training curves for notebooks: the loss and the validation metrics of a run, live or afterwards.

:func:`slavc_lite.training.train` passes every record it writes to ``metrics.jsonl`` to its
``callback`` (see :mod:`slavc_lite.training.metrics_log`). :class:`LiveCurves` is such a
callback: it collects the records in a :class:`CurveHistory` and redraws one figure in place
(an IPython display handle, so progress bars in the same cell stay), at most every
``min_interval`` seconds and always after a validation and at the end::

    curves = LiveCurves(title="cpu-toy on the toy world")
    summary = train(config, run, callback=curves)
    fig = curves.figure()                          # the final figure

    history = CurveHistory.from_run(run)           # a finished run, from its metrics.jsonl
    fig = curves_figure(history, title="...")

The figure has two panels: the training loss (review Eq. 4, the mean over each logging
interval) against the optimizer step, and the validation metrics of the official table
(:func:`slavc_lite.metrics.summary`) against the step at which they were measured: cIoU and AUC
(sounding pairs), AP and max-F1 (every pair, with the non-sounding ones of an extended set) and
Precision (sounding pairs, the official selection metric).
"""

from __future__ import annotations

import io
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from matplotlib.figure import Figure

__all__ = [
    "VALIDATION_METRICS",
    "CurveHistory",
    "LiveCurves",
    "curves_figure",
    "figure_png",
    "table_records",
]

#: The validation curves: label -> (subset of the official table, metric).
VALIDATION_METRICS: dict[str, tuple[str, str]] = {
    "cIoU": ("all", "cIoU"),
    "AUC": ("all", "AUC"),
    "AP": ("all", "AP"),
    "max-F1": ("all", "max-F1"),
    "Precision": ("visible", "Precision"),
}
#: Events after which :class:`LiveCurves` redraws at once (no throttling).
REDRAW_EVENTS = ("start", "pretrain", "validation", "end")
TABLE_COLUMNS = ("n", "cIoU", "AUC", "AP", "max-F1", "Precision")


def _number(value: Any) -> float:
    """A float, NaN for None or anything that is not a number."""
    if isinstance(value, bool) or value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


@dataclass
class CurveHistory:
    """The curves of one run, built from its metrics records (see :meth:`add`).

    Attributes:
        steps: one dict per ``step`` record: ``step``, ``epoch`` (fractional), ``loss``,
            ``samples_per_s``.
        validations: one dict per ``validation`` record: ``step``, ``epoch`` and one value per
            label of :data:`VALIDATION_METRICS`.
        pretrain: one dict per ``pretrain`` record (toy-world object pretraining): ``epoch``,
            ``loss``, ``held_out_accuracy``.
        steps_per_epoch: from the ``start`` record (None before it).
        summary: the run summary of the ``end`` record (None before it).
    """

    steps: list[dict[str, float]] = field(default_factory=list)
    validations: list[dict[str, float]] = field(default_factory=list)
    pretrain: list[dict[str, float]] = field(default_factory=list)
    steps_per_epoch: int | None = None
    summary: dict | None = None

    def add(self, record: Mapping[str, Any]) -> bool:
        """Take one metrics record; returns whether the curves changed.

        A ``start`` record of a resumed run (``resumed_from_step`` set) drops what the
        interrupted attempt logged after that step, as the trainer drops it from the file.
        """
        event = record.get("event")
        if event == "start":
            self.steps_per_epoch = record.get("steps_per_epoch") or self.steps_per_epoch
            resumed = record.get("resumed_from_step")
            if resumed is not None:
                self.steps = [s for s in self.steps if s["step"] <= resumed]
                self.validations = [v for v in self.validations if v["step"] <= resumed]
                self.summary = None
            return True
        if event == "step":
            self.steps.append({"step": int(record["step"]), "epoch": _number(record.get("epoch")),
                               "loss": _number(record.get("loss")),
                               "samples_per_s": _number(record.get("samples_per_s"))})
            return True
        if event == "validation":
            table = record.get("table") or {}
            row = {"step": int(record.get("step", 0)), "epoch": _number(record.get("epoch"))}
            for label, (subset, metric) in VALIDATION_METRICS.items():
                row[label] = _number(table.get(subset, {}).get(metric))
            self.validations.append(row)
            return True
        if event == "pretrain":
            self.pretrain.append({"epoch": _number(record.get("epoch")), "loss": _number(record.get("loss")),
                                  "held_out_accuracy": _number(record.get("held_out_accuracy"))})
            return True
        if event == "end":
            self.summary = dict(record.get("summary") or {})
            return True
        return False

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> CurveHistory:
        history = cls()
        for record in records:
            history.add(record)
        return history

    @classmethod
    def from_run(cls, run: str | os.PathLike) -> CurveHistory:
        """The curves of a run folder (or a ``metrics.jsonl`` file)."""
        from slavc_lite.training.metrics_log import read_metrics

        return cls.from_records(read_metrics(run))

    def loss_data(self) -> dict[str, list[float]]:
        """``{"step": [...], "loss": [...]}`` (finite losses only), for seaborn."""
        rows = [s for s in self.steps if math.isfinite(s["loss"])]
        return {"step": [s["step"] for s in rows], "loss": [s["loss"] for s in rows]}

    def validation_data(self) -> dict[str, list]:
        """Long format ``{"step", "metric", "value"}`` (finite values only), for seaborn."""
        out: dict[str, list] = {"step": [], "metric": [], "value": []}
        for row in self.validations:
            for label in VALIDATION_METRICS:
                if math.isfinite(row[label]):
                    out["step"].append(row["step"])
                    out["metric"].append(label)
                    out["value"].append(row[label])
        return out


def curves_figure(history: CurveHistory, title: str | None = None) -> Figure:
    """Two panels: the training loss and the validation metrics against the optimizer step.

    Dotted vertical lines mark the epoch ends (when ``steps_per_epoch`` is known). Made
    without pyplot (a :class:`~matplotlib.figure.Figure`), so it can be drawn from a callback
    without opening windows.
    """
    import seaborn as sns

    fig = Figure(figsize=(11.5, 3.8), dpi=100)
    ax_loss, ax_val = fig.subplots(1, 2)
    losses = history.loss_data()
    last_step = max([0, *losses["step"], *(v["step"] for v in history.validations)])
    if losses["step"]:
        sns.lineplot(x=losses["step"], y=losses["loss"], ax=ax_loss, color="tab:blue", marker="." if
                     len(losses["step"]) < 40 else None)
    else:
        waiting = "no loss logged yet"
        if history.pretrain:  # the toy world's object pretraining comes first and takes a while
            last = history.pretrain[-1]
            waiting += (f"\nobject pretraining: epoch {last['epoch']:g} done, "
                        f"held-out accuracy {last['held_out_accuracy']:.3f}")
        ax_loss.text(0.5, 0.5, waiting, ha="center", va="center", transform=ax_loss.transAxes, color="0.4")
    ax_loss.set(xlabel="optimizer step", ylabel="loss (Eq. 4, mean per logging interval)",
                title="training loss")
    validation = history.validation_data()
    if validation["step"]:
        sns.lineplot(data=validation, x="step", y="value", hue="metric", style="metric", markers=True,
                     dashes=False, ax=ax_val, hue_order=list(VALIDATION_METRICS),
                     style_order=list(VALIDATION_METRICS))
        sns.move_legend(ax_val, "upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
        ax_val.set_ylim(0, 1)
    else:
        ax_val.text(0.5, 0.5, "no validation yet", ha="center", va="center", transform=ax_val.transAxes,
                    color="0.4")
    ax_val.set(xlabel="optimizer step", ylabel="score on the validation set", title="validation")
    if history.steps_per_epoch and last_step:
        for ax in (ax_loss, ax_val):
            for end in range(history.steps_per_epoch, last_step + 1, history.steps_per_epoch):
                ax.axvline(end, color="0.6", linestyle=":", linewidth=0.8)
    for ax in (ax_loss, ax_val):
        ax.grid(True, alpha=0.3)
        if last_step:
            ax.set_xlim(-0.02 * last_step, last_step * 1.02)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes (works without pyplot and without a display)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


class _IPythonHandle:
    """Shows PNG bytes in a notebook output that is replaced on every update."""

    def __init__(self) -> None:
        self._handle = None

    def __call__(self, png: bytes) -> None:
        from IPython.display import Image, display

        image = Image(data=png, format="png")
        if self._handle is None:
            self._handle = display(image, display_id=True)
        else:
            self._handle.update(image)


class LiveCurves:
    """A ``train(..., callback=...)`` callback that redraws the curves in place, throttled.

    Args:
        title: the figure's title.
        min_interval: seconds between two redraws caused by ``step`` records; ``start``,
            ``pretrain``, ``validation`` and ``end`` records always redraw.
        history: curves to continue (e.g. :meth:`CurveHistory.from_run` before resuming).
        show: called with the PNG bytes of each redraw; default: an IPython display handle.
        clock: the time source (seconds), for tests.
    """

    def __init__(self, title: str | None = None, min_interval: float = 5.0,
                 history: CurveHistory | None = None, show: Callable[[bytes], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if min_interval < 0:
            raise ValueError(f"min_interval must be >= 0, not {min_interval}")
        self.title = title
        self.min_interval = float(min_interval)
        self.history = history if history is not None else CurveHistory()
        self.show = show if show is not None else _IPythonHandle()
        self.clock = clock
        self.draws = 0
        self._last_draw: float | None = None

    def __call__(self, record: Mapping[str, Any]) -> None:
        if not self.history.add(record):
            return
        now = self.clock()
        due = self._last_draw is None or now - self._last_draw >= self.min_interval
        if record.get("event") in REDRAW_EVENTS or due:
            self.draw()

    def figure(self) -> Figure:
        """The figure of the curves so far."""
        return curves_figure(self.history, self.title)

    def draw(self) -> None:
        """Redraw now."""
        self.show(figure_png(self.figure()))
        self.draws += 1
        self._last_draw = self.clock()


def table_records(table: Mapping[str, Mapping[str, float]],
                  subsets: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One row per subset of an official table (:func:`slavc_lite.metrics.summary`), for
    :func:`slavc_lite.teaching.figures.records_markdown`: ``subset``, ``n``, cIoU, AUC, AP, max-F1,
    Precision."""
    names = list(subsets) if subsets is not None else list(table)
    rows = []
    for subset in names:
        values = table.get(subset)
        if values is None:
            raise KeyError(f"the table has no subset {subset!r} (has {sorted(table)})")
        row: dict[str, Any] = {"subset": subset}
        for column in TABLE_COLUMNS:
            value = values.get(column)
            row[column] = int(value) if column == "n" and value is not None else _number(value)
        rows.append(row)
    return rows
