"""The live session's pieces, each on its own: the plot schedule, the status words, the camera
watch and the session record."""

from __future__ import annotations

import csv

import numpy as np

from fer_demo.workflow.webcam.camera import CameraWatch
from fer_demo.workflow.webcam.recording import SESSION_COLUMNS, SessionRecording
from fer_demo.workflow.webcam.schedule import PlotSchedule
from fer_demo.workflow.webcam.status import StatusFacts, status_text


def test_plots_are_redrawn_once_a_second_both_first_then_by_turns():
    schedule = PlotSchedule(refresh_every=1.0)
    due = [t / 10 for t in range(45) if schedule.due(t / 10)]
    assert due == [0.0, 1.0, 2.0, 3.0, 4.0]
    turns = [schedule.next_redraw() for _ in range(4)]
    assert [(r.timeline, r.circumplex) for r in turns] == [(True, True), (True, False), (False, True),
                                                           (True, False)]  # fmt: skip
    schedule.redraw_now()
    assert schedule.due(4.1) and schedule.next_redraw().circumplex  # a restart redraws both at once


def test_the_status_says_faces_or_why_there_are_none():
    assert status_text(StatusFacts(faces=3, seconds=12.4, frames_per_s=9.96)) == (
        "**3 faces** · 10.0 frames/s analysed · 12 s recorded"
    )
    assert status_text(StatusFacts(0, 1, 5, dark=True)).startswith("**The picture is black**")
    assert status_text(StatusFacts(0, 1, 5, none_found=True)).startswith("**No face found**")
    assert status_text(StatusFacts(0, 1, 5)).startswith("Looking for faces")
    said = status_text(StatusFacts(1, 1, 5, too_small=4, notice="Camera resumed after 9 s."))
    assert said.split(" · ") == [
        "**1 face**",
        "4 more too small to read (grey boxes)",
        "5.0 frames/s analysed",
        "1 s recorded",
        "Camera resumed after 9 s.",
    ]


def test_the_camera_watch_tells_a_pause_a_new_resolution_and_a_frozen_picture():
    watch = CameraWatch(gap_seconds=3.0, frozen_seconds=2.0)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (480, 640, 3), np.uint8)
    assert watch.break_before(frame, 10.0) is None
    watch.answered(10.2)
    assert watch.break_before(frame, 12.0) is None  # 1.8 s after the answer: a slow frame, no pause
    watch.answered(12.1)
    assert "resumed after 5 s" in watch.break_before(frame, 17.1)
    assert "resolution changed to 320x240" in watch.break_before(frame[:240, :320], 17.2)
    assert not watch.is_frozen(frame, 0.0, shown=False)  # nothing shown yet: analyse it
    assert watch.is_frozen(frame.copy(), 1.0) and watch.frozen_text(1.0) is None  # a copy: not again
    assert "has not changed for 3 s" in watch.frozen_text(3.0)
    assert not watch.is_frozen(rng.integers(0, 255, (480, 640, 3), np.uint8), 3.1)


def test_the_record_keeps_every_frame_in_the_csv_and_the_last_minute_in_memory(tmp_path):
    recording = SessionRecording(tmp_path / "s.csv", history_seconds=60.0, rate_window=5.0)
    for i in range(100):  # 100 frameless (faceless) seconds at 1 fps, then the rate at 10 fps
        recording.add(float(i), [], "mini_xception")
    for i in range(50):
        recording.add(100 + i / 10, [], "mini_xception")
    with recording.export().open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == recording.frames == 150 and list(rows[0]) == SESSION_COLUMNS
    assert rows[0]["model"] == "mini_xception" and rows[0]["face_id"] == ""  # a row even without a face
    assert 9.0 <= recording.frame_rate(104.9) <= 10.0
    recording.reset()
    assert recording.frames == 0 and recording.frame_rate(1.0) == 0.0
    recording.close()
    assert not (tmp_path / "s.csv").exists()  # faces are biometric data: the file goes with the session
