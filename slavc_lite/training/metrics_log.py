"""The metrics log of a run: JSON lines in ``RUN/metrics.jsonl``, optionally TensorBoard too.

Each record is one JSON object with an ``"event"`` key: ``start``, ``pretrain``, ``step``
(the mean loss since the last one, the learning rate, samples/s), ``epoch``, ``validation``
(the official table of :func:`slavc_lite.metrics.summary`), ``checkpoint`` and ``end``.
Records of training events carry the optimizer ``step`` they were written at, so a resumed
run drops the records that its killed predecessor wrote after the checkpoint it resumes
from (:meth:`MetricsLog.truncate_after`): the log reads as one uninterrupted run.
Read it back with :func:`read_metrics` (e.g. ``pandas.DataFrame(read_metrics(run, "step"))``).

TensorBoard (``run.tensorboard``) is optional and not a dependency: the writer is imported
only when asked for, and a missing ``tensorboard`` package is a clear error.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from slavc_lite.atomic_files import atomic_write_text
from slavc_lite.errors import SlavcLiteError
from slavc_lite.training.files import json_safe
from slavc_lite.training.layout import RunLayout

__all__ = ["MetricsLog", "describe_event", "open_tensorboard", "read_metrics"]


def open_tensorboard(logdir: str | os.PathLike):
    """A ``torch.utils.tensorboard.SummaryWriter`` on ``logdir``; a clear error without tensorboard."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        raise SlavcLiteError(
            "run.tensorboard is on but the 'tensorboard' package is not installed "
            f"({exc}); install it (pip install tensorboard) or leave TensorBoard off "
            "(the metrics are in metrics.jsonl either way)"
        ) from exc
    return SummaryWriter(log_dir=os.fspath(logdir))


def _scalars(record: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a record as ``{"a/b": value}`` (for TensorBoard)."""
    out: dict[str, float] = {}
    for key, value in record.items():
        if key in ("event", "step", "time"):
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_scalars(value, name + "/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and value is not None:
            out[name] = float(value)
    return out


class MetricsLog:
    """Appends records to a JSONL file (flushed at each record); mirrors scalars to TensorBoard.

    Args:
        path: the ``metrics.jsonl`` file (created if missing, appended to otherwise).
        tensorboard_dir: a folder for TensorBoard event files, or ``None``.
    """

    def __init__(self, path: str | os.PathLike, tensorboard_dir: str | os.PathLike | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = open_tensorboard(tensorboard_dir) if tensorboard_dir is not None else None

    def write(self, record: dict[str, Any]) -> None:
        """Append one record (NaN written as ``null``)."""
        line = json.dumps(json_safe(record), sort_keys=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        if self._writer is not None and "step" in record:
            group = record.get("event", "metrics")
            for name, value in _scalars(record).items():
                self._writer.add_scalar(f"{group}/{name}", value, int(record["step"]))
            self._writer.flush()

    def truncate_after(self, step: int) -> int:
        """Drop the records written after optimizer step ``step`` (atomically); returns how many."""
        if not self.path.is_file():
            return 0
        kept, dropped = [], 0
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a line cut by a kill: drop it
                dropped += 1
                continue
            if isinstance(record.get("step"), int) and record["step"] > step:
                dropped += 1
                continue
            kept.append(line)
        atomic_write_text(self.path, "".join(f"{line}\n" for line in kept))
        return dropped

    def clear(self) -> None:
        """Start an empty log (a fresh run in a folder whose earlier attempt saved no checkpoint)."""
        atomic_write_text(self.path, "")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def describe_event(record: dict[str, Any]) -> str | None:
    """One human-readable line for a ``pretrain`` or ``validation`` record (``None`` for others)."""
    kind = record.get("event")
    nan = float("nan")
    if kind == "pretrain":
        return (f"object pretraining epoch {record['epoch']}: loss {record['loss']:.4f}, held-out accuracy "
                f"{record['held_out_accuracy']:.3f}")
    if kind == "validation":
        table = record["table"]
        every, visible = table.get("all", {}), table.get("visible", {})
        return (f"validation after epoch {record['epoch']} (step {record['step']}): {record['metric']} "
                f"{record['score']:.4f}; cIoU {visible.get('cIoU', nan):.4f}, "
                f"AUC {visible.get('AUC', nan):.4f}, AP {every.get('AP', nan):.4f}")
    return None


def read_metrics(run_or_file: str | os.PathLike, event: str | None = None) -> list[dict[str, Any]]:
    """The records of a run's ``metrics.jsonl`` (all, or those of one ``event``)."""
    path = Path(run_or_file)
    if path.is_dir():
        path = RunLayout(path).metrics
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            if event is None or record.get("event") == event:
                records.append(record)
    return records
