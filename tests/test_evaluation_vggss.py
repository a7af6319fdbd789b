"""The real-data path: a VGG-SS-format folder (a few ids of the official test list, with the
official metadata folder) evaluated end to end."""

from __future__ import annotations

import csv
import json
import warnings

import numpy as np
import pytest
import soundfile
from PIL import Image

from slavc_lite.cli import main
from slavc_lite.data.datasets import MissingSamplesWarning
from slavc_lite.evaluation import evaluate
from slavc_lite.ground_truth import vggss_gt_map
from tests.test_evaluation_support import REFERENCE, write_run

pytestmark = pytest.mark.skipif(not (REFERENCE / "vggss.json").is_file(),
                                reason="official metadata copies not present")
N_SOUNDING = 4
N_SILENT = 2


@pytest.fixture(scope="module")
def vggss(tmp_path_factory):
    """``(data folder, sounding ids, non-sounding pairs, {id: entry of vggss.json})``."""
    root = tmp_path_factory.mktemp("eval_vggss") / "vggss"
    (root / "frames").mkdir(parents=True)
    (root / "audio").mkdir()
    entries = {e["file"]: e for e in json.loads((REFERENCE / "vggss.json").read_text())}
    listed = (REFERENCE / "vggss_test.csv").read_text().split()
    sounding, classes = [], set()
    for i in listed:  # a few ids of different classes
        if entries[i]["class"] not in classes:
            sounding.append(i)
            classes.add(entries[i]["class"])
        if len(sounding) == N_SOUNDING:
            break
    with open(REFERENCE / "vggss_test_plus_silent.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["label"] == "non-sounding"]
    pairs = [(r["video"], r["audio"]) for r in rows[:N_SILENT]]
    rng = np.random.default_rng(0)
    for video in sounding + [v for v, _ in pairs]:
        pixels = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / "frames" / f"{video}.jpg")
    for audio in sounding + [a for _, a in pairs]:
        soundfile.write(root / "audio" / f"{audio}.wav", rng.normal(0, 0.1, 16000 * 4), 16000)
    return root, sounding, pairs, entries


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("eval_vggss_run") / "run")


def test_vggss_plus_silent_from_the_official_metadata(vggss, run, tmp_path):
    root, sounding, pairs, entries = vggss
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = evaluate(run, root, "vggss_plus_silent", metadata=REFERENCE, out=tmp_path / "eval",
                          batch_size=4)
    assert any(issubclass(w.category, MissingSamplesWarning) for w in caught)  # the ids we did not write
    scores = result.scores
    assert scores.ids == sorted(sounding) + sorted(v for v, _ in pairs)
    assert scores.audio_ids[N_SOUNDING:] == [a for _, a in sorted(pairs)]
    for k, sample_id in enumerate(scores.ids[:N_SOUNDING]):
        boxes = entries[sample_id]["bbox"]
        assert scores.n_boxes[k] == len(boxes)
        assert scores.areas[k] == vggss_gt_map(boxes).sum()
    assert np.all(scores.n_boxes[N_SOUNDING:] == 0)
    assert result.hard_cases is None  # real data: no scene kinds
    # off-screen audio from another clip of another class (vggss.json classes)
    off = result.negative_audio.negatives["offscreen"]
    for frame, audio in zip(off.ids, off.audio_ids, strict=True):
        assert audio in sounding and entries[audio]["class"] != entries[frame]["class"]
    # the paper's negative-audio tables on real-format data: the same sounding frames and partners
    paper = result.paper_negative_audio
    assert paper.ids == scores.ids[:N_SOUNDING] and paper.kind_ids["offscreen"] == off.ids
    assert set(paper.alphas) == {"slavc", "vsl@0.4", "vsl@0.9"}
    report = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert report["negative_audio_paper"]["maps"]["vsl@0.4"]["n_positive"] == N_SOUNDING
    assert "## Negative audio: the paper's metrics" in (tmp_path / "eval" / "metrics.md").read_text()
    assert report["config"]["n_samples"] == N_SOUNDING + N_SILENT and report["config"]["missing_ids"] > 5000
    assert report["slavc"]["n"] == N_SOUNDING + N_SILENT
    assert report["tables"]["vsl"]["visible"]["n"] == N_SOUNDING


def test_cli_on_vggss_with_a_metadata_folder(vggss, run, tmp_path):
    root, *_ = vggss
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingSamplesWarning)
        status = main(["evaluate", "--checkpoint", str(run), "--data", str(root), "--testset", "vggss",
                       "--metadata", str(REFERENCE), "--out", str(tmp_path / "eval"), "--device", "cpu",
                       "--visualize", "1", "--no-negative-audio"])
    assert status == 0
    report = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert report["slavc"]["n"] == N_SOUNDING and report["config"]["testset"] == "vggss"
    assert len(list((tmp_path / "eval" / "figures").glob("*.png"))) == 1
    assert "## Negative audio" not in (tmp_path / "eval" / "metrics.md").read_text()
