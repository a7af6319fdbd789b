"""Tiny synthetic video clips for the video-preparation and streaming tests.

Every clip is written with PyAV and encodes *where it is in time* in its content, so a test can
read back which frame and which stretch of audio a preparation step kept:

- frame ``i`` is a solid colour that encodes ``i`` (:func:`frame_colour` / :func:`frame_index_of`),
  robust to codec and JPEG error (steps of 20 levels per channel);
- the audio is a phase-continuous tone whose frequency steps every second:
  ``tone_hz(t) = 300 + 100 * floor(t)`` (:func:`tone_hz`), so the dominant frequency of a short
  window of the prepared wav says which second of the source clip it came from.

Also: broken inputs (truncated, empty, text renamed .mp4) and helpers to build a tar.gz shard.
"""

from __future__ import annotations

import io
import os
import tarfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

STEP = 20  # colour step per index digit (base 12 digits in R and G)
BASE = 12


def frame_colour(index: int) -> tuple[int, int, int]:
    """RGB colour of frame ``index``: its three base-12 digits, one per channel (index < 1728)."""
    if not 0 <= index < BASE**3:
        raise ValueError(f"frame index {index} out of the encodable range 0..{BASE**3 - 1}")
    return tuple(16 + STEP * (index // BASE**k % BASE) for k in range(3))


def frame_index_of(rgb) -> int:
    """Inverse of :func:`frame_colour` for a (possibly slightly distorted) colour."""
    return sum(int(round((float(rgb[k]) - 16) / STEP)) * BASE**k for k in range(3))


def tone_hz(t: np.ndarray | float) -> np.ndarray:
    """Frequency of the test tone at source time ``t`` (seconds): 300 Hz + 100 Hz per second."""
    return 300.0 + 100.0 * np.floor(t)


def tone(seconds: float, sample_rate: int) -> np.ndarray:
    """The stepped test tone, float32, amplitude 0.5, phase-continuous."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    phase = 2 * np.pi * np.cumsum(tone_hz(t)) / sample_rate
    return (0.5 * np.sin(phase)).astype(np.float32)


def dominant_hz(signal: np.ndarray, sample_rate: int) -> float:
    """Frequency of the largest FFT peak of ``signal`` (Hann window)."""
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.argmax(spectrum) * sample_rate / len(signal))


@dataclass(frozen=True)
class ClipSpec:
    path: Path
    seconds: float
    fps: int
    n_frames: int
    has_video: bool
    has_audio: bool


_AUDIO_FORMAT = {"aac": "fltp", "mp3": "fltp", "libmp3lame": "fltp", "pcm_s16le": "s16"}


def write_clip(
    path: str | os.PathLike,
    *,
    seconds: float = 4.0,
    fps: int = 10,
    size: tuple[int, int] = (64, 48),
    video_codec: str | None = "h264",
    audio_codec: str | None = "aac",
    sample_rate: int = 44100,
    right_gain: float = 1.0,
    faststart: bool = False,
) -> ClipSpec:
    """Write a clip with the frame-index colours and the stepped tone (stereo, R = gain * L).

    ``video_codec=None`` or ``audio_codec=None`` leaves that stream out. The container follows the
    file extension (.mp4, .mkv, .mov, ...).
    """
    path = Path(path)
    n_frames = int(round(seconds * fps))
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        vstream = astream = None
        if video_codec is not None:
            vstream = out.add_stream(video_codec, rate=fps)
            vstream.width, vstream.height = size
            vstream.pix_fmt = "yuv420p"
            if video_codec in ("h264", "libx264"):
                vstream.options = {"preset": "ultrafast", "crf": "18"}
        if audio_codec is not None:
            astream = out.add_stream(audio_codec, rate=sample_rate, layout="stereo")
        if vstream is not None:
            w, h = size
            for i in range(n_frames):
                rgb = np.empty((h, w, 3), np.uint8)
                rgb[...] = frame_colour(i)
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts = i
                frame.time_base = Fraction(1, fps)
                out.mux(vstream.encode(frame))
            out.mux(vstream.encode(None))
        if astream is not None:
            left = tone(seconds, sample_rate)
            stereo = np.stack([left, right_gain * left]).astype(np.float32)
            fmt = _AUDIO_FORMAT[audio_codec]
            chunk = 1024
            for start in range(0, stereo.shape[1], chunk):
                piece = stereo[:, start : start + chunk]
                if fmt == "s16":
                    array = np.ascontiguousarray(
                        (np.clip(piece, -1, 1) * 32767).astype(np.int16).T.reshape(1, -1)
                    )
                else:
                    array = np.ascontiguousarray(piece)
                frame = av.AudioFrame.from_ndarray(array, format=fmt, layout="stereo")
                frame.sample_rate = sample_rate
                frame.pts = start
                frame.time_base = Fraction(1, sample_rate)
                out.mux(astream.encode(frame))
            out.mux(astream.encode(None))
    return ClipSpec(path, seconds, fps, n_frames if vstream is not None else 0,
                    vstream is not None, astream is not None)


def write_truncated(source: str | os.PathLike, path: str | os.PathLike, fraction: float = 0.5) -> Path:
    """Copy the first ``fraction`` of ``source``'s bytes to ``path`` (a download cut short)."""
    data = Path(source).read_bytes()
    Path(path).write_bytes(data[: int(len(data) * fraction)])
    return Path(path)


def write_empty(path: str | os.PathLike) -> Path:
    Path(path).write_bytes(b"")
    return Path(path)


def write_text_as_video(path: str | os.PathLike) -> Path:
    Path(path).write_text("This is not a video, just text renamed to .mp4.\n" * 20)
    return Path(path)


def build_shard(
    members: list[tuple[str, bytes]],
    *,
    padding_bytes: int = 0,
    padding_name: str = "zz_padding/padding.bin",
    compresslevel: int = 1,
) -> bytes:
    """A tar.gz (in memory) holding ``members`` (name, data), then an optional incompressible
    padding member: a client that stops early must never need to read it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=compresslevel) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if padding_bytes:
            rng = np.random.default_rng(0)
            data = rng.integers(0, 256, padding_bytes, dtype=np.uint8).tobytes()
            info = tarfile.TarInfo(padding_name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
