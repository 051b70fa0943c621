"""Minutes of webcam on a real crowd, in both modes, as a visitor leaves it running.

    python benchmarks/soak_webcam.py [--live-minutes 10] [--server-minutes 5] [--model mini_xception]

The app runs as ``python app.py``; headless Chromium's fake camera plays the 640x480 crowd of
tests/support/real_footage.py (Intel's CC BY 4.0 clips in a 2x2 grid: up to ten real faces, people
walking in and out, looping). Live mode first, then server mode. Every 10 s it reads the
status line and the live timeline's last second; at the end it prints, per mode: minutes run,
timeline stalls (10 s without the timeline moving on), the most faces the status counted, how
often it said "could not be analysed" or an error, the tracebacks and ERROR lines in the app's
log, and the app's CPU (cores) with the camera running.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.running_app import cpu_seconds, start_app  # noqa: E402
from fer_demo.browser.vendor import local_folder, vendor_runtime  # noqa: E402
from tests.support.chromium import CHROMIUM, launch_with_camera  # noqa: E402
from tests.support.real_footage import crowd_frames  # noqa: E402
from tests.support.synthetic_video import write_y4m  # noqa: E402

TIMELINE_END = """() => {
  const plot = document.querySelector('#webcam-timeline .js-plotly-plot');
  const range = plot && plot.layout && plot.layout.xaxis && plot.layout.xaxis.range;
  return range ? range[1] : null;
}"""


def watch(page, minutes: float, server_pid: int, log: Path) -> dict:
    """Observe the page every 10 s for ``minutes``; what a visitor and the server's log saw."""
    logged_before = len(log.read_text())
    cpu_before = cpu_seconds([server_pid])
    ends, statuses = [], []
    for _ in range(round(minutes * 6)):
        page.wait_for_timeout(10_000)
        ends.append(page.evaluate(TIMELINE_END))
        statuses.append(page.locator("#webcam-status").inner_text())
    logged = log.read_text()[logged_before:]
    counted = [int(m.group(1)) for text in statuses if (m := re.search(r"(\d+) faces?", text))]
    return {
        "minutes": minutes,
        "stalls": sum(1 for a, b in itertools.pairwise(ends) if a is None or b is None or b <= a),
        "most_faces": max(counted, default=0),
        "failed_frames": sum("could not" in text or "Error" in text for text in statuses),
        "tracebacks": logged.count("Traceback"),
        "errors": sum(" ERROR " in line for line in logged.splitlines()),
        "cpu": (cpu_seconds([server_pid]) - cpu_before) / (minutes * 60),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live-minutes", type=float, default=10.0)
    parser.add_argument("--server-minutes", type=float, default=5.0)
    parser.add_argument("--model", default="mini_xception")
    args = parser.parse_args()
    if CHROMIUM is None:
        sys.exit("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    ort_dir = vendor_runtime(local_folder())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "weights").mkdir()
        camera = write_y4m(tmp / "crowd.y4m", crowd_frames(116), fps=25)
        log = tmp / "app.log"
        server, url = start_app(
            tmp / "weights", log, {"FER_DEMO_MODEL": args.model, "FER_DEMO_ORT_DIR": str(ort_dir)}
        )
        results = {}
        try:
            with sync_playwright() as playwright:
                browser = launch_with_camera(playwright, camera)
                context = browser.new_context(viewport={"width": 1366, "height": 768})
                context.grant_permissions(["camera"])
                page = context.new_page()
                page.goto(url)
                page.get_by_role("tab", name="Webcam").click()
                if args.live_minutes:
                    page.get_by_role("button", name="Start the camera").click()
                    page.wait_for_function("window.__ferLive?.state === 'running'", timeout=180_000)
                    results["live"] = watch(page, args.live_minutes, server.pid, log)
                    page.get_by_role("button", name="Stop the camera").click()
                if args.server_minutes:
                    page.get_by_label("On the server").check()
                    webcam = page.locator("#webcam-input")
                    webcam.get_by_role("button", name=re.compile("webcam", re.I)).click()
                    webcam.get_by_role("button").filter(has_text="Record").click()
                    page.locator("#webcam-output img").wait_for(timeout=60_000)
                    results["server"] = watch(page, args.server_minutes, server.pid, log)
                browser.close()
        finally:
            server.terminate()
            server.wait()
    print(f"webcam soak, model {args.model}, fake camera: the real crowd (up to 10 faces), 640x480 at 25 fps")
    print(f"{'mode':<7} {'minutes':>7} {'timeline stalls':>15} {'most faces':>10} {'failed frames':>13} "
          f"{'tracebacks':>10} {'ERROR lines':>11} {'app CPU (cores)':>15}")  # fmt: skip
    for mode, r in results.items():
        print(f"{mode:<7} {r['minutes']:>7g} {r['stalls']:>15} {r['most_faces']:>10} "
              f"{r['failed_frames']:>13} {r['tracebacks']:>10} {r['errors']:>11} "
              f"{r['cpu']:>15.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
