"""The Python API as a researcher calls it: photos from a path, bytes or an array, a real
multi-shot video with progress and cancel, typed results that become tables and JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import fer_demo
from fer_demo import Analyzer, PhotoResult, VideoAnalysis
from fer_demo.analysis.labels import CANONICAL_LABELS
from fer_demo.config import Settings
from fer_demo.errors import InputError, ModelUnavailableError
from tests.support.paths import EXAMPLES, ROOT
from tests.support.real_footage import REAL_CUTS, REAL_FOUR_SHOTS


@pytest.fixture(scope="module")
def fer(tmp_path_factory) -> Analyzer:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FER_DEMO_OFFLINE", "1")
        yield Analyzer("mini_xception", settings=Settings(weights_dir=tmp_path_factory.mktemp("weights")))


def verdicts(photo: PhotoResult) -> list[tuple[int, str]]:
    return [(face.face, face.top_label) for face in photo.faces]


def test_a_photo_from_a_path_bytes_or_an_array_gives_the_same_faces(fer):
    path = EXAMPLES / "three-people.jpg"
    photo = fer.photo(path)
    assert len(photo.faces) == 3 and (photo.width, photo.height) == (480, 270)
    lefts = [face.box[0] for face in photo.faces]
    assert lefts == sorted(lefts)  # numbered left to right
    assert verdicts(fer.photo(path.read_bytes())) == verdicts(photo)
    assert verdicts(fer.photo(np.asarray(Image.open(path).convert("RGB")))) == verdicts(photo)
    rgba = np.asarray(Image.open(path).convert("RGBA"))
    assert len(fer.photo(rgba).faces) == 3
    two = np.asarray(Image.open(EXAMPLES / "two-faces.jpg").convert("L")).astype(np.float32) / 255
    in_gray = fer.photo(two)  # 0..1 floats, one channel
    assert len(in_gray.faces) == 2 and any("scaled to 0–255" in note for note in in_gray.notes)


def test_a_photo_becomes_a_table_and_json_in_canonical_labels(fer):
    photo = fer.photo(EXAMPLES / "two-faces.jpg")
    table = photo.to_pandas()
    assert len(table) == len(photo.faces) == 2
    labels = [column for column in table.columns if column in CANONICAL_LABELS]
    assert labels == [label for label in CANONICAL_LABELS if label in labels]  # canonical order
    assert np.allclose(table[labels].sum(axis=1), 1.0, atol=1e-3)
    assert list(table["top_label"]) == [face.top_label for face in photo.faces]
    document = json.loads(photo.to_json())
    assert document["model"] == "mini_xception" and len(document["faces"]) == 2
    assert document["faces"][0]["probabilities"] == photo.faces[0].probabilities


def test_bad_photos_and_names_are_clear_errors_not_tracebacks(fer):
    with pytest.raises(InputError, match=r"not an image|could not be read|not a supported"):
        fer.photo(b"this is a text file, not a photo")
    with pytest.raises(InputError, match="H x W x 3"):
        fer.photo(np.zeros((64, 64, 2), np.uint8))
    with pytest.raises(InputError, match="must be uint8"):
        fer.photo(np.zeros((64, 64, 3), np.float32))
    with pytest.raises(InputError, match="too small"):
        fer.photo(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(InputError, match=r"Unknown model 'resnet'; known: .*mini_xception"):
        Analyzer("resnet")
    assert fer.photo(np.full((200, 200, 3), 128, np.uint8)).faces == []  # no face: an empty result


def test_a_model_without_weights_says_so_and_how_to_fix_it(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_DEMO_OFFLINE", "1")
    settings = Settings(weights_dir=tmp_path)
    status = {info.name: info for info in fer_demo.list_models(settings)}
    assert status["mini_xception"].available and not status["mini_xception"].needs_download
    assert not status["emonet_8"].available and "offline" in status["emonet_8"].why_unavailable
    with pytest.raises(ModelUnavailableError, match=r"EmoNet.*unavailable"):
        Analyzer("emonet_8", settings=settings).photo(EXAMPLES / "two-faces.jpg")


@pytest.fixture(scope="module")
def four_shots(fer, tmp_path_factory) -> tuple[VideoAnalysis, list]:
    events = []
    out = tmp_path_factory.mktemp("video") / "annotated.mp4"
    return fer.video(REAL_FOUR_SHOTS, output=out, on_progress=events.append), events


def test_a_real_video_gives_shots_persons_progress_and_tables(four_shots):
    video, events = four_shots
    assert [shot.start_s for shot in video.shots[1:]] == pytest.approx(REAL_CUTS, abs=0.05)
    assert video.shots[-1].end_s == pytest.approx(video.duration_s, abs=0.05)
    # Four people are large enough to identify (shots 3 and 4 hold faces under 24 px): the woman
    # of shot 1 walks up again in shot 2 and is one person, by the embedded face-recognition network.
    assert len(video.persons) == 4 and video.persons_linked
    woman = video.persons[0]
    assert len(woman.tracks) == 2 and woman.first_seen_s == 0.0 and woman.last_seen_s > REAL_CUTS[0]
    assert all(len(person.tracks) == 1 for person in video.persons[1:])
    assert all(person.dominant_emotion in CANONICAL_LABELS for person in video.persons)
    assert events and [event.frames_done for event in events] == sorted(e.frames_done for e in events)
    assert video.frames >= events[-1].frames_done and not video.cancelled
    table = video.to_pandas()
    assert len(table) == len(video.result.records) and {"time", "shot", "person", "face_id"} <= set(table)
    assert set(table["person"].dropna()) == {person.person for person in video.persons}
    document = json.loads(video.to_json())
    assert len(document["shots"]) == 4 and len(document["summary"]) == 4
    assert video.output is not None and video.output.stat().st_size > 10_000


def test_a_video_stops_when_asked_and_keeps_what_it_did(fer):
    stop = threading.Event()

    def progress(event) -> None:
        if event.frames_done >= 30:
            stop.set()

    video = fer.video(REAL_FOUR_SHOTS, on_progress=progress, stop=stop)
    assert video.cancelled and video.output is None
    assert 30 <= video.frames < 300 and video.analysed_s < video.duration_s


def code_loads_torch(code: str, weights: Path | None = None) -> bool:
    """Whether running ``code`` in a fresh interpreter imports torch (start-up cost: 1.5 s and up)."""
    probe = f"import sys\n{code}\nprint('torch' in sys.modules)"
    env = {**os.environ, "FER_DEMO_OFFLINE": "1"}
    if weights is not None:
        env["FER_DEMO_WEIGHTS_DIR"] = str(weights)
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True)  # fmt: skip
    return done.stdout.strip().splitlines()[-1] == "True"


def test_importing_the_package_the_cli_or_the_api_loads_no_network_library():
    assert not code_loads_torch("import fer_demo, fer_demo.api, fer_demo.cli, fer_demo.corpus")
    assert not code_loads_torch("from fer_demo.cli import build_parser\nbuild_parser().format_help()")


def test_the_app_builds_its_page_without_a_network_library(tmp_path):
    """A Space restarts cold: its first page waits for Gradio, not for torch (3.4 s instead of 8.3)."""
    build = "\n".join([
        "from fer_demo.config import Settings",
        "from fer_demo.ui import build_demo",
        "from fer_demo.workflow.studio import Studio",
        "build_demo(Studio(Settings.from_env()))",
    ])  # fmt: skip
    assert not code_loads_torch(build, tmp_path / "weights")


def test_a_corpus_rerun_with_nothing_to_do_never_loads_a_model(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "two.jpg").write_bytes((EXAMPLES / "two-faces.jpg").read_bytes())
    run = (f"from fer_demo.cli import main\nassert main(['batch', {str(tmp_path / 'in')!r}, '--out', "
           f"{str(tmp_path / 'out')!r}, '--model', 'mini_xception', '--workers', '1']) == 0")  # fmt: skip
    assert code_loads_torch(run, tmp_path / "weights")  # the first run analyses the photo
    assert not code_loads_torch(run, tmp_path / "weights")  # the second finds it done: no model loads


def test_why_maps_per_face_as_the_app_shows_them(fer):
    maps = fer.explain(EXAMPLES / "two-faces.jpg", "Happiness")
    assert [saliency.face for saliency in maps] == [1, 2] and {s.target for s in maps} == {"Happiness"}
    for saliency in maps:
        x1, y1, x2, y2 = saliency.crop_box
        assert saliency.heatmap.ndim == 2 and 0.0 <= saliency.heatmap.min() <= saliency.heatmap.max() <= 1.0
        assert x2 > x1 and y2 > y1
    own = fer.explain(EXAMPLES / "two-faces.jpg")  # each face's own top label
    assert [s.target for s in own] == [face.top_label for face in fer.photo(EXAMPLES / "two-faces.jpg").faces]
    with pytest.raises(InputError, match="has no class 'Contempt'"):  # FER2013 has seven classes
        fer.explain(EXAMPLES / "two-faces.jpg", "Contempt")


def test_models_compared_on_the_same_faces_of_a_real_group(tmp_path):
    from tests.support.checkpoints.emo_affectnet import write_static_checkpoint

    write_static_checkpoint(tmp_path / "FER_static_ResNet50_AffectNet.pt")
    settings = Settings(weights_dir=tmp_path)
    compared = fer_demo.compare(EXAMPLES / "three-people.jpg", settings=settings)
    assert [result.model for result in compared.results] == ["mini_xception", "emo_affectnet_resnet50"]
    boxes = [[face.box for face in result.faces] for result in compared.results]
    assert len(boxes[0]) == 3 and boxes[0] == boxes[1]  # faces found once, classified by each
    assert [(face.face, face.models) for face in compared.agreement] == [(1, 2), (2, 2), (3, 2)]
    assert all(1 <= face.agreeing <= 2 for face in compared.agreement)
    table = compared.to_pandas()
    assert len(table) == 6  # a row per face and model
    assert json.loads(compared.to_json())["agreement"][0]["models"] == 2
    only = fer_demo.compare(EXAMPLES / "three-people.jpg", ["mini_xception"], settings=settings)
    assert len(only.results) == 1
    with pytest.raises(InputError, match="Unknown model"):
        fer_demo.compare(EXAMPLES / "three-people.jpg", ["gpt"], settings=settings)
