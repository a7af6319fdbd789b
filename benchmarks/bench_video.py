"""Frames localized per second over a video: batched ``localize_video`` against the still-image
pipeline run frame by frame in a loop, side by side, for ResNet-18 and MobileNetV3-small.

The clip is made here (moving noise texture, 320 x 240 at 25 frames/s, a stepped tone) and read
once; both paths then start from the same decoded frames and sound. Per frame both do the same
work: the official test transform of the frame, the 3 s window centred on it and its
log-spectrogram, and the SLAVC, OGL and VSL maps with their confidences. The loop calls
``Localizer.localize`` once per frame (with the frame as a PIL image, as for a still picture);
the batched path calls ``Localizer.localize_batch`` on
``--batch-size`` frames at a time. Networks have random weights: the time does not depend on
the values.

On a CPU shared with other work the absolute figures swing widely (more so with several torch
threads); the two paths are timed alternately, the best of ``--repeats`` runs of each is
kept, and the machine's load average is printed at the start and the end.

Usage: python benchmarks/bench_video.py [--seconds 6] [--fps 4] [--batch-size 16] [--repeats 5]
Lines: ``<backbone>_batched_frames_per_s``, ``<backbone>_loop_frames_per_s``, ``<backbone>_speedup``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from fractions import Fraction
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, report  # noqa: E402

from slavc_lite.audio import log_spectrogram, normalize_log_spectrogram  # noqa: E402
from slavc_lite.localize import Localizer  # noqa: E402
from slavc_lite.video_clip import VideoClip, read_clip  # noqa: E402
from slavc_lite.video_localize import audio_window, localize_video  # noqa: E402

BACKBONES = ("resnet18", "mobilenet_v3_small")


def write_clip(path: Path, seconds: float, fps: int = 25, size: tuple[int, int] = (320, 240)) -> Path:
    """A clip of drifting noise texture with a tone whose pitch steps every second."""
    import av

    rng = np.random.default_rng(0)
    w, h = size
    texture = rng.integers(0, 256, (h, 2 * w, 3), dtype=np.uint8)
    rate = 44100
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "23"}
        audio = out.add_stream("aac", rate=rate, layout="mono")
        for i in range(int(seconds * fps)):
            shift = (4 * i) % w
            picture = np.ascontiguousarray(texture[:, shift:shift + w])
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        t = np.arange(int(seconds * rate)) / rate
        sound = (0.4 * np.sin(2 * np.pi * np.cumsum(300 + 100 * np.floor(t)) / rate)).astype(np.float32)[None]
        for start in range(0, sound.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(sound[:, start:start + 1024]),
                                               format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))
    return path


def still_loop(localizer: Localizer, clip: VideoClip, alpha: float) -> list:
    """The still-image pipeline once per frame: transform, window, spectrogram, ``localize``."""
    results = []
    for frame, t in zip(clip.frames, clip.times, strict=True):
        image = Image.fromarray(frame)  # localize applies the official test transform
        window = audio_window(clip.audio, clip.sample_rate, float(t) - clip.audio_offset)
        spec = torch.from_numpy(normalize_log_spectrogram(log_spectrogram(window, clip.sample_rate))).float()
        results.append(localizer.localize(image, spec[None], alpha=alpha))
    return results


def timed_side_by_side(first, second, repeats: int) -> tuple[float, float]:
    """Best wall-clock seconds of ``repeats`` calls of ``first()`` and of ``second()``, after one
    untimed call of each, timed alternately so that a change in the machine's load hits both
    alike; the best (not the median) because other work only ever adds time."""
    first()
    second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, store in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            fn()
            store.append(time.perf_counter() - start)
    return min(times[0]), min(times[1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--fps", type=float, default=4.0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backbones", nargs="+", default=list(BACKBONES), choices=BACKBONES)
    args = parser.parse_args(argv)

    report("machine", machine_line())
    # Other work on the machine slows both paths, and multi-threaded runs most: say how busy it was.
    report("load_average_1min_at_start", os.getloadavg()[0], 2)
    report("weights", "random (untrained): timing only, the maps mean nothing")
    with tempfile.TemporaryDirectory() as folder:
        path = write_clip(Path(folder) / "bench.mp4", args.seconds)
        clip = read_clip(path, fps=args.fps, size=448)
    report("clip", f"{args.seconds:g} s, 320 x 240, 25 frames/s, sampled at {args.fps:g} frames/s")
    report("frames", str(len(clip)))
    report("batch_size", str(args.batch_size))
    for backbone in args.backbones:
        torch.manual_seed(0)
        localizer = Localizer.from_weights(random_weights=True, backbone=backbone, device=args.device)
        batched, loop = timed_side_by_side(
            partial(localize_video, localizer, clip, alpha=0.4, batch_size=args.batch_size),
            partial(still_loop, localizer, clip, 0.4), args.repeats)
        report(f"{backbone}_batched_frames_per_s", len(clip) / batched, 2)
        report(f"{backbone}_loop_frames_per_s", len(clip) / loop, 2)
        report(f"{backbone}_speedup", loop / batched, 2)
    report("load_average_1min_at_end", os.getloadavg()[0], 2)


if __name__ == "__main__":
    main()
