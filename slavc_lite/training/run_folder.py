"""Starting or resuming a run in a folder, without ever overwriting someone else's work.

Rules (``RUN`` is the ``--out`` folder, laid out as :class:`~slavc_lite.training.layout.RunLayout`):

* **New run** (no ``--resume``): ``RUN`` must be new, empty, or an earlier attempt of the *same*
  configuration that never saved a checkpoint (e.g. stopped during the object pretraining,
  whose result is then reused). A folder holding a checkpoint is refused (pass ``--resume``);
  a folder holding a different configuration or files that are not a run is refused too.
* **Resume** (``--resume``): ``RUN/latest.pth`` and ``RUN/config.json`` must exist. The saved
  configuration is used; a configuration passed along may differ from it only in the keys of
  :data:`~slavc_lite.training.config.RESUMABLE_KEYS` (more epochs or steps, logging, the device),
  which do not change what a training step computes. Anything else is refused, naming the keys.
"""

from __future__ import annotations

from slavc_lite.errors import CheckpointError, SlavcLiteError
from slavc_lite.training.config import RESUMABLE_KEYS, TrainConfig
from slavc_lite.training.layout import RunLayout

__all__ = ["prepare_run_folder"]


def _checkpoints(layout: RunLayout) -> list[str]:
    return [p.name for p in (layout.latest, layout.best) if p.is_file()]


def _saved_config(layout: RunLayout) -> TrainConfig:
    try:
        return TrainConfig.from_json(layout.config)
    except KeyError as exc:  # ConfigError: unreadable, or written by another version
        raise SlavcLiteError(f"{layout.config}: not a slavc-lite training configuration ({exc})") from exc


def prepare_run_folder(layout: RunLayout, config: TrainConfig | None, resume: bool) -> TrainConfig:
    """Check ``layout.root`` for a new or resumed run and return the configuration to run.

    ``config`` may be ``None`` only with ``resume`` (the saved one is used). Writes
    ``config.json`` (atomically) when the run is new or a resumable key changed.

    Raises:
        CheckpointError: ``resume`` without ``latest.pth``.
        SlavcLiteError: a folder that may not be used (see the module docstring).
    """
    root = layout.root
    if resume:
        if not layout.latest.is_file():
            raise CheckpointError(f"{root}: nothing to resume: no {layout.latest.name} in this folder "
                                  "(start the run without --resume, or point --out at the run to continue)")
        if not layout.config.is_file():
            raise CheckpointError(f"{root}: has {layout.latest.name} but no {layout.config.name}; cannot "
                                  "tell which configuration to resume")
        saved = _saved_config(layout)
        if config is None:
            return saved.validate()
        changed = config.differences(saved)
        fixed = [k for k in changed if k not in RESUMABLE_KEYS]
        if fixed:
            details = ", ".join(f"{k}: {saved.flat()[k]!r} -> {config.flat()[k]!r}" for k in fixed)
            raise SlavcLiteError(f"{root}: cannot resume with a different configuration ({details}). Only "
                                 f"these keys may change on resume: {', '.join(sorted(RESUMABLE_KEYS))}")
        config.validate()
        if changed:
            config.to_json(layout.config)
        return config

    if config is None:
        raise ValueError("a new run needs a configuration")
    config.validate()
    if root.exists() and not root.is_dir():
        raise SlavcLiteError(f"{root}: exists and is not a folder; choose another --out")
    if root.is_dir() and any(root.iterdir()):
        if not layout.config.is_file():
            raise SlavcLiteError(f"{root}: is not empty and holds no slavc-lite run ({layout.config.name} "
                                 "missing); refusing to write into it: choose a new or empty folder")
        saved = _saved_config(layout)
        changed = config.differences(saved)
        found = _checkpoints(layout)
        if changed:
            raise SlavcLiteError(f"{root}: holds a run with a different configuration (differs in "
                                 f"{', '.join(changed)}); refusing to overwrite it: choose another --out")
        if found:
            raise SlavcLiteError(f"{root}: already holds this run ({', '.join(found)}); pass --resume to "
                                 "continue it (resume=True), or choose another --out to start over")
        if layout.is_finished():
            raise SlavcLiteError(f"{root}: holds a finished run; choose another --out")
        return config  # an earlier attempt that saved no checkpoint: start again in place
    root.mkdir(parents=True, exist_ok=True)
    config.to_json(layout.config)
    return config
