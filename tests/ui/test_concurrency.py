"""One user's slow or failing request never stalls another's; Cancel really stops a video.

The app runs on a free port; a stalling weights server stands in for GitHub.
"""

from __future__ import annotations

import csv
import dataclasses
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from fer_demo.config import Settings
from fer_demo.models import specs
from fer_demo.models.specs import WeightFile
from fer_demo.ui import build_demo
from fer_demo.workflow.studio import Studio
from tests.support.paths import EXAMPLES, free_port
from tests.support.synthetic_video import make_clip

STALLED_MODEL = "enet_b0_7"


class StallingServer:
    """Answers with a 10 MB Content-Length, sends 1 kB, then stalls until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", str(10 << 20))
                self.end_headers()
                self.wfile.write(b"\0" * 1024)
                self.wfile.flush()
                outer.release.wait(60)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/{STALLED_MODEL}.pt"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()


@pytest.fixture(scope="module")
def stalling():
    server = StallingServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory, stalling):
    patch = pytest.MonkeyPatch()
    patch.delenv("FER_DEMO_OFFLINE", raising=False)
    patch.delenv("HF_HUB_OFFLINE", raising=False)
    spec = specs.MODEL_SPECS[STALLED_MODEL]
    weight = WeightFile(f"{STALLED_MODEL}.pt", url=stalling.url, git_sha1="0" * 40)
    patch.setitem(specs.MODEL_SPECS, STALLED_MODEL, dataclasses.replace(spec, weights=(weight,)))
    studio = Studio(Settings(weights_dir=tmp_path_factory.mktemp("weights")))
    studio.zoo.store.timeout = 20.0  # seconds without a byte before the download gives up
    studio.zoo.store.retries = 1
    demo = build_demo(studio)
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    yield demo
    demo.close()
    patch.undo()


def client_for(app, tmp_path: Path) -> Client:
    return Client(app.local_url, verbose=False, download_files=str(tmp_path))


def analyze_astronaut(client: Client) -> None:
    result = client.predict(
        handle_file(str(EXAMPLES / "astronaut.jpg")), "mini_xception", api_name="/analyze"
    )
    assert result["faces"][0]["top_label"] == "Happiness"


def wait_until(condition, seconds: float = 60.0, what: str = "the condition") -> None:
    """Poll ``condition`` until it holds (a generous deadline: a busy machine is slow, not wrong)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_stalled_download_delays_no_other_request(app, stalling, tmp_path):
    """Three requests wait for a download held open by the server: other requests are answered
    all along (the stall is an event this test holds, so no clock decides the outcome)."""
    quick = client_for(app, tmp_path / "quick")
    analyze_astronaut(quick)
    waiting = [client_for(app, tmp_path / f"slow{i}") for i in range(3)]  # more than the old limit of 2
    jobs = [
        c.submit(handle_file(str(EXAMPLES / "astronaut.jpg")), STALLED_MODEL, api_name="/analyze")
        for c in waiting
    ]
    wait_until(lambda: stalling.requests > 0, what="the download to start")
    assert stalling.requests == 1  # three requests, one download
    for _ in range(5):
        analyze_astronaut(quick)  # answered while the download is stalled
    assert not any(job.done() for job in jobs)  # they wait for the download, alone
    stalling.release.set()  # the download now ends with a short file: its hash check fails
    for job in jobs:
        with pytest.raises(AppError, match="unavailable"):
            job.result(timeout=60)
    with pytest.raises(AppError, match=r"unavailable.*(next try|tries again)"):
        waiting[0].predict(handle_file(str(EXAMPLES / "astronaut.jpg")), STALLED_MODEL, api_name="/analyze")
    assert stalling.requests == 1  # the failure is remembered: no second download, an answer at once


def test_cancel_over_the_api_stops_the_video_with_partial_results(app, tmp_path):
    clip = make_clip(tmp_path / "long.mp4", seconds=40.0, fps=30.0, second_face=None)
    short = make_clip(tmp_path / "short.mp4", seconds=1.0, fps=10.0, second_face=None)
    client = client_for(app, tmp_path / "video")
    args = (handle_file(str(clip.path)), "mini_xception", "none", 1, 640, 0.3)
    client.predict(handle_file(str(short.path)), *args[1:], api_name="/analyze_video")  # a warm server
    job = client.submit(*args, api_name="/analyze_video")
    wait_until(lambda: len(job.outputs()) >= 2, what="progress updates")  # it runs
    assert not job.done()
    answer = client.predict(api_name="/cancel_video")
    assert "Cancelling" in answer
    status, _preview, video, timeline, *_others, csv_path, _json = job.result(timeout=60)
    assert status.startswith("**Cancelled** after")
    rows = list(csv.DictReader(Path(csv_path).read_text().splitlines()))
    with av.open(video["video"] if isinstance(video, dict) else video) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert 0 < len(rows) == frames < clip.frames  # the partial video and CSV agree
    assert f"cover {frames} frames" in status  # the status says what was done...
    assert "No faces found" not in status and "1 person" in status  # ...and the face it saw, even briefly
    assert "Happiness" in timeline["plot"]  # the charts cover the frames done
    # The video slot is free again: a short clip starts and finishes.
    status, *_ = client.predict(handle_file(str(short.path)), *args[1:], api_name="/analyze_video")
    assert status.startswith("Done: 10 frames")


def test_cancel_with_nothing_running_says_so(app, tmp_path):
    assert "Nothing to cancel" in client_for(app, tmp_path).predict(api_name="/cancel_video")
