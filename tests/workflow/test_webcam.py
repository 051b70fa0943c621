"""The live webcam session, driven frame by frame as the webcam tab drives it."""

from __future__ import annotations

import csv
import json
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer_demo.config import Settings, WebcamSettings
from fer_demo.ui.frame_files import FrameFiles
from fer_demo.ui.webcam_handlers import LiveSession
from fer_demo.ui.webcam_tab import stream_handler
from fer_demo.workflow.studio import Studio
from fer_demo.workflow.webcam import SESSION_COLUMNS, WebcamSession
from tests.support.checkpoints.emo_affectnet import write_lstm_checkpoint, write_static_checkpoint
from tests.support.real_footage import crowd_frames
from tests.support.synthetic_video import webcam_frames

FPS = 15.0  # what the webcam tab sustains on 2 cores
# The tab detects faces in a background thread; these tests detect inside the step, so what a
# frame shows does not depend on thread timing (the background mode has tests of its own).
IN_STEP = WebcamSettings(stream=replace(WebcamSettings().stream, background_detection=False))


def run(session: WebcamSession, frames, model: str = "mini_xception", start: float = 100.0, temporal=None):
    """Feed frames at FPS from clock reading ``start``; returns every update."""
    return [session.step(frame, model, start + i / FPS, temporal) for i, frame in enumerate(frames)]


@pytest.fixture
def session(studio: Studio, tmp_path: Path) -> WebcamSession:
    live = WebcamSession(studio.stream_analyzer, tmp_path / "session.csv", IN_STEP)
    yield live
    live.close()


def test_face_ids_persist_across_frames(session):
    updates = run(session, webcam_frames(30, both=True))
    assert all(u.image is not None and u.image.shape == (480, 640, 3) for u in updates)
    rows = list(session.history)
    ids_per_frame = {}
    for row in rows:
        ids_per_frame.setdefault(row["frame"], set()).add(row["face_id"])
    assert sorted(ids_per_frame) == list(range(1, 30))  # shown from their second detection, the next frame
    assert all(ids == {1, 2} for ids in ids_per_frame.values())  # two faces, the same two ids throughout
    astronaut = [row for row in rows if row["x1"] < 320]
    assert {row["face_id"] for row in astronaut} == {next(iter(astronaut))["face_id"]}
    assert sum(row["top_label"] == "Happiness" for row in astronaut) >= 0.9 * len(astronaut)


def test_status_every_second_and_the_plots_in_turns_not_per_frame(session):
    updates = run(session, webcam_frames(75))  # 5 s at 15 fps
    refreshed = [i for i, u in enumerate(updates) if u.timeline is not None]
    circled = [i for i, u in enumerate(updates) if u.circumplex is not None]
    said = [i for i, u in enumerate(updates) if u.status is not None]
    assert said == [0, 1, 15, 30, 45, 60]  # every second, and at once when the face is first shown
    assert refreshed == [0, 15, 45] and circled == [0, 30, 60]  # each plot every 2 s, never together
    assert "1 face" in updates[refreshed[-1]].status
    assert "15.0 frames/s analysed" in updates[refreshed[-1]].status  # the rate frames came at
    timeline = json.loads(updates[refreshed[-1]].timeline)
    assert {trace["name"] for trace in timeline["data"]} >= {"Happiness", "Neutral"}
    assert max(timeline["data"][0]["x"]) == pytest.approx(refreshed[-1] / FPS, abs=0.01)  # session seconds
    assert timeline["layout"]["xaxis"]["range"] == [0.0, pytest.approx(max(1.0, refreshed[-1] / FPS))]
    assert not updates[-1].has_valence_arousal  # the embedded model gives none: the tab hides the circumplex


def test_every_analysed_frame_has_a_csv_row_timed_by_its_arrival(session):
    faceless = np.full((480, 640, 3), 128, np.uint8)
    frames = [*webcam_frames(5), *[faceless + i for i in range(10)]]  # the person leaves after frame 4
    arrivals = [50.0 + 0.1 * i + (0.05 if i % 2 else 0.0) for i in range(15)]  # uneven, like a network
    for frame, now in zip(frames, arrivals, strict=True):
        session.step(frame, "mini_xception", now)
    rows = list(csv.DictReader(session.export_csv().open()))
    assert [int(row["frame"]) for row in rows] == list(range(15))  # one row per frame, faceless ones too
    assert [float(row["time"]) for row in rows] == pytest.approx([t - 50.0 for t in arrivals], abs=1e-4)
    faces = [row["face_id"] for row in rows]
    assert faces[0] == ""  # seen once: shown from the second sighting
    assert faces[1:5] == ["1"] * 4
    assert faces[-3:] == [""] * 3  # gone from the first detection after the person left


def test_history_keeps_the_last_minute_and_the_csv_keeps_everything(studio, tmp_path):
    session = WebcamSession(studio.stream_analyzer, tmp_path / "s.csv", IN_STEP)
    frames = list(webcam_frames(20))
    for i in range(150):  # 150 frames spread over 149 s
        session.step(frames[i % 20], "mini_xception", 10.0 + i)
    assert session.history[0]["time"] >= 149 - 60 and session.history[-1]["time"] == pytest.approx(149)
    rows = list(csv.DictReader(session.export_csv().open()))
    assert len(rows) == 150 and list(rows[0]) == SESSION_COLUMNS
    assert {row["model"] for row in rows} == {"mini_xception"} and rows[0]["Contempt"] == ""
    session.close()
    assert not (tmp_path / "s.csv").exists()  # closing deletes the session's data


def test_switching_model_resets_buffers_and_keeps_one_csv(tmp_path):
    write_static_checkpoint(tmp_path / "FER_static_ResNet50_AffectNet.pt")
    write_lstm_checkpoint(tmp_path / "FER_dinamic_LSTM_RAVDESS.pt")
    studio = Studio(Settings(weights_dir=tmp_path))
    session = WebcamSession(studio.stream_analyzer, tmp_path / "s.csv", IN_STEP)
    frames = list(webcam_frames(12))
    run(session, frames[:6])
    first = session.analyzer
    assert first.model.spec.name == "mini_xception" and first.tracker.active_ids == [1]

    updates = run(session, frames[6:], "emo_affectnet_resnet50", start=101.0, temporal="lstm_ravdess")
    second = session.analyzer
    assert second is not first and second.lstm is not None
    assert "Switched to" in updates[0].status and "buffers reset" in updates[0].status
    assert {row["model"] for row in session.history} == {"emo_affectnet_resnet50"}  # the old timeline is gone
    window = second.lstm.windows.window_for(1)  # padded with the first sample until it fills
    assert len(np.unique(window, axis=0)) >= 2
    rows = list(csv.DictReader(session.export_csv().open()))
    assert [row["model"] for row in rows] == ["mini_xception"] * 6 + ["emo_affectnet_resnet50"] * 6
    session.close()


def test_a_stale_temporal_choice_for_a_model_without_lstms_is_ignored(session):
    update = session.step(next(webcam_frames(1)), "mini_xception", 1.0, "lstm_ravdess")
    assert session.analyzer is not None and session.analyzer.lstm is None and update.image is not None


def test_two_sessions_do_not_share_state(studio, tmp_path):
    one = WebcamSession(studio.stream_analyzer, tmp_path / "one.csv", IN_STEP)
    two = WebcamSession(studio.stream_analyzer, tmp_path / "two.csv", IN_STEP)
    run(one, webcam_frames(10, both=True))
    run(two, webcam_frames(5))
    assert one.analyzer is not two.analyzer and one.analyzer.tracker is not two.analyzer.tracker
    assert one.analyzer.tracker.active_ids == [1, 2] and two.analyzer.tracker.active_ids == [1]
    assert (one.frames, two.frames) == (10, 5)
    assert len(list(csv.DictReader(two.export_csv().open()))) == 5
    one.close()
    two.close()


def test_a_frame_size_change_restarts_tracking_with_a_message(session):
    run(session, webcam_frames(5))
    small = np.asarray(Image.fromarray(next(webcam_frames(1))).resize((320, 240)))
    update = session.step(small, "mini_xception", 101.0)
    assert "resolution changed to 320x240" in update.status
    assert update.image.shape == (240, 320, 3)


def test_a_camera_pause_restarts_tracking_and_recovers(session):
    run(session, webcam_frames(5))
    update = session.step(next(webcam_frames(1)), "mini_xception", 130.0)  # 30 s without frames
    assert "resumed after 30 s" in update.status and update.image is not None
    run(session, webcam_frames(2), start=130.1)
    assert session.analyzer.tracker.active_ids  # the face is back after its second detection


def test_slow_analysis_is_not_mistaken_for_a_paused_camera(session, monkeypatch):
    """Frames that queue behind a 3 s analysis arrive at once when it ends: no pause."""
    frames = list(webcam_frames(12))
    run(session, frames[:6])
    process = session.analyzer.process
    clock = iter([0.0, 3.0])  # the next frame's analysis takes 3 s of the session's clock

    def slow(frame, time):
        return process(frame, time)

    monkeypatch.setattr("fer_demo.workflow.webcam.session.clock.perf_counter", lambda: next(clock, 3.0))
    monkeypatch.setattr(session.analyzer, "process", slow)
    session.step(frames[6], "mini_xception", 101.0)
    monkeypatch.undo()
    statuses = [u.status for u in run(session, frames[7:], start=104.01)]  # the next frame came right after
    assert not any(status and "resumed" in status for status in statuses)
    assert session.analyzer.tracker.active_ids == [1]


def test_black_no_face_and_missing_frames_get_a_status(session):
    black = np.zeros((480, 640, 3), np.uint8)
    update = session.step(black, "mini_xception", 1.0)
    assert "black" in update.status and update.image is not None
    grey = np.full((480, 640, 3), 128, np.uint8)
    grey[::2] = 120  # not frozen, just faceless
    assert "No face found" in session.step(grey, "mini_xception", 3.0).status  # a detection ran and said so
    grey_and_alpha = [grey[..., 0], np.dstack([grey, np.full((480, 640), 255, np.uint8)])]
    assert [session.step(f, "mini_xception", 4.0 + i).image.shape for i, f in enumerate(grey_and_alpha)] == [
        (480, 640, 3),
        (480, 640, 3),
    ]
    waiting = session.step(None, "mini_xception", 7.0)
    assert waiting.image is None and "Waiting for the camera" in waiting.status


def test_a_frozen_camera_is_reported_and_not_reanalysed(session):
    frame = next(webcam_frames(1))
    updates = [session.step(frame.copy(), "mini_xception", 1.0 + i / FPS) for i in range(45)]
    assert session.frames == 1  # the same picture is analysed once
    assert all(u.image is updates[0].image for u in updates)
    assert any(u.status and "has not changed for 2 s" in u.status for u in updates)


def test_an_unavailable_model_says_why_and_passes_frames_through(session):
    frame = next(webcam_frames(1))
    update = session.step(frame, "emonet_8", 1.0)
    assert "Model unavailable" in update.status and "EmoNet" in update.status
    assert not any(part in update.status for part in (".pth", "/tmp", "http", "python -m"))  # no path
    assert update.image is frame
    assert session.step(frame, "mini_xception", 2.0).status  # choosing a working model recovers


def test_reset_empties_history_csv_and_ids(session):
    run(session, webcam_frames(6))
    session.reset()
    assert not session.history and session.frames == 0
    assert len(list(csv.DictReader(session.export_csv().open()))) == 0
    run(session, webcam_frames(3), start=200.0)
    assert {row["face_id"] for row in session.history} == {1}


def test_no_face_found_is_said_only_when_a_detection_found_none(session):
    frames = list(webcam_frames(20))
    first = session.step(frames[0], "mini_xception", 100.0)
    assert "No face found" not in first.status  # detected once, so shown from the next frame on
    run(session, frames[1:])
    faceless = np.full((480, 640, 3), 128, np.uint8)
    faceless[::2] = 120
    updates = [session.step(faceless + (i % 2), "mini_xception", 102.0 + i / FPS) for i in range(30)]
    statuses = [u.status for u in updates if u.status]
    assert "No face found" in statuses[-1]


def test_two_people_keep_two_ids_for_thirty_seconds(studio, tmp_path):
    """A 30 s stream of two people at 8 analysed frames/s, the rate a shared 2-core server reaches."""
    session = WebcamSession(studio.stream_analyzer, tmp_path / "s.csv", IN_STEP)
    frames = list(webcam_frames(90, both=True))  # the camera's 30 fps clip, looped
    for i in range(240):
        session.step(frames[(i * 30 // 8) % 90], "mini_xception", 10.0 + i / 8)
    rows = list(csv.DictReader(session.export_csv().open()))
    assert {row["face_id"] for row in rows} - {""} == {"1", "2"}
    assert sum(row["face_id"] != "" for row in rows) >= 2 * 235  # both faces in almost every frame
    session.close()


def test_frame_files_keep_only_the_newest_few(tmp_path):
    files = FrameFiles(tmp_path, keep=4)
    paths = [files.write(frame) for frame in webcam_frames(10)]
    assert len(set(paths)) == 10  # a new URL per frame
    assert sorted(p.name for p in files.folder.iterdir()) == [Path(p).name for p in paths[-4:]]
    assert Image.open(paths[-1]).size == (640, 480)
    files.close()
    assert not files.folder.exists()


def test_the_stream_handler_keeps_streaming_after_a_failing_frame(studio, tmp_path, monkeypatch):
    handler = stream_handler(studio, tmp_path)
    frames = webcam_frames(3)
    image, status, timeline, _plane, live = handler(next(frames), "mini_xception", "none", None, None, None)
    assert isinstance(live, LiveSession) and Path(image).exists() and timeline is not None

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(live.analysis, "step", broken)
    _, status, *_ = handler(next(frames), "mini_xception", "none", None, None, live)
    assert "could not be analysed" in status and "boom" not in status
    monkeypatch.undo()
    image, *_, again = handler(next(frames), "mini_xception", "none", None, None, live)
    assert again is live and Path(image).exists()
    live.close()
    assert not live.frames.folder.exists() and not live.analysis.log.path.exists()


def test_the_tab_detects_in_the_background_and_faces_appear_within_a_few_frames(studio, tmp_path):
    """Faces appear within a few frames of the start and keep their ids. Each background detection
    is let finish before the next frame (a detector faster than the camera), so no clock decides."""
    session = WebcamSession(studio.stream_analyzer, tmp_path / "s.csv")
    assert session.settings.stream.background_detection
    frames = list(webcam_frames(45, both=True))
    shown = []
    for i, frame in enumerate(frames):
        session.step(frame, "mini_xception", 100.0 + i / FPS)
        session.analyzer.wait_for_detection(timeout=60)
        shown.append(sorted(session.analyzer.tracker.active_ids))
    first = next(i for i, ids in enumerate(shown) if ids == [1, 2])
    assert first <= 3 and all(ids == [1, 2] for ids in shown[first:])
    rows = list(csv.DictReader(session.export_csv().open()))
    assert {row["face_id"] for row in rows} == {"", "1", "2"} and len(rows) >= 45
    session.close()


class HeldDetector:
    """Finds one fixed face, but only when the test lets it: each call waits for a release."""

    def __init__(self) -> None:
        self.frames: list[int] = []
        self.release = threading.Semaphore(0)
        self.called = threading.Semaphore(0)  # one per call that started

    def detect(self, image, options=None):
        from fer_demo.analysis.faces import FaceDetections

        self.frames.append(int(image[0, 0, 0]))
        self.called.release()
        assert self.release.acquire(timeout=60), "the test never released the detection"
        box = np.array([[100, 100, 220, 240]], np.float32)
        landmarks = np.array([[[130, 150], [190, 150], [160, 180], [135, 210], [185, 210]]], np.float32)
        return FaceDetections(box, np.array([0.99], np.float32), landmarks)


def test_a_background_detection_is_applied_at_its_frame_and_frames_do_not_wait(studio):
    from fer_demo.analysis.stream import StreamAnalyzer
    from fer_demo.config import StreamSettings

    detector = HeldDetector()
    settings = StreamSettings(detect_interval=1.0, min_hits=2, background_detection=True, max_crops=1)
    analyzer = StreamAnalyzer(studio.zoo.get("mini_xception"), detector, settings)
    frame = next(webcam_frames(1))

    def process(i: int) -> int:
        image = frame.copy()
        image[0, 0, 0] = i  # the detector records which frame it was given
        return len(analyzer.process(image, i / 20).faces)  # 20 fps

    # Ten frames go by while the first detection is held: none waits for it (else this would hang).
    shown = [process(i) for i in range(10)]
    assert detector.called.acquire(timeout=60)
    assert detector.frames == [0] and shown == [0] * 10
    detector.release.release()
    analyzer.wait_for_detection(timeout=60)
    shown += [process(10)]  # the result is applied; a new face asks for a second detection at once
    assert detector.called.acquire(timeout=60)
    assert detector.frames == [0, 10] and shown[-1] == 0  # shown once detected twice
    detector.release.release()
    analyzer.wait_for_detection(timeout=60)
    shown += [process(11)]
    assert shown[-1] == 1
    detector.release.release()  # any later detection
    analyzer.close()


def test_at_most_max_crops_known_faces_are_classified_per_frame(studio):
    from fer_demo.analysis.stream import StreamAnalyzer
    from fer_demo.config import StreamSettings

    settings = StreamSettings(detect_every=1000, classify_rate=1000.0, max_crops=1)
    analyzer = StreamAnalyzer(studio.zoo.get("mini_xception"), studio.detector_for(320), settings)
    frames = list(webcam_frames(6, both=True))
    counts = []
    for i, frame in enumerate(frames):
        counts.append(analyzer.process(frame, i / 15).classified)
    # Faces never seen are all classified at once; frames 1 and 2 detect them again (their motion).
    assert counts[:3] == [2, 0, 0]
    assert counts[3:] == [1] * 3  # then one known face per frame, the stalest first


def test_a_real_crowd_coming_and_going_never_stops_the_live_timeline(session):
    """Intel's real clips in a 2x2 grid: up to ten faces, people walking in and out, 40 s. The old
    timeline raised once nine faces had been seen, and the stream showed "could not be analysed"."""
    fps = 5.0
    frames = crowd_frames(200)
    updates = [session.step(frame, "mini_xception", 100.0 + i / fps) for i, frame in enumerate(frames)]
    seen = {row["face_id"] for row in session.history}
    assert len(seen) >= 9  # more faces than the old layout could hold
    per_frame: dict[int, int] = {}
    for row in session.history:
        per_frame[row["frame"]] = per_frame.get(row["frame"], 0) + 1
    assert max(per_frame.values()) >= 6  # many faces at once
    drawn = [json.loads(u.timeline)["data"] for u in updates if u.timeline is not None]
    lines = [[t for t in data if t["type"] == "scatter" and t["x"]] for data in drawn]
    newest = [max(max(t["x"]) for t in traces) for traces in lines if traces]
    assert len(newest) >= 15 and newest == sorted(newest) and newest[-1] > 35.0  # it keeps moving
    last = json.loads([u.timeline for u in updates if u.timeline is not None][-1])
    assert any(trace["type"] == "heatmap" for trace in last["data"])  # the strip of the faces seen
    statuses = [u.status for u in updates if u.status]
    assert all("could not" not in status for status in statuses)
    assert any(f"{count} faces" in statuses[-1] for count in range(4, 11))


def test_back_on_the_server_after_the_live_page_runs_the_model_the_page_named(tmp_path):
    """Server mode with one model, live mode with another, server again: the frames are analysed
    by the model now chosen, not by the first one's analyzer left behind."""
    write_static_checkpoint(tmp_path / "FER_static_ResNet50_AffectNet.pt")
    studio = Studio(Settings(weights_dir=tmp_path))
    session = WebcamSession(studio.stream_analyzer, tmp_path / "s.csv", IN_STEP)
    frames = list(webcam_frames(6))
    run(session, frames[:3], "emo_affectnet_resnet50")
    assert session.analyzer.model.spec.name == "emo_affectnet_resnet50"
    session.add_browser_frames([], "mini_xception")
    run(session, frames[3:], "mini_xception", start=101.0)
    assert session.analyzer.model.spec.name == "mini_xception"
    rows = list(csv.DictReader(session.export_csv().open()))
    assert [row["model"] for row in rows] == ["emo_affectnet_resnet50"] * 3 + ["mini_xception"] * 3
    session.close()
