"""Small helpers shared by the experiment scripts: ``name: value`` lines, the toy world's sizes,
and training a run folder unless it is finished."""

from __future__ import annotations

from pathlib import Path

from slavc_lite.teaching.tutorial import TOY_FULL
from slavc_lite.training import TrainConfig, train
from slavc_lite.training.layout import RunLayout


def say(name: str, value: object) -> None:
    """Print one ``name: value`` line (the format every experiment and benchmark prints)."""
    print(f"{name}: {value}", flush=True)


def toy_world_overrides(data: Path) -> dict[str, object]:
    """Overrides that train on the full-size toy world of ``make run`` stored at ``data``."""
    return {
        "data.toy_root": str(data),
        "data.toy_train": TOY_FULL["n_train"],
        "data.toy_val": TOY_FULL["n_val"],
        "data.toy_test": TOY_FULL["n_test"],
    }


def train_unless_finished(config: TrainConfig, run: Path) -> None:
    """Train ``config`` into ``run``; continue it exactly when it was started; nothing when finished."""
    layout = RunLayout(run)
    if layout.is_finished():
        return
    started = layout.config.is_file()
    train(None if started else config, run, resume=started, progress=False)
