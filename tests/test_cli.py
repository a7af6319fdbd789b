"""The command line: subcommand registry, `localize` outputs, clear refusals with exit status 2."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image
from torchvision.models import mobilenet_v3_small

import slavc_lite
from slavc_lite import weights
from slavc_lite.checkpoints import save_checkpoint
from slavc_lite.cli import command_modules, main
from slavc_lite.localize import RANDOM_TITLE, RELEASED_CHECKPOINT_ID
from slavc_lite.model import SLAVC

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--backbone", "mobilenet_v3_small"]
FIGURES = ("slavc.png", "ogl.png", "vsl.png", "figure.png")


@pytest.fixture
def inputs(tmp_path):
    rng = np.random.default_rng(0)
    image = tmp_path / "scene.jpg"
    Image.fromarray((rng.random((240, 320, 3)) * 255).astype(np.uint8)).save(image, quality=90)
    audio = tmp_path / "sound.wav"
    t = np.arange(int(16000 * 3.5)) / 16000
    soundfile.write(audio, 0.3 * np.sin(2 * np.pi * 330 * t), 16000, subtype="PCM_16")
    return image, audio


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty torch hub cache, and every ImageNet URL on a closed 127.0.0.1 port."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_torch_home"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for backbone in list(weights.IMAGENET_WEIGHT_URLS):
        monkeypatch.setitem(weights.IMAGENET_WEIGHT_URLS, backbone, f"http://127.0.0.1:{port}/{backbone}.pth")


def localize_args(image, audio, out, *extra):
    return ["localize", "--image", str(image), "--audio", str(audio), "--out", str(out), *extra]


def png_title(path: Path) -> str:
    with Image.open(path) as png:
        return png.text["Title"]


def test_help_runs_as_a_module_in_a_fresh_interpreter():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "slavc_lite", "--help"], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage: slavc-lite" in done.stdout and "localize" in done.stdout


def test_version_help_and_registry(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"slavc-lite {slavc_lite.__version__}"
    assert main(["localize", "--help"]) == 0
    assert "--random-weights" in capsys.readouterr().out
    assert main([]) == 2  # no subcommand: the help, on stderr
    assert "localize" in capsys.readouterr().err
    assert "slavc_lite.commands.localize" in command_modules()


def test_localize_with_random_weights_writes_every_file_and_says_so(tmp_path, inputs, offline, capsys):
    out = tmp_path / "out"
    assert main(localize_args(*inputs, out, "--random-weights", "--alpha", "0.25", *SMALL)) == 0
    streams = capsys.readouterr()
    assert RANDOM_TITLE in streams.err
    assert sorted(p.name for p in out.iterdir()) == sorted([*FIGURES, "result.json"])
    result = json.loads((out / "result.json").read_text())
    assert {"alpha", "confidences", "weights", "inputs", "device", "slavc_lite_version"} <= result.keys()
    assert result["alpha"] == 0.25 and result["random_weights"] is True
    assert set(result["confidences"]) == {"slavc", "ogl", "vsl"}
    assert result["weights"]["slavc"] == "random (untrained) weights"
    assert "random" in result["weights"]["ogl"]
    assert result["inputs"] == {"image": str(inputs[0]), "audio": str(inputs[1])}
    assert result["device"] == "cpu" or torch.cuda.is_available() or torch.backends.mps.is_available()
    assert result["slavc_lite_version"] == slavc_lite.__version__
    for name in FIGURES:
        assert RANDOM_TITLE in png_title(out / name), name
    with Image.open(out / "figure.png") as png:
        assert png.size == (1260, 360)


def test_localize_with_a_checkpoint_and_ogl_file(tmp_path, inputs, offline, capsys):
    torch.manual_seed(0)
    checkpoint = save_checkpoint(tmp_path / "toy_run.pth", SLAVC(backbone="mobilenet_v3_small", dim=16))
    objects = tmp_path / "objects.pth"
    torch.save(mobilenet_v3_small().state_dict(), objects)
    out = tmp_path / "out"
    args = localize_args(*inputs, out, "--checkpoint", str(checkpoint), "--ogl-weights", str(objects),
                         "--device", "cpu")
    assert main(args) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["random_weights"] is False and result["alpha"] == 0.4
    assert result["weights"]["slavc"].startswith("toy_run.pth")
    assert "objects.pth" in result["weights"]["ogl"]
    for name in FIGURES:
        assert "random" not in png_title(out / name)
    assert "toy_run.pth" in png_title(out / "figure.png")


def test_refuses_without_a_checkpoint(tmp_path, inputs, offline, capsys):
    out = tmp_path / "out"
    assert main(localize_args(*inputs, out)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert RELEASED_CHECKPOINT_ID in err and "--checkpoint" in err and "--random-weights" in err
    assert not out.exists()


def test_refuses_when_imagenet_weights_for_ogl_are_unavailable(tmp_path, inputs, offline, capsys):
    checkpoint = save_checkpoint(tmp_path / "toy_run.pth", SLAVC(backbone="mobilenet_v3_small", dim=16))
    assert main(localize_args(*inputs, tmp_path / "out", "--checkpoint", str(checkpoint))) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "mobilenet_v3_small.pth" in err and "--ogl-weights" in err


@pytest.mark.parametrize("which", ["image", "audio"])
def test_bad_input_files_exit_2_naming_the_file(tmp_path, inputs, capsys, which):
    image, audio = inputs
    if which == "image":
        image = tmp_path / "no_such_picture.jpg"
    else:
        audio = tmp_path / "not_audio.wav"
        audio.write_text("this is text, not sound")
    assert main(localize_args(image, audio, tmp_path / "out", "--random-weights", *SMALL)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert (image if which == "image" else audio).name in err


def test_usage_errors_exit_2(tmp_path, inputs, capsys):
    assert main(localize_args(*inputs, tmp_path / "out", "--alpha", "1.5")) == 2
    assert "alpha must be in [0, 1]" in capsys.readouterr().err
    both = localize_args(*inputs, tmp_path / "out", "--random-weights", "--checkpoint", "x.pth")
    assert main(both) == 2
    assert "not both" in capsys.readouterr().err


def test_data_subcommands_are_registered():
    from slavc_lite.cli import build_parser

    parser = build_parser()
    for argv in (["data", "toy", "--out", "x"], ["data", "prepare", "--videos", "v", "--out", "x"],
                 ["data", "vggsound", "--shard", "0", "--limit", "3", "--out", "x"]):
        args = parser.parse_args(argv)
        assert callable(args.func), argv
