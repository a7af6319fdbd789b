"""Writing a file so that it is never seen half-written.

Every file the project makes for a user (checkpoints, configurations, metrics, reports,
figures, videos, executed notebooks, downloads) is written the same way:

1. the content goes to a temporary file ``.<name>.<random>.tmp`` in the target's own folder
   (``tempfile.mkstemp``), so the final rename never crosses file systems (a run folder may be a
   mounted Google Drive);
2. the temporary file is flushed and fsynced, and given the mode a new file gets from ``open``
   (``0o666`` less the umask; ``mkstemp`` alone would make it private to its owner);
3. ``os.replace`` renames it over the target (atomic on POSIX and Windows), and on POSIX the
   folder is fsynced so that the rename itself survives a power cut.

Whatever fails on the way, ``KeyboardInterrupt`` included, removes the temporary file and
re-raises: the target is then the old file, or absent, never a mix, and nothing is left beside it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["TEMP_SUFFIX", "atomic_path", "atomic_torch_save", "atomic_write", "atomic_write_bytes",
           "atomic_write_text", "new_file_mode"]

TEMP_SUFFIX = ".tmp"
"""Every temporary file is ``.<target name>.<random>.tmp`` beside its target."""


def new_file_mode() -> int:
    """The permission bits ``open(path, "w")`` gives a new file: ``0o666`` less the umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends normally, rename it over ``path``.

    For writers that open a file by name (PyAV, nbformat). The writer must not choose its
    format from the file name's suffix (the temporary name ends in ``.tmp``). If the block raises,
    the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, new_file_mode())
        with open(tmp, "r+b") as fh:  # the writer may not have fsynced: make the bytes durable
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(fh)`` on a binary file object, then put the result at ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        write(fh)
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj, path)``, atomically."""
    import torch

    return atomic_write(path, lambda fh: torch.save(obj, fh))


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where a folder cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
