"""Check functions for the notebooks' exercises: ``from slavc_lite.teaching.exercises import check_loss``.

Each chapter's exercises live in one module of this package (named after the topic); every
public ``check_*`` function of those modules is exported here. A check function takes the
student's answer (usually a function), compares it with the library's reference on fresh
random inputs, prints a short confirmation when it agrees, and raises ``AssertionError``
with an explanation of what differs when it does not.
"""

from __future__ import annotations

import importlib
import pkgutil


def _collect() -> dict[str, object]:
    found: dict[str, object] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name in dir(module):
            if name.startswith("check_"):
                if name in found:
                    raise ImportError(f"two exercise modules define {name}")
                found[name] = getattr(module, name)
    return found


_CHECKS = _collect()
globals().update(_CHECKS)
__all__ = sorted(_CHECKS)
