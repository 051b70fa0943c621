"""Persons: one person's tracks linked across cuts by face embeddings, and the FaceNet weights behind it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from fer_demo.analysis.persons import TrackSamples, link_tracks
from fer_demo.analysis.timeline import by_face
from fer_demo.config import Settings, StreamSettings, VideoLimits
from fer_demo.errors import ModelUnavailableError
from fer_demo.models.specs import FACENET
from fer_demo.models.weights import pin_file
from fer_demo.models.zoo import ModelZoo
from fer_demo.presentation.plots import emotion_timeline
from fer_demo.workflow.studio import Studio
from fer_demo.workflow.video import analyze_video
from tests.support.checkpoints.facenet import write_facenet_checkpoint
from tests.support.multishot import make_multishot_clip


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, np.float64)
    return vector / np.linalg.norm(vector)


# ---- linking, on stubbed embeddings ----------------------------------------------------------------
def test_tracks_of_one_face_in_different_shots_become_one_person():
    embeddings = {1: unit(1, 0.05, 0), 2: unit(0, 1, 0), 3: unit(1, 0, 0.05), 4: unit(0.05, 1, 0)}
    frames = {1: range(0, 50), 2: range(0, 50), 3: range(60, 90), 4: range(100, 130)}
    assert link_tracks(embeddings, frames, threshold=0.5) == {1: 1, 3: 1, 2: 2, 4: 2}


def test_two_faces_seen_in_one_frame_are_never_one_person():
    """Identical twins (the same embedding) side by side are still two people."""
    twins = unit(1, 0, 0)
    persons = link_tracks({1: twins, 2: twins}, {1: range(0, 20), 2: range(10, 30)}, threshold=0.5)
    assert persons == {1: 1, 2: 2}


def test_a_group_joins_only_if_it_is_close_to_all_its_tracks_on_average():
    """Average linkage: a track close to one member of a group but far from the other stays apart."""
    embeddings = {1: unit(1, 0), 2: unit(np.cos(0.9), np.sin(0.9)), 3: unit(np.cos(1.8), np.sin(1.8))}
    frames = {1: [0], 2: [1], 3: [2]}
    gap = 1 - np.cos(0.9)  # 0.38 between neighbours, 1.23 between 1 and 3
    assert link_tracks(embeddings, frames, threshold=gap + 0.01) == {1: 1, 2: 1, 3: 2}
    assert len(set(link_tracks(embeddings, frames, threshold=gap - 0.01).values())) == 3


def test_persons_are_numbered_by_first_appearance_and_unsampled_tracks_stay_alone():
    embeddings = {5: unit(1, 0), 9: unit(1, 0)}
    frames = {9: range(0, 10), 5: range(20, 30), 7: range(40, 50)}  # 7 has no embedding
    assert link_tracks(embeddings, frames, threshold=0.5) == {9: 1, 5: 1, 7: 2}


def counting_embed(calls: list[int]):
    """A network that maps every face to one vector and notes how many faces each call took."""

    def embed(faces):
        calls.append(len(faces))
        return np.tile(unit(1, 0, 0), (len(faces), 1))

    return embed


def test_samples_are_spaced_bounded_per_track_and_keep_the_best_thumbnail():
    calls = []
    embed = counting_embed(calls)
    samples = TrackSamples(embed, per_track=3, spacing=0.4)
    image = np.zeros((100, 100, 3), np.uint8)
    image[10:40, 10:40] = 200
    for i in range(40):  # 4 s of frames at 10 fps, one face
        samples.add(image, i / 10, np.array([[10, 10, 40, 40]]), [0.5 + i / 100], [1])
    assert len(samples.vectors[1]) == 3 and sum(calls) == 3  # at 0.0, 0.4 and 0.8 s, then no more
    assert samples.thumbnails[1][0] == pytest.approx(0.58)  # the best-scored of the sampled crops
    assert samples.thumbnails[1][1].shape == (30, 30, 3)


# ---- a multi-shot video with the embedded face recogniser -------------------------------------------
@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_multishot_clip(tmp_path_factory.mktemp("multishot") / "four-shots.mp4")


@pytest.fixture(scope="module")
def result(clip, tmp_path_factory):
    studio = Studio(Settings(weights_dir=tmp_path_factory.mktemp("weights")))
    analyzer = studio.stream_analyzer("mini_xception", StreamSettings())
    output = tmp_path_factory.mktemp("out") / "annotated.mp4"
    spec = studio.zoo.embedder  # the embedded face-recognition network, as the app links persons
    embed = studio.zoo.get_embedder().embed
    samples = TrackSamples(embed, aligned=spec.aligned, min_face_px=spec.min_face_px)
    events = analyze_video(clip.path, analyzer, output, VideoLimits(), progress_every=0.0, samples=samples,
                           link_threshold=spec.link_threshold)  # fmt: skip
    return list(events)[-1]


def test_the_video_reports_its_two_people_each_with_their_tracks(clip, result):
    assert len(result.summary) == clip.persons == 2 and result.linked
    assert [row["tracks"] for row in result.summary] == list(result.person_tracks().values())
    assert sum(len(row["tracks"]) for row in result.summary) == 6  # 2 + 1 + 1 + 2 tracks in 4 shots
    true_person_of_track = {}
    for record in result.records:
        x1, y1, x2, y2 = record["x1"], record["y1"], record["x2"], record["y2"]
        pose = clip.poses[record["frame"]]
        centre = ((x1 + x2) / 2, (y1 + y2) / 2)
        inside = [p for p, (x, y, h) in pose.items() if x <= centre[0] <= x + h and y <= centre[1] <= y + h]
        true_person_of_track.setdefault(record["face_id"], set()).update(inside)
    for row in result.summary:  # each person's tracks all show one true person, and no other's
        truth = set().union(*(true_person_of_track[track] for track in row["tracks"]))
        assert len(truth) == 1, row


def test_each_person_has_a_thumbnail_a_timeline_panel_and_rows_that_name_them(result):
    assert sorted(result.thumbnails) == [1, 2]
    assert all(face.ndim == 3 and min(face.shape[:2]) >= 20 for face in result.thumbnails.values())
    figure = emotion_timeline(
        by_face(result.reported_records(), "person"), cuts=result.cuts, name="Person {}"
    )
    assert [a.text for a in figure.layout.annotations if a.text.startswith("Person")] == [
        "Person 1",
        "Person 2",
    ]
    assert {record["person"] for record in result.reported_records()} == {1, 2}
    document = result.document()
    assert document["persons_linked_by_face"] and len(document["persons"]) == 2
    assert "person" in result.columns() and "face_id" in result.columns()


def test_a_person_absent_between_shots_has_no_line_across_the_gap(result):
    figure = emotion_timeline(by_face(result.reported_records(), "person"), name="Person {}")
    times = np.asarray(figure.data[0].x, float)  # person 1: shots 1, 2 and 4, away in shot 3
    assert np.isnan(times).sum() == 1


def test_without_re_identification_each_track_is_reported(clip, tmp_path):
    studio = Studio(Settings(weights_dir=tmp_path / "weights"))
    analyzer = studio.stream_analyzer("mini_xception", StreamSettings())
    result = list(analyze_video(clip.path, analyzer, tmp_path / "a.mp4", VideoLimits(), progress_every=0))[-1]
    assert len(result.summary) == 6 and not result.linked
    assert len(result.thumbnails) == 6  # the gallery still shows every face, one thumbnail per track


# ---- the FaceNet weights: pinned on first use, loaded strictly -------------------------------------
@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("facenet")
    write_facenet_checkpoint(folder / FACENET.weights.filename)
    return folder


def test_the_release_file_loads_embeds_and_is_pinned_on_first_use(weights):
    zoo = ModelZoo(weights, embedder=FACENET)
    embedder = zoo.get_embedder()
    faces = [np.random.default_rng(i).integers(0, 255, (90 + 10 * i, 80, 3), np.uint8) for i in range(3)]
    vectors = embedder.embed(faces)
    assert vectors.shape == (3, 512) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    record = pin_file(weights / FACENET.weights.filename)
    assert record.is_file() and len(record.read_text().strip()) == 64


def test_a_file_changed_after_first_use_is_refused(weights, tmp_path):
    folder = tmp_path / "changed"
    folder.mkdir()
    path = folder / FACENET.weights.filename
    write_facenet_checkpoint(path, seed=1)
    ModelZoo(folder, embedder=FACENET).get_embedder()  # first use: pinned
    write_facenet_checkpoint(path, seed=2)  # replaced behind the app's back
    with pytest.raises(ModelUnavailableError, match="not the file first used here"):
        ModelZoo(folder, embedder=FACENET).get_embedder()


def test_a_file_without_batchnorm_counters_loads_and_a_misshapen_one_is_refused(tmp_path):
    old = tmp_path / "old"
    write_facenet_checkpoint(old / FACENET.weights.filename, batch_counters=False)
    embedder = ModelZoo(old, embedder=FACENET).get_embedder()
    assert embedder.embed([np.zeros((60, 50, 3), np.uint8)]).shape == (1, 512)
    wrong = tmp_path / "wrong" / FACENET.weights.filename
    write_facenet_checkpoint(wrong)
    state = torch.load(wrong, weights_only=True)
    state["logits.weight"] = torch.zeros(10575, 512)  # the CASIA-WebFace file's classifier
    state["logits.bias"] = torch.zeros(10575)
    torch.save(state, wrong)
    with pytest.raises(ModelUnavailableError, match=r"logits\.weight"):
        ModelZoo(wrong.parent, embedder=FACENET).get_embedder()


def test_missing_weights_offline_say_why_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_DEMO_OFFLINE", "1")
    zoo = ModelZoo(tmp_path, embedder=FACENET)
    status = zoo.embedder_availability()
    assert not status.available and FACENET.weights.filename in status.fix
    with pytest.raises(ModelUnavailableError, match="FaceNet"):
        zoo.get_embedder()


def test_a_face_cut_by_the_edge_or_too_small_is_not_described_and_a_later_whole_one_is():
    calls = []
    samples = TrackSamples(counting_embed(calls), min_face_px=28, spacing=0.4)
    image = np.zeros((100, 200, 3), np.uint8)
    samples.add(image, 0.0, np.array([[170, 10, 200, 50]]), [0.9], [1])  # enters from the right edge
    samples.add(image, 0.1, np.array([[10, 10, 30, 30]]), [0.9], [2])  # 20 px: too small to identify
    assert not samples.vectors and not calls
    assert set(samples.thumbnails) == {1, 2}  # the gallery still shows both
    samples.add(image, 0.2, np.array([[150, 10, 190, 50]]), [0.9], [1])  # whole now: described at once
    assert len(samples.vectors[1]) == 1 and calls == [1]


def test_the_host_chooses_the_face_recognition_network(monkeypatch, tmp_path):
    from fer_demo.errors import UnknownModelError
    from fer_demo.models.specs import FACE_RECOGNITION

    assert Studio(Settings(weights_dir=tmp_path)).zoo.embedder == FACE_RECOGNITION  # shipped: works offline
    monkeypatch.setenv("FER_DEMO_FACE_EMBEDDER", "facenet_vggface2")
    settings = replace(Settings.from_env(), weights_dir=tmp_path)
    assert Studio(settings).zoo.embedder == FACENET
    with pytest.raises(UnknownModelError, match="known: dlib_face_recognition, facenet_vggface2"):
        Studio(replace(settings, face_embedder="arcface"))
