"""How far does a cell of the toy object network carry the object's class? Both trunks, measured.

For each object network of :data:`NETWORKS` (the ``cpu-toy`` recipe's; the same without the
per-cell labels; and the recipe's before it, MobileNetV3-small without them), the object
pretraining of the ``cpu-toy`` preset (seed 0) with those overrides runs into
``OUT/NAME/object_net.pth`` (kept and reused), then
:func:`slavc_lite.evaluation.cell_locality.cell_locality` probes it: nearest-class-mean accuracy
on the cells an object covers and on background cells with no object cell among their neighbours
(chance: one over the number of classes). It prints one ``name: value`` line per figure and
writes them to ``OUT/summary.json``.

    python experiments/cell_locality.py [--out build/cell-locality] [--images 600]

About four minutes on 2 CPU cores (most of it the three pretrainings).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import say  # noqa: E402

from slavc_lite.atomic_files import atomic_write_text  # noqa: E402
from slavc_lite.encoders import build_image_encoder  # noqa: E402
from slavc_lite.evaluation.cell_locality import cell_locality  # noqa: E402
from slavc_lite.training import preset  # noqa: E402
from slavc_lite.training.precision import precision_for  # noqa: E402
from slavc_lite.training.pretrain import pretrain_object_net  # noqa: E402

#: name -> overrides of the ``cpu-toy`` preset.
NETWORKS: dict[str, dict[str, object]] = {
    "local_cnn": {},
    "local_cnn, no cell labels": {"run.pretrain_cells": False},
    "mobilenet_v3_small, no cell labels": {"model.backbone": "mobilenet_v3_small",
                                           "run.pretrain_cells": False},
}


def object_net(name: str, out: Path) -> tuple[str, Path]:
    """The backbone and the file of the ``cpu-toy`` object pretraining with ``NETWORKS[name]``'s
    overrides, pretrained into ``out/<name with dashes>`` unless it is there."""
    import torch

    config = preset("cpu-toy").with_overrides(NETWORKS[name])
    folder = out / name.replace(", ", "-").replace(" ", "-")
    path = folder / "object_net.pth"
    if not path.is_file():
        device = torch.device("cpu")
        pretrain_object_net(config, path, device, precision_for(device, amp=False), progress=False,
                            state_path=folder / "pretrain_state.pth")
    return config.model.backbone, path


def main(argv: list[str] | None = None) -> dict[str, dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/cell-locality"))
    parser.add_argument("--images", type=int, default=600,
                        help="toy object images probed (half of them fit the class means)")
    args = parser.parse_args(argv)
    summary = {}
    for name in NETWORKS:
        backbone, weights = object_net(name, args.out)
        probe = cell_locality(build_image_encoder(backbone, weights), n_images=args.images)
        figures = {**asdict(probe), "far_share": probe.far_share}
        summary[name] = {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}
        for figure, value in summary[name].items():
            say(f"{name}.{figure}", value)
    atomic_write_text(args.out / "summary.json", json.dumps(summary, indent=1) + "\n")
    say("summary", args.out / "summary.json")
    return summary


if __name__ == "__main__":
    main()
