"""Writing a video a browser plays: H.264 frames and AAC sound in an mp4, atomically (PyAV).

Browsers play mp4 files holding H.264 video in the ``yuv420p`` pixel format (which needs even
width and height) and AAC audio; ``movflags=faststart`` puts the index first so playback can
start before the whole file is loaded. :func:`write_mp4` writes to a temporary file beside the
target and renames it when complete, so a failure never leaves a half-written video behind.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from slavc_lite.atomic_files import atomic_path

__all__ = ["even_sides", "write_mp4"]

AUDIO_CHUNK = 1024
"""Samples per audio frame handed to the AAC encoder (its native frame size)."""


def even_sides(frames: np.ndarray) -> np.ndarray:
    """``[T, H, W, 3]`` frames without a last odd row / column: ``yuv420p`` needs even sides."""
    h, w = frames.shape[1:3]
    return frames[:, : h - h % 2, : w - w % 2]


def write_mp4(path: str | os.PathLike, frames: np.ndarray, fps: float, waveform: np.ndarray | None = None,
              sample_rate: int = 16000, qp: int = 18) -> Path:
    """Write ``frames`` (``[T, H, W, 3]`` uint8, frame ``k`` shown from ``k / fps`` s) and an
    optional mono ``waveform`` as a browser-playable mp4 at ``path``; returns the path.

    Args:
        path: the target file (its folder must exist). Replaced only once the new file is whole.
        frames: RGB frames; an odd width or height loses its last column / row.
        fps: frame rate (any positive number; stored as an exact fraction of 1/1000 s).
        waveform: mono float samples in [-1, 1], sample 0 at time 0; ``None``: no sound.
        sample_rate: the waveform's rate in Hz.
        qp: H.264 constant quantiser (lower is better; 18 is visually lossless). A constant
            quantiser rather than libx264's rate control (CRF), whose output for the same frames
            differed from run to run: the same frames give the same file.
    """
    import av

    target = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 [T, H, W, 3], got {frames.dtype} {frames.shape}")
    if len(frames) == 0:
        raise ValueError("no frame to write")
    if fps <= 0:
        raise ValueError(f"fps must be positive, not {fps}")
    frames = even_sides(frames)
    rate = Fraction(fps).limit_denominator(1000)
    with atomic_path(target) as tmp:
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "faststart"}) as out:
            video = out.add_stream("libx264", rate=rate)
            video.height, video.width = frames.shape[1:3]
            video.pix_fmt = "yuv420p"
            video.options = {"qp": str(qp), "preset": "veryfast"}
            audio = None
            if waveform is not None:
                audio = out.add_stream("aac", rate=int(sample_rate), layout="mono")
            for k, rgb in enumerate(frames):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
                frame.pts = k
                frame.time_base = 1 / rate
                out.mux(video.encode(frame))
            out.mux(video.encode(None))
            if audio is not None:
                samples = np.clip(np.asarray(waveform, dtype=np.float32).ravel(), -1.0, 1.0)
                for start in range(0, samples.size, AUDIO_CHUNK):
                    piece = np.ascontiguousarray(samples[None, start:start + AUDIO_CHUNK])
                    frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout="mono")
                    frame.sample_rate = int(sample_rate)
                    frame.pts = start
                    frame.time_base = Fraction(1, int(sample_rate))
                    out.mux(audio.encode(frame))
                out.mux(audio.encode(None))
    return target
