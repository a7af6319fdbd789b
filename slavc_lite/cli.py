"""The ``slavc-lite`` command line (also ``python -m slavc_lite``).

Subcommands live in :mod:`slavc_lite.commands`, one module each, found automatically: a
module there exposes ``add_parser(subparsers)`` (see that package's docstring). This file only
assembles them and turns the library's own errors into a clear message and exit status:

* 0: success (a subcommand may return other statuses of its own);
* 2: bad command line, or a :class:`~slavc_lite.errors.SlavcLiteError` (an unreadable input
  file, weights that cannot be had, a bad checkpoint): one message naming the file or saying
  what to do, no traceback. Anything else is a bug and keeps its traceback;
* 130: interrupted with Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import textwrap
from collections.abc import Sequence

from slavc_lite import __version__
from slavc_lite.errors import SlavcLiteError

__all__ = ["PROG", "EXIT_USAGE", "EXIT_INTERRUPTED", "command_modules", "build_parser", "main"]

PROG = "slavc-lite"
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def command_modules() -> list[str]:
    """Names of the subcommand modules in :mod:`slavc_lite.commands`, sorted."""
    import slavc_lite.commands as package

    return sorted(
        f"{package.__name__}.{info.name}"
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_")
    )


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand of :mod:`slavc_lite.commands` registered."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="SLAVC visual sound-source localization (Mo & Morgado, NeurIPS 2022), rebuilt "
        "as analysed in the IPOL review by Juanola & Haro (2024).",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in command_modules():
        importlib.import_module(name).add_parser(subparsers)
    return parser


def _report(message: str) -> None:
    """Print an error as wrapped paragraphs on stderr."""
    paragraphs = f"{PROG}: error: {message}".split("\n")
    text = "\n".join(textwrap.fill(p, width=100, break_long_words=False, break_on_hyphens=False)
                     for p in paragraphs)
    print(text, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: keep argparse's status
        if exc.code is None:
            return 0
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        status = args.func(args)
    except SlavcLiteError as exc:
        _report(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover - `python -m slavc_lite` goes through __main__.py
    sys.exit(main())
