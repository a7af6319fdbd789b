"""slavc_lite: a small, tested library behind the SLAVC tutorial collection.

SLAVC (Mo & Morgado, NeurIPS 2022) learns to localize sound sources in images from
unlabelled video. The modules mirror the method's parts: encoders, the momentum update,
the loss, the SLAVC/OGL/VSL maps, the official metrics, and the data front ends.
"""

from slavc_lite._version import __version__

__all__ = ["__version__", "SLAVC", "load_official_checkpoint"]


def __getattr__(name: str):
    # Lazy imports keep `import slavc_lite` light for the CLI's --help and for the toy world.
    if name == "SLAVC":
        from slavc_lite.model import SLAVC

        return SLAVC
    if name == "load_official_checkpoint":
        from slavc_lite.checkpoints import load_official_checkpoint

        return load_official_checkpoint
    raise AttributeError(f"module 'slavc_lite' has no attribute {name!r}")
