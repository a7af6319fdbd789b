"""Video clips -> the official SLAVC dataset layout: ``frames/<id>.jpg`` + ``audio/<id>.wav``.

The official SLAVC/EZ-VSL loaders read a folder holding, for every sample id, the clip's middle
frame as ``frames/<id>.jpg`` and its sound as ``audio/<id>.wav``; they keep the ids that have both
files. This module makes that folder from video files (mp4 and anything else FFmpeg reads, through
PyAV), decoding each clip once:

- **frame**: the decoded frame nearest the middle of the video stream's time span
  (``start + duration / 2``; the earlier frame on a tie; for a constant frame rate starting at 0
  that is frame ``n_frames // 2``), the same frame as :func:`slavc_lite.video.read_middle_frame`,
  saved as RGB JPEG, quality 95.
- **audio**: the first audio stream decoded at its native rate, mono as the plain mean of the
  channels (the official reader's ``mean(0)``; FFmpeg's own stereo-to-mono downmix is
  0.707 * (L + R), louder and clipping-prone), encoder padding past the declared end dropped,
  resampled to 16 kHz with soxr "HQ" -- the same samples as :func:`slavc_lite.audio.load_audio`
  -- then the 10 s centred on the same middle time, so the frame sits at the centre of the wav,
  where the official loader's centred crop looks. When the audio is shorter than 10 s all of it is
  kept; when the window would run past either end of the audio it is shifted inside. Saved as
  16-bit PCM wav (clipped to [-1, 1], scaled by 32767).

Completeness rule (what resuming relies on)
    A sample is *complete* iff both ``frames/<id>.jpg`` and ``audio/<id>.wav`` exist. Writers here
    keep a stronger invariant: the jpg never exists without its wav. Both files are first written
    under temporary names in ``OUT/.partial/``; then an old jpg is removed, the wav is renamed into
    place, and the jpg is renamed into place last (``os.replace``, atomic on one file system). So
    the jpg marks completion; a wav without a jpg is a sample a hard kill interrupted, and the next
    run redoes it. A clip that fails (bad input, a write error, Ctrl-C) leaves neither file behind.
    One run at a time may write to an output folder (a lock file, ``OUT/.lock``, enforces it; the
    run clears leftover temporary files of killed runs).

Failures
    A clip that cannot be prepared (empty file, not a media file, no audio or no video stream,
    corrupt or truncated data) raises :class:`~slavc_lite.errors.InputFileError` from
    :func:`prepare_clip`; :func:`prepare_videos` logs it to ``OUT/failures.csv`` (id, path, reason)
    and goes on. Unlike the official loader, nothing is replaced silently. Errors writing the output
    (disk full, permissions) stop the run.

Truncation is detected where it matters: when the file cannot be opened (an mp4 cut before its
index), or when the video or audio stops before the part the sample needs, although the container
declares more. Decoding stops once the frame and the audio window are in hand, so damage after the
window goes unnoticed (and does not affect the sample).
"""

from __future__ import annotations

import csv
import io
import logging
import multiprocessing
import os
import secrets
import shutil
import time
import wave
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
import soxr
from PIL import Image

from slavc_lite.errors import InputFileError, SlavcLiteError

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
"""Sample rate of the prepared wav files (Hz), as in the official data."""
AUDIO_SECONDS = 10.0
"""Length of the audio window kept around the middle of each clip (s)."""
JPEG_QUALITY = 95
FRAMES_DIR = "frames"
AUDIO_DIR = "audio"
PARTIAL_DIR = ".partial"
LOCK_FILE = ".lock"
FAILURES_CSV = "failures.csv"
FAILURES_HEADER = ("id", "path", "reason")

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".flv", ".mpg", ".mpeg", ".ts", ".3gp", ".ogv",
     ".wmv"}
)
"""File name extensions :func:`find_videos` treats as video clips (case-insensitive)."""

_SEEK_AFTER_S = 30.0  # seek instead of decoding from the start when the window starts later than this
_TRUNCATION_SLACK_S = 0.5


# --------------------------------------------------------------------------------------------
# Decoding one clip
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecodedClip:
    """What one clip contributes to the dataset, still in memory."""

    frame: Image.Image
    """The middle frame, RGB."""
    frame_time: float
    """Presentation time of the kept frame (s, in the file's time line)."""
    audio: np.ndarray
    """Mono float32 samples at ``sample_rate``."""
    audio_start: float
    """Source time of ``audio[0]`` (s)."""
    sample_rate: int
    clip_start: float
    """Start of the video stream's time span (s)."""
    clip_duration: float
    """Length of the video stream's time span (s); its middle is where the frame is taken."""


class _NeedFullDecode(Exception):
    """A seek landed somewhere unusable: decode again from the start."""


def _label(source: str | os.PathLike | BinaryIO, name: str | None) -> str:
    if name is not None:
        return name
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return "<in-memory clip>"


def _check_source(source: str | os.PathLike | BinaryIO, label: str) -> None:
    if isinstance(source, (str, os.PathLike)):
        if not os.path.exists(source):
            raise InputFileError(label, "file not found")
        if os.path.isdir(source):
            raise InputFileError(label, "is a directory, not a video file")
        if os.path.getsize(source) == 0:
            raise InputFileError(label, "empty file (0 bytes)")
    else:
        size = source.seek(0, io.SEEK_END)
        source.seek(0)
        if size == 0:
            raise InputFileError(label, "empty file (0 bytes)")


def _open(source: str | os.PathLike | BinaryIO, label: str) -> av.container.InputContainer:
    if not isinstance(source, (str, os.PathLike)):
        source.seek(0)
    try:
        return av.open(source if not isinstance(source, os.PathLike) else os.fspath(source), "r",
                       metadata_errors="ignore")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise InputFileError(
            label, f"FFmpeg cannot open it as a media file (corrupt, truncated, or not a video): {exc}"
        ) from None


def _pick_streams(container, label: str):
    """The first real video stream (cover art does not count) and the first audio stream, the
    streams :func:`slavc_lite.video.read_middle_frame` and :func:`slavc_lite.audio.load_audio` read."""
    attached = av.stream.Disposition.attached_pic
    videos = [s for s in container.streams.video if not (s.disposition & attached)]
    audios = list(container.streams.audio)
    if not videos and not audios:
        raise InputFileError(label, "no video stream and no audio stream")
    if not videos:
        cover = " (only cover art)" if container.streams.video else ""
        raise InputFileError(label, f"no video stream{cover}")
    if not audios:
        raise InputFileError(label, "no audio stream")
    return videos[0], audios[0]


def _video_span(container, video) -> tuple[Fraction, Fraction] | None:
    """(start, duration) of the video stream in seconds from the headers: the stream's own
    duration, else the container's (as :func:`slavc_lite.video.read_middle_frame` does)."""
    tb = video.time_base
    start = Fraction(video.start_time * tb) if video.start_time is not None and tb else Fraction(0)
    if video.duration and video.duration > 0 and tb:
        return start, Fraction(video.duration * tb)
    if container.duration and container.duration > 0:
        return start, Fraction(container.duration, av.time_base)
    return None


def _scanned_video_span(source, label: str) -> tuple[Fraction, Fraction]:
    """(start, duration) of the video stream from its packets' timestamps (no decoding).

    Used only when no header declares a duration (e.g. some streamed Matroska files)."""
    first = last = None
    with _open(source, label) as container:
        video, _ = _pick_streams(container, label)
        try:
            for packet in container.demux(video):
                if packet.pts is None:
                    continue
                begin = packet.pts * video.time_base
                end = (packet.pts + (packet.duration or 0)) * video.time_base
                first = begin if first is None else min(first, begin)
                last = end if last is None else max(last, end)
        except av.FFmpegError as exc:
            raise InputFileError(label, f"corrupt or truncated data: reading packets failed: {exc}") from None
    if first is None:
        raise InputFileError(label, "the video stream has no timestamped packets")
    return first, last - first


def _audio_stream_end(audio) -> float | None:
    """End of the audio stream (s) as its header declares it, if it does."""
    if audio.duration and audio.time_base is not None:
        start = audio.start_time if audio.start_time is not None else 0
        return float((start + audio.duration) * audio.time_base)
    return None


def _frame_interval(video) -> Fraction:
    rate = video.average_rate or video.guessed_rate
    return 1 / Fraction(rate) if rate else Fraction(1, 10)


def decode_clip(
    source: str | os.PathLike | BinaryIO,
    *,
    name: str | None = None,
    sample_rate: int = SAMPLE_RATE,
    audio_seconds: float = AUDIO_SECONDS,
    decoder_threads: int = 1,
) -> DecodedClip:
    """Decode the middle frame and the centred audio window of one clip, in one pass.

    ``source`` is a path or a seekable binary file object (e.g. ``io.BytesIO`` holding an mp4);
    ``name`` labels it in error messages. ``decoder_threads`` is FFmpeg's video decoder thread
    count (0 = FFmpeg decides; keep 1 when several processes decode side by side).
    See the module docstring for the exact frame and window rules.

    Raises :class:`InputFileError` for an empty, unreadable, corrupt or truncated file, or one
    without a video or an audio stream.
    """
    label = _label(source, name)
    _check_source(source, label)
    try:
        return _decode(source, label, sample_rate, audio_seconds, decoder_threads, allow_seek=True)
    except _NeedFullDecode:
        return _decode(source, label, sample_rate, audio_seconds, decoder_threads, allow_seek=False)


class _MiddleFrame:
    """Keeps the decoded frame nearest the middle time (earlier one on a tie)."""

    def __init__(self, middle: Fraction):
        self.middle = middle
        self.best = self.best_time = self.best_gap = self.last_time = None
        self.count = 0
        self.done = False  # a frame at or after the middle was seen

    def offer(self, frame, t: Fraction) -> None:
        self.count += 1
        self.last_time = t
        gap = abs(t - self.middle)
        if self.best is None or gap < self.best_gap:
            self.best, self.best_time, self.best_gap = frame, t, gap
        if t >= self.middle:
            self.done = True


class _AudioBuffer:
    """Decoded audio at the native rate, as planar float (PyAV's resampler converts the sample
    format only, like :func:`slavc_lite.audio.load_audio`)."""

    def __init__(self):
        self.resampler = None
        self.chunks: list[np.ndarray] = []
        self.rate: int | None = None
        self.t0: float | None = None
        self.count = 0

    def add(self, frame, fallback_t0: float) -> None:
        if self.resampler is None:
            self.resampler = av.AudioResampler(format="fltp")  # layout and rate of the first frame
            self.rate = frame.sample_rate
            self.t0 = frame.time if frame.time is not None else fallback_t0
        for out in self.resampler.resample(frame):  # a list of frames in PyAV >= 9
            self._keep(out.to_ndarray())

    def flush(self) -> None:
        if self.resampler is not None:
            for out in self.resampler.resample(None):
                self._keep(out.to_ndarray())

    def _keep(self, array: np.ndarray) -> None:
        self.chunks.append(array)
        self.count += array.shape[1]

    @property
    def end(self) -> float:
        return self.t0 + self.count / self.rate

    def mono(self) -> np.ndarray:
        """Mean over channels (float64 sum, float32 result, as ``load_audio``)."""
        return np.concatenate(self.chunks, axis=1).mean(axis=0, dtype=np.float64).astype(np.float32)


def _open_with_span(source, label):
    """Open the clip and find its video span; the file is opened once unless no header declares
    a duration (then the packets are scanned first)."""
    container = _open(source, label)
    try:
        video, audio = _pick_streams(container, label)
        span = _video_span(container, video)
    except BaseException:
        container.close()
        raise
    if span is None:
        container.close()
        span = _scanned_video_span(source, label)
        container = _open(source, label)
        try:
            video, audio = _pick_streams(container, label)
        except BaseException:
            container.close()
            raise
    return container, video, audio, span


def _decode(source, label, sample_rate, audio_seconds, decoder_threads, allow_seek) -> DecodedClip:
    container, video, audio, (start, duration) = _open_with_span(source, label)
    middle = start + duration / 2
    half = audio_seconds / 2
    want_start, want_end = float(middle) - half, float(middle) + half

    with container:
        video.codec_context.thread_count = decoder_threads
        video.codec_context.thread_type = "AUTO" if decoder_threads != 1 else "SLICE"
        seeked = False
        if allow_seek and want_start - float(start) > _SEEK_AFTER_S:
            container.seek(int((want_start - 1.0) * av.time_base), backward=True)
            seeked = True
        picked = _MiddleFrame(middle)
        sound = _AudioBuffer()
        audio_done = False
        where = float(start)
        try:
            for packet in container.demux(video, audio):
                if packet.stream.index == video.index:
                    if picked.done:
                        continue
                    for frame in packet.decode():
                        t = frame.pts * video.time_base if frame.pts is not None and video.time_base else None
                        if t is None:  # no timestamps: count frames at the nominal rate
                            t = start + picked.count * _frame_interval(video)
                        if seeked and picked.count == 0 and t > middle:
                            raise _NeedFullDecode
                        where = float(t)
                        picked.offer(frame, t)
                        if picked.done:
                            break
                elif packet.stream.index == audio.index:
                    if audio_done:
                        continue
                    for frame in packet.decode():
                        sound.add(frame, float(start))
                    if sound.rate is not None and sound.end >= want_end + 0.05:
                        audio_done = True
                if picked.done and audio_done:
                    break
            sound.flush()
        except av.FFmpegError as exc:
            problem = f"corrupt or truncated data: decoding failed near {where:.2f} s: {exc}"
            raise InputFileError(label, problem) from None
        except ValueError as exc:  # PyAV's resampler refuses a mid-stream change of audio format
            raise InputFileError(label, f"corrupt: the audio cannot be converted: {exc}") from None

        if picked.best is None:
            if seeked:
                raise _NeedFullDecode
            raise InputFileError(label, "the video stream has no decodable frames")
        if not picked.done and middle - picked.last_time > 2 * _frame_interval(video):
            raise InputFileError(
                label,
                f"truncated: the video stops at {float(picked.last_time):.2f} s although the file declares "
                f"{float(start + duration):.2f} s, so the middle frame ({float(middle):.2f} s) is missing",
            )
        image = picked.best.to_image().convert("RGB")

        if sound.count == 0:
            raise InputFileError(label, "the audio stream has no decodable samples")
        stream_end = _audio_stream_end(audio)
    # Only the audio stream's own declared length counts here: a container's duration is the
    # longest stream's, and audio may legitimately end before the video.
    if not audio_done and stream_end is not None and sound.end < min(stream_end - _TRUNCATION_SLACK_S,
                                                                       want_end - 0.05):
        raise InputFileError(
            label,
            f"truncated: the audio stops at {sound.end:.2f} s although its stream declares "
            f"{stream_end:.2f} s",
        )
    samples = sound.mono()
    if stream_end is not None:  # frame-based codecs (AAC) decode encoder padding past the declared end
        n_declared = int(round((stream_end - sound.t0) * sound.rate))
        if 0 < n_declared < len(samples):
            samples = samples[:n_declared]
    if not np.all(np.isfinite(samples)):
        raise InputFileError(label, "the audio holds NaN or infinite sample values")
    if sound.rate != sample_rate:
        samples = soxr.resample(samples, sound.rate, sample_rate, quality="HQ").astype(np.float32, copy=False)

    want_samples = int(round(audio_seconds * sample_rate))
    if len(samples) <= want_samples:
        if seeked:
            raise _NeedFullDecode
        window, first = samples, 0
    else:
        first = int(round((want_start - sound.t0) * sample_rate))
        if seeked and first < 0:
            raise _NeedFullDecode
        first = min(max(first, 0), len(samples) - want_samples)
        window = samples[first : first + want_samples]
    return DecodedClip(
        frame=image,
        frame_time=float(picked.best_time),
        audio=np.ascontiguousarray(window, dtype=np.float32),
        audio_start=sound.t0 + first / sample_rate,
        sample_rate=sample_rate,
        clip_start=float(start),
        clip_duration=float(duration),
    )


# --------------------------------------------------------------------------------------------
# The output layout
# --------------------------------------------------------------------------------------------


def sample_paths(out_dir: str | os.PathLike, clip_id: str) -> tuple[Path, Path]:
    """``(OUT/frames/<id>.jpg, OUT/audio/<id>.wav)``."""
    out_dir = Path(out_dir)
    return out_dir / FRAMES_DIR / f"{clip_id}.jpg", out_dir / AUDIO_DIR / f"{clip_id}.wav"


def completed_ids(out_dir: str | os.PathLike) -> set[str]:
    """Ids whose jpg and wav both exist in ``out_dir`` (the completeness rule above)."""
    out_dir = Path(out_dir)

    def stems(folder: Path, suffix: str) -> set[str]:
        if not folder.is_dir():
            return set()
        return {entry.name[: -len(suffix)] for entry in os.scandir(folder)
                if entry.name.endswith(suffix) and entry.is_file()}

    return stems(out_dir / FRAMES_DIR, ".jpg") & stems(out_dir / AUDIO_DIR, ".wav")


def check_clip_id(clip_id: str) -> str:
    """Refuse ids that are not plain file names (they become ``<id>.jpg`` and ``<id>.wav``)."""
    if not clip_id or clip_id in (".", "..") or any(c in clip_id for c in "/\\\0"):
        raise ValueError(f"unusable sample id {clip_id!r}: it must be a plain file name")
    return clip_id


def encode_wav(audio: np.ndarray, sample_rate: int) -> bytes:
    """16-bit PCM mono wav bytes; samples are clipped to [-1, 1] and scaled by 32767."""
    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm.tobytes())
    return buffer.getvalue()


def encode_jpeg(image: Image.Image, quality: int = JPEG_QUALITY) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _place(tmp: Path, final: Path) -> None:
    """Rename a finished temporary file into place (a separate function so tests can break it)."""
    os.replace(tmp, final)


@dataclass(frozen=True)
class PreparedClip:
    """One complete sample written to the official layout."""

    clip_id: str
    frame_path: Path
    audio_path: Path
    frame_time: float
    audio_start: float
    audio_seconds: float
    source: str


def write_sample(
    out_dir: str | os.PathLike, clip_id: str, clip: DecodedClip, source: str = ""
) -> PreparedClip:
    """Write ``clip`` as ``frames/<id>.jpg`` + ``audio/<id>.wav`` atomically (see the module
    docstring's completeness rule); on any error or interruption neither file is left behind."""
    check_clip_id(clip_id)
    out_dir = Path(out_dir)
    jpg_path, wav_path = sample_paths(out_dir, clip_id)
    partial = out_dir / PARTIAL_DIR
    for folder in (jpg_path.parent, wav_path.parent, partial):
        folder.mkdir(parents=True, exist_ok=True)
    wav_bytes = encode_wav(clip.audio, clip.sample_rate)
    jpg_bytes = encode_jpeg(clip.frame)
    token = f"{os.getpid()}-{secrets.token_hex(8)}"
    tmp_wav, tmp_jpg = partial / f"{token}.wav", partial / f"{token}.jpg"
    wav_placed = False
    try:
        tmp_wav.write_bytes(wav_bytes)
        tmp_jpg.write_bytes(jpg_bytes)
        jpg_path.unlink(missing_ok=True)  # an old sample stops counting as complete first
        _place(tmp_wav, wav_path)
        wav_placed = True
        _place(tmp_jpg, jpg_path)
    except BaseException:
        if wav_placed:
            wav_path.unlink(missing_ok=True)
        raise
    finally:
        tmp_wav.unlink(missing_ok=True)
        tmp_jpg.unlink(missing_ok=True)
    return PreparedClip(clip_id, jpg_path, wav_path, clip.frame_time, clip.audio_start,
                        len(clip.audio) / clip.sample_rate, source)


def prepare_clip(
    path: str | os.PathLike | BinaryIO,
    out_dir: str | os.PathLike,
    clip_id: str | None = None,
    *,
    name: str | None = None,
    sample_rate: int = SAMPLE_RATE,
    audio_seconds: float = AUDIO_SECONDS,
    decoder_threads: int = 1,
) -> PreparedClip:
    """Turn one clip into ``OUT/frames/<id>.jpg`` and ``OUT/audio/<id>.wav`` (overwriting them).

    ``clip_id`` defaults to the file name without its extension; a file object needs one.
    Raises :class:`InputFileError` when the clip cannot be prepared (nothing is written then).
    """
    if clip_id is None:
        if not isinstance(path, (str, os.PathLike)):
            raise ValueError("prepare_clip needs a clip_id when given a file object")
        clip_id = Path(path).stem
    check_clip_id(clip_id)
    label = _label(path, name)
    clip = decode_clip(path, name=label, sample_rate=sample_rate, audio_seconds=audio_seconds,
                       decoder_threads=decoder_threads)
    return write_sample(out_dir, clip_id, clip, source=label)


# --------------------------------------------------------------------------------------------
# Runs over many clips: lock, failure log, workers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipFailure:
    """A clip that could not be prepared: one row of ``failures.csv``."""

    clip_id: str
    path: str
    reason: str


class FailureLog:
    """``OUT/failures.csv`` (columns id, path, reason), rewritten by every run and flushed row by
    row, so it lists the failures of the latest run even if that run is interrupted. Earlier
    failures reappear because a failed clip has no sample and is retried."""

    def __init__(self, out_dir: str | os.PathLike):
        self.path = Path(out_dir) / FAILURES_CSV
        self.failures: list[ClipFailure] = []
        self._file = open(self.path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._file)
        self._writer.writerow(FAILURES_HEADER)
        self._file.flush()

    def add(self, failure: ClipFailure) -> None:
        self.failures.append(failure)
        self._writer.writerow((failure.clip_id, failure.path, failure.reason))
        self._file.flush()
        logger.info("failed: %s (%s): %s", failure.clip_id, failure.path, failure.reason)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> FailureLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_failures(out_dir: str | os.PathLike) -> list[ClipFailure]:
    """The rows of ``OUT/failures.csv``."""
    with open(Path(out_dir) / FAILURES_CSV, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows or tuple(rows[0]) != FAILURES_HEADER:
        raise InputFileError(Path(out_dir) / FAILURES_CSV, f"expected the header {','.join(FAILURES_HEADER)}")
    return [ClipFailure(*row) for row in rows[1:]]


@contextmanager
def exclusive_output(out_dir: str | os.PathLike) -> Iterator[Path]:
    """Hold ``OUT/.lock`` for the duration of a run and clear ``OUT/.partial/`` (temporary files
    of killed runs). A second run on the same folder fails at once instead of racing."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    handle = open(out_dir / LOCK_FILE, "a+b")  # noqa: SIM115
    try:
        try:
            _lock(handle)
        except OSError:
            raise SlavcLiteError(
                f"{out_dir}: another slavc-lite run is writing to this folder ({LOCK_FILE} is locked); "
                "wait for it or use another --out"
            ) from None
        shutil.rmtree(out_dir / PARTIAL_DIR, ignore_errors=True)
        yield out_dir
        with suppress(OSError):  # tidy up: the folder of temporary files, if it is empty
            (out_dir / PARTIAL_DIR).rmdir()
    finally:
        handle.close()  # closing releases the lock


def _lock(handle) -> None:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def prepare_task(source: str | BinaryIO | bytes, out_dir: str, clip_id: str, name: str,
                 decoder_threads: int) -> PreparedClip | ClipFailure:
    """Worker entry point: prepare one clip, turning input problems into a :class:`ClipFailure`
    (exceptions with extra constructor arguments do not cross process boundaries intact)."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        return prepare_clip(source, out_dir, clip_id, name=name, decoder_threads=decoder_threads)
    except InputFileError as exc:
        return ClipFailure(clip_id, name, exc.problem)


class InlineExecutor:
    """``submit`` runs the call at once in this process; same Future interface as a pool."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # delivered by future.result(), like a process pool does
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass


def make_executor(workers: int):
    """An :class:`InlineExecutor` for ``workers <= 1``, else a pool of ``workers`` processes with
    the platform's default start method (fork on Linux up to Python 3.13; spawn on macOS and
    Windows, where a script must guard its entry point with ``if __name__ == "__main__":``)."""
    if workers <= 1:
        return InlineExecutor()
    pool = ProcessPoolExecutor(max_workers=workers)
    # Start the workers now, before the caller opens files or connections they would inherit.
    for future in [pool.submit(_started) for _ in range(workers)]:
        future.result()
    return pool


def _started() -> bool:
    return True


def worker_crash_error(out_dir: Path, exc: BaseException) -> SlavcLiteError:
    hint = ""
    if multiprocessing.get_start_method() != "fork":
        hint = (" If this happened at once, the calling script may lack an "
                "'if __name__ == \"__main__\":' guard, which worker processes started with "
                f"{multiprocessing.get_start_method()!r} need.")
    return SlavcLiteError(
        f"a worker process died ({exc}): FFmpeg crashed on a clip or the machine ran out of memory. "
        f"Complete samples in {out_dir} are kept; run again to resume (with workers=1 the crash "
        f"names the clip).{hint}"
    )


def default_workers() -> int:
    """Worker processes used when none are asked for: the CPU count, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def find_videos(
    videos_dir: str | os.PathLike,
    *,
    extensions: Iterable[str] | None = VIDEO_EXTENSIONS,
    recursive: bool = False,
) -> dict[str, Path]:
    """``{id: path}`` for the video files in ``videos_dir`` (id = file name without extension).

    ``extensions=None`` takes every regular file. Hidden files are ignored. Two files with the
    same id (``a.mp4`` and ``a.mkv``) are an error: the layout has one sample per id.
    """
    videos_dir = Path(videos_dir)
    if not videos_dir.is_dir():
        raise InputFileError(videos_dir, "not a folder (expected a folder of video clips)")
    wanted = None if extensions is None else {e.lower() if e.startswith(".") else f".{e.lower()}"
                                              for e in extensions}
    candidates = videos_dir.rglob("*") if recursive else videos_dir.iterdir()
    found: dict[str, Path] = {}
    for path in sorted(candidates):
        if path.name.startswith(".") or not path.is_file():
            continue
        if wanted is not None and path.suffix.lower() not in wanted:
            continue
        if path.stem in found:
            raise SlavcLiteError(
                f"two files give the sample id {path.stem!r}: {found[path.stem]} and {path}; rename one"
            )
        found[path.stem] = path
    return found


@dataclass
class PrepareReport:
    """What :func:`prepare_videos` did."""

    out_dir: Path
    found: int = 0
    prepared: int = 0
    skipped: int = 0
    """Already complete in ``out_dir`` before the run (resume)."""
    failed: int = 0
    failures: list[ClipFailure] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def failures_csv(self) -> Path:
        return self.out_dir / FAILURES_CSV

    def summary(self) -> str:
        rate = self.prepared / self.elapsed_s if self.elapsed_s > 0 else 0.0
        text = (f"{self.found} clips: {self.prepared} prepared, {self.skipped} skipped (already done), "
                f"{self.failed} failed, in {self.elapsed_s:.1f} s ({rate:.2f} clips/s) -> {self.out_dir}")
        if self.failed:
            text += f"\nfailures are listed in {self.failures_csv}"
        return text


def prepare_videos(
    videos_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    workers: int = 2,
    overwrite: bool = False,
    progress: bool = True,
    extensions: Iterable[str] | None = VIDEO_EXTENSIONS,
    recursive: bool = False,
) -> PrepareReport:
    """Prepare every clip of ``videos_dir`` into ``out_dir`` (official layout), in parallel.

    Resumes: ids already complete in ``out_dir`` are skipped unless ``overwrite``. Clips that fail
    are logged to ``OUT/failures.csv`` and counted; the run goes on. ``workers`` > 1 uses that many
    processes (each decoding single-threaded); ``workers=1`` runs here with FFmpeg's own threads.
    On Ctrl-C the complete samples stay, nothing half-written is left, and KeyboardInterrupt
    propagates after the counts are logged.
    """
    started = time.perf_counter()
    videos = find_videos(videos_dir, extensions=extensions, recursive=recursive)
    out_dir = Path(out_dir)
    report = PrepareReport(out_dir=out_dir, found=len(videos))
    with exclusive_output(out_dir), FailureLog(out_dir) as log:
        done = set() if overwrite else completed_ids(out_dir)
        todo = [(clip_id, path) for clip_id, path in videos.items() if clip_id not in done]
        report.skipped = len(videos) - len(todo)
        threads = 0 if workers <= 1 else 1
        from slavc_lite.progress import tqdm

        executor = None
        bar = tqdm(total=len(todo), unit="clip", desc="prepare", disable=not progress)
        try:
            executor = make_executor(workers) if todo else InlineExecutor()
            futures = [executor.submit(prepare_task, str(path), str(out_dir), clip_id, str(path), threads)
                       for clip_id, path in todo]
            for future in as_completed(futures):
                result = future.result()
                if isinstance(result, ClipFailure):
                    log.add(result)
                    report.failed += 1
                else:
                    report.prepared += 1
                bar.update(1)
                bar.set_postfix(failed=report.failed, refresh=False)
        except BrokenProcessPool as exc:
            raise worker_crash_error(out_dir, exc) from exc
        except KeyboardInterrupt:
            logger.warning("interrupted: %d prepared, %d failed so far; run again to resume",
                           report.prepared, report.failed)
            raise
        finally:
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
            bar.close()
            report.failures = list(log.failures)
            report.elapsed_s = time.perf_counter() - started
    return report
