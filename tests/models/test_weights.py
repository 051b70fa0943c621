"""Weight files: found in order, downloaded atomically, resumed, retried and verified."""

from __future__ import annotations

import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fer_demo.models.specs import WeightFile
from fer_demo.models.weights import WeightsError, WeightStore, download, git_blob_sha1

CONTENT = bytes(range(256)) * 4096  # 1 MiB


class FlakyServer:
    """Serves CONTENT at /file.pt; the first ``cut`` responses stop halfway, ``status`` overrides."""

    def __init__(self, cut: int = 0, status: int = 200) -> None:
        self.cut, self.status, self.requests = cut, status, []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append({k.lower(): v for k, v in self.headers.items()})
                if server.status != 200:
                    self.send_error(server.status)
                    return
                start = int(self.headers.get("Range", "bytes=0-")[6:].rstrip("-") or 0)
                body = CONTENT[start:]
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut > 0:
                    server.cut -= 1
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.close()  # the connection drops mid-transfer
                    return
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/file.pt"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(**kwargs) -> FlakyServer:
        servers.append(FlakyServer(**kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def blob_sha1(data: bytes) -> str:
    import hashlib

    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def test_git_blob_sha1_matches_git(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(CONTENT)
    expected = subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True, check=True)
    assert git_blob_sha1(path) == expected.stdout.strip() == blob_sha1(CONTENT)


def test_interrupted_download_resumes_with_range_and_verifies(serve, tmp_path):
    server = serve(cut=1)
    weight = WeightFile("file.pt", url=server.url, git_sha1=blob_sha1(CONTENT))
    seen = []
    path = download(server.url, tmp_path / "file.pt", weight, progress=lambda d, t: seen.append((d, t)))
    assert path.read_bytes() == CONTENT
    assert not (tmp_path / "file.pt.part").exists()
    assert len(server.requests) == 2 and server.requests[1]["range"] == f"bytes={len(CONTENT) // 2}-"
    assert seen[-1] == (len(CONTENT), len(CONTENT))


def test_hash_mismatch_is_refused_naming_file_url_and_both_hashes(serve, tmp_path):
    server = serve()
    wrong = "0" * 40
    weight = WeightFile("file.pt", url=server.url, git_sha1=wrong)
    with pytest.raises(WeightsError) as info:
        download(server.url, tmp_path / "file.pt", weight)
    message = str(info.value)
    assert "file.pt" in message and server.url in message
    assert wrong in message and blob_sha1(CONTENT) in message
    assert list(tmp_path.iterdir()) == []  # neither the file nor its .part remains


def test_a_part_file_is_never_promoted_when_every_attempt_fails(serve, tmp_path):
    server = serve(cut=5)
    weight = WeightFile("file.pt", url=server.url, git_sha1=blob_sha1(CONTENT))
    with pytest.raises(WeightsError, match="after 2 attempts"):
        download(server.url, tmp_path / "file.pt", weight, retries=2)
    assert not (tmp_path / "file.pt").exists()
    assert len(server.requests) == 2
    # The next fetch resumes the .part left behind and finishes the job.
    server.cut = 0
    store = WeightStore(tmp_path, retries=2)
    store_weight = WeightFile("file.pt", url=server.url, git_sha1=blob_sha1(CONTENT))
    assert store.fetch(store_weight).read_bytes() == CONTENT
    assert "range" in server.requests[-1]


def test_http_404_is_not_retried(serve, tmp_path):
    server = serve(status=404)
    weight = WeightFile("file.pt", url=server.url, git_sha1=blob_sha1(CONTENT))
    with pytest.raises(WeightsError, match="HTTP 404"):
        download(server.url, tmp_path / "file.pt", weight, retries=3)
    assert len(server.requests) == 1


def test_store_remembers_a_failed_download_as_the_reason(serve, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("FER_DEMO_OFFLINE", raising=False)
    server = serve(status=404)
    weight = WeightFile("file.pt", url=server.url, git_sha1=blob_sha1(CONTENT))
    store = WeightStore(tmp_path, retries=1)
    assert store.availability([weight]).needs_download
    with pytest.raises(WeightsError):
        store.fetch(weight)
    status = store.availability([weight])
    assert not status.available and "HTTP 404" in status.reason


def test_resolution_order_local_folder_then_hub_cache(tmp_path, monkeypatch):
    import huggingface_hub.constants

    hub = tmp_path / "hub"
    snapshot = hub / "models--org--repo" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "model.pt").write_bytes(b"from the hub cache")
    (hub / "models--org--repo" / "refs").mkdir()
    (hub / "models--org--repo" / "refs" / "main").write_text("abc123")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub))
    weight = WeightFile("model.pt", hub_repo="org/repo")
    store = WeightStore(tmp_path / "weights")
    assert store.locate(weight) == snapshot / "model.pt"
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "model.pt").write_bytes(b"local copy")
    assert store.locate(weight) == tmp_path / "weights" / "model.pt"  # the local folder wins


def test_offline_mode_never_downloads(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_DEMO_OFFLINE", "1")
    weight = WeightFile("file.pt", url="http://127.0.0.1:9/never", git_sha1="0" * 40)
    store = WeightStore(Path(tmp_path))
    assert not store.availability([weight]).available
    with pytest.raises(WeightsError, match="downloads are off"):
        store.fetch(weight)


def test_an_offline_machine_is_told_at_once_instead_of_retrying(tmp_path, monkeypatch):
    """A host name that cannot be looked up means no network: no retries with waits between them."""
    waits = []
    monkeypatch.setattr("fer_demo.models.weights.time.sleep", waits.append)
    weight = WeightFile("file.pt", url="http://weights.invalid/file.pt", sha256="0" * 64)
    with pytest.raises(WeightsError, match="no network"):
        download(weight.url, tmp_path / "file.pt", weight, retries=3)
    assert waits == []  # not one backoff
