"""Training samples/s of the per-sample decode path vs the memory-mapped cache, on the same data.

Generates ``--n`` synthetic VGGSound-like pairs in a temporary folder (360x640 JPEG frames of
noise over gradients, 10 s 16 kHz 16-bit wavs), then times:

* ``decode_samples_per_s``: :class:`~slavc_lite.data.datasets.AudioVisualDataset` in train mode,
  single process (JPEG decode, official Resize/RandomCrop/Flip/Normalize, centred 3 s window,
  log-spectrogram), batches stacked with ``collate``;
* ``cache_build_s``: :func:`~slavc_lite.data.cache.build_cache` (decode once, written to
  memory-mapped arrays), timed separately;
* ``cache_samples_per_s``: :class:`~slavc_lite.data.cache.CachedAudioVisualDataset` batches
  (sorted memmap slices + batched crop/flip/normalise), single process.

The two loaders are timed in alternating rounds (``--rounds``) and each keeps its best round.

Both timed paths run in one process with ``--threads`` torch threads (default 1, what each
DataLoader worker gets; on a shared machine more threads make small ops slower, not faster).

Usage: python benchmarks/bench_loader.py [--n 200] [--batch 32] [--epochs 3] [--workers auto]
Last line: ``loader_speedup: X`` (cache samples/s over decode samples/s).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, report  # noqa: E402

from slavc_lite.data.cache import CachedAudioVisualDataset  # noqa: E402
from slavc_lite.data.datasets import AudioVisualDataset, collate, train_ids  # noqa: E402


def make_data(root: Path, n: int, seed: int = 0) -> None:
    """``n`` frame + audio pairs like VGGSound clips: 360x640 JPEG (q 90), 10 s 16 kHz PCM-16 wav."""
    rng = np.random.default_rng(seed)
    (root / "frames").mkdir(parents=True)
    (root / "audio").mkdir()
    y, x = np.mgrid[0:360, 0:640]
    for i in range(n):
        base = np.stack([x * 255 / 640, y * 255 / 360, (x + y) * 255 / 1000], -1) * rng.uniform(0.3, 1, 3)
        frame = np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(frame).save(root / "frames" / f"clip{i:05d}.jpg", quality=90)
        t = np.arange(160000) / 16000
        wave = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 2000) * t) + 0.05 * rng.standard_normal(t.size)
        sf.write(root / "audio" / f"clip{i:05d}.wav", wave.astype(np.float32), 16000, subtype="PCM_16")


def time_decode(dataset: AudioVisualDataset, batch: int, limit: int) -> float:
    n = min(len(dataset), limit)
    start = time.perf_counter()
    for b in range(0, n, batch):
        collate([dataset[i] for i in range(b, min(b + batch, n))])
    return n / (time.perf_counter() - start)


def time_cache(cached: CachedAudioVisualDataset, batch: int, epochs: int) -> float:
    loader = cached.loader(batch, shuffle=True, seed=0)
    count = 0
    start = time.perf_counter()
    for _ in range(epochs):
        for item in loader:
            count += len(item["id"])
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="synthetic pairs")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3, help="epochs over the cache per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timing rounds (best kept)")
    parser.add_argument("--decode-limit", type=int, default=200, help="samples timed on the decode path")
    parser.add_argument("--workers", type=int, default=None, help="cache build processes (default auto)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for both timed paths (1: what a DataLoader worker gets)")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    report("machine", machine_line())
    with tempfile.TemporaryDirectory(prefix="bench_loader_") as tmp:
        root = Path(tmp) / "data"
        start = time.perf_counter()
        make_data(root, args.n)
        report("data_generation_s", time.perf_counter() - start)
        dataset = AudioVisualDataset(root, train_ids(root), mode="train")
        collate([dataset[0]])  # warm-up (imports, first-call costs)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cached = CachedAudioVisualDataset.from_dataset(dataset, Path(tmp) / "cache", progress=False,
                                                           workers=args.workers)
        build = time.perf_counter() - start
        report("cache_build_s", build)
        report("cache_build_samples_per_s", len(dataset) / build, 1)
        report("cache_disk_mb", sum(f.stat().st_size for f in cached.cache.path.iterdir()) / 2**20, 1)
        next(iter(cached.loader(args.batch)))  # warm-up
        # Alternate the two paths and keep each one's best round: on a shared machine the load
        # changes from second to second, and the best round is the least disturbed one.
        decode = fast = 0.0
        for _ in range(args.rounds):
            decode = max(decode, time_decode(dataset, args.batch, args.decode_limit))
            fast = max(fast, time_cache(cached, args.batch, args.epochs))
        report("decode_samples_per_s", decode, 1)
        report("cache_samples_per_s", fast, 1)
        report("loader_speedup", fast / decode, 1)


if __name__ == "__main__":
    main()
