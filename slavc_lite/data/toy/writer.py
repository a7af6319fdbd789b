"""Write a toy world to disk in the official SLAVC layout, atomically and in parallel.

Layout (the names of the official files in parentheses)::

    OUT/toy_world.json                 config, counts per kind, classes, version (written last)
    OUT/train/frames/<id>.jpg          224x224 RGB, JPEG quality 90
    OUT/train/audio/<id>.wav           16 kHz mono, 16-bit PCM, 3 s
    OUT/train/toy_train.txt            train ids, one per line          (vggss_10k.txt)
    OUT/train/scenes.csv               id,kind,classes,n_boxes,audio_classes,visible_classes
    OUT/val/...                        the validation split, laid out exactly as test/ (it
                                       picks best.pth; test/ is only for reported numbers)
    OUT/test/frames/<id>.jpg, OUT/test/audio/<id>.wav   every test pair, negatives included
    OUT/test/toy_test.csv              sounding test ids, one per line  (vggss_test.csv)
    OUT/test/toy.json                  [{"file", "class", "classes", "bbox", "kind"}] for the
                                       sounding pairs; bbox normalised    (vggss.json)
    OUT/test/toy_test_plus_silent.csv  header video,audio,label; one ``<id>,<id>,non-sounding``
                                       row per offscreen/silence/noise pair
                                                                      (vggss_test_plus_silent.csv)
    OUT/test/scenes.csv                per-pair kind and classes, for per-hard-case tables
    OUT/test/objects.json              {id: [{"class", "role", "box", "level"}]}: every drawn
                                       object (role sounding, silent, distractor or visible;
                                       normalised box; the active RMS of its sound in the clip
                                       for sounding objects, else null), for the review's findings

In ``scenes.csv``, ``classes`` are the classes of the ground-truth boxes (``;``-separated,
empty for non-sounding pairs) and ``n_boxes`` their number. Like the official
``vggss.json``, ``toy.json`` has one string ``class`` per sample: in mixtures the two class
names joined by ``" + "``; the list is in ``classes``.

Atomicity: everything is generated in a hidden temporary sibling of ``OUT`` and renamed
into place at the end, so an interrupted run never leaves a folder that looks complete
(an interrupted run's temporary folder, ``.<name>.partial-*``, can be deleted). If ``OUT``
already holds a complete world with the same configuration, nothing is done; a different
configuration is refused unless ``overwrite=True``.

Determinism: each pair comes from its own seed (see :mod:`slavc_lite.data.toy.world`), so
the bytes do not depend on the number of workers.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import shutil
import sys
import time
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from slavc_lite.data.toy.classes import CLASS_NAMES
from slavc_lite.data.toy.scenes import NON_SOUNDING_KINDS, ToyScene
from slavc_lite.data.toy.world import SPLIT_PROPORTIONS, ToyWorld

JPEG_QUALITY = 90
MANIFEST = "toy_world.json"
OBJECTS_FILE = "objects.json"
SPLITS = ("train", "val", "test")
EVAL_SPLITS = ("val", "test")
"""Splits written in the official test layout (boxes, lists, non-sounding pairs)."""


@dataclass
class ToyWorldSummary:
    """What :func:`write_toy_world` did: the folder, counts per split and kind, timing."""

    out: Path
    counts: dict[str, dict[str, int]]
    seconds: float = 0.0
    skipped: bool = False
    workers: int = 1
    message: str = ""
    config: dict = field(default_factory=dict)

    @property
    def pairs(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())

    @property
    def pairs_per_s(self) -> float:
        return self.pairs / self.seconds if self.seconds > 0 else float("nan")


def world_config(world: ToyWorld, n_train: int, n_test: int, n_val: int = 0) -> dict:
    """The configuration that identifies a world on disk (compared to skip a rewrite)."""
    return {**world.config(), "counts": {"train": int(n_train), "val": int(n_val), "test": int(n_test)},
            "proportions": {s: SPLIT_PROPORTIONS[s] for s in SPLITS}, "classes": list(CLASS_NAMES)}


def read_manifest(out: str | os.PathLike, name: str = MANIFEST) -> dict | None:
    """The manifest ``name`` (``toy_world.json``) of a complete world at ``out``, or None."""
    path = Path(out) / name
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def same_config(manifest: dict, config: dict) -> bool:
    """Whether ``manifest`` records every value of ``config``."""
    return all(manifest.get(k) == v for k, v in config.items())


def to_pcm16(waveform: np.ndarray) -> np.ndarray:
    """Float waveform in [-1, 1] -> int16 samples (clipped, rounded, scale 32767)."""
    return np.round(np.clip(waveform, -1.0, 1.0) * 32767.0).astype(np.int16)


def write_pair(scene: ToyScene, split_dir: Path) -> None:
    """Write ``frames/<id>.jpg`` and ``audio/<id>.wav`` of one scene."""
    Image.fromarray(scene.image).save(split_dir / "frames" / f"{scene.id}.jpg", quality=JPEG_QUALITY)
    write_wav(split_dir / "audio" / f"{scene.id}.wav", scene.waveform, scene.sample_rate)


def write_wav(path: str | os.PathLike, waveform: np.ndarray, sample_rate: int) -> None:
    """Mono 16-bit PCM wav with the standard library (libsndfile's close fsyncs each file,
    which costs more than making the sound)."""
    with wave.open(os.fspath(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(int(sample_rate))
        f.writeframes(to_pcm16(waveform).astype("<i2").tobytes())


def _object_levels(scene: ToyScene) -> list[float | None]:
    """Per drawn object, the active RMS of its own sound in the clip (sounding objects, in the
    order of ``scene.sources``), else None."""
    from slavc_lite.data.toy.sounds import active_rms

    sources = iter(x for _, x in scene.sources)
    levels: list[float | None] = []
    for o in scene.objects:
        source = next(sources) if o.role == "sounding" else None
        levels.append(None if source is None else round(active_rms(source, scene.sample_rate), 6))
    return levels


def _record(scene: ToyScene) -> dict:
    objects = [{"class": o.cls, "role": o.role, "box": o.box, "level": level}
               for o, level in zip(scene.objects, _object_levels(scene), strict=True)]
    return {"id": scene.id, "kind": scene.kind, "boxes": scene.boxes, "classes": scene.sounding_classes,
            "audio_classes": scene.audio_classes, "visible_classes": scene.visible_classes,
            "objects": objects}


def _job(task: tuple) -> dict:
    """Worker: make one scene and write its pair (top-level, so it pickles)."""
    config, split, index, kind, split_dir = task
    world = ToyWorld(config["seed"], config["image_size"], config["sample_rate"], config["duration"])
    scene = world.split_scene(split, index, kind)
    write_pair(scene, Path(split_dir))
    return _record(scene)


def _pool(workers: int):
    """A process pool: ``fork`` on Linux (workers inherit the imported modules: no start-up
    cost, and a script or notebook that calls us needs no ``if __name__ == "__main__"``
    guard); ``spawn`` elsewhere (macOS, Windows: call from a guarded main). Workers only run
    numpy, PIL and soundfile, never torch, so forking a process that imported torch is safe."""
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return multiprocessing.get_context(method).Pool(workers)


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    from slavc_lite.progress import tqdm

    return tqdm(total=total, desc="toy world", unit="pair")


def _write_eval_lists(folder: Path, records: list[dict]) -> None:
    """The official test-set files of one evaluation split (see the module docstring)."""
    sounding = [r for r in records if r["boxes"]]
    (folder / "toy_test.csv").write_text("".join(f"{r['id']}\n" for r in sounding))
    entries = [{"file": r["id"], "class": " + ".join(dict.fromkeys(r["classes"])),
                "classes": r["classes"], "bbox": r["boxes"], "kind": r["kind"]} for r in sounding]
    (folder / "toy.json").write_text(json.dumps(entries))
    with open(folder / "toy_test_plus_silent.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["video", "audio", "label"])
        for r in records:
            if r["kind"] in NON_SOUNDING_KINDS:
                w.writerow([r["id"], r["id"], "non-sounding"])
    (folder / OBJECTS_FILE).write_text(json.dumps({r["id"]: r["objects"] for r in records}))


def _write_lists(out: Path, records: dict[str, list[dict]]) -> None:
    (out / "train" / "toy_train.txt").write_text("".join(f"{r['id']}\n" for r in records["train"]))
    for split in EVAL_SPLITS:
        _write_eval_lists(out / split, records[split])
    for split in SPLITS:
        with open(out / split / "scenes.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["id", "kind", "classes", "n_boxes", "audio_classes", "visible_classes"])
            for r in records[split]:
                w.writerow([r["id"], r["kind"], ";".join(r["classes"]), len(r["boxes"]),
                            ";".join(r["audio_classes"]), ";".join(r["visible_classes"])])


def publish_folder(tmp: Path, out: Path) -> None:
    """Put the finished folder ``tmp`` at ``out``: renamed into place, an old ``out`` first moved
    aside and deleted only once the new one is there (no moment without a complete folder)."""
    if out.exists():
        trash = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        out.rename(trash)
        tmp.rename(out)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        tmp.rename(out)


def write_toy_world(out: str | os.PathLike, n_train: int = 2000, n_test: int = 500, seed: int = 0,
                    workers: int | None = None, overwrite: bool = False, progress: bool = True,
                    image_size: int = 224, sample_rate: int = 16000, duration: float = 3.0,
                    verbose: bool = True, n_val: int = 300, replace_outdated: bool = True) -> ToyWorldSummary:
    """Generate ``n_train`` + ``n_val`` + ``n_test`` pairs into ``out`` (official layout, see the module
    docstring). ``workers``: processes (default ``os.cpu_count()``; 1 runs in this process).

    Returns a :class:`ToyWorldSummary`; ``skipped=True`` when ``out`` already held this world.
    A complete toy world written by another version of the generator (``TOY_WORLD_VERSION``)
    is regenerated in place when ``replace_outdated`` (it is generated data, and the same seed
    gives it back). Raises ``FileExistsError`` when ``out`` holds anything else (another seed or
    size, other files) and ``overwrite`` is False.
    """
    if n_train < 0 or n_val < 0 or n_test < 0:
        raise ValueError(f"n_train, n_val and n_test must be >= 0, got {n_train}, {n_val} and {n_test}")
    out = Path(out).resolve()
    world = ToyWorld(seed, image_size, sample_rate, duration)
    config = world_config(world, n_train, n_test, n_val)
    sizes = {"train": n_train, "val": n_val, "test": n_test}
    plans = {split: world.split_kinds(split, sizes[split]) for split in SPLITS}
    counts = {s: world.split_counts(s, len(plans[s])) for s in SPLITS}
    workers = max(1, int(workers or os.cpu_count() or 1))

    if out.exists():
        manifest = read_manifest(out)
        if manifest is not None and same_config(manifest, config):
            msg = (f"{out} already holds this toy world (seed {seed}, {n_train} train, {n_val} val, "
                   f"{n_test} test): skipped")
            if verbose:
                print(msg)
            return ToyWorldSummary(out, counts, skipped=True, workers=workers, message=msg, config=config)
        empty = out.is_dir() and not any(out.iterdir())
        outdated = (replace_outdated and manifest is not None
                    and manifest.get("format") == "slavc-lite toy world"
                    and manifest.get("version") != config["version"])
        if outdated and verbose:
            print(f"{out} holds a toy world of generator version {manifest.get('version')}; writing version "
                  f"{config['version']} in its place (runs trained on the old world are not retrained)")
        if not empty and not overwrite and not outdated:
            what = "a different toy world" if manifest is not None else "other files"
            raise FileExistsError(f"{out} already holds {what}; choose another folder or pass overwrite=True "
                                  "(--overwrite) to replace it")

    start = time.perf_counter()
    tmp = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        for split in SPLITS:
            for sub in ("frames", "audio"):
                (tmp / split / sub).mkdir(parents=True)
        tasks = [(config, split, i, kind, str(tmp / split)) for split in SPLITS
                 for i, kind in enumerate(plans[split])]
        bar = _progress(len(tasks), progress)
        results: list[dict] = []
        try:
            if workers == 1 or len(tasks) < 2 * workers:
                for task in tasks:
                    results.append(_job(task))
                    if bar is not None:
                        bar.update()
            else:
                with _pool(workers) as pool:
                    for r in pool.imap(_job, tasks, chunksize=8):
                        results.append(r)
                        if bar is not None:
                            bar.update()
        finally:
            if bar is not None:
                bar.close()
        records = {"train": results[:n_train], "val": results[n_train:n_train + n_val],
                   "test": results[n_train + n_val:]}
        _write_lists(tmp, records)
        manifest = {**config, "format": "slavc-lite toy world", "kinds": counts,
                    "n_sounding_test": sum(1 for r in records["test"] if r["boxes"]),
                    "n_non_sounding_test": sum(1 for r in records["test"] if not r["boxes"])}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
        publish_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    seconds = time.perf_counter() - start
    return ToyWorldSummary(out, counts, seconds=seconds, workers=workers, config=config,
                           message=f"wrote {n_train + n_val + n_test} pairs to {out}")
