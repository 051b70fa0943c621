"""Many clients at once against the running app: requests, errors, latency and memory.

    python benchmarks/bench_load.py --images 8 --seconds 120            # 8 clients of /analyze
    python benchmarks/bench_load.py --images 2 --videos 3 --seconds 120 # photos while videos run

The app is started here (``python app.py`` on a free loopback port, offline,
embedded model) unless ``--url`` names one already running on loopback; the
load never leaves this machine. Each image client sends a photo to /analyze
as soon as its last answer came back; each video client sends a 10 s clip to
/analyze_video and waits for the result. RSS is the app process's, after its
first request, after a warm-up at the same load, and again after the run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlparse

import av
import numpy as np
from gradio_client import Client, handle_file
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.running_app import start_app

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = [ROOT / "examples" / name for name in ("astronaut.jpg", "two-faces.jpg", "biden-portrait.jpg")]
MAX_CLIENTS, MAX_SECONDS = 32, 900  # bounded: this is a benchmark, not an attack


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, error: str | None) -> None:
        with self.lock:
            (self.errors.append(error) if error else self.latencies.append(seconds))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def write_clip(path: Path, seconds: float = 10.0, fps: int = 30) -> Path:
    """640x360 H.264: the astronaut's face gliding across a gradient."""
    face = np.asarray(Image.open(PHOTOS[0]).convert("RGB").crop((120, 10, 330, 250)).resize((140, 160)))
    background = np.zeros((360, 640, 3), np.uint8)
    background[..., 0] = np.linspace(40, 160, 640, dtype=np.uint8)
    background[..., 2] = 110
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        frames = int(seconds * fps)
        for i in range(frames):
            frame = background.copy()
            x = 10 + i * (640 - 160) // frames
            frame[100:260, x : x + 140] = face
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def image_client(url: str, until: float, tally: Tally, downloads: Path) -> None:
    client = Client(url, verbose=False, download_files=str(downloads))
    i = 0
    while time.monotonic() < until:
        started = time.perf_counter()
        try:
            result = client.predict(
                handle_file(str(PHOTOS[i % len(PHOTOS)])), "mini_xception", api_name="/analyze"
            )
            error = None if result["faces"] else "no face found"
        except Exception as failure:  # every failure is a finding: count it, say what it was
            error = f"{type(failure).__name__}: {failure}"
        tally.add(time.perf_counter() - started, error)
        i += 1


def video_client(url: str, until: float, tally: Tally, clip: Path, downloads: Path) -> None:
    client = Client(url, verbose=False, download_files=str(downloads))
    while time.monotonic() < until:
        started = time.perf_counter()
        try:
            status, *_ = client.predict(
                handle_file(str(clip)), "mini_xception", "none", 10, 640, 0.3, api_name="/analyze_video"
            )
            error = None if status.startswith("Done") else f"unexpected status: {status[:80]}"
        except Exception as failure:
            error = f"{type(failure).__name__}: {failure}"
        tally.add(time.perf_counter() - started, error)


def load(
    url: str, images: int, videos: int, seconds: float, clip: Path, downloads: Path
) -> tuple[Tally, Tally]:
    """``images`` + ``videos`` clients for ``seconds``; returns their tallies."""
    image_tally, video_tally = Tally(), Tally()
    until = time.monotonic() + seconds
    jobs = [(image_client, (url, until, image_tally, downloads / f"i{i}")) for i in range(images)]
    jobs += [(video_client, (url, until, video_tally, clip, downloads / f"v{n}")) for n in range(videos)]
    threads = [threading.Thread(target=target, args=job_args) for target, job_args in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return image_tally, video_tally


def describe(name: str, tally: Tally) -> str:
    values = sorted(tally.latencies)
    if not values:
        return f"{name}: 0 answered, {len(tally.errors)} errors"
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    line = (f"{name}: {len(values) + len(tally.errors)} requests, {len(tally.errors)} errors, "
            f"p50 {statistics.median(values):.2f} s, p95 {p95:.2f} s, max {values[-1]:.2f} s")  # fmt: skip
    if tally.errors:
        line += f"\n  first error: {tally.errors[0][:200]}"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8, help="concurrent /analyze clients")
    parser.add_argument("--videos", type=int, default=0, help="concurrent /analyze_video clients")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--url", help="an app already running on loopback (its RSS is then not measured)")
    args = parser.parse_args()
    if args.images + args.videos > MAX_CLIENTS or args.seconds > MAX_SECONDS:
        raise SystemExit(f"at most {MAX_CLIENTS} clients and {MAX_SECONDS} s")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        app, url = (None, args.url) if args.url else start_app(scratch / "weights", scratch / "app.log")
        if urlparse(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("loopback only: this benchmark must not load anyone else's server")
        try:
            clip = write_clip(scratch / "clip.mp4")
            image_client(url, time.monotonic() + 1, Tally(), scratch)  # one request: the model loads
            idle = rss_mb(app.pid) if app else None
            # The first seconds at full concurrency allocate what every later second reuses
            # (threads, per-thread buffers, the video encoder): measure growth after them.
            load(url, args.images, args.videos, min(20.0, args.seconds / 6), clip, scratch / "warm")
            before = rss_mb(app.pid) if app else None
            images, videos = load(url, args.images, args.videos, args.seconds, clip, scratch / "run")
            time.sleep(2)
            after = rss_mb(app.pid) if app else None
        finally:
            if app:
                app.terminate()
                app.wait(30)
    print(f"{args.images} image clients, {args.videos} video clients, {args.seconds:.0f} s, embedded model")
    print(describe("/analyze", images))
    if args.videos:
        print(describe("/analyze_video (10 s 640x360 clip)", videos))
    if before is not None:
        print(f"app RSS: {idle:.0f} MB idle, {before:.0f} MB after the warm-up at full load, "
              f"{after:.0f} MB after the run ({after - before:+.0f} MB over the run)")  # fmt: skip


if __name__ == "__main__":
    main()
