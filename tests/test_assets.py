"""The shipped examples: present, readable by the library, small, and reproducible byte for byte."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from slavc_lite.audio import load_audio
from slavc_lite.images import load_image

ASSETS = Path(__file__).resolve().parents[1] / "assets"
EXAMPLES = ASSETS / "examples"
NAMES = ("bell", "bird_and_drum")


@pytest.fixture(scope="module")
def make_assets():
    spec = importlib.util.spec_from_file_location("make_assets", ASSETS / "make_assets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shipped_files() -> list[Path]:
    return sorted(p for p in EXAMPLES.iterdir() if p.is_file())


def test_every_example_has_a_picture_and_a_sound():
    expected = sorted([*(f"{n}.jpg" for n in NAMES), *(f"{n}.wav" for n in NAMES), "boxes.json"])
    assert [p.name for p in shipped_files()] == expected
    assert (ASSETS / "LICENSE.md").is_file() and "CC0" in (ASSETS / "LICENSE.md").read_text()
    assert (ASSETS / "README.md").is_file()


def test_assets_are_small():
    total = sum(p.stat().st_size for p in ASSETS.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert total < 300_000


@pytest.mark.parametrize("name", NAMES)
def test_examples_load_with_the_library(name):
    image = load_image(EXAMPLES / f"{name}.jpg")
    assert image.mode == "RGB" and image.size == (320, 240)
    waveform, rate = load_audio(EXAMPLES / f"{name}.wav")
    assert rate == 16000 and waveform.dtype == np.float32
    assert waveform.shape == (56000,)  # 3.5 s: longer than the official 3 s window
    assert 0.45 < np.abs(waveform).max() <= 0.5 + 1e-4


def test_boxes_are_normalised_and_name_the_sounding_object():
    boxes = json.loads((EXAMPLES / "boxes.json").read_text())
    assert sorted(boxes) == list(NAMES)
    for entry in boxes.values():
        assert len(entry["sounding"]) == 1
        for x0, y0, x1, y1 in entry["sounding"] + entry["silent"]:
            assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
    assert len(boxes["bird_and_drum"]["silent"]) == 1  # the drum


def test_script_reproduces_the_shipped_bytes(tmp_path, make_assets, capsys):
    assert make_assets.main(["--out", str(tmp_path)]) == 0
    regenerated = sorted(p.name for p in tmp_path.iterdir())
    assert regenerated == [p.name for p in shipped_files()]
    for shipped in shipped_files():
        assert (tmp_path / shipped.name).read_bytes() == shipped.read_bytes(), shipped.name
