"""A small VGGSound subset, streamed from the public tar.gz shards and prepared on the fly.

The Hugging Face dataset ``Loie/VGGSound`` holds VGGSound's clips in 20 shards
``vggsound_00.tar.gz`` .. ``vggsound_19.tar.gz`` (about 17 GB each). To get a few thousand
frame + audio pairs without downloading a shard, :func:`stream_vggsound` reads one shard over
HTTP as a stream (``urllib``, then gzip, then ``tarfile`` in stream mode ``r|``), prepares every
video member as it passes, exactly as :mod:`slavc_lite.data.video_prep` prepares a file (middle
frame -> ``frames/<id>.jpg``, 10 s of 16 kHz mono around it -> ``audio/<id>.wav``), and closes the
connection as soon as ``limit`` clips are complete.

Assumptions and behaviour
- **Ids**: a member's id is its file name without folders and extension. In ``Loie/VGGSound`` the
  members are ``.../<youtube id>_<start seconds, 6 digits>.mp4``, which is the official id format
  (``vggss_10k.txt`` lists ids such as ``00H4-cKmeNg_000153``). Members that are not videos (by
  extension, see ``VIDEO_EXTENSIONS``) and folders are passed over.
- **limit** counts complete samples of this shard in ``out_dir``, whether prepared now or by an
  earlier run. Rerunning with the same limit finishes an interrupted run; a larger limit extends
  it. Members that fail to decode are logged to ``OUT/failures.csv`` and do not count.
- **Resume**: ids already complete in ``out_dir`` are not decoded again, but a gzip stream cannot
  seek, so the shard is still read (downloaded) from its start past them.
- **ids filter**: only members whose id is in ``ids`` are prepared (see :func:`read_id_list`).
  The others still stream by: a sparse list reads much more of the shard per kept clip.
- **Errors**: a broken connection, a stalled one (``timeout``), a truncated or corrupt shard
  raise :class:`ShardStreamError` whose message and ``report`` say how many clips are complete
  and how to resume; in-flight clips are finished first, so only whole samples are left (see the
  completeness rule in :mod:`~slavc_lite.data.video_prep`). Ctrl-C also leaves only whole samples.
- ``base_url`` may point at a mirror, a local server, or a folder (``file:///path/to/shards``).
"""

from __future__ import annotations

import gzip
import http.client
import logging
import os
import tarfile
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from slavc_lite._version import __version__
from slavc_lite.data.video_prep import (
    FAILURES_CSV,
    VIDEO_EXTENSIONS,
    ClipFailure,
    FailureLog,
    check_clip_id,
    completed_ids,
    exclusive_output,
    make_executor,
    prepare_task,
    worker_crash_error,
)
from slavc_lite.errors import InputFileError, SlavcLiteError

logger = logging.getLogger(__name__)

BASE_URL = "https://huggingface.co/datasets/Loie/VGGSound/resolve/main"
"""Where the shards live; override per call with ``base_url`` (tests point it at a loopback server)."""
SHARD_FILE = "vggsound_{shard:02d}.tar.gz"
NUM_SHARDS = 20
MAX_MEMBER_BYTES = 512 * 1024 * 1024
"""Members larger than this are logged as failures instead of being read into memory."""

_READ_ERRORS = (OSError, EOFError, tarfile.TarError, zlib.error, http.client.HTTPException)


CORRUPT_SHARDS: dict[int, str] = {
    8: "vggsound_08.tar.gz of Loie/VGGSound is corrupt at the source: its gzip stream breaks part-way "
       "(reported on the dataset's discussion page; the file was re-uploaded with the same checksum, "
       "so the same broken bytes)",
}
"""Shards of the public dataset that cannot be read to the end, with the reason."""


class CorruptShardError(SlavcLiteError, ValueError):
    """A shard of the public dataset that is known to be broken at the source."""


def check_shard(shard: int, base_url: str | None = None) -> None:
    """Refuse a shard of the public dataset known to be corrupt (:data:`CORRUPT_SHARDS`), naming
    the reason and the nearest readable shards. Another ``base_url`` (your own copy) is not checked."""
    if shard in CORRUPT_SHARDS and (base_url is None or base_url.rstrip("/") == BASE_URL):
        others = [k for k in (shard - 1, shard + 1) if 0 <= k < NUM_SHARDS and k not in CORRUPT_SHARDS]
        raise CorruptShardError(f"shard {shard}: {CORRUPT_SHARDS[shard]}. Use another shard, e.g. "
                                + " or ".join(f"--shard {k}" for k in others) + ".")


class ShardStreamError(SlavcLiteError):
    """Reading the shard failed part-way (connection, timeout, corrupt data). ``report`` holds the
    counts; every sample in the output folder is whole."""

    def __init__(self, message: str, report: StreamReport):
        super().__init__(message)
        self.report = report


def shard_url(shard: int, base_url: str | None = None) -> str:
    """URL of shard ``shard`` (0..19) under ``base_url`` (default :data:`BASE_URL`)."""
    if not isinstance(shard, int) or not 0 <= shard < NUM_SHARDS:
        raise ValueError(f"shard must be an integer from 0 to {NUM_SHARDS - 1}, got {shard!r}")
    base = BASE_URL if base_url is None else base_url
    return f"{base.rstrip('/')}/{SHARD_FILE.format(shard=shard)}"


def clip_id_from_member(name: str) -> str | None:
    """The sample id of a tar member (file name without folders and extension), or None when the
    member is not a video file."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot or not stem or f".{ext.lower()}" not in VIDEO_EXTENSIONS:
        return None
    return stem


def read_id_list(path: str | os.PathLike) -> set[str]:
    """Sample ids from a list file: one id per line (``vggss_10k.txt`` style; a trailing ``.mp4``,
    ``.wav`` or ``.jpg`` is dropped), or VGGSound's ``vggsound.csv`` rows ``youtube_id,start,label,split``
    (id ``<youtube_id>_<start:06d>``). Blank lines and lines starting with ``#`` are ignored."""
    ids: set[str] = set()
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputFileError(path, f"cannot read the id list: {exc}") from None
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "," in line:
            youtube_id, start = (part.strip() for part in line.split(",")[:2])
            try:
                ids.add(f"{youtube_id}_{int(float(start)):06d}")
            except ValueError:
                if number == 1:
                    continue  # a header row
                raise InputFileError(path, f"line {number}: expected 'youtube_id,start,...'") from None
            continue
        for suffix in (".mp4", ".wav", ".jpg"):
            if line.endswith(suffix):
                line = line[: -len(suffix)]
        ids.add(line)
    if not ids:
        raise InputFileError(path, "the id list is empty")
    return ids


@dataclass
class StreamReport:
    """What :func:`stream_shard` did."""

    url: str
    out_dir: Path
    limit: int
    prepared: int = 0
    skipped: int = 0
    """Ids already complete in ``out_dir`` (counted toward ``limit``, not decoded again)."""
    failed: int = 0
    filtered: int = 0
    """Video members passed over because their id is not in the ``ids`` filter."""
    members: int = 0
    """Tar members read (all kinds)."""
    bytes_read: int = 0
    """Compressed bytes received."""
    limit_reached: bool = False
    shard_exhausted: bool = False
    failures: list[ClipFailure] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def complete(self) -> int:
        return self.prepared + self.skipped

    @property
    def failures_csv(self) -> Path:
        return self.out_dir / FAILURES_CSV

    def summary(self) -> str:
        status = ("limit reached" if self.limit_reached
                  else "shard exhausted before the limit" if self.shard_exhausted else "stopped early")
        text = (f"{self.complete}/{self.limit} clips complete ({status}): {self.prepared} prepared, "
                f"{self.skipped} already done, {self.failed} failed, {self.filtered} not in the id list; "
                f"{self.bytes_read / 1e6:.1f} MB read from {self.url} in {self.elapsed_s:.1f} s "
                f"-> {self.out_dir}")
        if self.failed:
            text += f"\nfailures are listed in {self.failures_csv}"
        return text


class _CountingReader:
    """File-like wrapper that counts the bytes read (for the report and the progress bar)."""

    def __init__(self, raw, on_read=None):
        self.raw = raw
        self.count = 0
        self.on_read = on_read

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.count += len(data)
        if self.on_read is not None:
            self.on_read(self.count)
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.raw.close()


def _open_url(url: str, timeout: float, report: StreamReport):
    request = urllib.request.Request(url, headers={"User-Agent": f"slavc-lite/{__version__}"})
    try:
        return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (http, https, file)
    except urllib.error.HTTPError as exc:
        raise ShardStreamError(f"{url}: HTTP {exc.code} {exc.reason}", report) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ShardStreamError(
            f"{url}: cannot connect ({reason}). Streaming VGGSound needs internet access; offline, "
            "copy a shard here and pass its folder as base_url='file:///path/to/folder'.",
            report,
        ) from None


def _megabytes_bar(response, progress: bool):
    """A second progress bar: megabytes received (of the Content-Length, when the server says)."""
    from slavc_lite.progress import tqdm

    length = response.headers.get("Content-Length")
    total = int(length) / 1e6 if length and length.isdigit() else None
    if total:
        shape = "{desc}: {n:.0f}/{total:.0f} MB [{elapsed}, {rate_fmt}]"
    else:
        shape = "{desc}: {n:.0f} MB [{elapsed}, {rate_fmt}]"
    return tqdm(total=total, unit="MB", desc="received", disable=not progress, bar_format=shape)


def _stream_error(exc: BaseException, report: StreamReport) -> ShardStreamError:
    what = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, (zlib.error, gzip.BadGzipFile)):
        hint = ("the shard's compressed data is damaged here; if a rerun fails at the same place, "
                "use another shard")
    elif isinstance(exc, TimeoutError):
        hint = "the server stopped sending data"
    else:
        hint = "the connection broke or the data ended early"
    return ShardStreamError(
        f"{report.url}: reading the shard failed after {report.bytes_read / 1e6:.1f} MB ({what}); {hint}. "
        f"{report.complete} of {report.limit} clips are complete in {report.out_dir} (whole samples only). "
        "Run the same command again to resume: the shard is re-read from its start (a gzip stream cannot "
        "seek) and the done ids are skipped without decoding.",
        report,
    )


def stream_shard(
    url: str,
    limit: int,
    out_dir: str | os.PathLike,
    *,
    ids: Iterable[str] | None = None,
    workers: int = 1,
    timeout: float = 60.0,
    progress: bool = True,
) -> StreamReport:
    """Stream the tar.gz at ``url`` and prepare its video members into ``out_dir`` until ``limit``
    clips are complete (see the module docstring for the rules). ``workers`` > 1 decodes in that
    many processes while this one keeps reading; ``timeout`` (s) bounds every network wait."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    started = time.perf_counter()
    out_dir = Path(out_dir)
    wanted = None if ids is None else set(ids)
    report = StreamReport(url=url, out_dir=out_dir, limit=limit)
    from slavc_lite.progress import tqdm

    with exclusive_output(out_dir), FailureLog(out_dir) as log, ExitStack() as stack:
        done = completed_ids(out_dir)
        claimed: set[str] = set()
        pending: dict[Future, str] = {}
        bar = stack.enter_context(tqdm(total=limit, unit="clip", desc=f"clips from {Path(url).name}",
                                       disable=not progress))

        def collect(futures) -> None:
            for future in futures:
                clip_id = pending.pop(future)
                result = future.result()
                if isinstance(result, ClipFailure):
                    log.add(result)
                    report.failed += 1
                    claimed.discard(clip_id)
                else:
                    report.prepared += 1
                    bar.update(1)
            bar.set_postfix(failed=report.failed, refresh=False)

        def drain() -> None:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                collect(finished)

        max_in_flight = 2 * max(1, workers)
        try:
            executor = make_executor(workers)  # before the connection: workers must not inherit it
            stack.callback(executor.shutdown, wait=True, cancel_futures=True)
            response = _open_url(url, timeout, report)
            stack.callback(response.close)

            mb_bar = stack.enter_context(_megabytes_bar(response, progress))
            shown = [0]

            def on_read(count: int) -> None:
                report.bytes_read = count
                if count - shown[0] >= 1 << 20:
                    mb_bar.update((count - shown[0]) / 1e6)
                    shown[0] = count

            reader = _CountingReader(response, on_read)
            try:
                gz = gzip.GzipFile(fileobj=reader, mode="rb")
                tar = tarfile.open(fileobj=gz, mode="r|", bufsize=16 * 1024)
                members = iter(tar)
            except _READ_ERRORS as exc:
                raise _stream_error(exc, report) from exc
            while report.complete < limit:
                while pending and (report.complete + len(pending) >= limit or len(pending) >= max_in_flight):
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    collect(finished)
                if report.complete >= limit:
                    break
                try:
                    member = next(members, None)
                    if member is None:
                        report.shard_exhausted = True
                        break
                    report.members += 1
                    clip_id = clip_id_from_member(member.name) if member.isfile() else None
                    if clip_id is None or clip_id in claimed:
                        continue
                    if wanted is not None and clip_id not in wanted:
                        report.filtered += 1
                        continue
                    source = f"{url}#{member.name}"
                    try:
                        check_clip_id(clip_id)
                    except ValueError as exc:
                        log.add(ClipFailure(clip_id, source, str(exc)))
                        report.failed += 1
                        continue
                    if clip_id in done:
                        report.skipped += 1
                        claimed.add(clip_id)
                        bar.update(1)
                        continue
                    if member.size > MAX_MEMBER_BYTES:
                        log.add(ClipFailure(clip_id, source, f"member too large ({member.size} bytes)"))
                        report.failed += 1
                        continue
                    data = tar.extractfile(member).read()
                    if len(data) != member.size:
                        raise EOFError(f"member {member.name} ended after {len(data)} of {member.size} bytes")
                except _READ_ERRORS as exc:
                    drain()
                    raise _stream_error(exc, report) from exc
                claimed.add(clip_id)
                pending[executor.submit(prepare_task, data, str(out_dir), clip_id, source,
                                        0 if workers <= 1 else 1)] = clip_id
            drain()
        except BrokenProcessPool as exc:
            raise worker_crash_error(out_dir, exc) from exc
        except KeyboardInterrupt:
            logger.warning("interrupted: %d of %d clips complete in %s; run again to resume",
                           report.complete, limit, out_dir)
            raise
        finally:
            report.failures = list(log.failures)
            report.limit_reached = report.complete >= limit
            report.elapsed_s = time.perf_counter() - started
    return report


def stream_vggsound(
    shard: int,
    limit: int,
    out_dir: str | os.PathLike,
    *,
    ids: Iterable[str] | None = None,
    base_url: str | None = None,
    workers: int = 1,
    timeout: float = 60.0,
    progress: bool = True,
) -> StreamReport:
    """Prepare ``limit`` clips of VGGSound shard ``shard`` (0..19) of ``Loie/VGGSound`` into
    ``out_dir`` without downloading the whole shard. See :func:`stream_shard`.

    Raises:
        CorruptShardError: a shard known to be broken at the source (:data:`CORRUPT_SHARDS`),
            before anything is read.
    """
    url = shard_url(shard, base_url)
    check_shard(shard, base_url)
    return stream_shard(url, limit, out_dir, ids=ids, workers=workers,
                        timeout=timeout, progress=progress)
