"""Downloads against a local HTTP server: checksums, truncation, atomic writes."""

import dataclasses
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from skfedmia.datasets import ChecksumError, _loaders, load_location, load_purchases
from skfedmia.datasets._download import fetch_file

LOCATION_TGZ = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "location"
).resolve() / "dataset_location.tgz"

PAYLOAD = b"0123456789" * 5000
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict = {}
    hits: list = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.hits.append(self.path)
        if self.path == "/truncated":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[:1000])  # then the connection closes
            return
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.files = {"/payload": PAYLOAD}
    _Handler.hits = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", _Handler
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_good_checksum_is_written_once(server, tmp_path):
    url, handler = server
    dest = tmp_path / "home" / "sub" / "file.bin"
    assert fetch_file(url + "/payload", dest, sha256=PAYLOAD_SHA) == dest
    assert dest.read_bytes() == PAYLOAD
    assert sorted(p.name for p in dest.parent.iterdir()) == ["file.bin"]
    fetch_file(url + "/payload", dest, sha256=PAYLOAD_SHA)  # present: not fetched again
    assert handler.hits == ["/payload"]


def test_bad_checksum_leaves_nothing(server, tmp_path):
    url, _ = server
    dest = tmp_path / "file.bin"
    with pytest.raises(ChecksumError, match=f"expected sha256 {'0' * 64}, got {PAYLOAD_SHA}"):
        fetch_file(url + "/payload", dest, sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_truncated_transfer_leaves_nothing(server, tmp_path):
    url, _ = server
    dest = tmp_path / "file.bin"
    with pytest.raises(ConnectionError, match="incomplete"):
        fetch_file(url + "/truncated", dest, sha256=PAYLOAD_SHA)
    assert list(tmp_path.iterdir()) == []


def test_http_error_leaves_nothing(server, tmp_path):
    url, _ = server
    with pytest.raises(OSError, match="404"):
        fetch_file(url + "/missing", tmp_path / "file.bin")
    assert list(tmp_path.iterdir()) == []


def test_unknown_checksum_warns_with_the_digest(server, tmp_path):
    url, _ = server
    with pytest.warns(UserWarning, match=f"No checksum is recorded.*{PAYLOAD_SHA}"):
        fetch_file(url + "/payload", tmp_path / "file.bin")
    assert (tmp_path / "file.bin").read_bytes() == PAYLOAD


def test_loader_downloads_into_data_home(server, tmp_path, monkeypatch):
    if not LOCATION_TGZ.is_file():
        pytest.skip(f"real Location file absent ({LOCATION_TGZ})")
    url, handler = server
    handler.files["/dataset_location.tgz"] = LOCATION_TGZ.read_bytes()
    monkeypatch.setattr(
        _loaders,
        "LOCATION",
        dataclasses.replace(_loaders.LOCATION, url=url + "/dataset_location.tgz"),
    )
    X, y = load_location(data_home=tmp_path, download=True, return_X_y=True)
    assert X.shape == (5010, 446)
    assert (
        tmp_path / "location" / "dataset_location.tgz"
    ).read_bytes() == LOCATION_TGZ.read_bytes()
    X2, y2 = load_location(
        data_home=tmp_path, download=True, return_X_y=True
    )  # from the data home now
    assert handler.hits == ["/dataset_location.tgz"]
    assert np.array_equal(y, y2)


def test_loader_refuses_a_wrong_download(server, tmp_path, monkeypatch):
    url, handler = server
    monkeypatch.setattr(
        _loaders, "LOCATION", dataclasses.replace(_loaders.LOCATION, url=url + "/payload")
    )
    with pytest.raises(ChecksumError, match="discarded"):
        load_location(data_home=tmp_path, download=True, return_X_y=True)
    # nothing is kept but the marker that lets clear_data_home delete the folder
    kept = [p.name for p in tmp_path.rglob("*") if p.is_file()]
    assert kept == [".skfedmia-data-home"]


def test_no_download_without_asking(server, tmp_path, monkeypatch):
    url, handler = server
    monkeypatch.setattr(
        _loaders, "PURCHASE", dataclasses.replace(_loaders.PURCHASE, url=url + "/payload")
    )
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_purchases(data_home=tmp_path, return_X_y=True)
    assert handler.hits == []
