"""Webcam speed over HTTP: the running app fed the way the browser feeds it, 1 and 4 sessions at once.

    python benchmarks/bench_webcam.py [--seconds 30] [--models enet_b0_8_best_afew,mini_xception,...]
        [--sessions 1,4] [--memory-minutes 10]

Each simulated browser speaks Gradio's streaming protocol (``tests/support/stream_client.py``):
it joins the queue, then posts the camera's newest frame as a JPEG data URL
every ``1 / FER_DEMO_WEBCAM_FPS`` seconds (``--offer-fps`` to change it),
whether or not the last one was answered, as the page does, and fetches every
annotated frame it is told about. The camera is a 30 fps clip of two faces
whose frames carry their index as a barcode (``tests/support/webcam_meter.py``), so each fetched frame says
which camera frame it shows. Printed per session: distinct annotated frames
per second, the round trip (frame posted to annotated frame fetched) and the
delay from the camera to the fetched frame, p50 and p95, and the median delay
of the first and last thirds (equal when no backlog builds).
"""

from __future__ import annotations

import argparse
import base64
import io
import math
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.running_app import cpu_seconds, start_app, write_random_weights  # noqa: E402
from fer_demo.config import Settings  # noqa: E402
from tests.support.stream_client import AppSession  # noqa: E402
from tests.support.webcam_meter import camera_frames, read_stamp  # noqa: E402

CAMERA_FPS, CLIP_FRAMES = 30, 180
DEFAULT_MODELS = "enet_b0_8_best_afew,mini_xception,emo_affectnet_resnet50,emonet_8"


def camera_clip(side: int) -> list[dict]:
    """The camera's frames as the page sends them: JPEG data URLs (quality 0.92, like toDataURL)."""
    payloads = []
    for frame in camera_frames(CLIP_FRAMES, size=(side, side * 3 // 4)):
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, "JPEG", quality=92)
        url = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
        payloads.append(
            {"url": url, "path": None, "orig_name": "frame.jpeg", "meta": {"_type": "gradio.FileData"}}
        )
    return payloads


@dataclass
class SessionFigures:
    seconds: float = 0.0
    shown: list[int] = field(default_factory=list)  # camera frame of each fetched annotated frame
    round_trips_ms: list[float] = field(default_factory=list)
    delays_ms: list[float] = field(default_factory=list)

    @property
    def fps(self) -> float:
        distinct = sum(1 for i, index in enumerate(self.shown) if i == 0 or index != self.shown[i - 1])
        return distinct / self.seconds

    def trend(self) -> tuple[float, float]:
        third = max(1, len(self.delays_ms) // 3)
        return float(np.median(self.delays_ms[:third])), float(np.median(self.delays_ms[-third:]))


def browser(
    url: str,
    clip: list[dict],
    model: str,
    interval: float,
    seconds: float,
    warmup: float,
    on_answer: Callable[[float], None] = lambda elapsed: None,
) -> SessionFigures:
    """One webcam session for ``warmup + seconds``; figures over the last ``seconds``.

    When the stream reaches the app's time limit the server completes it, and the page joins
    the queue again with its newest frame (the session's state carries over): so does this.
    ``on_answer`` is called with the seconds since the start after every answer.
    """
    session = AppSession(url)
    defaults = Settings()
    inputs = [model, "none", defaults.face_threshold, defaults.face_min_size]  # the page's defaults
    start = time.perf_counter()
    posted: dict[int, float] = {}  # camera frame -> when it was posted

    def newest() -> int:
        return math.floor((time.perf_counter() - start) * CAMERA_FPS) % CLIP_FRAMES

    def join() -> str:
        index = newest()
        posted[index] = time.perf_counter()
        return session.open_stream("webcam_stream", clip[index], *inputs)

    stream = {"event": join()}
    stop = threading.Event()

    def post_frames() -> None:  # the page's timer: the newest frame every interval, answered or not
        tick = time.perf_counter()
        while not stop.is_set():
            tick += interval
            time.sleep(max(0.0, tick - time.perf_counter()))
            index = newest()
            posted[index] = time.perf_counter()
            session.post("webcam_stream", stream["event"], clip[index], *inputs)

    poster = threading.Thread(target=post_frames, daemon=True)
    poster.start()
    figures = SessionFigures()
    measure_from = start + warmup
    while time.perf_counter() < measure_from + seconds:
        message = session.answer(stream["event"], timeout=30)
        if not message.get("success"):
            raise RuntimeError(f"the stream failed: {message.get('output')}")
        on_answer(time.perf_counter() - start)
        if message["msg"] == "process_completed":  # the time limit: join again
            stream["event"] = join()
            continue
        image = message["output"]["data"][0]
        if not (isinstance(image, dict) and image.get("url")):
            continue
        pixels = np.asarray(Image.open(io.BytesIO(session.fetch(image))).convert("L"))
        fetched = time.perf_counter()
        index = read_stamp(pixels, mirrored=False)
        if fetched < measure_from or index not in posted:
            continue
        figures.shown.append(index)
        figures.round_trips_ms.append((fetched - posted[index]) * 1000)
        figures.delays_ms.append((newest() - index) % CLIP_FRAMES * 1000 / CAMERA_FPS)
    figures.seconds = time.perf_counter() - measure_from
    stop.set()
    poster.join()
    session.close_stream(stream["event"])
    session.close()
    return figures


def run(url: str, clip: list[dict], model: str, sessions: int, interval: float, seconds: float) -> list:
    results: list[SessionFigures | None] = [None] * sessions

    def one(i: int) -> None:
        results[i] = browser(url, clip, model, interval, seconds, warmup=5.0)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def rss_mb(pid: int) -> float:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="per measurement, after 5 s of warm-up")
    parser.add_argument("--models", default=DEFAULT_MODELS)
    parser.add_argument("--sessions", default="1,4", help="session counts, run for the first model only")
    parser.add_argument("--offer-fps", type=float, help="frames posted per second (the page's rate)")
    parser.add_argument("--memory-minutes", type=float, default=0.0, help="one session this long: RSS growth")
    args = parser.parse_args()
    settings = Settings.from_env()
    interval = 1 / (args.offer_fps or settings.webcam_fps)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        weights = tmp / "weights"
        weights.mkdir()
        write_random_weights(weights)
        server, url = start_app(weights, tmp / "app.log")
        try:
            clip = camera_clip(settings.webcam_side)
            size = f"{settings.webcam_side}x{settings.webcam_side * 3 // 4}"
            print(f"HTTP, Gradio's streaming protocol; {size} JPEG frames posted every "
                  f"{interval * 1000:.0f} ms; {os.cpu_count()} CPUs")  # fmt: skip
            print(f"{'model':<26} {'sessions':>8} {'fps each':>16} {'round trip p50':>15} {'p95':>6} "
                  f"{'delay p50':>10} {'p95':>6} {'delay first/last third':>23} "
                  f"{'server CPU':>10}")  # fmt: skip
            models = args.models.split(",")
            loader = AppSession(url)
            for model in models:  # loaded (and exported to ONNX) before anything is timed
                loader.call("webcam_model", model)
            loader.close()
            for model in models:
                for sessions in [int(n) for n in args.sessions.split(",")] if model == models[0] else [1]:
                    before = cpu_seconds([server.pid])
                    began = time.perf_counter()
                    results = run(url, clip, model, sessions, interval, args.seconds)
                    cpu = (cpu_seconds([server.pid]) - before) / (time.perf_counter() - began)
                    trips = np.concatenate([r.round_trips_ms for r in results])
                    delays = np.concatenate([r.delays_ms for r in results])
                    fps = ", ".join(f"{r.fps:.1f}" for r in results)
                    trend = " | ".join("{:.0f}/{:.0f}".format(*r.trend()) for r in results)
                    print(f"{model:<26} {sessions:>8} {fps:>16} {np.percentile(trips, 50):>15.0f} "
                          f"{np.percentile(trips, 95):>6.0f} {np.percentile(delays, 50):>10.0f} "
                          f"{np.percentile(delays, 95):>6.0f} {trend:>23} {cpu:>10.2f}",
                          flush=True)  # fmt: skip
            if args.memory_minutes:
                rss: dict[str, float] = {}

                def sample(elapsed: float) -> None:
                    rss["now"] = rss_mb(server.pid)
                    if elapsed >= 60:
                        rss.setdefault("after one minute", rss["now"])

                one = browser(url, clip, models[0], interval, args.memory_minutes * 60.0, 0.0, sample)
                after_one, at_end = rss["after one minute"], rss["now"]
                print(f"\nmemory, one {models[0]} session for {args.memory_minutes:g} min "
                      f"({len(one.shown)} frames, {one.fps:.1f}/s): RSS after 1 min {after_one:.0f} MB, "
                      f"at the end {at_end:.0f} MB, growth {at_end - after_one:+.0f} MB")  # fmt: skip
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
