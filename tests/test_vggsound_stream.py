"""Streaming a VGGSound-like tar.gz shard from a loopback HTTP server (no network).

The shard mimics Loie/VGGSound: mp4 members named ``<youtube id>_<start:06d>.mp4`` under a deep
folder prefix, plus a broken member, a non-video member, and a large incompressible padding
member at the end that a client stopping early never needs to read.
"""

from __future__ import annotations

import argparse
import http.server
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from slavc_lite.data import commands, vggsound_stream, video_prep
from slavc_lite.data.commands import add_vggsound_parser
from slavc_lite.data.vggsound_stream import (
    BASE_URL,
    ShardStreamError,
    clip_id_from_member,
    read_id_list,
    shard_url,
    stream_shard,
    stream_vggsound,
)
from slavc_lite.data.video_prep import PARTIAL_DIR, completed_ids, read_failures, sample_paths
from tests.video_factory import build_shard, write_clip, write_text_as_video

PREFIX = "scratch/shared/beegfs/hchen/train_data/VGGSound_final/video"
CLIP_IDS = [f"clip{i}xxxxxx_{10 * i:06d}" for i in range(6)]
BROKEN_ID = "brokenxxxxx_000000"
# Order of the video members in the shard (the broken one third).
ORDER = CLIP_IDS[:2] + [BROKEN_ID] + CLIP_IDS[2:]
PADDING = 24 * 1024 * 1024  # larger than what loopback socket buffers can hold


@pytest.fixture(scope="module")
def shard(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("shard_src")
    members = []
    for clip_id in ORDER:
        path = folder / f"{clip_id}.mp4"
        if clip_id == BROKEN_ID:
            write_text_as_video(path)
        else:
            write_clip(path, seconds=3.0, fps=10)
        members.append((f"{PREFIX}/{clip_id}.mp4", path.read_bytes()))
    members.insert(1, (f"{PREFIX}/README.txt", b"not a clip\n"))
    data = build_shard(members, padding_bytes=PADDING, compresslevel=0)
    clips_part = sum(len(d) + 1024 for _, d in members)  # tar headers and rounding included
    return {"data": data, "clips_part": clips_part}


class LoopbackServer:
    """Serves byte strings by path on 127.0.0.1; can cut a response after ``drop_after`` bytes or
    stall after ``stall_after`` bytes. Records how many bytes each response really sent."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.drop_after: int | None = None
        self.stall_after: int | None = None
        self.sent: list[int] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                limit = len(body)
                if server.drop_after is not None:
                    limit = min(limit, server.drop_after)
                if server.stall_after is not None:
                    limit = min(limit, server.stall_after)
                sent = 0
                try:
                    for start in range(0, limit, 64 * 1024):
                        chunk = body[start : min(start + 64 * 1024, limit)]
                        self.wfile.write(chunk)
                        sent += len(chunk)
                    if server.stall_after is not None:
                        self.wfile.flush()
                        time.sleep(1.5)  # bounded stall; the client times out first
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    server.sent.append(sent)
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(shard):
    srv = LoopbackServer({"/vggsound_03.tar.gz": shard["data"], "/page.html": b"<html>hi</html>" * 100})
    yield srv
    srv.close()


def _assert_whole_samples_only(out: Path) -> None:
    jpgs = {p.stem for p in (out / "frames").glob("*.jpg")} if (out / "frames").exists() else set()
    wavs = {p.stem for p in (out / "audio").glob("*.wav")} if (out / "audio").exists() else set()
    assert jpgs == wavs
    partial = out / PARTIAL_DIR
    assert not partial.exists() or not any(partial.iterdir())


def test_limit_stops_early_without_reading_the_rest_of_the_shard(server, shard, tmp_path):
    report = stream_vggsound(3, 3, tmp_path, base_url=server.base_url, progress=False)
    assert report.limit_reached and not report.shard_exhausted
    assert (report.prepared, report.skipped, report.failed) == (3, 0, 1)
    assert completed_ids(tmp_path) == set(CLIP_IDS[:3])
    # Each sample is the clip's middle frame and its whole 3 s of audio.
    jpg, wav = sample_paths(tmp_path, CLIP_IDS[0])
    assert jpg.exists() and wav.stat().st_size == 44 + 3 * 16000 * 2
    assert [(f.clip_id, f.path.endswith(f"{PREFIX}/{BROKEN_ID}.mp4")) for f in read_failures(tmp_path)] == [
        (BROKEN_ID, True)
    ]
    # The client read little more than the clips, and the server never sent the padding.
    assert report.bytes_read < shard["clips_part"] + 1024 * 1024
    assert _bytes_sent_when_closed(server) < len(shard["data"]) - 8 * 1024 * 1024
    _assert_whole_samples_only(tmp_path)


def test_rerun_resumes_and_a_larger_limit_extends(server, tmp_path):
    stream_vggsound(3, 2, tmp_path, base_url=server.base_url, progress=False)
    assert completed_ids(tmp_path) == set(CLIP_IDS[:2])
    again = stream_vggsound(3, 2, tmp_path, base_url=server.base_url, progress=False)
    assert (again.prepared, again.skipped, again.failed) == (0, 2, 0) and again.limit_reached
    more = stream_vggsound(3, 5, tmp_path, base_url=server.base_url, progress=False)
    assert (more.prepared, more.skipped, more.failed) == (3, 2, 1)
    assert completed_ids(tmp_path) == set(CLIP_IDS[:5])


def test_id_filter_keeps_only_listed_clips(server, tmp_path):
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"# wanted\n{CLIP_IDS[1]}\n\n{CLIP_IDS[4]}.mp4\nnot_in_this_shard_000001\n")
    out = tmp_path / "out"
    report = stream_vggsound(3, 5, out, ids=read_id_list(ids_file), base_url=server.base_url, progress=False)
    assert completed_ids(out) == {CLIP_IDS[1], CLIP_IDS[4]}
    assert report.shard_exhausted and not report.limit_reached
    assert (report.prepared, report.filtered, report.failed) == (2, 5, 0)
    assert "shard exhausted before the limit" in report.summary()


def test_a_dropped_connection_leaves_whole_samples_and_says_how_to_resume(server, shard, tmp_path):
    server.drop_after = int(shard["clips_part"] * 0.6)  # in the middle of the fourth or fifth clip
    with pytest.raises(ShardStreamError) as info:
        stream_vggsound(3, 6, tmp_path, base_url=server.base_url, progress=False)
    message = str(info.value)
    done = completed_ids(tmp_path)
    assert 1 <= len(done) < 6 and done == set(CLIP_IDS[: len(done)])
    assert info.value.report.complete == len(done)
    assert f"{len(done)} of 6 clips are complete" in message
    assert "run the same command again to resume" in message.lower()
    _assert_whole_samples_only(tmp_path)

    server.drop_after = None  # the connection is back: the same call finishes the job
    report = stream_vggsound(3, 6, tmp_path, base_url=server.base_url, progress=False)
    assert report.skipped == len(done) and report.complete == 6
    assert completed_ids(tmp_path) == set(CLIP_IDS)


def test_a_stalled_server_times_out_with_a_clear_error(server, shard, tmp_path):
    server.stall_after = int(shard["clips_part"] * 0.5)
    with pytest.raises(ShardStreamError, match="stopped sending|timed out"):
        stream_vggsound(3, 6, tmp_path, base_url=server.base_url, timeout=0.5, progress=False)
    _assert_whole_samples_only(tmp_path)


def test_http_errors_and_non_gzip_responses(server, tmp_path):
    with pytest.raises(ShardStreamError, match="HTTP 404"):
        stream_vggsound(4, 1, tmp_path, base_url=server.base_url, progress=False)
    with pytest.raises(ShardStreamError, match="gzip"):
        stream_shard(f"{server.base_url}/page.html", 1, tmp_path, progress=False)


def test_ctrl_c_while_writing_leaves_only_whole_samples(server, tmp_path, monkeypatch):
    real_place = video_prep._place
    jpgs = []

    def interrupted_place(tmp, final):
        if final.suffix == ".jpg":
            jpgs.append(final)
            if len(jpgs) == 2:
                raise KeyboardInterrupt
        real_place(tmp, final)

    monkeypatch.setattr(video_prep, "_place", interrupted_place)
    with pytest.raises(KeyboardInterrupt):
        stream_vggsound(3, 5, tmp_path, base_url=server.base_url, progress=False)
    assert completed_ids(tmp_path) == {CLIP_IDS[0]}
    _assert_whole_samples_only(tmp_path)


def _bytes_sent_when_closed(server) -> int:
    for _ in range(50):  # the handler notices the closed connection on its next write
        if server.sent:
            return server.sent[0]
        time.sleep(0.1)
    raise AssertionError("the server never saw the connection close")


def test_worker_processes(server, shard, tmp_path):
    report = stream_vggsound(3, 4, tmp_path, base_url=server.base_url, workers=2, progress=False)
    assert (report.prepared, report.failed) == (4, 1)
    assert completed_ids(tmp_path) == set(CLIP_IDS[:4])
    _assert_whole_samples_only(tmp_path)
    # Stopping at the limit closes the connection although worker processes are running.
    assert _bytes_sent_when_closed(server) < len(shard["data"]) - 8 * 1024 * 1024


def test_vggsound_command_end_to_end(server, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="slavc-lite data")
    add_vggsound_parser(parser.add_subparsers(dest="command", required=True))
    ids_file = tmp_path / "vggsound.csv"
    ids_file.write_text("".join(f"{c.rsplit('_', 1)[0]},{int(c.rsplit('_', 1)[1])},some label,train\n"
                                for c in CLIP_IDS[:3]))
    out = tmp_path / "out"
    args = parser.parse_args(["vggsound", "--shard", "3", "--limit", "2", "--out", str(out),
                              "--ids", str(ids_file), "--base-url", server.base_url, "--no-progress"])
    assert args.func(args) == 0
    assert "2/2 clips complete (limit reached)" in capsys.readouterr().out
    assert completed_ids(out) == set(CLIP_IDS[:2])

    server.drop_after = 20_000
    args = parser.parse_args(["vggsound", "--shard", "3", "--limit", "6", "--out", str(out),
                              "--base-url", server.base_url, "--no-progress"])
    assert args.func(args) == 1
    assert "resume" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["vggsound", "--shard", "20", "--limit", "1", "--out", str(out)])


def test_shard_urls_and_member_ids():
    assert shard_url(0) == f"{BASE_URL}/vggsound_00.tar.gz"
    assert BASE_URL == "https://huggingface.co/datasets/Loie/VGGSound/resolve/main"
    assert shard_url(19, "http://127.0.0.1:9/x/") == "http://127.0.0.1:9/x/vggsound_19.tar.gz"
    for bad in (-1, 20, "3"):
        with pytest.raises(ValueError):
            shard_url(bad)
    assert clip_id_from_member(f"{PREFIX}/---g-f_I2yQ_000001.mp4") == "---g-f_I2yQ_000001"
    assert clip_id_from_member("a/b/README.txt") is None
    assert clip_id_from_member("a/b/") is None


def test_monkeypatching_the_base_url_constant_redirects_the_default(server, tmp_path, monkeypatch):
    monkeypatch.setattr(vggsound_stream, "BASE_URL", server.base_url)
    report = stream_vggsound(3, 1, tmp_path, progress=False)
    assert report.url == f"{server.base_url}/vggsound_03.tar.gz" and report.prepared == 1


def test_read_id_list_formats(tmp_path):
    csv_file = tmp_path / "vggsound.csv"
    csv_file.write_text("---g-f_I2yQ,1,people marching,test\n--0PQM4-hqg,30,waterfall burbling,train\n")
    assert read_id_list(csv_file) == {"---g-f_I2yQ_000001", "--0PQM4-hqg_000030"}
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    with pytest.raises(ValueError, match="empty"):
        read_id_list(empty)
    reference = Path(__file__).resolve().parents[2] / "shared/reference/slavc-metadata/vggss_10k.txt"
    if reference.exists():
        ids = read_id_list(reference)
        assert "00H4-cKmeNg_000153" in ids and len(ids) > 9000


def test_a_local_shard_via_a_file_url_with_progress_bars(shard, tmp_path, capsys):
    folder = tmp_path / "mirror"
    folder.mkdir()
    (folder / "vggsound_05.tar.gz").write_bytes(shard["data"])
    out = tmp_path / "out"
    report = stream_vggsound(5, 2, out, base_url=folder.as_uri(), progress=True)
    assert report.prepared == 2 and completed_ids(out) == set(CLIP_IDS[:2])
    assert "clips from vggsound_05.tar.gz" in capsys.readouterr().err


def test_registering_the_commands_needs_no_video_libraries():
    script = ("import sys, argparse; from slavc_lite.data import commands; "
              "sub = argparse.ArgumentParser().add_subparsers(); "
              "commands.add_prepare_parser(sub); commands.add_vggsound_parser(sub); "
              "assert 'av' not in sys.modules and 'soxr' not in sys.modules, 'imported eagerly'")
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", script], cwd=repo, env={"PYTHONPATH": str(repo)},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert commands.NUM_SHARDS == vggsound_stream.NUM_SHARDS


def test_the_corrupt_shard_is_refused_up_front_and_another_is_suggested(tmp_path, capsys, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("a refused shard must not be fetched")

    monkeypatch.setattr(vggsound_stream, "stream_shard", no_network)
    expected = r"corrupt at the source.*--shard 7 or --shard 9"
    with pytest.raises(vggsound_stream.CorruptShardError, match=expected):
        vggsound_stream.stream_vggsound(8, 1, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    parser = argparse.ArgumentParser(prog="slavc-lite data")
    add_vggsound_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["vggsound", "--shard", "8", "--limit", "1", "--out", str(tmp_path / "out")])
    assert args.func(args) == commands.EXIT_ERROR
    assert "shard 8" in capsys.readouterr().err
    vggsound_stream.check_shard(8, "file:///my/repaired/copy")  # your own copy is not second-guessed
    assert all(k not in vggsound_stream.CORRUPT_SHARDS for k in (0, 1))  # the defaults of the chapters
