"""What a checkpoint holds beyond the model so that a resumed run continues *exactly*.

``RUN/latest.pth`` is the official checkpoint dictionary (``model``, ``optimizer``, ``epoch``
= completed epochs, ``best_Precision``, ``best_AP``, ``best_F1``) written by
:func:`slavc_lite.checkpoints.save_checkpoint`, whose ``config`` entry holds the model's
hyper-parameters, the library version, the whole :class:`TrainConfig` (``config["train"]``)
and the seed (``config["seed"]``), plus:

* ``progress`` (:class:`Progress`): optimizer steps, completed epochs, batches done in the
  current epoch, training pairs seen, training seconds, the best validation score so far;
* ``per_process``: for each process (rank order), its random-generator states
  (:mod:`slavc_lite.training.rng`: torch CPU/CUDA, numpy, Python; dropout draws from them) and
  its loader's augmentation generator (:meth:`ShardedLoader.state`);
* ``grad_scaler``: the float16 loss scaler's state (empty when disabled).

Everything is tensors, numbers, strings, lists and dicts: loadable with
``torch.load(weights_only=True)``. A resumed run restores all of it, so on a CPU it ends with
the same weights, bit for bit, as a run that was never interrupted.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["Progress"]


@dataclass
class Progress:
    """Where a run stands (saved in every checkpoint).

    ``epoch`` counts completed epochs (the official checkpoint's ``epoch``); ``position`` the
    batches of epoch ``epoch`` already trained on (0 at an epoch boundary).
    """

    step: int = 0
    epoch: int = 0
    position: int = 0
    samples: int = 0
    train_seconds: float = 0.0
    best_score: float | None = None
    best_epoch: int | None = None
    best_step: int | None = None
    best_table: dict[str, dict[str, float]] = field(default_factory=dict)
    last_table: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_entry(self) -> dict[str, Any]:
        """A ``weights_only``-loadable dict (NaN kept: torch stores floats exactly)."""
        return asdict(self)

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> Progress:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in entry.items() if k in known})

    @property
    def has_best(self) -> bool:
        return self.best_score is not None and not math.isnan(self.best_score)
