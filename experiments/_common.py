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


def configuration_changes(saved: TrainConfig, config: TrainConfig) -> list[str]:
    """The keys in which ``saved`` differs from ``config`` (:meth:`TrainConfig.run_differences`)."""
    return saved.run_differences(config)


def train_unless_finished(config: TrainConfig, run: Path) -> None:
    """Train ``config`` into ``run``; continue it exactly when it was started; nothing when finished.

    A run folder that holds another configuration (the preset changed since it was trained, or
    another experiment wrote it) is refused with the keys that differ, rather than reused or
    continued: move it away or delete it to train again.
    """
    layout = RunLayout(run)
    started = layout.config.is_file()
    if started:
        changes = configuration_changes(TrainConfig.from_json(layout.config), config)
        if changes:
            raise SystemExit(f"{run} holds a run of another configuration (differs in {', '.join(changes)}); "
                             "move it away or delete it to train this one")
    if layout.is_finished():
        return
    train(None if started else config, run, resume=started, progress=False)
