"""Video front end (PyAV): which streams a file holds, and its middle frame.

The official datasets ship one frame per clip (``frames/<id>.jpg``, the frame at the middle
of the 10 s VGGSound clip) next to its audio (``audio/<id>.wav``). :func:`read_middle_frame`
extracts that frame from a video file, so mp4 clips can be turned into the official layout.
"""

from __future__ import annotations

import os
from fractions import Fraction

from PIL import Image

from slavc_lite._input_files import check_input_file, describe_streams
from slavc_lite.errors import InputFileError

__all__ = ["has_audio_stream", "has_video_stream", "read_middle_frame"]

def _open(path):
    """Open with PyAV, turning every failure into an InputFileError naming the file."""
    p = check_input_file(path)
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av is a declared dependency of the video extra
        raise InputFileError(p, "reading video needs PyAV: pip install av") from exc
    try:
        return p, av.open(str(p))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise InputFileError(p, f"not a readable audio/video file (PyAV: {exc})") from exc


def _video_streams(container) -> list:
    """Real video streams: cover art (``attached_pic`` disposition) does not count."""
    import av

    attached = av.stream.Disposition.attached_pic
    return [s for s in container.streams.video if not (s.disposition & attached)]


def has_audio_stream(path: str | os.PathLike) -> bool:
    """Whether the file holds at least one audio stream (InputFileError if it cannot be opened)."""
    _, container = _open(path)
    with container:
        return len(container.streams.audio) > 0


def has_video_stream(path: str | os.PathLike) -> bool:
    """Whether the file holds a video stream, cover art excluded (InputFileError if unreadable).

    A still image (JPEG, PNG) opened by FFmpeg counts as a one-frame video.
    """
    _, container = _open(path)
    with container:
        return len(_video_streams(container)) > 0


def read_middle_frame(path: str | os.PathLike) -> Image.Image:
    """Decode the frame nearest the middle of the first video stream, as an RGB PIL image.

    The middle is ``start + duration / 2`` of the video stream (for containers that store no
    per-stream duration, such as mkv and webm, the span of the stream's packet timestamps;
    never the container's duration, which may be the audio's). We seek to the key frame before
    it and decode forward, keeping the frame whose presentation time is closest to the middle.
    Without timestamps, every frame is decoded once to count them and the middle one is taken
    on a second pass.

    Raises:
        InputFileError: missing, empty, unreadable or corrupt file, no video stream, no
            decodable frame, or a stream that stops well before its declared end.
    """
    p, container = _open(path)
    import av

    with container:
        streams = _video_streams(container)
        if not streams:
            raise InputFileError(p, f"has no video stream (it holds {describe_streams(container)})")
        stream = streams[0]
        try:
            frame = _middle_frame(container, stream)
        except av.FFmpegError as exc:
            raise InputFileError(p, f"video stream cannot be decoded, file corrupt or truncated ({exc})") \
                from exc
        if isinstance(frame, str):
            raise InputFileError(p, frame)
        return frame.to_image().convert("RGB")


def _stream_span(container, stream) -> tuple[Fraction, Fraction | None]:
    """(start, duration) of the video stream in seconds; duration None when unknown.

    The stream's own header values when present (mp4, mov). Otherwise (mkv, webm store no
    per-stream duration) the span of its packets' timestamps, read by demuxing without
    decoding: the container's duration would be the longest stream's, often the audio's.
    """
    tb = stream.time_base
    start = Fraction(stream.start_time * tb) if stream.start_time is not None and tb else Fraction(0)
    if stream.duration is not None and tb:
        return start, Fraction(stream.duration * tb)
    first = end = None
    for packet in container.demux(stream):
        if packet.pts is None or packet.time_base is None:
            continue
        t0 = Fraction(packet.pts * packet.time_base)
        t1 = t0 + Fraction((packet.duration or 0) * packet.time_base)
        first = t0 if first is None else min(first, t0)
        end = t1 if end is None else max(end, t1)
    container.seek(0)
    if first is None or end is None or end <= first:
        return start, None
    return first, end - first


def _frame_time(frame, stream) -> Fraction | None:
    if frame.pts is None:
        return None
    return Fraction(frame.pts * (frame.time_base or stream.time_base))


def _frame_interval(stream, duration: Fraction) -> Fraction:
    """Nominal time between frames (for the truncation test)."""
    rate = stream.average_rate or stream.guessed_rate
    if rate:
        return 1 / Fraction(rate)
    if stream.frames:
        return duration / stream.frames
    return Fraction(1, 10)


def _nearest_frame(container, stream, middle: Fraction):
    """Decode from the current position until the middle; (nearest frame, last time) or None."""
    best, best_gap, last_time = None, None, None
    for frame in container.decode(stream):
        t = _frame_time(frame, stream)
        if t is None:
            return None
        gap = abs(t - middle)
        if best is None or gap < best_gap:
            best, best_gap = frame, gap
        last_time = t
        if t >= middle:
            break
    return best, last_time


def _middle_frame(container, stream):
    """The decoded frame nearest the middle, or a string describing why there is none."""
    start, duration = _stream_span(container, stream)
    if duration is None or duration <= 0:
        return _middle_frame_by_count(container, stream)
    middle = start + duration / 2
    try:
        container.seek(int(middle / stream.time_base), stream=stream, backward=True, any_frame=False)
        found = _nearest_frame(container, stream, middle)
    except Exception:  # noqa: BLE001 - unseekable input or bad seek: decode from the start instead
        found = (None, None)
    if found is not None and found[0] is None:  # nothing after the seek point: from the start
        container.seek(0)
        found = _nearest_frame(container, stream, middle)
    if found is None:  # frames without timestamps
        return _middle_frame_by_count(container, stream)
    best, last_time = found
    if best is None:
        return "no video frame could be decoded"
    if middle - last_time > 2 * _frame_interval(stream, duration):
        return (f"video stream declares {float(duration):.2f} s but its frames stop at "
                f"{float(last_time - start):.2f} s, before the middle (file truncated?)")
    return best


def _middle_frame_by_count(container, stream):
    """Fallback without timestamps: count the frames, then decode again up to the middle one."""
    container.seek(0)
    count = sum(1 for _ in container.decode(stream))
    if count == 0:
        return "no video frame could be decoded"
    container.seek(0)
    for index, frame in enumerate(container.decode(stream)):
        if index == count // 2:
            return frame
    return "no video frame could be decoded"  # pragma: no cover - the stream changed under us
