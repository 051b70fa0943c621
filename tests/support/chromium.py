"""Debian's Chromium, headless, as the browser tests and the webcam benchmarks start it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM = os.environ.get("FER_DEMO_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [  # the closed network refuses Chromium's background connections: turn them off
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]  # fmt: skip


def launch_with_camera(playwright, camera: Path):
    """Headless Chromium whose fake camera plays ``camera`` (a Y4M file)."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-video-capture={camera}"],
    )
