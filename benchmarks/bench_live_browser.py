"""The webcam's live mode as a visitor meets it: Chromium analysing a fake camera itself.

    python benchmarks/bench_live_browser.py [--seconds 30] [--models mini_xception,enet_b0_8_best_afew]

The app runs as ``python app.py`` with onnxruntime-web served from a local
folder (``FER_DEMO_ORT_DIR``, filled with npm), beside a headless Chromium
whose fake camera plays a 640x480 30 fps clip of two faces. Per model it
prints what the page measured over ``--seconds``: boxes drawn per second (the
overlay's frame rate), classifications per second per face, the detector's
and the classifier's milliseconds (each in a Web Worker on one thread), the
first load (MB fetched and seconds, gzip on the wire), what a second visit
downloads, the frames sent to the server (none), and the server's CPU: while
the camera runs (its once-a-second summaries), with the page open and the
camera stopped, and the difference per summary.
Models load random weights in their published formats: speed does not
depend on the values.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.running_app import cap_cpu, cpu_seconds, start_app, write_random_weights  # noqa: E402
from fer_demo.browser.vendor import local_folder, vendor_runtime  # noqa: E402
from tests.support.chromium import CHROMIUM, launch_with_camera  # noqa: E402
from tests.support.webcam_meter import write_camera_clip  # noqa: E402

DEFAULT_MODELS = "mini_xception,enet_b0_8_best_afew"
CLIP_FACES = 2  # the fake camera shows two faces throughout
FETCHED_JS = """() => performance.getEntriesByType("resource")
  .filter((e) => e.name.includes("/live-assets/") || e.name.includes("onnxruntime-web"))
  .reduce((sum, e) => sum + e.transferSize, 0)"""


def live_page(
    browser, url: str, model: str, seconds: float, server_pid: int, faces: int = CLIP_FACES
) -> dict:
    """Start the live camera with ``model``, measure ``seconds``, then visit again from the cache."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.grant_permissions(["camera"])
    page = context.new_page()
    frames_sent = []
    page.on("request", lambda r: frames_sent.append(1) if "/gradio_api/stream/" in r.url else None)
    page.goto(url)
    page.get_by_role("tab", name="Webcam").click()
    page.get_by_role("button", name="Start the camera").click()
    page.wait_for_function("window.__ferLive?.state === 'running'", timeout=180_000)
    first_load = page.evaluate("({seconds: __ferLive.loadSeconds, bytes: __ferLive.loadedBytes})")
    first_load["wire"] = page.evaluate(FETCHED_JS)
    page.wait_for_function(
        f"window.__ferLive.faces.filter((f) => f.label).length >= {faces}", timeout=120_000
    )
    page.wait_for_timeout(3000)  # past the first classifications
    before = page.evaluate("({...window.__ferLive})")
    cpu_before = cpu_seconds([server_pid])
    on_screen = []
    for _ in range(int(seconds)):  # the faces labelled on screen, once a second
        page.wait_for_timeout(1000)
        on_screen.append(page.evaluate("window.__ferLive.faces.filter((f) => f.label).length"))
    after = page.evaluate("({...window.__ferLive})")
    server_cpu = (cpu_seconds([server_pid]) - cpu_before) / seconds
    page.get_by_role("button", name="Stop the camera").click()
    page.wait_for_timeout(2000)
    cpu_before = cpu_seconds([server_pid])
    page.wait_for_timeout(10_000)
    idle_cpu = (cpu_seconds([server_pid]) - cpu_before) / 10  # the page open, the camera stopped
    page.reload()  # a second visit, same browser cache
    page.get_by_role("tab", name="Webcam").click()
    page.get_by_role("button", name="Start the camera").click()
    page.wait_for_function("window.__ferLive?.state === 'running'", timeout=60_000)
    second_visit = page.evaluate(FETCHED_JS)
    context.close()
    return {
        "overlay_fps": (after["overlays"] - before["overlays"]) / seconds,
        "faces": float(np.mean(on_screen)),
        "classify_per_face": (after["classifications"] - before["classifications"])
        / seconds
        / max(1.0, float(np.mean(on_screen))),
        "detect_ms": float(np.median(after["detectMs"])),
        "classify_ms": float(np.median(after["classifyMs"])),
        "first_load": first_load,
        "second_visit": second_visit,
        "frames_sent": len(frames_sent),
        "summaries": after["summariesSent"] - before["summariesSent"],
        "server_cpu": server_cpu,
        "idle_cpu": idle_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--models", default=DEFAULT_MODELS, help="comma-separated live-mode models")
    parser.add_argument(
        "--clips",
        default="two,crowd",
        help="two: two synthetic faces; crowd: up to ten "
        "real faces coming and going (Intel's clips, tests/support/real_footage.py)",
    )
    parser.add_argument("--cpu-cap", type=float, help="CPUs of time for app and browser together (root only)")
    args = parser.parse_args()
    if CHROMIUM is None:
        sys.exit("Chromium is not installed (apt-get install chromium)")
    if args.cpu_cap:
        cap_cpu(args.cpu_cap)
    from playwright.sync_api import sync_playwright

    ort_dir = vendor_runtime(local_folder())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        weights = tmp / "weights"
        weights.mkdir()
        write_random_weights(weights)
        from tests.support.real_footage import crowd_frames
        from tests.support.synthetic_video import write_y4m

        cameras = {
            "two": (write_camera_clip(tmp / "camera.y4m", 6.0, 30), CLIP_FACES),
            "crowd": (write_y4m(tmp / "crowd.y4m", crowd_frames(116), fps=25), 5),
        }
        capped = f", capped at {args.cpu_cap:g} CPU" if args.cpu_cap else ""
        print(f"Chromium live mode, fake camera 640x480 (two: 2 synthetic faces at 30 fps; crowd: up to 10 "
              f"real faces coming and going at 25 fps), {args.seconds:g} s, "
              f"{os.cpu_count()} CPUs{capped}")  # fmt: skip
        print(f"{'clip':<6} {'model':<22} {'faces':>5} {'overlay fps':>11} {'cls/s/face':>10} "
              f"{'detect ms':>9} {'classify ms':>11} {'first load MB (wire) s':>23} {'2nd visit MB':>12} "
              f"{'frames sent':>11} "
              f"{'server CPU':>10} {'per summary':>11} {'stopped':>7}")  # fmt: skip
        for clip, model in [(c, m) for c in args.clips.split(",") for m in args.models.split(",")]:
            camera, faces = cameras[clip]
            env = {"FER_DEMO_MODEL": model, "FER_DEMO_ORT_DIR": str(ort_dir)}
            server, url = start_app(weights, tmp / f"{model}.log", env)
            try:
                with sync_playwright() as playwright:
                    browser = launch_with_camera(playwright, camera)
                    figures = live_page(browser, url, model, args.seconds, server.pid, faces)
                    browser.close()
            finally:
                server.terminate()
                server.wait()
            load = figures["first_load"]
            # What the summaries add to what the server spends with the page open and idle.
            extra = figures["server_cpu"] - figures["idle_cpu"]
            per_summary = extra * args.seconds / max(1, figures["summaries"]) * 1000
            first = f"{load['bytes'] / 1e6:.1f} ({load['wire'] / 1e6:.1f}) {load['seconds']:.1f}"
            print(f"{clip:<6} {model:<22} {figures['faces']:>5.1f} "
                  f"{figures['overlay_fps']:>11.1f} {figures['classify_per_face']:>10.1f} "
                  f"{figures['detect_ms']:>9.1f} {figures['classify_ms']:>11.1f} {first:>23} "
                  f"{figures['second_visit'] / 1e6:>12.2f} {figures['frames_sent']:>11} "
                  f"{figures['server_cpu']:>10.3f} {per_summary:>8.0f} ms {figures['idle_cpu']:>7.3f}",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
