"""The pure pieces behind the limits: durations in words, resampling by time, letterboxing,
detection scale, float images, file provenance, stop flags and load backoff."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from gradio.utils import get_upload_folder

from fer_demo.analysis.faces import downscale_factor
from fer_demo.config import DetectionOptions
from fer_demo.durations import duration_text, over_limit_text
from fer_demo.errors import InputError, ModelUnavailableError
from fer_demo.media.images import to_uint8
from fer_demo.media.video_io import Frame
from fer_demo.models.zoo import ModelZoo
from fer_demo.ui.request_guard import PLEASE_UPLOAD, received_file
from fer_demo.ui.video_jobs import VideoJobs
from fer_demo.workflow.video import fit_into, output_size, sample_by_time


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (2.54, "2.5 s"),
        (42, "42 s"),
        (580, "9 min 40 s"),
        (600, "10 min"),
        (601, "10 min 1 s"),
        (3725, "1 h 2 min"),
    ],
)
def test_durations_read_as_people_say_them(seconds, text):
    assert duration_text(seconds) == text


def test_a_duration_just_over_the_limit_never_reads_as_the_limit():
    assert over_limit_text(600.4, 600) == ("10 min 0.4 s", "10 min")
    assert over_limit_text(601, 600) == ("10 min 1 s", "10 min")


def frames_at(times: list[float]) -> list[Frame]:
    return [Frame(i, t, np.zeros((2, 2, 3), np.uint8)) for i, t in enumerate(times)]


def test_resampling_keeps_30_a_second_of_a_1000_fps_video_evenly():
    kept = [f.time for f in sample_by_time(iter(frames_at([i / 1000 for i in range(2000)])), 30)]
    assert len(kept) in (60, 61)
    assert np.diff(kept).max() < 1 / 30 + 0.002 and np.diff(kept).min() > 1 / 30 - 0.002


@pytest.mark.parametrize("fps", [24, 25, 29.97, 30])
def test_resampling_keeps_every_frame_up_to_the_limit(fps):
    times = [i / fps for i in range(300)]
    assert len(list(sample_by_time(iter(frames_at(times)), 30))) == 300


def test_a_frame_of_another_shape_is_letterboxed_into_the_first_size():
    tall = np.full((400, 100, 3), 200, np.uint8)
    boxed = fit_into(tall, (320, 240))
    assert boxed.shape == (240, 320, 3)
    assert boxed[:, :100].max() == 0 and boxed[:, 150:170].min() == 200  # black bars, picture centred
    assert output_size(1921, 1081, 1280) == (1280, 720) and output_size(16, 16, 1280) == (16, 16)


def test_detection_scale_keeps_room_for_faces_in_strips():
    assert downscale_factor(1280, 720, 640) == pytest.approx(0.5)  # ordinary frames: longest side rule
    assert downscale_factor(512, 512, 640) == 1.0
    assert 200 * downscale_factor(20000, 200, 640) >= 40  # a strip keeps a usable height


def test_detection_options_are_checked():
    with pytest.raises(InputError, match="threshold must be between 0 and 1"):
        DetectionOptions(min_confidence=1.5)
    with pytest.raises(InputError, match="minimum face size"):
        DetectionOptions(min_face_size=-1)


def test_float_images_are_stretched_and_nan_becomes_zero():
    values = np.array([[0.0, 2.0], [4.0, np.nan]], np.float32)
    pixels, (note,) = to_uint8(values)
    assert pixels.tolist() == [[0, 128], [255, 0]]
    assert "from 0 to 4" in note and "1 pixel with no value" in note
    unit, _ = to_uint8(np.array([[0.0, 0.5, 1.0]], np.float32))
    assert unit.tolist() == [[0, 128, 255]]
    sixteen, notes = to_uint8(np.array([[0, 65535]], np.uint16))
    assert sixteen.tolist() == [[0, 255]] and notes == ()


@pytest.fixture
def upload_folder() -> Path:
    folder = Path(get_upload_folder()) / f"unit-{os.getpid()}-{time.monotonic_ns()}"
    folder.mkdir(parents=True)
    return folder


def test_only_regular_files_inside_the_upload_folder_are_received(upload_folder, tmp_path):
    inside = upload_folder / "photo.jpg"
    inside.write_bytes(b"x")
    assert received_file(str(inside)) == str(inside.resolve())
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(b"x")
    link = upload_folder / "link.jpg"
    link.symlink_to(outside)
    fifo = upload_folder / "fifo.jpg"
    os.mkfifo(fifo)
    for path in (outside, link, fifo, upload_folder, upload_folder / "missing.jpg", "", None, 3, ["a"]):
        with pytest.raises(InputError, match=PLEASE_UPLOAD):
            received_file(path)


def test_cancel_reaches_an_armed_job_and_only_its_own_session():
    jobs = VideoJobs()
    assert not jobs.cancel("a")
    jobs.arm("a")
    stop = jobs.take("a")
    assert jobs.cancel("a") and stop.is_set()
    other = jobs.take("b")
    assert not other.is_set()
    jobs.finish("a", stop)
    assert not jobs.cancel("a")


def test_a_failed_load_is_answered_at_once_until_its_backoff_passes(tmp_path, monkeypatch):
    zoo = ModelZoo(tmp_path, retry_after=0.3)
    calls = []
    now = [1000.0]  # the zoo's clock, moved by the test: no sleep decides the outcome
    monkeypatch.setattr("fer_demo.models.zoo.time.monotonic", lambda: now[0])

    def failing(report) -> object:
        calls.append(threading.current_thread().name)
        raise ModelUnavailableError("the weights file was refused")

    with pytest.raises(ModelUnavailableError, match="was refused"):
        zoo._wait("model:x", failing, None)
    with pytest.raises(ModelUnavailableError, match="next try is in"):
        zoo._wait("model:x", failing, None)
    assert len(calls) == 1 and calls[0] == "load-model:x"  # loaded in its own thread, not the caller's
    now[0] += 0.35  # the backoff has passed
    with pytest.raises(ModelUnavailableError, match="was refused"):
        zoo._wait("model:x", failing, None)
    assert len(calls) == 2


def test_many_waiters_share_one_load(tmp_path):
    zoo = ModelZoo(tmp_path)
    started, release = threading.Event(), threading.Event()
    loads = []

    def slow(report) -> object:
        loads.append(1)
        started.set()
        release.wait(5)
        return "model"

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(zoo._wait("model:y", slow, None))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    started.wait(5)
    release.set()
    for thread in threads:
        thread.join(5)
    assert results == ["model"] * 4 and len(loads) == 1
