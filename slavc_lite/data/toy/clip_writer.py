"""Write the toy video world to disk: mp4 clips with their ground truth, atomically.

Layout::

    OUT/toy_videos.json           config, version, counts per kind (written last)
    OUT/<split>/<id>.mp4          224 x 224 H.264 at 8 fps with the clip's sound (AAC, 16 kHz)
    OUT/<split>/clips.json        [{"id", "file", "kind", "fps", "seconds", "boxes",
                                    "sounding_classes", "audio_classes",
                                    "objects": [{"class", "role", "box", "motion"}]}]

Splits: ``val`` (chooses the weight of the synchrony gate) and ``test`` (reported numbers),
a number of clips of every kind of :data:`~slavc_lite.data.toy.clips.CLIP_KINDS` each. The
clips are read back through the same video reader ``slavc-lite localize --video`` uses, so
the evaluation measures what a user's video would get. Like the still world, the folder is
built beside ``OUT`` and renamed into place; a complete world with the same configuration is
left alone, an older generator version is replaced.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from slavc_lite.data.toy.clips import CLIP_FPS, CLIP_KINDS, CLIP_SECONDS, ToyClip, make_clip
from slavc_lite.data.toy.world import sample_rng
from slavc_lite.data.toy.writer import publish_folder, read_manifest, same_config

TOY_VIDEO_VERSION = 3
VIDEO_MANIFEST = "toy_videos.json"
CLIPS_FILE = "clips.json"
VIDEO_SPLITS = ("val", "test")
_SPLIT_STREAM = {"val": "clip_val", "test": "clip_test"}


@dataclass
class ToyVideoSummary:
    """What :func:`write_toy_videos` did."""

    out: Path
    counts: dict[str, int]
    skipped: bool
    message: str


def clip_id(split: str, kind: str, index: int) -> str:
    """File id of clip ``index`` of ``kind`` in ``split``."""
    return f"{split}_{kind}_{index:04d}"


def split_clip(seed: int, split: str, kind: str, index: int) -> ToyClip:
    """Clip ``index`` of ``kind`` in ``split``, exactly as written to disk."""
    rng = sample_rng(seed, _SPLIT_STREAM[split], CLIP_KINDS.index(kind), index)
    return make_clip(kind, rng, clip_id(split, kind, index))


def clip_record(clip: ToyClip, file: str) -> dict:
    """The ``clips.json`` entry of a clip."""
    return {
        "id": clip.id, "file": file, "kind": clip.kind, "fps": clip.fps,
        "seconds": len(clip.waveform) / clip.sample_rate, "boxes": clip.boxes,
        "sounding_classes": clip.sounding_classes, "audio_classes": clip.audio_classes,
        "objects": [{"class": o.cls, "role": o.role, "box": o.box, "motion": o.motion} for o in clip.objects],
    }


def _config(seed: int, sizes: dict[str, int]) -> dict:
    return {"format": "slavc-lite toy videos", "version": TOY_VIDEO_VERSION, "seed": int(seed),
            "per_kind": {k: int(v) for k, v in sizes.items()}, "fps": CLIP_FPS, "seconds": CLIP_SECONDS,
            "kinds": list(CLIP_KINDS)}


def read_video_manifest(out: str | os.PathLike) -> dict | None:
    """The manifest of a complete toy video world at ``out``, else ``None``."""
    return read_manifest(out, VIDEO_MANIFEST)


def write_toy_videos(out: str | os.PathLike, n_per_kind: int = 48, seed: int = 0, overwrite: bool = False,
                     n_val_per_kind: int | None = None) -> ToyVideoSummary:
    """Write ``n_per_kind`` clips of every kind to ``OUT/test`` and ``n_val_per_kind`` (default:
    half as many, at least 1) to ``OUT/val`` (module docstring).

    Raises ``FileExistsError`` when ``out`` holds something else than a toy video world and
    ``overwrite`` is False.
    """
    from slavc_lite.video_writer import write_mp4

    n_val = max(1, n_per_kind // 2) if n_val_per_kind is None else n_val_per_kind
    if n_per_kind < 1 or n_val < 1:
        raise ValueError(f"every split needs at least 1 clip per kind, got {n_per_kind} and {n_val}")
    out = Path(out).resolve()
    sizes = {"val": n_val, "test": n_per_kind}
    config = _config(seed, sizes)
    counts = {kind: n_per_kind for kind in CLIP_KINDS}
    if out.exists():
        manifest = read_video_manifest(out)
        if manifest is not None and same_config(manifest, config):
            return ToyVideoSummary(out, counts, True, f"{out} already holds this toy video world: skipped")
        ours = manifest is not None and manifest.get("format") == config["format"]
        empty = out.is_dir() and not any(out.iterdir())
        if not (ours or empty or overwrite):
            raise FileExistsError(f"{out} already holds other files; choose another folder or pass "
                                  "overwrite=True (--overwrite) to replace it")
    tmp = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        for split in VIDEO_SPLITS:
            (tmp / split).mkdir(parents=True)
            records = []
            for kind in CLIP_KINDS:
                for i in range(sizes[split]):
                    clip = split_clip(seed, split, kind, i)
                    file = f"{clip.id}.mp4"
                    write_mp4(tmp / split / file, clip.frames, clip.fps, clip.waveform, clip.sample_rate)
                    records.append(clip_record(clip, file))
            (tmp / split / CLIPS_FILE).write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
        (tmp / VIDEO_MANIFEST).write_text(json.dumps({**config, "counts": counts}, indent=2) + "\n",
                                          encoding="utf-8")
        publish_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    total = (n_per_kind + n_val) * len(CLIP_KINDS)
    return ToyVideoSummary(out, counts, False, f"wrote {total} clips to {out}")
