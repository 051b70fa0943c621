"""A real Chromium (Debian's, headless) driving the running app, with a fake camera.

Every test saves a screenshot under ``test-artifacts/browser/``; a failing test
also keeps the server log there. Without Chromium the browser tests are
skipped, unless ``FER_DEMO_REQUIRE_BROWSER=1`` (CI sets it) makes that a failure;
``FER_DEMO_CHROMIUM`` names another Chromium-based browser.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

import gradio as gr
import pytest

from fer_demo.browser.vendor import local_folder, vendor_runtime
from fer_demo.config import Settings
from fer_demo.ui import build_demo, launch_options
from fer_demo.workflow.studio import Studio
from tests.support.chromium import CHROMIUM, launch_with_camera
from tests.support.paths import ARTIFACTS, free_port
from tests.support.webcam_meter import write_camera_clip


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.failed_call = report.failed
    return report


@pytest.fixture(scope="session")
def server_log(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("server") / "server.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    yield path
    logging.getLogger().removeHandler(handler)


def require_browser(message: str) -> None:
    """Skip, or fail where the browser tests must run (CI sets FER_DEMO_REQUIRE_BROWSER=1)."""
    if os.environ.get("FER_DEMO_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def ort_dir() -> Path | None:
    """onnxruntime-web's files for the live mode, fetched once with npm into a cache (offline after)."""
    folder = local_folder()
    try:
        return vendor_runtime(folder)
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        if os.environ.get("FER_DEMO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"onnxruntime-web is not available for the live mode: {error}")
        return None  # the live tests skip


@pytest.fixture(scope="session")
def app(tmp_path_factory, server_log, ort_dir) -> gr.Blocks:
    settings = Settings(weights_dir=tmp_path_factory.mktemp("weights"), ort_dir=ort_dir)
    demo = build_demo(Studio(settings))
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                **launch_options(demo))  # fmt: skip
    yield demo
    demo.close()


@pytest.fixture(scope="session")
def app_url(app) -> str:
    return app.local_url


@pytest.fixture
def live_app(app, ort_dir) -> gr.Blocks:
    """The app, where the live mode can run (its runtime files are here)."""
    if ort_dir is None:
        pytest.skip("onnxruntime-web could not be fetched (npm): no live mode")
    return app


@pytest.fixture(scope="session")
def playwright():
    """One Playwright for the session: its sync API allows one instance per thread."""
    if CHROMIUM is None:
        require_browser("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(playwright, tmp_path_factory):
    # Two faces at 30 fps, each frame's index in a barcode (tests/support/webcam_meter.py), looping every 3 s.
    camera = write_camera_clip(tmp_path_factory.mktemp("camera") / "faces.y4m", seconds=3.0)
    browser = launch_with_camera(playwright, camera)
    yield browser
    browser.close()


def _open_page(browser, request, server_log, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    context.grant_permissions(["camera"])
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = request.node.name.replace("/", "_")
    try:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    finally:
        log_copy = ARTIFACTS / f"{name}.server.log"
        if getattr(request.node, "failed_call", False):
            shutil.copy(server_log, log_copy)
        else:
            log_copy.unlink(missing_ok=True)  # a log left by an earlier failure of this test
        context.close()


@pytest.fixture
def page(browser, request, server_log):
    yield from _open_page(browser, request, server_log, 1280, 900)


@pytest.fixture
def laptop(browser, request, server_log):
    """A common laptop screen (1366x768)."""
    yield from _open_page(browser, request, server_log, 1366, 768)


@pytest.fixture
def phone(browser, request, server_log):
    """A phone-width page (390 px, an iPhone 12-15)."""
    yield from _open_page(browser, request, server_log, 390, 844)


@pytest.fixture(scope="session")
def crowd_browser(playwright, tmp_path_factory):
    """A Chromium whose fake camera plays a real crowd: Intel's clips in a 2x2 grid (up to ten
    faces, people walking in and out; tests/support/real_footage.py), 640x480 at 25 fps, looping."""
    from tests.support.real_footage import crowd_frames
    from tests.support.synthetic_video import write_y4m

    camera = write_y4m(tmp_path_factory.mktemp("crowd") / "crowd.y4m", crowd_frames(116), fps=25)
    browser = launch_with_camera(playwright, camera)
    yield browser
    browser.close()


@pytest.fixture
def crowd_laptop(crowd_browser, request, server_log):
    """A 1366x768 page whose camera films a crowd."""
    yield from _open_page(crowd_browser, request, server_log, 1366, 768)
