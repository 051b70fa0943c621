"""The webcam tab's handlers called as plain functions on a real crowd: no browser, no Gradio event."""

from __future__ import annotations

import csv
import itertools
import re
from dataclasses import replace
from pathlib import Path

import pytest

from fer_demo.config import WebcamSettings
from fer_demo.errors import InputError
from fer_demo.ui.webcam_handlers import FRAME_FAILED, NOTHING_RECORDED, RESET, LiveSession
from fer_demo.workflow.webcam import LiveLoad
from tests.support.real_footage import crowd_frames

FPS = 15.0  # what the webcam tab sustains on 2 cores
# Detection inside the step, on a clock that advances a frame at a time: what a frame shows does
# not depend on thread timing (tests/workflow/test_webcam.py covers the background detection).
IN_STEP = WebcamSettings(stream=replace(WebcamSettings().stream, background_detection=False))


@pytest.fixture
def live(studio, tmp_path):
    arrivals = itertools.count(100.0 * FPS)
    session = LiveSession(studio, tmp_path, IN_STEP, clock=lambda: next(arrivals) / FPS)
    yield session
    session.close()


def test_a_real_crowd_streamed_gives_frames_faces_plots_and_a_csv(live):
    load = LiveLoad(cores=2)
    views = [live.analyse(frame, "mini_xception", "none", 0.9, 20, load) for frame in crowd_frames(60)]
    images = [view.image for view in views if view.image is not None]
    assert len(images) >= 59 and Path(images[-1]).exists()  # every new picture is written
    assert len(list(Path(images[-1]).parent.iterdir())) <= 4  # only the last few stay on disk
    said = [re.match(r"\*\*(\d+) faces\*\*", view.status) for view in views if view.status]
    counts = [int(match.group(1)) for match in said if match]
    assert counts and max(counts) >= 6  # the crowd shows up to ten faces, 25-65 px
    assert any(view.timeline is not None for view in views)
    with live.export().open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert len({row["frame"] for row in rows}) == 60 and len({row["face_id"] for row in rows}) >= 6


def test_a_hostile_setting_and_a_failing_frame_are_said_and_the_stream_goes_on(live, monkeypatch):
    load = LiveLoad(cores=2)
    frames = crowd_frames(3)
    hostile = live.analyse(next(frames), "mini_xception", "none", "max", 20, load)
    assert "detection threshold" in hostile.status and hostile.image is None

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    with monkeypatch.context() as patch:
        patch.setattr(live.analysis, "step", broken)
        assert live.analyse(next(frames), "mini_xception", "none", 0.9, 20, load).status == FRAME_FAILED
    assert live.analyse(next(frames), "mini_xception", "none", 0.9, 20, load).image is not None
    assert live.errors == 1


def test_reset_and_export_say_what_happened(live):
    with pytest.raises(InputError, match=NOTHING_RECORDED):
        live.export()
    live.analyse(next(crowd_frames(1)), "mini_xception", "none", 0.9, 20, LiveLoad(cores=2))
    assert live.export().exists()
    assert live.reset() == RESET
    with pytest.raises(InputError):
        live.export()  # nothing recorded since the reset
