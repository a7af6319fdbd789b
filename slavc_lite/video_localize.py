"""Localize a sound source over time in a video: the IPOL demo's maps on every sampled frame.

For each frame sampled from a clip (:func:`slavc_lite.video_clip.read_clip`) at time ``t``:

* the audio is the official *test* window (:data:`slavc_lite.audio.TEST_SECONDS`, 3 s) centred
  on ``t``: the samples of ``[t - 1.5, t + 1.5]`` that exist in the clip. Near the clip's ends
  the window runs past the sound, and what exists is tiled exactly as the official reader
  tiles a clip shorter than its window (:func:`slavc_lite.audio.centered_window`: clip to
  [-1, 1], ``np.tile``, cut). Then the official log-spectrogram divided by 12
  (:func:`slavc_lite.audio.log_spectrogram`, :func:`slavc_lite.audio.normalize_log_spectrogram`),
  as :func:`slavc_lite.audio.load_spectrogram` does for a still pair;
* the frame goes through the official test transform (224 x 224 bicubic, ImageNet mean/std);
* SLAVC, OGL and VSL maps (review Eq. 5-7) come from :meth:`slavc_lite.localize.Localizer.
  localize_batch`, several frames per forward pass; each map's confidence is the official mean
  of its top quarter (:func:`slavc_lite.maps.confidence`) and its peak is the argmax location.

:class:`VideoLocalization` keeps the maps by name in a dict, so other per-frame maps (an
audio-visual synchrony map, say) can be added with :meth:`VideoLocalization.add_map`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from slavc_lite import maps
from slavc_lite.audio import (
    NPERSEG,
    TEST_SECONDS,
    centered_window,
    log_spectrogram,
    normalize_log_spectrogram,
)
from slavc_lite.errors import InputFileError
from slavc_lite.localize import MAP_NAMES, Localizer
from slavc_lite.video_clip import VideoClip, read_clip

__all__ = [
    "DISPLAY_SIDE",
    "VideoLocalization",
    "audio_window",
    "frame_spectrograms",
    "frame_images",
    "peak_locations",
    "localize_video",
    "add_synchrony",
]

DISPLAY_SIDE = 448
"""Longer side of the frames :func:`localize_video` keeps when it reads a file itself."""


def audio_window(waveform: np.ndarray, sample_rate: int, time: float,
                 seconds: float = TEST_SECONDS) -> np.ndarray:
    """The ``seconds`` of audio centred on ``time`` (on the waveform's clock), tiled at the ends.

    Takes the samples of ``[time - seconds / 2, time + seconds / 2]`` that exist (sample
    ``round((time - seconds / 2) * rate)`` onwards) and passes them to
    :func:`slavc_lite.audio.centered_window`, which clips them to [-1, 1] and, when fewer than
    ``int(rate * seconds)`` exist (the window runs past an end), tiles them as the official
    reader tiles a short clip.

    Raises:
        ValueError: fewer than 512 samples (one spectrogram segment) exist in the window.
    """
    x = np.asarray(waveform)
    length = int(sample_rate * seconds)
    start = int(round((time - seconds / 2) * sample_rate))
    segment = x[max(start, 0):max(start + length, 0)]
    if segment.shape[0] < NPERSEG:
        raise ValueError(f"only {segment.shape[0]} audio samples lie within {seconds / 2:g} s of "
                         f"t = {time:.2f} s (the audio holds {x.shape[0] / sample_rate:.2f} s)")
    return centered_window(segment, sample_rate, seconds)


def frame_spectrograms(clip: VideoClip, times: np.ndarray | None = None,
                       seconds: float = TEST_SECONDS) -> torch.Tensor:
    """``[N, 1, 257, T]`` official log-spectrograms (/ 12) of the windows centred on ``times``.

    ``times`` defaults to the clip's frame times; the clip's ``audio_offset`` maps them onto
    the audio's clock.

    Raises:
        InputFileError: a frame has (almost) no audio within ``seconds / 2`` of it (the sound
            track stops long before the video).
    """
    times = clip.times if times is None else np.asarray(times, dtype=np.float64)
    specs = []
    for t in times:
        try:
            window = audio_window(clip.audio, clip.sample_rate, float(t) - clip.audio_offset, seconds)
        except ValueError as exc:
            raise InputFileError(clip.path, f"no sound around the frame at {t:.2f} s: {exc}") from exc
        specs.append(normalize_log_spectrogram(log_spectrogram(window, clip.sample_rate)))
    return torch.from_numpy(np.stack(specs).astype(np.float32))[:, None]


def frame_images(frames: np.ndarray) -> torch.Tensor:
    """``[N, 3, 224, 224]`` network inputs: the official test transform of each uint8 frame.

    Each frame is resized by the transform's own ``Resize((224, 224), BICUBIC)`` on a PIL image;
    the ``ToTensor`` and ``Normalize`` steps then run once on the whole stack (the same
    element-wise float32 operations, so the result equals
    :func:`slavc_lite.images.test_transform` frame by frame, and is much faster than calling
    it per frame).
    """
    from slavc_lite.images import normalize, test_transform

    resize = test_transform().transforms[0]
    resized = np.stack([np.asarray(resize(Image.fromarray(frame))) for frame in frames])
    return normalize(torch.from_numpy(resized).permute(0, 3, 1, 2).float().div(255))


def peak_locations(scores: np.ndarray | torch.Tensor) -> np.ndarray:
    """``[N, 2]`` argmax of each ``[N, H, W]`` map as ``(x, y)`` in [0, 1] (pixel centres).

    ``x = (column + 0.5) / W`` and ``y = (row + 0.5) / H``, so the same point of the frame
    whatever its display size.
    """
    array = scores.detach().cpu().numpy() if isinstance(scores, torch.Tensor) else np.asarray(scores)
    n, h, w = array.shape
    flat = array.reshape(n, -1).argmax(axis=1)
    rows, cols = np.divmod(flat, w)
    return np.stack([(cols + 0.5) / w, (rows + 0.5) / h], axis=1)


def _confidences(scores: np.ndarray) -> np.ndarray:
    return maps.confidence(torch.from_numpy(np.ascontiguousarray(scores, dtype=np.float32))).numpy()


@dataclass
class VideoLocalization:
    """Per-frame localization maps of a clip.

    Attributes:
        times: ``[N]`` frame times in seconds (0 = the first frame).
        frames: ``[N, H, W, 3]`` uint8 frames for display.
        maps: name -> float32 ``[N, 224, 224]`` maps on the fixed [0, 1] scale
            (``"slavc"``, ``"ogl"``, ``"vsl"``; more with :meth:`add_map`).
        confidences: name -> ``[N]`` official confidence (mean of the top quarter).
        peaks: name -> ``[N, 2]`` argmax location ``(x, y)`` in [0, 1].
        alpha: the VSL weight of ``maps["vsl"]``.
        fps: the sampling rate (``None``: every frame).
        source: the video file (its sound goes back into the rendered video).
        weights: which weights each network has (``Localizer.weights_description``).
        random_weights: whether a network has untrained weights (the maps then mean nothing).
        device: where the maps were computed.
        backbone: the visual architecture.
        audio_offset: time of the source's first audio sample on the frames' clock.
        synchrony: the gate settings ``{"weight", "smooth"}`` once :func:`add_synchrony` ran.
    """

    times: np.ndarray
    frames: np.ndarray
    maps: dict[str, np.ndarray]
    confidences: dict[str, np.ndarray]
    peaks: dict[str, np.ndarray]
    alpha: float
    fps: float | None
    source: Path | None
    weights: dict[str, str] = field(default_factory=dict)
    random_weights: bool = False
    device: str = "cpu"
    backbone: str = ""
    audio_offset: float = 0.0
    synchrony: dict[str, float] | None = None

    def __len__(self) -> int:
        return int(self.times.shape[0])

    def add_map(self, name: str, scores: np.ndarray | torch.Tensor) -> None:
        """Add (or replace) a per-frame map ``[N, H, W]`` on the [0, 1] scale, with its
        confidences and peaks."""
        array = scores.detach().float().cpu().numpy() if isinstance(scores, torch.Tensor) \
            else np.asarray(scores, dtype=np.float32)
        if array.ndim != 3 or array.shape[0] != len(self):
            raise ValueError(f"map {name!r} must be [{len(self)}, H, W], got {array.shape}")
        self.maps[name] = array
        self.confidences[name] = _confidences(array)
        self.peaks[name] = peak_locations(array)

    def reblend(self, alpha: float) -> np.ndarray:
        """VSL ``[N, 224, 224]`` for another ``alpha`` from the cached SLAVC and OGL maps (Eq. 7)."""
        return maps.vsl_map(self.maps["slavc"], self.maps["ogl"], alpha)

    def with_alpha(self, alpha: float) -> VideoLocalization:
        """A copy whose VSL map, confidences and peaks are those of ``alpha``."""
        copy = replace(self, maps=dict(self.maps), confidences=dict(self.confidences),
                       peaks=dict(self.peaks), alpha=float(alpha))
        copy.add_map("vsl", self.reblend(alpha))
        return copy

    def frame_records(self) -> list[dict]:
        """One dict per frame: its time, and each map's confidence and peak ``{"x", "y"}``."""
        return [
            {"time": round(float(t), 6),
             "confidence": {k: round(float(v[i]), 6) for k, v in self.confidences.items()},
             "peak": {k: {"x": round(float(v[i, 0]), 6), "y": round(float(v[i, 1]), 6)}
                      for k, v in self.peaks.items()}}
            for i, t in enumerate(self.times)
        ]


def localize_video(
    localizer: Localizer,
    clip: VideoClip | str | os.PathLike,
    fps: float | None = 2.0,
    alpha: float = maps.DEFAULT_ALPHA,
    batch_size: int = 16,
) -> VideoLocalization:
    """SLAVC, OGL and VSL maps of every sampled frame of a clip, in batches.

    Args:
        localizer: the networks (:meth:`slavc_lite.localize.Localizer.from_weights`).
        clip: a :class:`~slavc_lite.video_clip.VideoClip`, or a video file, read with
            :func:`~slavc_lite.video_clip.read_clip` at ``fps`` with frames of at most
            :data:`DISPLAY_SIDE` pixels (the network input is resized from those frames).
        fps: frames per second when reading a file (ignored for a clip already read).
        alpha: the VSL weight (IPOL demo 0.4).
        batch_size: frames per forward pass.

    Raises:
        InputFileError: see :func:`~slavc_lite.video_clip.read_clip` and
            :func:`frame_spectrograms`.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], not {alpha}")
    if not isinstance(clip, VideoClip):
        clip = read_clip(clip, fps=fps, size=DISPLAY_SIDE)
    n = len(clip)
    computed: dict[str, np.ndarray] = {name: np.empty((n, maps.MAP_SIZE, maps.MAP_SIZE), np.float32)
                                       for name in MAP_NAMES}
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        images = frame_images(clip.frames[start:stop])
        specs = frame_spectrograms(clip, clip.times[start:stop])
        batch = localizer.localize_batch(images, specs, alpha)
        for name in MAP_NAMES:
            computed[name][start:stop] = batch[name].numpy()
    result = VideoLocalization(
        times=clip.times.copy(), frames=clip.frames, maps={}, confidences={}, peaks={},
        alpha=float(alpha), fps=clip.fps, source=clip.path,
        weights=dict(localizer.weights_description), random_weights=localizer.random_weights,
        device=str(localizer.device), backbone=localizer.model.backbone,
        audio_offset=clip.audio_offset)
    for name in MAP_NAMES:
        result.add_map(name, computed[name])
    return result


def add_synchrony(result: VideoLocalization, every: VideoClip, weight: float,
                  semantic: tuple[str, ...] = ("slavc", "vsl"), smooth: float | None = None) -> None:
    """Add the audio-visual synchrony map of every frame of ``result`` and the semantic maps gated
    by it (``"synchrony"``, ``"slavc+sync"``, ``"vsl+sync"``), in place.

    ``every`` is the same file read at its own frame rate (``read_clip(path, fps=None)``): the
    synchrony of a frame is measured on the frames within the 3 s window of its audio
    (:func:`slavc_lite.synchrony.windowed_synchrony_maps`, smoothed by ``smooth`` cells, default
    :data:`~slavc_lite.synchrony.DEFAULT_SMOOTH`), and the gate is
    :func:`slavc_lite.synchrony.gated_map` with ``weight``.
    """
    from slavc_lite.synchrony import DEFAULT_SMOOTH, gated_maps, windowed_synchrony_maps

    smooth = DEFAULT_SMOOTH if smooth is None else float(smooth)
    if len(every) < 3:
        raise ValueError(f"synchrony needs at least 3 frames; the clip read at its own rate has {len(every)}")
    frames = every.frames
    if frames.shape[1:3] != (maps.MAP_SIZE, maps.MAP_SIZE):
        frames = np.stack([np.asarray(Image.fromarray(f).resize((maps.MAP_SIZE, maps.MAP_SIZE),
                                                                Image.BILINEAR)) for f in frames])
    sync = windowed_synchrony_maps(frames, every.times - every.audio_offset, every.audio, every.sample_rate,
                                   centres=result.times - result.audio_offset, seconds=TEST_SECONDS,
                                   smooth=smooth)
    result.add_map("synchrony", sync)
    for name, gated in gated_maps(result.maps, sync, weight, semantic).items():
        result.add_map(name, gated)
    result.synchrony = {"weight": float(weight), "smooth": smooth}
