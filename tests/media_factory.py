"""Small media files generated at test time (no network, no shipped binaries).

Audio is written with soundfile (wav/flac/ogg/mp3) or PyAV (AAC in mp4/m4a), video with PyAV
(MPEG-4 part 2, tiny frames whose grey level encodes the frame index), images with PIL.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def tone(freq: float = 440.0, seconds: float = 1.0, sample_rate: int = 16000,
         amplitude: float = 0.5) -> np.ndarray:
    """A float32 sine tone."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def real_looking_audio(seconds: float = 3.0, sample_rate: int = 16000, seed: int = 0) -> np.ndarray:
    """Harmonic tones + noise + stretches of silence + a chirp, float32 in about [-1, 1]."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sample_rate))
    t = np.arange(n) / sample_rate
    f0 = rng.uniform(110, 440)
    harmonics = sum(rng.uniform(0.05, 0.3) / k * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6.3))
                    for k in range(1, 8))
    envelope = 0.5 * (1 + np.sin(2 * np.pi * rng.uniform(0.5, 2) * t))
    chirp = 0.2 * np.sin(2 * np.pi * (200 * t + rng.uniform(300, 1500) * t**2))
    noise = rng.normal(0, rng.uniform(0.005, 0.05), n)
    x = harmonics * envelope + chirp + noise
    # Two stretches of digital silence (a real recording has gaps; scipy must give log(1e-7)).
    for _ in range(2):
        start = rng.integers(0, n - sample_rate // 4)
        x[start:start + int(rng.integers(sample_rate // 20, sample_rate // 4))] = 0.0
    return np.clip(x, -1, 1).astype(np.float32)


def write_audio(path: Path, data: np.ndarray, sample_rate: int = 16000, subtype: str | None = None) -> Path:
    """Write ``data`` ([n] or [n, channels]) with soundfile; the format follows the suffix."""
    sf.write(path, data, sample_rate, subtype=subtype)
    return path


def write_aac(path: Path, seconds: float = 2.0, sample_rate: int = 16000, freq: float = 440.0) -> Path:
    """An AAC audio stream in an mp4/m4a container (PyAV's encoder)."""
    import av

    x = tone(freq, seconds, sample_rate)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=sample_rate)
        stream.layout = "mono"
        _encode_audio(container, stream, x, sample_rate)
    return path


def _encode_audio(container, stream, x: np.ndarray, sample_rate: int) -> None:
    import av

    frame_size = 1024
    for start in range(0, x.shape[0], frame_size):
        frame = av.AudioFrame.from_ndarray(x[None, start:start + frame_size], format="flt", layout="mono")
        frame.sample_rate = sample_rate
        frame.pts = start
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def write_video(path: Path, n_frames: int = 20, fps: int = 10, size: tuple[int, int] = (64, 48),
                with_audio: bool = False, faststart: bool = False, sample_rate: int = 16000,
                audio_seconds: float | None = None) -> Path:
    """A video whose frame ``i`` is a solid grey of level ``10 * i`` (so the index can be read back).

    The container follows the suffix (.mp4, .mkv, .webm, ...; WebM gets VP8 video and Opus audio
    at 48 kHz, others MPEG-4 video and AAC audio). ``faststart`` puts the mp4 index (moov atom)
    first, so a truncated copy still opens. ``audio_seconds`` defaults to the video's length; a
    shorter value gives the audio track that ``-shortest`` muxing or a WebM recording leaves.
    """
    import av

    webm = Path(path).suffix.lower() == ".webm"
    if webm:
        sample_rate = 48000  # Opus's rate
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        video = container.add_stream("libvpx" if webm else "mpeg4", rate=fps)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        audio = None
        if with_audio:
            audio = container.add_stream("libopus" if webm else "aac", rate=sample_rate)
            audio.layout = "mono"
        for i in range(n_frames):
            pixels = np.full((size[1], size[0], 3), (10 * i) % 256, np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if audio is not None:
            seconds = n_frames / fps if audio_seconds is None else audio_seconds
            _encode_audio(container, audio, tone(440.0, seconds, sample_rate), sample_rate)
    return path


def truncate(path: Path, fraction: float = 0.5, suffix: str | None = None) -> Path:
    """A copy of ``path`` cut to ``fraction`` of its bytes, named ``<stem>_truncated<suffix>``."""
    data = path.read_bytes()
    out = path.with_name(f"{path.stem}_truncated{suffix or path.suffix}")
    out.write_bytes(data[: int(len(data) * fraction)])
    return out


def write_image(path: Path, mode: str = "RGB", size: tuple[int, int] = (80, 60), **save_kwargs) -> Path:
    """A small test picture in the given PIL mode (a gradient, so resizing has something to do)."""
    from PIL import Image

    w, h = size
    ramp = (np.add.outer(np.arange(h) * 255 // max(h - 1, 1), np.arange(w) * 255 // max(w - 1, 1)) // 2)
    ramp = ramp.astype(np.uint8)
    if mode == "I;16":
        im = Image.fromarray(ramp.astype(np.uint16) * 257)  # full 16-bit range
    else:
        rgb = Image.fromarray(np.stack([ramp, 255 - ramp, np.full_like(ramp, 90)], axis=-1))
        im = rgb.convert(mode) if mode != "RGB" else rgb
    im.save(path, **save_kwargs)
    return path
