"""Write a video localization: ``localized.mp4``, ``timeline.png`` and ``result.json``.

* :func:`write_localized_video`: the VSL map (or any other map) over every sampled frame, with
  the colours of the still figures (:mod:`slavc_lite.viz`: ``jet`` at opacity 0.5 on the fixed
  [0, 1] scale, values outside drawn with the end colours), each frame shown until the next
  one, encoded as H.264 ``yuv420p`` (even width and height) with the source's sound re-encoded
  as AAC at its own rate, ``faststart`` so that browsers play it while it loads. Written to a
  temporary file in the same folder and renamed, so a failure never leaves a half-written file.
* :func:`timeline_figure`: a strip of up to eight evenly spaced frames with their maps, and
  below it each map's confidence over time with the strip's frames marked.
* :func:`write_outputs`: all three files, ``result.json`` last: its presence means the others
  are complete (as for the still ``localize`` command).

When a network has untrained weights every frame, figure and title says so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import colormaps
from matplotlib.figure import Figure

from slavc_lite.atomic_files import atomic_path, atomic_write_text
from slavc_lite.errors import InputFileError
from slavc_lite.localize import RANDOM_TITLE
from slavc_lite.video_localize import VideoLocalization
from slavc_lite.video_writer import even_sides
from slavc_lite.viz import DPI, SCALE, overlay, save_figure

__all__ = [
    "FILES",
    "STRIP_FRAMES",
    "overlay_frames",
    "write_localized_video",
    "timeline_figure",
    "result_record",
    "write_outputs",
]

FILES = {"video": "localized.mp4", "timeline": "timeline.png", "result": "result.json"}
"""The files :func:`write_outputs` writes, by role."""

STRIP_FRAMES = 8
"""Most frames shown in the timeline's strip."""

_LINE_COLOURS = {"slavc": "tab:red", "ogl": "tab:blue", "vsl": "tab:purple", "synchrony": "tab:green",
                 "slavc+sync": "tab:orange", "vsl+sync": "tab:brown"}
_MAP_LABELS = {"slavc": "SLAVC", "ogl": "OGL", "vsl": "VSL", "synchrony": "synchrony",
               "slavc+sync": "SLAVC with synchrony", "vsl+sync": "VSL with synchrony"}


def _label(name: str, alpha: float) -> str:
    label = _MAP_LABELS.get(name, name)
    return f"{label} (alpha = {alpha:g})" if name == "vsl" else label


def overlay_frames(frames: np.ndarray, scores: np.ndarray, cmap: str = "jet",
                   opacity: float = 0.5) -> np.ndarray:
    """``[N, H, W, 3]`` uint8: each ``[224, 224]`` map stretched over its frame, as
    :func:`slavc_lite.viz.overlay` draws it (bilinear, fixed scale [0, 1], ``opacity`` 0.5)."""
    n, h, w, _ = frames.shape
    grid = torch.from_numpy(np.ascontiguousarray(scores, dtype=np.float32))[:, None]
    resized = F.interpolate(grid, size=(h, w), mode="bilinear", align_corners=False)[:, 0].numpy()
    normalised = np.clip((resized - SCALE[0]) / (SCALE[1] - SCALE[0]), 0.0, 1.0)
    colours = colormaps[cmap](normalised, bytes=True)[..., :3].astype(np.float32)
    blended = (1 - opacity) * frames.astype(np.float32) + opacity * colours
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def _caption(frame: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """Draw ``lines`` in white on a dark band at the top of ``frame``."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    size = max(10, min(frame.shape[0], frame.shape[1]) // 22)
    font = ImageFont.load_default(size=size)
    band = (size + 4) * len(lines) + 4
    draw.rectangle((0, 0, frame.shape[1], band), fill=(0, 0, 0))
    for i, line in enumerate(lines):
        draw.text((4, 2 + i * (size + 4)), line, fill=(255, 255, 255), font=font)
    return np.asarray(image)


def _time_base(result: VideoLocalization) -> Fraction:
    if result.fps is not None:
        return 1 / Fraction(result.fps).limit_denominator(1001)
    return Fraction(1, 1000)


class _SoundTrack:
    """The source's first audio stream, re-encoded as AAC into an output container.

    Streams must all exist before the first packet is written, so :meth:`add_stream` runs
    before the video is encoded; :meth:`encode_until` then follows the video. The rate and (mono or stereo)
    layout are kept when AAC supports them; samples before the first frame (``start`` < 0)
    are dropped and a later start becomes a delay. Decoding stops at a truncated file's last
    good packet (:func:`slavc_lite.video_clip.read_clip` has warned about it).
    """

    def __init__(self, source: Path, start: float):
        from slavc_lite.video import _open

        _, self.container = _open(source)
        if not self.container.streams.audio:
            self.container.close()
            raise InputFileError(source, "has no audio stream to put back into the video")
        self.stream = self.container.streams.audio[0]
        self.start = start
        import av

        rate = self.stream.rate
        self.rate = rate if rate in av.codec.Codec("aac", "w").audio_rates else 48000
        self.layout = "mono" if self.stream.channels == 1 else "stereo"
        self.target = None

    def add_stream(self, out) -> None:
        import av

        self.target = out.add_stream("aac", rate=self.rate, layout=self.layout)
        self.pieces = self._pieces(av.AudioResampler(format="fltp", layout=self.layout, rate=self.rate))
        self.position = max(0, int(round(self.start * self.rate)))  # index of the next output sample
        self.skip = max(0, -int(round(self.start * self.rate)))  # samples before the first frame

    def _pieces(self, resampler):
        """Resampled ``[channels, n]`` arrays of the whole stream, then the resampler's rest."""
        import av

        try:
            for decoded in self.container.decode(self.stream):
                for piece in resampler.resample(decoded):
                    yield piece.to_ndarray()
        except av.FFmpegError:
            pass  # truncated file: keep what decoded (read_clip has warned)
        for piece in resampler.resample(None):
            yield piece.to_ndarray()

    def encode_until(self, out, seconds: float | None) -> None:
        """Encode the sound up to ``seconds`` (``None``: to the end, then flush the encoder).

        Called after each video frame, so that sound and pictures are interleaved in the file
        (a browser then plays it while it loads)."""
        import av

        while seconds is None or self.position < seconds * self.rate:
            array = next(self.pieces, None)
            if array is None:
                break
            if self.skip:
                cut = min(self.skip, array.shape[1])
                array, self.skip = array[:, cut:], self.skip - cut
            if array.shape[1] == 0:
                continue
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(array), format="fltp", layout=self.layout)
            frame.sample_rate, frame.pts, frame.time_base = self.rate, self.position, Fraction(1, self.rate)
            self.position += array.shape[1]
            out.mux(self.target.encode(frame))
        if seconds is None:
            out.mux(self.target.encode(None))

    def close(self) -> None:
        self.container.close()


def write_localized_video(result: VideoLocalization, path: str | os.PathLike, map_name: str = "vsl",
                          audio_source: str | os.PathLike | None = None) -> Path:
    """Render ``map_name`` over every frame as an H.264 mp4 with the source's sound.

    Each frame is shown from its time until the next frame's (the last one for the mean
    interval). A caption gives the map, the time and, with untrained networks, the warning.

    Args:
        result: the localization (:func:`slavc_lite.video_localize.localize_video`).
        path: the mp4 to write (replaced atomically: a temporary file, then a rename).
        map_name: which map to draw (``"vsl"`` by default).
        audio_source: the file whose first audio stream is muxed back, from time 0; default
            ``result.source``, placed at ``result.audio_offset``; without one the video is
            silent.
    """
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if map_name not in result.maps:
        raise KeyError(f"no map {map_name!r}; the result holds {sorted(result.maps)}")
    source = Path(audio_source) if audio_source is not None else result.source
    time_base = _time_base(result)
    label = _label(map_name, result.alpha)
    warning = [RANDOM_TITLE] if result.random_weights else []
    sound = None
    try:
        if source is not None:
            sound = _SoundTrack(source, result.audio_offset if audio_source is None else 0.0)
        with atomic_path(path) as temp_name, \
                av.open(str(temp_name), "w", format="mp4", options={"movflags": "faststart"}) as out:
            first = even_sides(result.frames[:1])
            stream = out.add_stream("libx264", rate=1 / time_base)
            stream.pix_fmt = "yuv420p"
            stream.height, stream.width = first.shape[1:3]
            stream.options = {"preset": "veryfast", "qp": "20"}  # constant quantiser: reproducible bytes
            if sound is not None:
                sound.add_stream(out)
            if result.random_weights:
                out.metadata["comment"] = RANDOM_TITLE
            last_pts = -1
            for start in range(0, len(result), 16):  # render in chunks: little memory at a time
                chunk = even_sides(overlay_frames(result.frames[start:start + 16],
                                             result.maps[map_name][start:start + 16]))
                for offset, rgb in enumerate(chunk):
                    i = start + offset
                    lines = [f"{label}   t = {result.times[i]:.2f} s", *warning]
                    frame = av.VideoFrame.from_ndarray(_caption(rgb, lines), format="rgb24")
                    pts = max(int(round(Fraction(float(result.times[i])) / time_base)), last_pts + 1)
                    frame.pts, frame.time_base, last_pts = pts, time_base, pts
                    out.mux(stream.encode(frame))
                    if sound is not None:
                        sound.encode_until(out, float(result.times[i]) + 1.0)
            out.mux(stream.encode(None))
            if sound is not None:
                sound.encode_until(out, None)
    finally:
        if sound is not None:
            sound.close()
    return path


def _strip_indices(n: int, count: int = STRIP_FRAMES) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, count)).round().astype(int))


def timeline_figure(result: VideoLocalization, map_name: str = "vsl", title: str | None = None,
                    strip_frames: int = STRIP_FRAMES) -> Figure:
    """A strip of up to ``strip_frames`` evenly spaced frames with ``map_name`` over them, and
    below it the confidence of every map over time (x axis: seconds; the strip's frames marked)."""
    if map_name not in result.maps:
        raise KeyError(f"no map {map_name!r}; the result holds {sorted(result.maps)}")
    indices = _strip_indices(len(result), strip_frames)
    k = len(indices)
    width = max(8.0, 1.6 * k)
    left, right = 0.8, 0.2  # inches
    panel = (width - left - right) / k
    frame_h, frame_w = result.frames.shape[1:3]
    strip = panel * frame_h / frame_w
    if title is None:
        name = result.source.name if result.source is not None else "clip"
        weights = RANDOM_TITLE if result.random_weights else f"SLAVC: {result.weights.get('slavc', '?')}"
        title = f"{name}: {_label(map_name, result.alpha)} over time\n{weights}"
    head, gap, plot, foot = 0.25 + 0.2 * (title.count("\n") + 1) + 0.25, 0.45, 2.4, 0.55
    height = head + strip + gap + plot + foot
    fig = Figure(figsize=(width, height), dpi=DPI)
    grid = fig.add_gridspec(2, k, height_ratios=[strip, plot], left=left / width, right=1 - right / width,
                            bottom=foot / height, top=1 - head / height, hspace=gap / ((strip + plot) / 2),
                            wspace=0.05)
    for col, i in enumerate(indices):
        ax = fig.add_subplot(grid[0, col])
        overlay(result.frames[i], result.maps[map_name][i], ax=ax, title=f"t = {result.times[i]:.2f} s")
        ax.title.set_fontsize(8)
    ax = fig.add_subplot(grid[1, :])
    for name, values in result.confidences.items():
        ax.plot(result.times, values, marker="o", markersize=3, label=_label(name, result.alpha),
                color=_LINE_COLOURS.get(name))
    for i in indices:
        ax.axvline(result.times[i], color="0.6", linestyle=":", linewidth=1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("confidence\n(mean of top quarter)")
    ax.set_xlim(result.times[0], max(result.times[-1], result.times[0] + 1e-3))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.suptitle(title, fontsize=10)
    return fig


def result_record(result: VideoLocalization, files: dict[str, str] | None = None) -> dict:
    """What ``result.json`` holds: settings, weights, and per frame the time, the confidences
    and the peaks of every map."""
    from slavc_lite import __version__

    return {
        "slavc_lite_version": __version__,
        "source": os.fspath(result.source) if result.source is not None else None,
        "fps": result.fps,
        "alpha": result.alpha,
        "frames_localized": len(result),
        "weights": result.weights,
        "random_weights": result.random_weights,
        "device": result.device,
        "backbone": result.backbone,
        "maps": sorted(result.maps),
        "synchrony_gate": result.synchrony,
        "scale": "fixed [0, 1]: SLAVC (cos + 1) / 2 of the two heads' mean, OGL mean |o| / 2.5, "
                 "VSL alpha * SLAVC + (1 - alpha) * OGL; confidence: mean of the top quarter; "
                 "peak: argmax location (x, y) in [0, 1] from the top-left corner",
        "audio_window": "official 3 s test window centred on each frame time, tiled at the clip's ends",
        "files": files if files is not None else {k: v for k, v in FILES.items() if k != "result"},
        "frames": result.frame_records(),
    }


def write_outputs(result: VideoLocalization, out: str | os.PathLike,
                  map_name: str = "vsl") -> dict[str, Path]:
    """Write ``localized.mp4``, ``timeline.png`` and, last, ``result.json`` into ``out``.

    Returns:
        role -> path of each file written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {role: out / name for role, name in FILES.items()}
    write_localized_video(result, paths["video"], map_name=map_name)
    fig = timeline_figure(result, map_name=map_name)
    save_figure(fig, paths["timeline"], title=fig.get_suptitle())
    # Written last: its presence means every other file is complete.
    atomic_write_text(paths["result"], json.dumps(result_record(result), indent=2) + "\n")
    return paths
