"""llmbook.data.fetch against a real HTTP server on 127.0.0.1: caching, checksum refusal, errors."""

import hashlib
import http.server
import threading
from functools import partial

import pytest

from llmbook.data import ChecksumError, fetch
from llmbook.data.download import cache_dir

GOOD = b"a small corpus file\n" * 100
CORRUPT = GOOD[:-5] + b"XXXX\n"


def sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


@pytest.fixture()
def server(tmp_path):
    """Serve tmp_path/www over HTTP on a free loopback port; count the requests per path."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "good.txt").write_bytes(GOOD)
    (root / "corrupt.txt").write_bytes(CORRUPT)
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output clean
            pass

        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield base, root, requests
    httpd.shutdown()
    httpd.server_close()


def test_good_file_is_downloaded_once_then_served_from_the_cache(server, tmp_path):
    base, _, requests = server
    cache = tmp_path / "cache"
    path = fetch(f"{base}/good.txt", sha256(GOOD), folder=cache)
    assert path.read_bytes() == GOOD and path.parent == cache
    again = fetch(f"{base}/good.txt", "sha256:" + sha256(GOOD).upper(), folder=cache)
    assert again == path and requests == ["/good.txt"]  # the second call did not touch the network


def test_corrupted_download_is_refused_and_never_kept(server, tmp_path):
    base, _, _ = server
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumError, match=r"does not have the expected SHA-256 .* deleted and not used"):
        fetch(f"{base}/corrupt.txt", sha256(GOOD), folder=cache)
    assert not cache.exists() or not any(cache.iterdir())


def test_cached_file_damaged_on_disk_is_downloaded_again(server, tmp_path):
    base, _, requests = server
    cache = tmp_path / "cache"
    path = fetch(f"{base}/good.txt", sha256(GOOD), folder=cache)
    path.write_bytes(b"bit rot")
    assert fetch(f"{base}/good.txt", sha256(GOOD), folder=cache).read_bytes() == GOOD
    assert requests == ["/good.txt", "/good.txt"]


def test_server_changed_the_file_after_it_was_cached(server, tmp_path):
    base, root, _ = server
    cache = tmp_path / "cache"
    path = fetch(f"{base}/good.txt", sha256(GOOD), folder=cache)
    path.write_bytes(b"bit rot")
    (root / "good.txt").write_bytes(CORRUPT)
    with pytest.raises(ChecksumError):
        fetch(f"{base}/good.txt", sha256(GOOD), folder=cache)


def test_malformed_checksum_is_rejected_before_any_download(server, tmp_path):
    base, _, requests = server
    with pytest.raises(ValueError, match="sha256 must be 64 hex digits.*sha256sum FILE"):
        fetch(f"{base}/good.txt", "abc123", folder=tmp_path)
    assert requests == []


def test_missing_file_and_unreachable_server_raise_connection_error(server, tmp_path):
    base, _, _ = server
    with pytest.raises(ConnectionError, match="could not download .*/absent.txt"):
        fetch(f"{base}/absent.txt", sha256(GOOD), folder=tmp_path)
    with pytest.raises(ConnectionError, match="optional"):
        fetch("http://127.0.0.1:9/nothing.txt", sha256(GOOD), folder=tmp_path)


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LLMBOOK_DATA", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("LLMBOOK_DATA")
    assert "llmbook" in str(cache_dir())
