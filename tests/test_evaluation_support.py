"""Shared pieces of the evaluation tests: a tiny toy world and a tiny model in a run folder.

Imported by the ``test_evaluation_*`` modules (pytest collects this module too: it holds
only fixtures' building blocks and one sanity test of them).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from slavc_lite.checkpoints import save_checkpoint
from slavc_lite.encoders import build_image_encoder
from slavc_lite.model import SLAVC
from slavc_lite.training.layout import RunLayout

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "slavc-metadata"
N_TEST = 24
BACKBONE = "mobilenet_v3_small"


def write_world(root: Path) -> Path:
    """A 24-pair toy test world (no training pairs) at ``root``."""
    from slavc_lite.data.toy import write_toy_world

    write_toy_world(root, n_train=0, n_val=0, n_test=N_TEST, seed=5, workers=1, progress=False, verbose=False)
    return root


def tiny_model(seed: int = 0) -> SLAVC:
    torch.manual_seed(seed)
    return SLAVC(backbone=BACKBONE, image_weights=None, dim=16).eval()


def tiny_object_net(seed: int = 1) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_image_encoder(BACKBONE, None).eval()


def write_run(root: Path) -> Path:
    """A fake run folder: ``best.pth`` (tiny SLAVC), ``config.json``, ``pretrain/object_net.pth``."""
    layout = RunLayout(root)
    root.mkdir(parents=True, exist_ok=True)
    save_checkpoint(layout.best, tiny_model(), epoch=1)
    layout.config.write_text(json.dumps({"backbone": BACKBONE, "dim": 16}))
    layout.object_net.parent.mkdir(parents=True, exist_ok=True)
    torch.save(tiny_object_net().state_dict(), layout.object_net)
    return root


def test_support_run_folder_is_recognised(tmp_path):
    from slavc_lite.training.layout import is_run_folder, ogl_weights_for

    run = write_run(tmp_path / "run")
    assert is_run_folder(run)
    assert ogl_weights_for(run) == RunLayout(run).object_net
