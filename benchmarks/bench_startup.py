"""Seconds from ``python app.py`` to a page that answers, with no model loaded.

    python benchmarks/bench_startup.py [--runs 3]

A Space restarts cold after sleeping: this is what its visitors wait for.
The app's log is checked for model loads ("loading ..."): there must be none.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_once(weights: Path) -> tuple[float, bool]:
    port = free_port()
    env = {**os.environ, "FER_DEMO_WEIGHTS_DIR": str(weights), "FER_DEMO_OFFLINE": "1"}
    started = time.perf_counter()
    app = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if app.poll() is not None:
                raise SystemExit(f"app.py exited:\n{app.stdout.read()}")
            time.sleep(0.05)
        seconds = time.perf_counter() - started
    finally:
        app.terminate()
        log, _ = app.communicate(timeout=30)
    return seconds, " loading " in log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as weights:
        results = [start_once(Path(weights)) for _ in range(args.runs)]
    times = [seconds for seconds, _ in results]
    print(f"start-up to first page, {args.runs} runs: " + ", ".join(f"{t:.1f} s" for t in times)
          + f"; median {statistics.median(times):.1f} s; models loaded at start: "
          + ("YES" if any(loaded for _, loaded in results) else "none"))  # fmt: skip


if __name__ == "__main__":
    main()
