"""The webcam as a viewer sees it: Chromium with a fake camera, the app running beside it.

    python benchmarks/bench_webcam_browser.py [--seconds 30] [--models enet_b0_8_best_afew,...]
        [--layouts shared,pinned] [--profile DIR] [--env KEY=VALUE] [--cpu-cap CPUS]

The fake camera plays a 640x480 30 fps clip of two faces whose frames carry
their index as a barcode (``tests/support/webcam_meter.py``). The page reads the
barcode of every annotated frame it displays and of the camera frame shown at
that moment, so the figures are what a viewer sees: distinct annotated frames
displayed per second and the camera-to-display delay. "shared" runs the app
and Chromium on both cores; "pinned" puts the app on core 0 and Chromium on
core 1 (``taskset``), as if they were two machines. Models load random weights
in their published formats: speed does not depend on the values.
``--profile DIR`` also records the server with py-spy during each run.
``--cpu-cap 1`` gives app and browser one CPU of time in all (a cgroup quota),
half of what a 2-core machine has: a stand-in for a slower machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.running_app import cap_cpu, cpu_seconds, start_app, write_random_weights  # noqa: E402
from tests.support.chromium import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402
from tests.support.webcam_meter import LiveFigures, meter_script, summarise, write_camera_clip  # noqa: E402

CLIP_SECONDS, CLIP_FPS = 6.0, 30
DEFAULT_MODELS = "enet_b0_8_best_afew,mini_xception"


def browser_pids() -> list[int]:
    """Every Chromium process (the benchmark runs on a machine of its own)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().startswith("chrom"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def watch(
    url: str,
    camera: Path,
    seconds: float,
    cores: str | None,
    shot: Path | None,
    server_pid: int,
    on_start=lambda: None,
) -> tuple[LiveFigures, float, float]:
    """Open the Webcam tab in Chromium, start the camera, and measure ``seconds`` of live output.

    Returns the figures and the cores the server and the browser used on average (1.0 = one core).
    """
    from playwright.sync_api import sync_playwright

    if cores is not None:  # Chromium inherits the benchmark's affinity
        os.sched_setaffinity(0, {int(c) for c in cores.split(",")})
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-video-capture={camera}"],
            )
            context = browser.new_context(viewport={"width": 1366, "height": 768})
            context.grant_permissions(["camera"])
            page = context.new_page()
            page.add_init_script(meter_script())
            posted = []
            page.on("request", lambda r: posted.append(1) if "/gradio_api/stream/" in r.url else None)
            page.goto(url)
            page.get_by_role("tab", name="Webcam").click()
            webcam = page.locator("#webcam-input")
            webcam.get_by_role("button", name=re.compile("webcam", re.I)).click()
            webcam.get_by_role("button").filter(has_text="Record").click()
            page.locator("#webcam-output img").wait_for(timeout=120_000)
            page.wait_for_timeout(3000)  # past the first frames (model warm-up, first detection)
            page.evaluate("window.__meter.loads = []")
            posted.clear()
            on_start()
            chromium = browser_pids()
            server_before, browser_before = cpu_seconds([server_pid]), cpu_seconds(chromium)
            page.wait_for_timeout(seconds * 1000)
            loads = page.evaluate("window.__meter.loads")
            sent = len(posted)
            server_cpu = (cpu_seconds([server_pid]) - server_before) / seconds
            browser_cpu = (cpu_seconds(chromium) - browser_before) / seconds
            if shot is not None:
                page.screenshot(path=str(shot))
            browser.close()
    finally:
        os.sched_setaffinity(0, set(range(os.cpu_count())))
    figures = summarise(loads, sent, seconds, round(CLIP_SECONDS * CLIP_FPS), CLIP_FPS)
    return figures, server_cpu, browser_cpu


def profile(pid: int, seconds: float, out: Path) -> subprocess.Popen | None:
    """py-spy on the server for ``seconds`` (collapsed stacks), when py-spy is installed."""
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        print("py-spy is not installed: no profile", file=sys.stderr)
        return None
    return subprocess.Popen(
        [py_spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "50",
         "--format", "raw", "--output", str(out), "--threads", "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--models", default=DEFAULT_MODELS, help="comma-separated model names")
    parser.add_argument("--layouts", default="shared,pinned", help="shared and/or pinned")
    parser.add_argument("--profile", type=Path, help="folder for py-spy profiles of the server")
    parser.add_argument("--screenshots", type=Path, help="folder for a screenshot at the end of each run")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the app (repeatable)")
    parser.add_argument("--cpu-cap", type=float, help="CPUs of time for app and browser together "
                        "(a cgroup quota, root only): a slower machine")  # fmt: skip
    args = parser.parse_args()
    if args.cpu_cap:
        cap_cpu(args.cpu_cap)
    if CHROMIUM is None:
        sys.exit("Chromium is not installed (apt-get install chromium)")
    if os.cpu_count() < 2 and "pinned" in args.layouts:
        sys.exit("pinning needs 2 cores")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        weights = tmp / "weights"
        weights.mkdir()
        write_random_weights(weights)
        camera = write_camera_clip(tmp / "camera.y4m", CLIP_SECONDS, CLIP_FPS)
        print(f"Chromium, fake camera 640x480 at {CLIP_FPS} fps (two faces), {args.seconds:g} s per run, "
              f"{os.cpu_count()} CPUs")  # fmt: skip
        print(f"{'model':<24} {'layout':<7} {'displayed/s':>11} {'delay ms p50':>13} {'p95':>6} "
              f"{'first/last third':>17} {'posted/s':>9} {'server CPU':>10} {'browser CPU':>11}")  # fmt: skip
        for model in args.models.split(","):
            for layout in args.layouts.split(","):
                server_cores, browser_cores = ("0", "1") if layout == "pinned" else (None, None)
                log_path = tmp / f"{model}-{layout}.log"
                env = {"FER_DEMO_MODEL": model, **dict(item.split("=", 1) for item in args.env)}
                server, url = start_app(weights, log_path, env, server_cores)
                spies: list = []

                def start_profile(spies=spies, out=f"{model}-{layout}.txt", pid=server.pid) -> None:
                    if args.profile:
                        args.profile.mkdir(parents=True, exist_ok=True)
                        spies.append(profile(pid, args.seconds, args.profile / out))

                try:
                    shot = args.screenshots / f"{model}-{layout}.png" if args.screenshots else None
                    if shot:
                        shot.parent.mkdir(parents=True, exist_ok=True)
                    figures, server_cpu, browser_cpu = watch(
                        url, camera, args.seconds, browser_cores, shot, server.pid, start_profile
                    )
                finally:
                    for spy in filter(None, spies):
                        spy.wait()
                    server.terminate()
                    server.wait()
                    if os.environ.get("KEEP_LOG"):
                        shutil.copy(log_path, os.environ["KEEP_LOG"])
                first, last = figures.delay_trend() if figures.delays_ms else (float("nan"),) * 2
                print(f"{model:<24} {layout:<7} {figures.displayed_fps:>11.1f} "
                      f"{figures.delay_percentile(50):>13.0f} {figures.delay_percentile(95):>6.0f} "
                      f"{first:>8.0f}/{last:<8.0f} {figures.posted_fps:>9.1f} {server_cpu:>10.2f} "
                      f"{browser_cpu:>11.2f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
