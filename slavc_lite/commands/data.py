"""``slavc-lite data``: make or fetch training and test pairs in the official layout.

    slavc-lite data toy      --out DIR [--train 2000] [--test 500] [--seed 0]
    slavc-lite data toy-videos --out DIR [--per-kind 20] [--seed 0]
    slavc-lite data prepare  --videos DIR --out DIR [--workers N]
    slavc-lite data vggsound --shard K --limit N --out DIR [--ids FILE]

Each nested command lives with the code it drives (:mod:`slavc_lite.data.toy.command`,
:mod:`slavc_lite.data.commands`); this module only groups them.
"""

from __future__ import annotations

import argparse

NAME = "data"


def add_parser(subparsers) -> argparse.ArgumentParser:
    from slavc_lite.data import commands as video_commands
    from slavc_lite.data.toy import command as toy_command

    parser = subparsers.add_parser(
        NAME,
        help="generate the toy world, prepare video clips, or stream a VGGSound subset",
        description="Make or fetch training and test pairs in the official layout "
        "(frames/<id>.jpg, audio/<id>.wav).",
    )
    nested = parser.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
    toy_command.add_parser(nested)
    toy_command.add_videos_parser(nested)
    video_commands.add_prepare_parser(nested)
    video_commands.add_vggsound_parser(nested)
    parser.set_defaults(func=lambda args: _usage(parser))
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2
