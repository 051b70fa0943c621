"""Hard cuts: found as frames stream in, no track crosses one, and they show in the results."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from fer_demo.analysis.shots import ShotDetector
from fer_demo.analysis.timeline import by_face
from fer_demo.config import Settings, StreamSettings, VideoLimits, WebcamSettings
from fer_demo.media.video_io import read_frames
from fer_demo.presentation.export import write_json
from fer_demo.presentation.plots import emotion_timeline
from fer_demo.workflow.studio import Studio
from fer_demo.workflow.video import VideoResult, analyze_video
from tests.support.multishot import make_multishot_clip
from tests.support.synthetic_video import make_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_multishot_clip(tmp_path_factory.mktemp("multishot") / "four-shots.mp4")


@pytest.fixture(scope="module")
def result(clip, tmp_path_factory) -> VideoResult:
    studio = Studio(Settings(weights_dir=tmp_path_factory.mktemp("weights")))
    analyzer = studio.stream_analyzer("mini_xception", StreamSettings())
    output = tmp_path_factory.mktemp("out") / "annotated.mp4"
    return list(analyze_video(clip.path, analyzer, output, VideoLimits(), progress_every=0.0))[-1]


def test_the_detector_finds_each_cut_on_its_frame_and_nothing_else(clip):
    shots = ShotDetector()
    cuts = [frame.time for frame in read_frames(clip.path) if shots.is_cut(frame.image, frame.time)]
    assert cuts == pytest.approx(clip.cuts, abs=1e-3)


def test_a_moving_face_in_one_shot_is_no_cut(tmp_path):
    moving = make_clip(tmp_path / "one-shot.mp4", seconds=2.0, fps=25.0)
    shots = ShotDetector()
    assert not any(shots.is_cut(frame.image, frame.time) for frame in read_frames(moving.path))


def test_every_record_is_in_its_true_shot_and_no_face_id_crosses_a_cut(clip, result):
    assert list(result.cuts) == pytest.approx(clip.cuts, abs=1e-3)
    for record in result.records:
        assert record["shot"] == clip.shots[record["frame"]]
    shots_of_face = defaultdict(set)
    for record in result.records:
        shots_of_face[record["face_id"]].add(record["shot"])
    assert all(len(shots) == 1 for shots in shots_of_face.values()), dict(shots_of_face)


def test_the_first_frame_of_each_shot_already_has_its_faces(clip, result):
    """Detection runs on the frame after a cut: no shot starts with the last shot's boxes or none."""
    faces_at = defaultdict(int)
    for record in result.records:
        faces_at[record["frame"]] += 1
    for cut in clip.cuts:
        frame = round(cut * clip.fps)
        assert faces_at[frame] == len(clip.poses[frame])


def test_the_exports_and_the_timeline_show_the_shots(result, tmp_path):
    document = json.loads(write_json(result.document(), tmp_path / "faces.json").read_text())
    assert [shot["shot"] for shot in document["shots"]] == [1, 2, 3, 4]
    assert [shot["start_s"] for shot in document["shots"][1:]] == list(result.cuts)
    assert document["shots"][-1]["end_s"] == pytest.approx(result.analysed_seconds)
    assert "shot" in result.columns() and result.columns().index("shot") < result.columns().index("face_id")
    figure = emotion_timeline(by_face(result.reported_records()), cuts=result.cuts)
    marked = sorted({shape.x0 for shape in figure.layout.shapes})
    assert marked == pytest.approx(list(result.cuts))
    assert [trace.name for trace in figure.data].count("cut (new shot)") == 1  # the legend explains the lines


def test_a_webcam_never_looks_for_cuts():
    assert WebcamSettings().stream.cut_threshold == 0
