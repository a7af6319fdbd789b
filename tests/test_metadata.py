"""Official metadata files: local folder, cached download from a loopback server, readers."""

from __future__ import annotations

import functools
import http.server
import shutil
import socket
import threading
from pathlib import Path

import pytest

from slavc_lite.data import metadata as md
from slavc_lite.errors import InputFileError

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "slavc-metadata"


@pytest.fixture
def reference() -> Path:
    if not (REFERENCE / "vggss.json").is_file():
        pytest.skip(f"reference metadata not found at {REFERENCE}")
    return REFERENCE


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def server(tmp_path, reference):
    """A 127.0.0.1 http server serving a copy of the reference metadata under /metadata/."""
    served = tmp_path / "served"
    shutil.copytree(reference, served / "metadata")
    handler = functools.partial(_QuietHandler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/metadata/"
    yield httpd, url
    httpd.shutdown()
    httpd.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_local_folder(reference):
    assert md.metadata_file("vggss.json", folder=reference) == reference / "vggss.json"
    with pytest.raises(InputFileError, match="nope.csv"):
        md.metadata_file("nope.csv", folder=reference)


def test_cache_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SLAVC_LITE_CACHE", str(tmp_path / "c"))
    assert md.default_metadata_cache() == tmp_path / "c" / "metadata"
    monkeypatch.delenv("SLAVC_LITE_CACHE")
    assert md.default_metadata_cache() == Path.home() / ".cache" / "slavc-lite" / "metadata"


def test_unknown_name_needs_a_folder(tmp_path):
    with pytest.raises(ValueError, match="toy.json"):
        md.metadata_file("toy.json", cache_dir=tmp_path)


def test_download_then_cache(server, monkeypatch, tmp_path, reference):
    httpd, url = server
    monkeypatch.setattr(md, "METADATA_BASE_URL", url)
    cache = tmp_path / "cache"
    path = md.metadata_file("flickr_test.csv", cache_dir=cache)
    assert path == cache / "flickr_test.csv"
    assert path.read_bytes() == (reference / "flickr_test.csv").read_bytes()
    assert [p.name for p in cache.iterdir()] == ["flickr_test.csv"]  # no temporary leftovers
    httpd.shutdown()
    httpd.server_close()
    monkeypatch.setattr(md, "METADATA_BASE_URL", f"http://127.0.0.1:{_closed_port()}/metadata/")
    assert md.metadata_file("flickr_test.csv", cache_dir=cache) == path  # served from the cache


def test_offline_error_names_url(monkeypatch, tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/metadata/"
    monkeypatch.setattr(md, "METADATA_BASE_URL", url)
    with pytest.raises(md.MetadataUnavailableError) as info:
        md.metadata_file("vggss.json", cache_dir=tmp_path)
    assert url + "vggss.json" in str(info.value)
    assert "folder" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_failed_download_leaves_nothing(server, monkeypatch, tmp_path):
    _, url = server
    monkeypatch.setattr(md, "METADATA_BASE_URL", url + "missing/")  # 404
    with pytest.raises(md.MetadataUnavailableError, match="404"):
        md.metadata_file("vggss_test.csv", cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_invalid_download_is_not_cached(server, monkeypatch, tmp_path):
    httpd, url = server
    served = Path(httpd.RequestHandlerClass.keywords["directory"]) / "metadata"
    (served / "vggss.json").write_text("<html>rate limited</html>")
    monkeypatch.setattr(md, "METADATA_BASE_URL", url)
    with pytest.raises(md.MetadataUnavailableError, match="valid vggss.json"):
        md.metadata_file("vggss.json", cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_readers_on_reference(reference):
    assert len(md.read_id_list(reference / "vggss_test.csv")) == 5158  # CRLF file
    assert md.read_id_list(reference / "flickr_test.csv")[:2] == ["10000130166", "10007936344"]
    assert len(md.read_id_list(reference / "vggss_10k.txt")) == 10000
    anns = md.read_vggss_annotations(reference / "vggss.json")
    assert len(anns) == 5158
    first = anns["zpWuikVorYg_000032"]
    assert first.label == "elk bugling" and first.boxes == [[0.403125, 0.253125, 0.6, 0.75]]
    assert md.read_vggss_boxes(reference / "vggss.json")["zpWuikVorYg_000032"] == first.boxes
    pairs = md.read_plus_silent(reference / "flickr_test_plus_silent.csv")
    assert len(pairs) == 250 and pairs[0] == ("10000130166", "10437048305")


@pytest.mark.parametrize(
    ("name", "content", "reader"),
    [
        ("empty.txt", "", md.read_id_list),
        ("bad.json", "{not json", md.read_vggss_boxes),
        ("dict.json", '{"a": 1}', md.read_vggss_boxes),
        ("nobox.json", '[{"file": "x", "bbox": [[0, 1]]}]', md.read_vggss_boxes),
        ("short.csv", "video,audio\nx,y\n", md.read_plus_silent),
        ("bad.xml", "<annotation><object>", md.read_flickr_xml),
        ("badbox.xml", "<a><o><bbox><idx>0</idx><x>1</x></bbox></o></a>", md.read_flickr_xml),
    ],
)
def test_bad_files_name_the_file(tmp_path, name, content, reader):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputFileError, match=name):
        reader(path)


def test_flickr_xml(tmp_path):
    path = tmp_path / "1.xml"
    path.write_text(
        "<annotation><filename>1.jpg</filename>"
        "<object><bbox><idx>0</idx><xmin>10</xmin><ymin>20</ymin><xmax>100</xmax><ymax>200</ymax></bbox>"
        "<name>dog</name></object>"
        "<object><bbox><idx>1</idx><xmin>0</xmin><ymin>0</ymin><xmax>256</xmax><ymax>128</ymax></bbox></object>"
        "</annotation>"
    )
    # The non-bbox grandchild <name> adds no (empty) box, unlike the official parser.
    assert md.read_flickr_xml(path) == [[10, 20, 100, 200], [0, 0, 256, 128]]
