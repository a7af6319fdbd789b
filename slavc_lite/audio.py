"""Audio front end: file -> mono waveform -> centred 3 s window -> log-spectrogram -> /12.

This is the audio half of the official data pipeline (``load_spectrogram`` in the official
``datasets.py`` plus ``load_audio_av`` in its ``audio_io.py``), rebuilt so that it runs on
today's libraries and fails loudly on bad files:

1. :func:`load_audio` reads any common audio file (wav/flac/ogg/mp3 with soundfile, any
   FFmpeg container such as mp4/m4a/mkv/webm with PyAV), mixes it to mono (channel mean) and
   resamples it to 16 kHz.
2. :func:`centered_window` takes the official centred window: it starts at
   ``max(duration / 2 - seconds / 2, 0)``, is clipped to [-1, 1] and tiled when the clip is
   shorter than the window.
3. :func:`log_spectrogram` is exactly the official
   ``np.log(scipy.signal.spectrogram(x, fs, nperseg=512, noverlap=274)[2] + 1e-7)``:
   3 s at 16 kHz gives a 257 x 200 array.
4. :func:`normalize_log_spectrogram` divides by 12 (the official
   ``transforms.Normalize(mean=[0.0], std=[12.0])``).

:func:`load_spectrogram` chains the four steps for one file. :class:`LogSpectrogram` is a
batched torch version of step 3 (any device) that agrees with scipy to about 1e-5.

Differences from the official reader, all deliberate and small:

* The official reader decodes with ``AudioResampler(format="s16p", layout="mono",
  rate=None)`` and divides by 32767: FFmpeg mixes to mono (for stereo exactly the channel
  mean), quantises to 16 bit (saturating at +-1) and keeps the native sample rate. We read
  16-bit PCM files the same way (int16 / 32767) and other formats as float (no 16-bit
  quantisation: a difference below 2e-5 in amplitude), mix to mono by the channel mean
  (FFmpeg's matrix differs from the mean only for surround layouts) and resample to 16 kHz
  (``sample_rate=None`` keeps the native rate, as the official code does; the official
  VGGSound/Flickr wavs are 16 kHz 16-bit already, so on them both agree).
* The official reader calls ``resampler.resample(frame).to_ndarray()``; PyAV >= 9 returns a
  *list* of frames there, the resulting ``AttributeError`` is swallowed, no audio is read and
  the dataset silently swaps the sample for a random other one. We handle the list (and flush
  the resampler) and raise :class:`~slavc_lite.errors.InputFileError` on every bad file.
* A container's duration is an estimate (the longest stream's): a video whose audio track ends
  early (``-shortest``, many WebM files) is read as far as its audio goes, with a
  :class:`ShortAudioWarning`; only a file whose data stop short (truncated) is refused.
"""

from __future__ import annotations

import math
import os
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import scipy.signal
import soundfile
import torch

from slavc_lite._input_files import MIN_DECODED_FRACTION, check_input_file, describe_streams, falls_short
from slavc_lite.errors import InputFileError

__all__ = [
    "SAMPLE_RATE",
    "TRAIN_SECONDS",
    "TEST_SECONDS",
    "NPERSEG",
    "NOVERLAP",
    "HOP",
    "N_FREQS",
    "LOG_EPS",
    "SPEC_SCALE",
    "ShortAudioWarning",
    "load_audio",
    "centered_window",
    "log_spectrogram",
    "normalize_log_spectrogram",
    "num_frames",
    "LogSpectrogram",
    "load_spectrogram",
]

SAMPLE_RATE = 16000
"""Sample rate of the official VGGSound / Flickr-SoundNet wavs, in Hz."""

TRAIN_SECONDS = 3.0
"""Length of the audio window during training (official ``get_train_dataset``: ``audio_dur=3.``)."""

TEST_SECONDS = 3.0
"""Length of the audio window the official evaluation really uses.

The official ``get_test_dataset`` builds its dataset with ``audio_dur=5.``, but
``AudioVisualDataset.getitem`` calls ``load_spectrogram(audio_fn)`` without passing it, so the
default ``dur=3.`` applies: test spectrograms are 3 s (257 x 200) as well. Any other length
can be passed to :func:`centered_window` / :func:`load_spectrogram`.
"""

NPERSEG = 512
"""Samples per spectrogram segment (official ``nperseg=512``: 32 ms at 16 kHz)."""

NOVERLAP = 274
"""Overlap between segments (official ``noverlap=274``)."""

HOP = NPERSEG - NOVERLAP
"""Hop between segments: 238 samples."""

N_FREQS = NPERSEG // 2 + 1
"""Frequency bins of the one-sided spectrum: 257."""

LOG_EPS = 1e-7
"""Added before the log (official ``np.log(spectrogram + 1e-7)``); silence maps to log(1e-7)."""

SPEC_SCALE = 12.0
"""The official audio ``transforms.Normalize(mean=[0.0], std=[12.0])`` divides by 12."""

_TUKEY_ALPHA = 0.25  # scipy.signal.spectrogram's default window is ('tukey', 0.25)

# Formats that soundfile (libsndfile) reads natively; everything else goes to PyAV first.
_SOUNDFILE_SUFFIXES = {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff",
                       ".aifc", ".au", ".snd", ".caf", ".w64", ".rf64"}

# libsndfile error codes (sndfile.h): SF_ERR_MALFORMED_FILE means "I know this format and the
# file is broken", which we report instead of handing the file to another decoder.
_SF_ERR_MALFORMED_FILE = 3


# --------------------------------------------------------------------------------------------
# Reading files


def _wav_truncation_problem(path: Path) -> str | None:
    """Compare a RIFF/WAVE file's declared data size with the bytes actually present.

    libsndfile quietly shortens a truncated WAV to what is there; we want to hear about it.
    Sizes 0 and 0xFFFFFFFF are the placeholders streaming writers leave, and are accepted.
    """
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            chunk = fh.read(8)
            chunk_id, chunk_len = chunk[:4], int.from_bytes(chunk[4:], "little")
            if chunk_id == b"data":
                available = size - pos - 8
                if chunk_len not in (0, 0xFFFFFFFF) and chunk_len > available:
                    return (f"WAV header declares {chunk_len} bytes of audio data but only "
                            f"{available} are present (file truncated?)")
                return None
            pos += 8 + chunk_len + (chunk_len & 1)
    return None


def _ogg_truncation_problem(path: Path) -> str | None:
    """Check that an Ogg file ends with a complete page carrying the end-of-stream flag.

    libsndfile derives an Ogg file's length from the last granule position it finds, so a cut
    file reads as a shorter, valid one. A complete Ogg stream ends with an end-of-stream page
    (header flag 0x04) that ends exactly at the end of the file.
    """
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(max(0, size - 65536 - 282))  # a page is at most 27 + 255 + 255 * 255 bytes
        tail = fh.read()
    offset = len(tail)
    while (offset := tail.rfind(b"OggS", 0, offset)) >= 0:
        if offset + 27 > len(tail) or tail[offset + 4] != 0:
            continue
        n_segments = tail[offset + 26]
        table = tail[offset + 27:offset + 27 + n_segments]
        if len(table) < n_segments:
            continue
        if offset + 27 + n_segments + sum(table) == len(tail):
            if tail[offset + 5] & 0x04:
                return None
            return "Ogg stream has no end-of-stream page (file truncated?)"
    return "Ogg stream does not end with a complete page (file truncated?)"


class ShortAudioWarning(UserWarning):
    """A file's audio stream is much shorter than the file declares; the audio there is used."""


class _NotForSoundfile(Exception):
    """soundfile cannot read this file; PyAV may."""


def _read_with_soundfile(path: Path) -> tuple[np.ndarray, int]:
    """Read with libsndfile; returns ``[channels, samples]`` float32 and the native rate."""
    try:
        sf_file = soundfile.SoundFile(path)
    except soundfile.LibsndfileError as exc:
        if exc.code == _SF_ERR_MALFORMED_FILE:
            raise InputFileError(path, f"corrupt or truncated audio file ({exc.error_string})") from exc
        raise _NotForSoundfile(exc.error_string) from exc
    except (soundfile.SoundFileError, RuntimeError, TypeError) as exc:
        raise _NotForSoundfile(str(exc)) from exc
    with sf_file:
        declared = sf_file.frames
        rate = int(sf_file.samplerate)
        problem = None
        if sf_file.format in ("WAV", "WAVEX"):
            problem = _wav_truncation_problem(path)
        elif sf_file.format == "OGG":
            problem = _ogg_truncation_problem(path)
        if problem:
            raise InputFileError(path, problem)
        try:
            if sf_file.subtype == "PCM_16":
                # Like the official reader (s16 samples / np.iinfo(int16).max), not libsndfile's
                # / 32768: official 16-bit wavs give the official samples (up to float32 rounding).
                data = sf_file.read(dtype="int16", always_2d=True).astype(np.float32) / np.float32(32767)
            else:
                data = sf_file.read(dtype="float32", always_2d=True)
        except (soundfile.SoundFileError, RuntimeError) as exc:
            raise InputFileError(path, f"audio data cannot be decoded, file corrupt or truncated ({exc})") \
                from exc
    if declared > 0 and data.shape[0] < MIN_DECODED_FRACTION * declared - 1:
        raise InputFileError(
            path, f"only {data.shape[0]} of the {declared} declared samples could be decoded "
                  "(file truncated?)")
    return np.ascontiguousarray(data.T), rate


def _read_with_pyav(path: Path, soundfile_problem: str | None,
                    allow_truncated: bool = False) -> tuple[np.ndarray, int]:
    """Decode the first audio stream of any FFmpeg container; ``[channels, samples]`` float32.

    ``AudioResampler.resample`` returns a list of frames in current PyAV (the official reader
    expected a single frame); the resampler is flushed with ``resample(None)`` at the end.
    Only the sample format is converted here (to planar float); channels and rate are kept.
    With ``allow_truncated``, a decoding error after some samples ends the stream there and
    the declared length is not checked (the caller compares lengths itself).
    """
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av is a declared dependency of the video extra
        raise InputFileError(
            path, f"soundfile cannot read it ({soundfile_problem}) and PyAV (package 'av'), needed for "
                  "mp4/m4a/webm and other containers, is not installed: pip install av") from exc

    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        detail = f"soundfile: {soundfile_problem}; PyAV: {exc}" if soundfile_problem else f"PyAV: {exc}"
        raise InputFileError(path, f"not a readable audio file ({detail})") from exc
    with container:
        if not container.streams.audio:
            raise InputFileError(path, f"has no audio stream (it holds {describe_streams(container)})")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp")  # layout and rate: those of the first frame
        chunks: list[np.ndarray] = []
        rate = None
        reach = 0.0  # where the file's packets (of every stream) end, in seconds
        try:
            for packet in container.demux():
                if packet.pts is not None and packet.time_base is not None:
                    reach = max(reach, float((packet.pts + (packet.duration or 0)) * packet.time_base))
                if packet.stream.index != stream.index:
                    continue
                for frame in packet.decode():
                    rate = rate or frame.sample_rate
                    for out in resampler.resample(frame):  # a list in PyAV >= 9
                        chunks.append(out.to_ndarray())
            for out in resampler.resample(None):  # flush
                chunks.append(out.to_ndarray())
        except (av.FFmpegError, ValueError) as exc:
            if not (allow_truncated and chunks):
                raise InputFileError(
                    path, f"audio stream cannot be decoded, file corrupt or truncated ({exc})") from exc
        stream_seconds = None
        if stream.duration is not None and stream.time_base is not None:
            stream_seconds = float(stream.duration * stream.time_base)
        start = container.start_time / 1e6 if container.start_time is not None else 0.0
        container_seconds = container.duration / 1e6 if container.duration is not None else None
    if not chunks or rate is None:
        raise InputFileError(path, "audio stream contains no samples")
    data = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    if stream_seconds is not None and data.shape[1] > round(stream_seconds * rate) + 1:
        # AAC and other frame-based codecs decode whole frames: the last one carries encoder
        # padding beyond the stream's declared end. Drop it.
        data = data[:, : round(stream_seconds * rate)]
    if not allow_truncated:
        _check_decoded_length(path, data.shape[1] / rate, stream_seconds, container_seconds, reach - start)
    return data, int(rate)


def _check_decoded_length(path: Path, decoded: float, stream_seconds: float | None,
                          container_seconds: float | None, reach: float) -> None:
    """Refuse a truncated file; warn when the audio is just shorter than the container says.

    * The audio stream's own declared length (an mp4/m4a index lists every packet) is a promise:
      decoding much less means packets are missing, the file is truncated.
    * The container's duration is an estimate, the longest stream's (Matroska/WebM carry no
      per-stream duration): an audio track that ends before the video (``-shortest``, WebM
      recordings) is common. If the file's packets reach the declared end, the audio that is there
      is used and a :class:`ShortAudioWarning` says how much there is; if no stream reaches it,
      the file is truncated and refused as before.
    """
    if falls_short(decoded, stream_seconds):
        raise InputFileError(
            path, f"audio stream declares {stream_seconds:.2f} s but only {decoded:.2f} s could be decoded "
                  "(file truncated?)")
    if not falls_short(decoded, container_seconds):
        return
    if stream_seconds is None and falls_short(reach, container_seconds):
        raise InputFileError(
            path, f"the file declares {container_seconds:.2f} s but its data stop at {reach:.2f} s and only "
                  f"{decoded:.2f} s of audio could be decoded (file truncated?)")
    warnings.warn(
        f"{path}: the audio stream holds {decoded:.2f} s, shorter than the {container_seconds:.2f} s the "
        f"file declares (its other streams go on); using the {decoded:.2f} s of audio there are",
        ShortAudioWarning, stacklevel=4)


def load_audio(path: str | os.PathLike, sample_rate: int | None = SAMPLE_RATE,
               allow_truncated: bool = False) -> tuple[np.ndarray, int]:
    """Read an audio file as a mono float32 waveform at ``sample_rate``.

    Plays the role of the official ``load_audio_av`` (which decodes with PyAV, mixes to mono
    and divides 16-bit samples by 32767). wav/flac/ogg/mp3/aiff are read with soundfile;
    mp4/m4a/mkv/webm and anything else FFmpeg knows with PyAV (its first audio stream).

    Args:
        path: the audio (or video) file.
        sample_rate: target rate in Hz; ``None`` keeps the file's native rate (what the
            official reader does). Resampling uses ``librosa.resample`` (soxr, high quality).
        allow_truncated: for containers read with PyAV (video files): keep the samples decoded
            before a decoding error and do not compare the decoded length with the declared
            one (:func:`slavc_lite.video_clip.read_clip` does, and warns). Files that do not
            decode at all are refused as always.

    Returns:
        ``(waveform, rate)``: a 1-D float32 array (mean over channels; 16-bit PCM divided by
        32767 as in the official reader, other integer formats scaled to [-1, 1) by
        libsndfile, float formats untouched) and its sample rate.

    Raises:
        InputFileError: the file is missing or empty, is not audio, is truncated or corrupt,
            has no audio stream, holds no samples, or decodes to NaN/inf values.
    """
    p = check_input_file(path)
    if sample_rate is not None and (not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0):
        raise ValueError(f"sample_rate must be a positive integer or None, got {sample_rate!r}")

    if p.suffix.lower() in _SOUNDFILE_SUFFIXES or p.suffix == "":
        try:
            data, rate = _read_with_soundfile(p)
        except _NotForSoundfile as exc:
            data, rate = _read_with_pyav(p, soundfile_problem=str(exc), allow_truncated=allow_truncated)
    else:  # containers: PyAV first, soundfile as a last resort (e.g. a wav named .bin)
        try:
            data, rate = _read_with_pyav(p, soundfile_problem=None, allow_truncated=allow_truncated)
        except InputFileError as pyav_error:
            try:
                data, rate = _read_with_soundfile(p)
            except _NotForSoundfile:
                raise pyav_error from None

    if data.shape[-1] == 0:
        raise InputFileError(p, "contains no audio samples (zero-length audio)")
    if not np.all(np.isfinite(data)):
        raise InputFileError(p, "contains NaN or infinite sample values")
    waveform = data.mean(axis=0, dtype=np.float64).astype(np.float32)

    if sample_rate is not None and rate != sample_rate:
        import librosa  # lazy: librosa's import is only paid when resampling is needed

        waveform = librosa.resample(waveform, orig_sr=rate, target_sr=int(sample_rate), res_type="soxr_hq")
        waveform = np.ascontiguousarray(waveform, dtype=np.float32)
        rate = int(sample_rate)
    return waveform, int(rate)


# --------------------------------------------------------------------------------------------
# The official window and spectrogram


def centered_window(waveform: np.ndarray, sample_rate: int, seconds: float = TRAIN_SECONDS) -> np.ndarray:
    """The official centred window of ``seconds`` seconds, clipped to [-1, 1], tiled if short.

    Official ``load_spectrogram``: the window starts at ``max(duration/2 - dur/2, 0)`` seconds,
    samples are clipped to [-1, 1], and a clip shorter than the window is repeated
    ``n = int(rate * dur / len) + 1`` times with ``np.tile`` and cut to ``int(rate * dur)``
    samples.

    The official code reads ``np.clip(audio, -1, 1).mean(0)`` (clip, then channel mean), but
    its decoder has already mixed to mono and saturated to 16 bit, so it in effect clips the
    mono signal, as we do (:func:`load_audio` returns the mono mean). Clipping each channel
    before averaging would differ only for multichannel float files whose channels exceed
    [-1, 1] individually.

    Args:
        waveform: 1-D array of samples.
        sample_rate: its rate in Hz.
        seconds: window length (3 s for training and, in effect, for the official test).

    Returns:
        A 1-D array of exactly ``int(sample_rate * seconds)`` samples, same dtype as the input.
    """
    x = np.asarray(waveform)
    if x.ndim != 1:
        raise ValueError(f"centered_window expects a 1-D (mono) waveform, got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError("centered_window got an empty waveform")
    if seconds <= 0 or sample_rate <= 0:
        raise ValueError(f"seconds and sample_rate must be positive, got {seconds}, {sample_rate}")
    length = int(sample_rate * seconds)
    # Official: audio_ss = max(audio_dur/2 - dur/2, 0) seconds, i.e. sample (n - rate*dur)/2,
    # rounded down. Exact rational arithmetic: in floats, 4.3 s at 16 kHz would start at
    # int(10399.999...) = 10399 instead of 10400 (the official reader, which seeks to the
    # start and counts from the decoded frame, gets 10400).
    start = max(math.floor((Fraction(x.shape[0]) - Fraction(sample_rate) * Fraction(seconds)) / 2), 0)
    segment = np.clip(x[start:start + length], -1.0, 1.0)
    if segment.shape[0] < sample_rate * seconds:
        n = int(sample_rate * seconds / segment.shape[0]) + 1
        segment = np.tile(segment, n)
    return segment[:length]


def num_frames(num_samples: int) -> int:
    """Number of spectrogram frames for ``num_samples`` samples: ``(n - 274) // 238``."""
    if num_samples < NPERSEG:
        raise ValueError(f"need at least {NPERSEG} samples for one spectrogram segment, got {num_samples}")
    return (num_samples - NOVERLAP) // HOP


def log_spectrogram(waveform: np.ndarray, sample_rate: int) -> np.ndarray:
    """The official log power spectrogram, ``[257, T]``, before the division by 12.

    Exactly ``np.log(scipy.signal.spectrogram(x, sample_rate, nperseg=512, noverlap=274)[2]
    + 1e-7)`` with scipy's defaults: periodic Tukey(512, 0.25) window, each segment's mean
    removed (``detrend='constant'``), one-sided power spectral density
    (``scaling='density'``: ``|X|^2 / (fs * sum(w^2))``, doubled except at DC and Nyquist),
    no padding. The samples are computed in float64 as in the official code (its samples are
    float64 after the int16 division). 3 s at 16 kHz gives ``[257, 200]``.

    Unlike scipy, fewer than 512 samples raise ``ValueError`` (scipy would silently shrink
    the segment and return a different number of frequency bins).
    """
    x = np.asarray(waveform, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"log_spectrogram expects a 1-D (mono) waveform, got shape {x.shape}")
    num_frames(x.shape[0])  # validates the length
    _, _, spec = scipy.signal.spectrogram(x, sample_rate, nperseg=NPERSEG, noverlap=NOVERLAP)
    return np.log(spec + LOG_EPS)


def normalize_log_spectrogram(x: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Divide by 12: the official ``transforms.Normalize(mean=[0.0], std=[12.0])``."""
    return x / SPEC_SCALE


class LogSpectrogram(torch.nn.Module):
    """Batched torch version of :func:`log_spectrogram` (optionally also divided by 12).

    Implements scipy's ``spectrogram(x, fs, nperseg=512, noverlap=274)`` step by step:
    segments of 512 samples every 238 (``unfold``, no centring or padding), each segment's
    mean subtracted (``detrend='constant'``, before windowing), periodic Tukey(512, 0.25)
    window, ``torch.fft.rfft``, ``|X|^2 / (fs * sum(w^2))``, all bins but DC and Nyquist
    doubled, then ``log(. + 1e-7)``. Runs on the input's device and dtype; in float32 it
    matches the float64 scipy path to about 1e-5 (tests/test_spectrogram.py measures it).

    Input ``[..., n]`` (e.g. ``[B, n]``) waveforms; output ``[..., 257, T]`` with
    ``T = (n - 274) // 238``.
    """

    window: torch.Tensor
    bin_weights: torch.Tensor

    def __init__(self, sample_rate: int = SAMPLE_RATE, normalize: bool = False) -> None:
        super().__init__()
        self.sample_rate = int(sample_rate)
        self.normalize = bool(normalize)
        window = scipy.signal.get_window(("tukey", _TUKEY_ALPHA), NPERSEG)  # periodic, as scipy uses
        # Density scaling and one-sided doubling folded into one per-bin weight (float64 math).
        weights = np.full(N_FREQS, 2.0) / (self.sample_rate * np.sum(window**2))
        weights[0] /= 2.0
        weights[-1] /= 2.0  # nperseg is even: the last bin is Nyquist, not doubled
        # float32 buffers so the module moves to any device (MPS has no float64).
        self.register_buffer("window", torch.as_tensor(window, dtype=torch.float32), persistent=False)
        self.register_buffer("bin_weights", torch.as_tensor(weights, dtype=torch.float32), persistent=False)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        if not torch.is_floating_point(waveforms):
            waveforms = waveforms.float()
        if waveforms.shape[-1] < NPERSEG:
            raise ValueError(f"need at least {NPERSEG} samples, got {waveforms.shape[-1]}")
        window = self.window.to(dtype=waveforms.dtype)
        weights = self.bin_weights.to(dtype=waveforms.dtype)
        segments = waveforms.unfold(-1, NPERSEG, HOP)  # [..., T, 512]
        segments = segments - segments.mean(dim=-1, keepdim=True)
        spectrum = torch.fft.rfft(segments * window, dim=-1)  # [..., T, 257]
        power = (spectrum.real.square() + spectrum.imag.square()) * weights
        out = torch.log(power + LOG_EPS).transpose(-1, -2).contiguous()  # [..., 257, T]
        return out / SPEC_SCALE if self.normalize else out

    def extra_repr(self) -> str:
        return f"sample_rate={self.sample_rate}, nperseg={NPERSEG}, noverlap={NOVERLAP}, " \
               f"normalize={self.normalize}"


def load_spectrogram(path: str | os.PathLike, seconds: float = TRAIN_SECONDS,
                     sample_rate: int | None = SAMPLE_RATE) -> torch.Tensor:
    """The model's audio input for one file: ``[1, 257, T]`` float32 (``[1, 257, 200]`` for 3 s).

    :func:`load_audio` -> :func:`centered_window` -> :func:`log_spectrogram` -> ``/ 12``, i.e. the
    official ``audio_transform(load_spectrogram(path))``.

    Raises:
        InputFileError: see :func:`load_audio`.
    """
    waveform, rate = load_audio(path, sample_rate)
    window = centered_window(waveform, rate, seconds)
    spec = normalize_log_spectrogram(log_spectrogram(window, rate))
    if not np.all(np.isfinite(spec)):  # pragma: no cover - guarded by load_audio's finiteness check
        raise InputFileError(path, "spectrogram contains NaN or infinite values")
    return torch.from_numpy(spec.astype(np.float32))[None]
