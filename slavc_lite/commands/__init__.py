"""Subcommands of the ``slavc-lite`` command line, one module each.

:mod:`slavc_lite.cli` finds every module of this package whose name does not start with an
underscore and calls its ``add_parser(subparsers)``. That function registers one subcommand
(``subparsers.add_parser(name, help=..., description=...)``, which may hold nested
subcommands) and sets ``func`` to a handler ``(args: argparse.Namespace) -> int`` that
returns the exit status. Keep module-level imports light (argparse, pathlib): heavy imports
(torch, matplotlib) belong inside the handler, so ``slavc-lite --help`` stays fast.

:class:`~slavc_lite.errors.SlavcLiteError` raised by a handler is reported by the command
line as one message without traceback, with exit status 2.
"""
