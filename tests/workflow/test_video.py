"""The video pipeline on synthesised clips with known face positions."""

from __future__ import annotations

import csv
import threading
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest

from fer_demo.analysis.faces import FaceDetector
from fer_demo.analysis.timeline import MIN_TRACK_SECONDS, brief_faces, face_summary, record_columns
from fer_demo.config import Settings, StreamSettings, VideoLimits
from fer_demo.errors import InputError
from fer_demo.presentation.export import write_csv
from fer_demo.workflow.studio import Studio
from fer_demo.workflow.video import VideoProgress, VideoResult, analyze_video
from tests.support.boxes import iou
from tests.support.checkpoints.emo_affectnet import write_lstm_checkpoint, write_static_checkpoint
from tests.support.paths import EXAMPLES
from tests.support.synthetic_video import face_tiles, make_clip, true_boxes


def run(clip_path: Path, analyzer, output: Path, limits: VideoLimits | None = None) -> VideoResult:
    events = list(analyze_video(clip_path, analyzer, output, limits or VideoLimits(), progress_every=0.0))
    assert isinstance(events[-1], VideoResult)
    assert all(isinstance(e, VideoProgress) for e in events[:-1])
    return events[-1]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("clip") / "two-faces.mp4", seconds=3.0, fps=25.0, audio=True)


@pytest.fixture(scope="module")
def truth(clip):
    """True face boxes per frame: the detector's box of each tile at rest, moved with the tile."""
    detector = FaceDetector(max_side=640)
    inside = {}
    for index, tile in enumerate(face_tiles(150)):
        canvas = np.full((tile.shape[0] + 40, tile.shape[1] + 40, 3), 100, np.uint8)
        canvas[20:-20, 20:-20] = tile
        faces = detector.detect(canvas)
        assert len(faces) == 1, f"tile {index} should hold exactly one face"
        inside[index] = faces.boxes[0] - np.array([20, 20, 20, 20], np.float32)
    return true_boxes(clip, inside)


@pytest.fixture(scope="module")
def result(clip, tmp_path_factory):
    studio = Studio(Settings(weights_dir=tmp_path_factory.mktemp("weights")))
    analyzer = studio.stream_analyzer("mini_xception", StreamSettings(detect_every=5, smoothing=0.3))
    return run(clip.path, analyzer, tmp_path_factory.mktemp("out") / "annotated.mp4")


def test_output_video_plays_with_the_same_frames_duration_and_audio(clip, result):
    with av.open(str(result.output)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264" and video.codec_context.pix_fmt == "yuv420p"
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == clip.frames == result.frames
    with av.open(str(result.output)) as container:
        duration = container.duration / 1e6
        assert abs(duration - clip.frames / clip.fps) <= 1.5 / clip.fps + 0.05
        assert len(container.streams.audio) == 1


def test_tracked_boxes_follow_the_true_faces_with_stable_ids(clip, truth, result):
    by_frame: dict[int, list[dict]] = {}
    for record in result.records:
        by_frame.setdefault(record["frame"], []).append(record)
    ids_of_tile: dict[int, set[int]] = {0: set(), 1: set()}
    good = total = 0
    for frame, faces_true in enumerate(truth):
        found = by_frame.get(frame, [])
        for tile, box in faces_true.items():
            total += 1
            scores = [(iou([r["x1"], r["y1"], r["x2"], r["y2"]], box), r["face_id"]) for r in found]
            best, face_id = max(scores, default=(0.0, None))
            if best >= 0.7:
                good += 1
                ids_of_tile[tile].add(face_id)
    assert good / total >= 0.95, f"only {good}/{total} face boxes overlap the truth"
    assert len(ids_of_tile[0]) == 1 and len(ids_of_tile[1]) == 1  # one id per person, never swapped
    assert ids_of_tile[0] != ids_of_tile[1]


def test_records_agree_with_frames_and_faces(clip, truth, result, tmp_path):
    assert {r["frame"] for r in result.records} <= set(range(clip.frames))
    per_frame = np.bincount([r["frame"] for r in result.records], minlength=clip.frames)
    expected = np.array([len(faces) for faces in truth])
    assert (per_frame == expected).mean() >= 0.95
    for record in result.records[:50]:
        assert record["time"] == pytest.approx(record["frame"] / clip.fps, abs=1e-3)
        assert sum(record[label] for label in ("Neutral", "Happiness", "Sadness", "Surprise", "Fear",
                                               "Disgust", "Anger")) == pytest.approx(1, abs=1e-3)  # fmt: skip
    path = write_csv(result.records, record_columns("mini_xception"), tmp_path / "faces.csv")
    rows = list(csv.DictReader(path.read_text().splitlines()))
    assert len(rows) == len(result.records) and rows[0]["model"] == "mini_xception"


def test_summary_names_the_smiling_astronaut_happy(result):
    assert len(result.summary) == 2
    astronaut = max(result.summary, key=lambda face: face["frames"])  # on screen the whole clip
    assert astronaut["dominant_emotion"] == "Happiness"
    assert astronaut["time_on_screen_s"] == pytest.approx(3.0, abs=0.1)


def test_a_glimpse_is_flagged_in_the_records_but_not_reported_as_a_face(result):
    """A 0.1 s track (a false detection, a face crossing the edge) is no face of the summary."""
    probabilities = {label: 1 / 7 for label in ("Neutral", "Happiness", "Sadness", "Surprise", "Fear",
                                                  "Disgust", "Anger")}  # fmt: skip
    glimpse = [{"frame": i, "time": i / 25, "face_id": 99, **probabilities} for i in range(3)]
    records = [*result.records, *glimpse]
    assert brief_faces(records, 1 / 25) == {99}
    reported = {face["face_id"] for face in face_summary(records, 1 / 25, MIN_TRACK_SECONDS)}
    assert reported == {track for person in result.summary for track in person["tracks"]}
    assert 99 not in reported
    with_glimpse = replace(result, records=records, brief_faces=(99,))
    assert 99 not in {r["face_id"] for r in with_glimpse.reported_records()}
    flagged = [r for r in with_glimpse.flagged_records() if r.get("brief")]
    assert len(flagged) == 3 and {r["face_id"] for r in flagged} == {99}
    assert not any(r.get("brief") for r in result.flagged_records())  # both real faces stay whole


def test_lstm_path_runs_on_fixture_weights(clip, tmp_path):
    write_static_checkpoint(tmp_path / "FER_static_ResNet50_AffectNet.pt")
    write_lstm_checkpoint(tmp_path / "FER_dinamic_LSTM_RAVDESS.pt")
    studio = Studio(Settings(weights_dir=tmp_path))
    settings = StreamSettings(detect_every=5, temporal_model="lstm_ravdess")
    analyzer = studio.stream_analyzer("emo_affectnet_resnet50", settings)
    short = make_clip(tmp_path / "short.mp4", seconds=1.0, fps=10.0, second_face=None)
    result = run(short.path, analyzer, tmp_path / "out.mp4")
    assert result.frames == 10 and len(result.records) >= 9
    assert set(result.records[0]) >= {"Neutral", "Anger"} and "Contempt" not in result.records[0]
    assert analyzer.lstm is not None and analyzer.lstm.windows  # windows filled per track


@pytest.fixture(scope="module")
def mini_studio(tmp_path_factory) -> Studio:
    return Studio(Settings(weights_dir=tmp_path_factory.mktemp("weights")))


def bad_files(folder: Path, clip_path: Path) -> dict[str, Path]:
    files = {"empty.mp4": b"", "noise.mp4": np.random.default_rng(0).bytes(20_000),
             "notes.txt": b"hello, this is not a video\n" * 50}  # fmt: skip
    paths = {}
    for name, content in files.items():
        paths[name] = folder / name
        paths[name].write_bytes(content)
    audio = folder / "sound.m4a"
    with av.open(str(audio), "w") as container:
        stream = container.add_stream("aac", rate=44100)
        stream.layout = "mono"
        tone = np.zeros((1, 44100), np.float32)
        for start in range(0, 44100, 1024):
            frame = av.AudioFrame.from_ndarray(tone[:, start : start + 1024], format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    paths["sound.m4a"] = audio
    paths["photo.jpg"] = folder / "photo.jpg"
    paths["photo.jpg"].write_bytes((EXAMPLES / "astronaut.jpg").read_bytes())
    return paths


@pytest.mark.parametrize(("name", "message"), [
    ("empty.mp4", "empty|not a video"),
    ("noise.mp4", "not a video"),
    ("notes.txt", "not a video"),
    ("sound.m4a", "no video"),
    ("photo.jpg", r"still image.*Image tab"),
])  # fmt: skip
def test_bad_files_get_a_message(mini_studio, clip, tmp_path, name, message):
    path = bad_files(tmp_path, clip.path)[name]
    analyzer = mini_studio.stream_analyzer("mini_xception", StreamSettings())
    with pytest.raises(InputError, match=message):
        list(analyze_video(path, analyzer, tmp_path / "out.mp4"))


def test_too_long_a_video_is_refused_with_the_numbers(mini_studio, clip, tmp_path):
    analyzer = mini_studio.stream_analyzer("mini_xception", StreamSettings())
    with pytest.raises(InputError, match=r"3\.0 s long; the limit is 1\.0 s"):
        list(analyze_video(clip.path, analyzer, tmp_path / "out.mp4", VideoLimits(max_seconds=1)))


def test_a_video_without_faces_completes_and_says_so(mini_studio, tmp_path):
    empty = make_clip(tmp_path / "empty.mp4", seconds=1.0, fps=10.0, second_face=None, tile_height=150)
    empty.positions = [{} for _ in empty.positions]  # same clip without any tile
    from tests.support.synthetic_video import clip_frames, write_mp4

    write_mp4(empty, clip_frames(empty, face_tiles(150)))
    analyzer = mini_studio.stream_analyzer("mini_xception", StreamSettings())
    result = run(empty.path, analyzer, tmp_path / "out.mp4")
    assert result.frames == 10 and result.records == [] and result.summary == []


def test_closing_the_generator_cancels_promptly(mini_studio, clip, tmp_path):
    analyzer = mini_studio.stream_analyzer("mini_xception", StreamSettings())
    threads_before = threading.active_count()
    events = analyze_video(clip.path, analyzer, tmp_path / "out.mp4", progress_every=0.0)
    first = next(events)
    assert isinstance(first, VideoProgress) and first.frames_done == 1
    events.close()  # what Gradio's Cancel does to a generator
    assert threading.active_count() <= threads_before  # the encoder thread is gone
