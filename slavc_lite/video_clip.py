"""Read a video clip for localization over time: frames sampled by timestamp, and its sound.

The official SLAVC code works on one frame per clip (the middle one, :mod:`slavc_lite.video`)
and the audio around it. To follow a sound source over time we take many frames:

* frames are sampled at ``fps`` frames per second by *presentation timestamp*: for each target
  time ``k / fps`` (``k = 0, 1, ...``, time 0 being the first frame) we keep the decoded frame
  that is on screen at that time, i.e. the last frame whose timestamp is ``<=`` the target.
  Variable-frame-rate files (phones, screen recordings) are handled the same way: nothing
  assumes a constant frame interval. ``fps=None`` keeps every decoded frame at its own time;
* the sound is the first audio stream, read by :func:`slavc_lite.audio.load_audio` (mono
  channel mean, 16 kHz: the official reader's input), with the time of its first sample on the
  frames' clock, so that :mod:`slavc_lite.video_localize` can cut the official 3 s test window
  around each frame.

Frames are kept as uint8 arrays, optionally resized while decoding (``size``), so a long clip
stays small in memory. Bad files raise :class:`~slavc_lite.errors.InputFileError` naming the
file: not a media file, empty, no video stream (cover art does not count), no audio stream,
fewer than two decodable frames, no decodable audio. A truncated file is read as far as it
decodes; when its frames or its audio stop well before the declared duration a
:class:`TruncatedClipWarning` says so.
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from slavc_lite._input_files import describe_streams, falls_short
from slavc_lite.audio import SAMPLE_RATE, load_audio
from slavc_lite.errors import InputFileError
from slavc_lite.video import _open, _video_streams

__all__ = ["TruncatedClipWarning", "VideoClip", "read_clip", "read_clip_samplings", "display_size"]


class TruncatedClipWarning(UserWarning):
    """The clip's frames or audio stop well before its declared duration (file cut short?)."""


@dataclass
class VideoClip:
    """Frames sampled from a video file, their times, and the file's sound.

    Attributes:
        path: the source file.
        frames: ``[N, H, W, 3]`` uint8 RGB frames (resized if ``size`` was given).
        times: ``[N]`` float64 sample times in seconds (``k / fps``; with ``fps=None`` each
            frame's own presentation time), on the clock whose 0 is the first frame.
        source_times: ``[N]`` presentation time of the decoded frame kept for each sample
            (equal to ``times`` with ``fps=None``).
        fps: the sampling rate asked for (``None``: every decoded frame).
        native_fps: the video stream's average frame rate.
        duration: seconds of video: the end of the last decoded frame.
        original_size: ``(width, height)`` of the decoded frames before any resize.
        audio: mono float32 waveform at ``sample_rate`` (16 kHz by default).
        sample_rate: its rate in Hz.
        audio_offset: time of the first audio sample on the frames' clock, in seconds (0 for
            files whose streams start together).
        decoded_frames: how many frames were decoded in all.
    """

    path: Path
    frames: np.ndarray
    times: np.ndarray
    source_times: np.ndarray
    fps: float | None
    native_fps: float
    duration: float
    original_size: tuple[int, int]
    audio: np.ndarray
    sample_rate: int
    audio_offset: float
    decoded_frames: int

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    @property
    def audio_seconds(self) -> float:
        """Length of the decoded audio in seconds."""
        return self.audio.shape[0] / self.sample_rate


def display_size(width: int, height: int, size: int | tuple[int, int] | None) -> tuple[int, int]:
    """The frame size that ``size`` asks for: ``None`` keeps ``(width, height)``; an int bounds the
    longer side (aspect kept, never enlarged); ``(w, h)`` is taken as it is."""
    if size is None:
        return width, height
    if isinstance(size, tuple):
        w, h = (int(v) for v in size)
        if w <= 0 or h <= 0:
            raise ValueError(f"size must be positive, got {size}")
        return w, h
    if int(size) <= 0:
        raise ValueError(f"size must be positive, got {size}")
    scale = min(1.0, int(size) / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _native_rate(stream, times: list[Fraction]) -> float:
    rate = stream.average_rate or stream.guessed_rate
    if rate:
        return float(rate)
    if len(times) >= 2 and times[-1] > times[0]:
        return float((len(times) - 1) / (times[-1] - times[0]))
    return 0.0


class _Sampler:
    """Keeps, for each target time, the last frame whose timestamp is at or before it.

    ``push(frame, t)`` is called in presentation order; a frame becomes "the frame on screen"
    at ``t`` and stays so until the next one. ``finish(end)`` emits the targets left before
    ``end``. Each kept frame is converted to RGB (at ``size``, :func:`display_size`) once, however
    many targets it covers.
    """

    def __init__(self, fps: float | None, size: int | tuple[int, int] | None):
        self.fps = None if fps is None else float(fps)
        self.step = None if fps is None else 1 / Fraction(fps).limit_denominator(10**6)
        self.size = size
        self.out_size: tuple[int, int] | None = None  # fixed by the first frame, as every frame is stacked
        self.k = 0
        self.current = None  # (frame, time, array or None)
        self.frames: list[np.ndarray] = []
        self.times: list[float] = []
        self.source_times: list[float] = []

    def to_array(self, frame) -> np.ndarray:
        """``frame`` as uint8 RGB, resized (bicubic) to the size asked for."""
        if self.out_size is None:
            self.out_size = display_size(frame.width, frame.height, self.size)
        w, h = self.out_size
        if (w, h) == (frame.width, frame.height):
            return frame.to_ndarray(format="rgb24")
        return frame.to_ndarray(format="rgb24", width=w, height=h, interpolation="BICUBIC")

    def _emit(self, target: Fraction) -> None:
        frame, t, array = self.current
        if array is None:
            array = self.to_array(frame)
            self.current = (frame, t, array)
        self.frames.append(array)
        self.times.append(float(target))
        self.source_times.append(float(t))

    def push(self, frame, t: Fraction) -> None:
        if self.step is None:
            self.current = (frame, t, None)
            self._emit(t)
            return
        while self.current is not None and self.k * self.step < t:
            self._emit(self.k * self.step)
            self.k += 1
        self.current = (frame, t, None)

    def finish(self, end: Fraction) -> None:
        if self.step is None or self.current is None:
            return
        while self.k * self.step < end:
            self._emit(self.k * self.step)
            self.k += 1


def read_clip(path: str | os.PathLike, fps: float | None = None,
              size: int | tuple[int, int] | None = None,
              sample_rate: int = SAMPLE_RATE) -> VideoClip:
    """Read ``path``'s frames, sampled at ``fps`` by presentation time, and its mono sound.

    Args:
        path: any file FFmpeg reads with a video and an audio stream (mp4, mov, mkv, webm, ...).
        fps: frames per second to sample (targets ``0, 1/fps, 2/fps, ...`` before the end of
            the last frame, each given the frame on screen at that time); ``None``: every frame.
        size: resize while decoding: an int bounds the longer side (aspect kept, never
            enlarged), ``(width, height)`` is exact, ``None`` keeps the native size.
        sample_rate: rate of the returned audio (16 kHz, the model's).

    Returns:
        A :class:`VideoClip`.

    Raises:
        InputFileError: the file is missing, empty or not a media file, has no video stream
            (cover art does not count) or no audio stream, fewer than two frames decode, or no
            audio decodes.

    Warns:
        TruncatedClipWarning: frames or audio stop well before the declared duration.
    """
    return read_clip_samplings(path, [(fps, size)], sample_rate=sample_rate)[0]


def read_clip_samplings(path: str | os.PathLike,
                        samplings: Sequence[tuple[float | None, int | tuple[int, int] | None]],
                        sample_rate: int = SAMPLE_RATE) -> list[VideoClip]:
    """Read ``path`` once and sample its frames several ways: one :class:`VideoClip` per
    ``(fps, size)`` of ``samplings``, each equal to ``read_clip(path, fps, size)``.

    The video and the sound are decoded once (the clips share one audio array). For example the
    synchrony map wants every frame at 224 x 224 while the still maps want a few frames per second:
    ``read_clip_samplings(path, [(2.0, 448), (None, (224, 224))])``.

    Raises and warns as :func:`read_clip`.
    """
    if not samplings:
        raise ValueError("samplings is empty: give at least one (fps, size) pair")
    for fps, size in samplings:
        if fps is not None and not (isinstance(fps, numbers.Real) and math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number or None, got {fps!r}")
        display_size(1, 1, size)  # a bad size fails before the file is opened
    p, container = _open(path)
    import av

    with container:
        streams = _video_streams(container)
        if not streams:
            raise InputFileError(p, f"has no video stream (it holds {describe_streams(container)})")
        if not container.streams.audio:
            raise InputFileError(p, f"has no audio stream (it holds {describe_streams(container)}); "
                                    "localizing a sound needs the clip's sound track")
        stream = streams[0]
        audio_stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        original_size: tuple[int, int] | None = None
        samplers = [_Sampler(fps, size) for fps, size in samplings]
        times: list[Fraction] = []
        origin = None
        last_frame = None
        decode_error = None
        try:
            for frame in container.decode(stream):
                if original_size is None:
                    original_size = (frame.width, frame.height)
                if frame.pts is not None:
                    absolute = Fraction(frame.pts * (frame.time_base or stream.time_base))
                    origin = absolute if origin is None else origin
                    t = absolute - origin
                else:  # no timestamp: one nominal frame interval after the previous frame
                    origin = Fraction(0) if origin is None else origin
                    t = times[-1] + 1 / Fraction(stream.average_rate or 25) if times else Fraction(0)
                if times and t <= times[-1]:  # a repeated or backwards timestamp: not a new frame
                    continue
                times.append(t)
                last_frame = frame
                for sampler in samplers:
                    sampler.push(frame, t)
        except av.FFmpegError as exc:
            decode_error = exc
        if len(times) < 2:
            if decode_error is not None and not times:
                raise InputFileError(p, f"no video frame could be decoded ({decode_error})") from decode_error
            found = "no video frame decodes" if not times else "only one video frame decodes (a still image?)"
            raise InputFileError(p, f"{found}; a video needs at least 2 frames")
        native = _native_rate(stream, times)
        interval = (Fraction(last_frame.duration) * (last_frame.time_base or stream.time_base)
                    if last_frame.duration else (1 / Fraction(native) if native else times[-1] - times[-2]))
        end = times[-1] + interval
        for sampler in samplers:
            sampler.finish(end)

        declared = None
        if stream.duration is not None and stream.time_base:
            declared = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            declared = container.duration / 1e6
        video_start = origin
        audio_start = Fraction(0)
        if audio_stream.start_time is not None and audio_stream.time_base:
            audio_start = Fraction(audio_stream.start_time * audio_stream.time_base)
        audio_declared = None
        if audio_stream.duration is not None and audio_stream.time_base:
            audio_declared = float(audio_stream.duration * audio_stream.time_base)

    if decode_error is not None or falls_short(float(end), declared):
        why = f" (decoding stopped: {decode_error})" if decode_error is not None else ""
        warnings.warn(f"{p}: video frames stop at {float(end):.2f} s"
                      + (f" but the stream declares {declared:.2f} s" if declared else "")
                      + f"{why}; file truncated? Using the {len(times)} frames that decode.",
                      TruncatedClipWarning, stacklevel=2)
    audio, rate = load_audio(p, sample_rate, allow_truncated=True)
    audio_seconds = audio.shape[0] / rate
    if falls_short(audio_seconds, audio_declared):
        warnings.warn(f"{p}: audio stops at {audio_seconds:.2f} s but the stream declares "
                      f"{audio_declared:.2f} s; file truncated? Using the audio that decodes.",
                      TruncatedClipWarning, stacklevel=2)
    return [VideoClip(
        path=p,
        frames=np.stack(sampler.frames),
        times=np.asarray(sampler.times, dtype=np.float64),
        source_times=np.asarray(sampler.source_times, dtype=np.float64),
        fps=sampler.fps,
        native_fps=native,
        duration=float(end),
        original_size=original_size,
        audio=audio,
        sample_rate=rate,
        audio_offset=float(audio_start - video_start),
        decoded_frames=len(times),
    ) for sampler in samplers]
