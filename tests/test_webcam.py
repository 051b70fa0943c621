"""The live webcam session, driven frame by frame as the webcam tab drives it."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer_demo.config import Settings
from fer_demo.studio import Studio
from fer_demo.ui.frame_files import FrameFiles
from fer_demo.ui.webcam_tab import LiveSession, stream_handler
from fer_demo.webcam import SESSION_COLUMNS, WebcamSession

from .checkpoints.emo_affectnet import write_lstm_checkpoint, write_static_checkpoint
from .synthetic_video import webcam_frames

FPS = 15.0  # what the webcam tab sustains on 2 cores


def run(session: WebcamSession, frames, model: str = "mini_xception", start: float = 100.0, temporal=None):
    """Feed frames at FPS from clock reading ``start``; returns every update."""
    return [session.step(frame, model, start + i / FPS, temporal) for i, frame in enumerate(frames)]


@pytest.fixture
def session(studio: Studio, tmp_path: Path) -> WebcamSession:
    live = WebcamSession(studio.stream_analyzer, tmp_path / "session.csv")
    yield live
    live.close()


def test_face_ids_persist_across_frames(session):
    updates = run(session, webcam_frames(30, both=True))
    assert all(u.image is not None and u.image.shape == (480, 640, 3) for u in updates)
    rows = list(session.history)
    ids_per_frame = {}
    for row in rows:
        ids_per_frame.setdefault(row["frame"], set()).add(row["face_id"])
    assert len(ids_per_frame) == 30
    assert all(ids == {1, 2} for ids in ids_per_frame.values())  # two faces, the same two ids throughout
    astronaut = [row for row in rows if row["x1"] < 320]
    assert {row["face_id"] for row in astronaut} == {next(iter(astronaut))["face_id"]}
    assert sum(row["top_label"] == "Happiness" for row in astronaut) >= 0.9 * len(astronaut)


def test_plots_refresh_about_once_a_second_not_per_frame(session):
    updates = run(session, webcam_frames(45))  # 3 s at 15 fps
    refreshed = [i for i, u in enumerate(updates) if u.timeline is not None]
    assert 3 <= len(refreshed) <= 4 and refreshed[0] == 0
    assert all(updates[i].status is not None for i in refreshed)
    assert "1 face" in updates[refreshed[-1]].status and "frames/s" in updates[refreshed[-1]].status
    timeline = updates[refreshed[-1]].timeline
    assert {trace.name for trace in timeline.data} >= {"Happiness", "Neutral"}
    assert max(timeline.data[0].x) == pytest.approx(refreshed[-1] / FPS, abs=0.01)  # session seconds


def test_history_keeps_the_last_minute_and_the_csv_keeps_everything(studio, tmp_path):
    session = WebcamSession(studio.stream_analyzer, tmp_path / "s.csv")
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
    session = WebcamSession(studio.stream_analyzer, tmp_path / "s.csv")
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
    one = WebcamSession(studio.stream_analyzer, tmp_path / "one.csv")
    two = WebcamSession(studio.stream_analyzer, tmp_path / "two.csv")
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
    assert session.analyzer.tracker.active_ids  # the face is found again at once


def test_black_no_face_and_missing_frames_get_a_status(session):
    black = np.zeros((480, 640, 3), np.uint8)
    update = session.step(black, "mini_xception", 1.0)
    assert "black" in update.status and update.image is not None
    grey = np.full((480, 640, 3), 128, np.uint8)
    grey[::2] = 120  # not frozen, just faceless
    assert "No face found" in session.step(grey, "mini_xception", 3.0).status
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
    assert "Model unavailable" in update.status and "emonet_8.pth" in update.status
    assert update.image is frame
    assert session.step(frame, "mini_xception", 2.0).status  # choosing a working model recovers


def test_reset_empties_history_csv_and_ids(session):
    run(session, webcam_frames(6))
    session.reset()
    assert not session.history and session.frames == 0
    assert len(list(csv.DictReader(session.export_csv().open()))) == 0
    run(session, webcam_frames(3), start=200.0)
    assert {row["face_id"] for row in session.history} == {1}


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
