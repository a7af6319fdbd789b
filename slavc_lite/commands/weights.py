"""``slavc-lite weights fetch``: the released weights in one call.

    slavc-lite weights fetch official [--folder DIR] [--url URL] [--quiet]
    slavc-lite weights fetch imagenet [--backbone resnet18|mobilenet_v3_small]

``official`` downloads the released SLAVC VGGSound-144k checkpoint from Google Drive (with
gdown: ``pip install "slavc-lite[weights]"``) into ``data/weights/`` where the chapters look,
checks that it loads, and records its size and SHA-256 beside it (:func:`slavc_lite.fetch.fetch_official`).
``imagenet`` fetches torchvision's ImageNet weights into the torch hub cache. Prints the path.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "weights"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``weights`` (with its ``fetch`` subcommand) on an argparse subparsers object."""
    parser = subparsers.add_parser(
        NAME, help="fetch the released SLAVC model or torchvision's ImageNet weights",
        description="Download pretrained weights once, into the folders the chapters look in.",
    )
    actions = parser.add_subparsers(dest="weights_action", metavar="ACTION", required=True)
    fetch = actions.add_parser(
        "fetch", help="download and check weights",
        description="official: the released SLAVC model (VGGSound-144k, Google Drive), into data/weights/, "
        "checked with load_official_checkpoint, its size and SHA-256 recorded and checked on later "
        "calls; an interrupted download resumes. imagenet: torchvision's ImageNet weights, into the "
        "torch hub cache.",
    )
    fetch.add_argument("which", choices=("official", "imagenet"))
    fetch.add_argument("--folder", type=Path, metavar="DIR",
                       help="official: where to keep the checkpoint (default data/weights/ of the clone)")
    fetch.add_argument("--url", metavar="URL",
                       help="official: download from this address instead of the Google Drive id (a mirror)")
    fetch.add_argument("--backbone", default="resnet18", choices=("resnet18", "mobilenet_v3_small"),
                       help="imagenet: which network's weights (default resnet18)")
    fetch.add_argument("--quiet", action="store_true", help="no progress bar")
    fetch.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Fetch what ``args.which`` names and print where it is."""
    from slavc_lite import fetch

    if args.which == "official":
        path = fetch.fetch_official(args.folder, url=args.url, quiet=args.quiet)
    else:
        if args.folder is not None or args.url is not None:
            print("slavc-lite: error: --folder and --url are for 'weights fetch official' only",
                  file=sys.stderr)
            return 2
        path = fetch.fetch_imagenet(args.backbone)
    print(path)
    return 0
