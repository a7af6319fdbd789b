"""Random-number-generator states as checkpoint entries, for runs that resume exactly.

Dropout (p = 0.9 on the image features, review Sec. 2) draws from torch's global generator at
every step, so a resumed run repeats an uninterrupted one only if that generator continues
from where it stood. :func:`capture_rng_state` records the states of torch (CPU and every
CUDA device), numpy's legacy global generator and Python's ``random``; :func:`restore_rng_state`
puts them back. Every state is stored as a ``uint8`` tensor (plus small ints and floats), so
the checkpoint stays loadable with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

__all__ = ["capture_rng_state", "restore_rng_state", "seed_everything"]

_MT_WORDS = 624  # Mersenne Twister state words (numpy's MT19937 and Python's random)


def _u32_bytes(words) -> torch.Tensor:
    return torch.from_numpy(np.asarray(words, dtype=np.uint32).copy().view(np.uint8))


def _u32_words(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(np.uint8).view(np.uint32)


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, numpy's global generator and torch (CPU and all GPUs)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - the global generator is what third-party code uses
    torch.manual_seed(seed)


def capture_rng_state() -> dict[str, Any]:
    """The current generator states, as ``weights_only``-loadable values."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    version, internal, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": str(kind), "keys": _u32_bytes(keys), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": {"version": int(version), "internal": _u32_bytes(internal),
                   "gauss_next": None if gauss_next is None else float(gauss_next)},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = [s for s in torch.cuda.get_rng_state_all()]
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Put back the generator states of :func:`capture_rng_state`."""
    torch.set_rng_state(state["torch"].cpu())
    numpy_state = state["numpy"]
    np.random.set_state((numpy_state["kind"], _u32_words(numpy_state["keys"]),  # noqa: NPY002
                         numpy_state["pos"], numpy_state["has_gauss"], numpy_state["cached_gaussian"]))
    python_state = state["python"]
    internal = tuple(int(x) for x in _u32_words(python_state["internal"]))
    if len(internal) != _MT_WORDS + 1:
        raise ValueError(f"Python random state has {len(internal)} words, expected {_MT_WORDS + 1}")
    random.setstate((python_state["version"], internal, python_state["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = state["cuda"][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda_states])
