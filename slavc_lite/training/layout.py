"""The files of one training run, in one place (the trainer writes them, evaluation and the
notebooks read them).

::

    RUN/config.json              the TrainConfig (JSON), written when the run starts
    RUN/latest.pth               the newest resumable state: every ``checkpoint_every`` steps and
                                 at each epoch end (official format + config + optimizer, step,
                                 RNG states); written atomically
    RUN/best.pth                 the weights with the best validation score so far (official
                                 ``train.py`` keeps ``best.pth`` the same way; no early stopping)
    RUN/metrics.jsonl            one JSON object per logged step and per validation
    RUN/summary.json             written last, when the run has finished: final metrics, times
    RUN/pretrain/object_net.pth  toy-world only: the object-classification backbone (a plain
                                 state dict of the torchvision trunk) that stands in for
                                 ImageNet: the image-encoder init and the OGL network
    RUN/pretrain/summary.json    toy-world only: the pretraining's loss and accuracies per epoch
    RUN/pretrain/state.pth       toy-world only, while pretraining: the state after the last
                                 finished epoch (an interrupted pretraining continues from it)
    RUN/tensorboard/             TensorBoard event files, when asked for (``run.tensorboard``)

A run folder can be passed wherever a checkpoint is accepted:
:func:`slavc_lite.checkpoints.load_model` picks ``best.pth``, else ``latest.pth``, as for the
official run directory.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from slavc_lite.weights import ImageWeights

__all__ = ["RunLayout", "is_run_folder", "ogl_weights_for"]


@dataclass(frozen=True)
class RunLayout:
    """Paths of the files of the run in ``root`` (nothing is created)."""

    root: Path

    def __init__(self, root: str | os.PathLike) -> None:
        object.__setattr__(self, "root", Path(root))

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def latest(self) -> Path:
        return self.root / "latest.pth"

    @property
    def best(self) -> Path:
        return self.root / "best.pth"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def object_net(self) -> Path:
        return self.root / "pretrain" / "object_net.pth"

    @property
    def pretrain_state(self) -> Path:
        return self.root / "pretrain" / "state.pth"

    @property
    def pretrain_summary(self) -> Path:
        return self.root / "pretrain" / "summary.json"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    def weights(self) -> Path:
        """The checkpoint to evaluate: ``best.pth`` if present, else ``latest.pth``."""
        for path in (self.best, self.latest):
            if path.is_file():
                return path
        raise FileNotFoundError(f"{self.root}: no best.pth or latest.pth (not a slavc-lite run folder, "
                                "or a run that has not saved a checkpoint yet)")

    def is_finished(self) -> bool:
        return self.summary.is_file()

    def read_summary(self) -> dict:
        return json.loads(self.summary.read_text(encoding="utf-8"))


def is_run_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder with a slavc-lite run's ``config.json`` and a checkpoint."""
    layout = RunLayout(path)
    return layout.config.is_file() and (layout.best.is_file() or layout.latest.is_file())


def ogl_weights_for(checkpoint_or_run: str | os.PathLike) -> ImageWeights:
    """The OGL network's weights that belong with a checkpoint.

    A toy-world run pretrains its own object network (``pretrain/object_net.pth``): that is its
    OGL network, as ImageNet's ResNet-18 is the official one. Anything else gets ``"imagenet"``.
    """
    path = Path(checkpoint_or_run)
    root = path if path.is_dir() else path.parent
    object_net = RunLayout(root).object_net
    return object_net if object_net.is_file() else "imagenet"
