"""Start-up: the app to its first page, and the library and CLI to their first answer.

    python benchmarks/bench_startup.py [--runs 3] [--source DIR]   # the app: python app.py
    python benchmarks/bench_startup.py --commands [--source DIR]

A Space restarts cold after sleeping: the first figure is what its visitors wait for.
The app's log is checked for model loads ("loading ..."): there must be none.
``--commands`` times what a researcher waits for, each a fresh interpreter (the median of
``--runs``): ``import fer_demo``, ``import fer_demo.api``, ``--help``, and a corpus run of
one photo, first with the work to do, then again with nothing to do. ``--source`` runs
another checkout's code (an older commit, for a before/after in one sitting).
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


def start_once(weights: Path, source: Path) -> tuple[float, bool]:
    port = free_port()
    env = {**os.environ, "FER_DEMO_WEIGHTS_DIR": str(weights), "FER_DEMO_OFFLINE": "1"}
    started = time.perf_counter()
    app = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=source, env=env,
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


def timed(command: list[str], source: Path, env: dict[str, str]) -> float | None:
    """Seconds the command took, or None when it failed (a step an older version lacks)."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=source, env=env, capture_output=True)
    return time.perf_counter() - started if done.returncode == 0 else None


def command_times(source: Path, runs: int) -> None:
    python = [sys.executable]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "in").mkdir()
        (folder / "in" / "two-faces.jpg").write_bytes((ROOT / "examples" / "two-faces.jpg").read_bytes())
        env = {**os.environ, "FER_DEMO_OFFLINE": "1", "FER_DEMO_WEIGHTS_DIR": str(folder / "weights"),
               "PYTHONPATH": str(source)}  # fmt: skip
        batch = [*python, "-m", "fer_demo", "batch", str(folder / "in"), "--model", "mini_xception",
                 "--workers", "1", "--out"]  # fmt: skip
        steps = {
            "import fer_demo": lambda _: [*python, "-c", "import fer_demo"],
            "import fer_demo.api": lambda _: [*python, "-c", "import fer_demo.api"],
            "import fer_demo.corpus": lambda _: [*python, "-c", "import fer_demo.corpus"],
            "python -m fer_demo --help": lambda _: [*python, "-m", "fer_demo", "--help"],
            "corpus run, 1 photo to do": lambda run: [*batch, str(folder / f"out{run}")],
            "corpus re-run, nothing to do": lambda run: [*batch, str(folder / f"out{run}")],
        }
        print(f"source: {source}")
        for name, command in steps.items():
            times = [timed(command(run), source, env) for run in range(runs)]
            if None in times:
                print(f"{name:<30} fails with this source")
                continue
            shown = ", ".join(f"{t:.2f}" for t in times)
            print(f"{name:<30} median {statistics.median(times):6.2f} s   ({shown})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--commands", action="store_true", help="time the library and the CLI, not the app")
    parser.add_argument("--source", type=Path, default=ROOT, help="the checkout whose code runs")
    args = parser.parse_args()
    if args.commands:
        command_times(args.source.resolve(), args.runs)
        return
    with tempfile.TemporaryDirectory() as weights:
        results = [start_once(Path(weights), args.source.resolve()) for _ in range(args.runs)]
    times = [seconds for seconds, _ in results]
    print(f"source: {args.source.resolve()}")
    print(f"start-up to first page, {args.runs} runs: " + ", ".join(f"{t:.1f} s" for t in times)
          + f"; median {statistics.median(times):.1f} s; models loaded at start: "
          + ("YES" if any(loaded for _, loaded in results) else "none"))  # fmt: skip


if __name__ == "__main__":
    main()
