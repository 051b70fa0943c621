"""The running app through its API, as a developer with gradio_client would use it."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from fer_demo.config import Settings
from fer_demo.ui import build_demo, release_session_state
from fer_demo.workflow.studio import Studio
from tests.support.paths import EXAMPLES, free_port
from tests.support.stream_client import AppSession
from tests.support.synthetic_video import webcam_frames


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    settings = Settings(weights_dir=tmp_path_factory.mktemp("weights"), max_image_pixels=20_000_000)
    demo = build_demo(Studio(settings))
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    yield demo
    demo.close()


@pytest.fixture(scope="module")
def client(demo, tmp_path_factory):
    return Client(demo.local_url, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))


def test_every_event_has_a_stable_api_name(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/analyze", "/analyze_image", "/model_info"} <= set(endpoints)


def test_astronaut_is_one_happy_face(client):
    astronaut = handle_file(str(EXAMPLES / "astronaut.jpg"))
    result = client.predict(astronaut, "mini_xception", api_name="/analyze")
    assert result["model"] == "mini_xception" and (result["width"], result["height"]) == (512, 512)
    assert len(result["faces"]) == 1
    face = result["faces"][0]
    assert face["top_label"] == "Happiness" and face["top_probability"] > 0.9
    assert set(face) >= {"box", "score", "probabilities", "valence", "arousal"}
    assert face["valence"] is None  # this model has no valence/arousal


def test_two_faces_in_the_ui_endpoint_with_csv(client):
    image, status, _plot, table, csv_path, json_path, cards = client.predict(
        handle_file(str(EXAMPLES / "two-faces.jpg")), "mini_xception", api_name="/analyze_image"
    )
    assert cards.count('class="fer-card"') == 2 and "#1 Happiness" in cards  # a card per face
    assert "2 faces" in status
    assert Image.open(image).size == (1024, 512)
    assert len(table["data"]) == 2
    rows = list(csv.DictReader(Path(csv_path).read_text().splitlines()))
    assert [row["face"] for row in rows] == ["1", "2"]
    assert rows[0]["top_label"] == "Happiness"
    assert Path(json_path).read_text().count('"top_label"') == 2


def test_an_example_clicked_again_is_answered_from_the_cache(client, tmp_path):
    def analyse(path: Path, threshold: float = 0.9) -> tuple:
        photo = handle_file(str(path))
        return client.predict(photo, "mini_xception", threshold, 20, api_name="/analyze_image")

    first, again = analyse(EXAMPLES / "two-faces.jpg"), analyse(EXAMPLES / "two-faces.jpg")
    assert "analysed earlier" not in first[1] and "analysed earlier" in again[1]
    assert again[3] == first[3] and Path(again[4]).read_text() == Path(first[4]).read_text()
    assert "analysed earlier" not in analyse(EXAMPLES / "two-faces.jpg", threshold=0.95)[1]  # new settings

    photo = tmp_path / "visitor.png"  # a visitor's own photo is analysed every time
    Image.open(EXAMPLES / "two-faces.jpg").save(photo)
    assert all("analysed earlier" not in analyse(photo)[1] for _ in range(2))


def test_explain_returns_each_faces_map_as_a_picture_and_numbers(client):
    photo = handle_file(str(EXAMPLES / "two-faces.jpg"))
    result = client.predict(photo, "mini_xception", "", True, api_name="/explain")
    assert result["method"].startswith("Grad-CAM") and result["layer"] == "blocks.3"
    first, second = result["faces"]
    assert (first["target"], second["target"]) == ("Happiness", "Neutral")  # each face's top label
    assert first["overlay_png"].startswith("data:image/png;base64,")
    heat = np.asarray(first["map"])
    assert heat.ndim == 2 and max(heat.shape) <= 112 and heat.min() >= 0 and heat.max() <= 1
    asked = client.predict(photo, "mini_xception", "Surprise", False, api_name="/explain")
    assert {face["target"] for face in asked["faces"]} == {"Surprise"} and "map" not in asked["faces"][0]


def make_bad_inputs(folder: Path) -> dict[str, Path]:
    files = {
        "text.png": b"not an image at all, just words\n" * 10,
        "empty.jpg": b"",
    }
    paths = {}
    for name, content in files.items():
        paths[name] = folder / name
        paths[name].write_bytes(content)
    truncated = folder / "truncated.jpg"
    Image.open(EXAMPLES / "astronaut.jpg").save(truncated, quality=90)
    truncated.write_bytes(truncated.read_bytes()[:5000])
    paths["truncated.jpg"] = truncated
    paths["huge.png"] = folder / "huge.png"
    Image.new("L", (6000, 6000)).save(paths["huge.png"])  # 36 MP over the test's 20 MP limit
    paths["tiny.png"] = folder / "tiny.png"
    Image.new("RGB", (12, 12), "white").save(paths["tiny.png"])
    return paths


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("text.png", "not an image we can read"),
        ("empty.jpg", "empty"),
        ("truncated.jpg", "truncated or corrupt"),
        ("huge.png", "too large"),
        ("tiny.png", "too small"),
    ],
)
@pytest.mark.parametrize("endpoint", ["/analyze", "/analyze_image"])
def test_bad_input_gets_a_message_and_the_server_keeps_serving(client, tmp_path, name, message, endpoint):
    path = make_bad_inputs(tmp_path)[name]
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(str(path)), "mini_xception", api_name=endpoint)
    after = client.predict(handle_file(str(EXAMPLES / "astronaut.jpg")), "mini_xception", api_name="/analyze")
    assert after["faces"][0]["top_label"] == "Happiness"


def test_no_face_is_a_result_not_an_error(client, tmp_path):
    path = tmp_path / "sky.png"
    Image.linear_gradient("L").convert("RGB").resize((400, 300)).save(path)
    result = client.predict(handle_file(str(path)), "mini_xception", api_name="/analyze")
    assert result["faces"] == []
    _image, status, *_ = client.predict(handle_file(str(path)), "mini_xception", api_name="/analyze_image")
    assert "No faces found" in status


def test_unknown_model_is_a_message(client):
    with pytest.raises(AppError, match="unknown model 'nope'"):
        client.predict(handle_file(str(EXAMPLES / "astronaut.jpg")), "nope", api_name="/analyze")


def test_models_endpoint_lists_every_model_with_its_status(client):
    models = client.predict(api_name="/models")
    assert models["mini_xception"]["available"] and not models["mini_xception"]["needs_download"]
    assert models["emonet_5"]["labels"][4] == "Anger"
    assert models["enet_b0_8_va_mtl"]["valence_arousal"] is True
    assert len(models) == 11


def test_compare_runs_every_ready_model_on_the_same_faces(client):
    _image, status, _plot, table, _csv, json_path, _cards = client.predict(
        handle_file(str(EXAMPLES / "two-faces.jpg")), api_name="/compare_models"
    )
    document = json.loads(Path(json_path).read_text())
    assert [(a["face"], a["label"], a["models_agreeing"]) for a in document["agreement"]] == [
        (1, "Happiness", 1),
        (2, "Neutral", 1),
    ]
    assert "Face #1: **1 of 1** models say **Happiness**" in status
    assert "Ran 1 model: Mini-Xception FER2013" in status
    # The ten others are named with why they were left out, not silently skipped.
    skipped = re.search(r"Skipped (\d+) \(([^)]*)\): (.*)\.", status)
    assert skipped and skipped.group(1) == "10" and "EmoNet 8-class" in skipped.group(3), status
    assert len(table["data"]) == 2


def test_video_endpoint_returns_the_annotated_video_and_per_frame_csv(client, tmp_path):
    from tests.support.synthetic_video import make_clip

    clip = make_clip(tmp_path / "clip.mp4", seconds=2.0, fps=10.0, second_face=None)
    status, _preview, video, _timeline, _va, _plane, _persons, summary, csv_path, _json = client.predict(
        handle_file(str(clip.path)),
        "mini_xception",
        "none",
        2,
        640,
        0.3,
        api_name="/analyze_video",
    )
    assert "Done: 20 frames" in status and "**1 person** (each seen in one track)" in status
    assert "http" not in status and ".pt" not in status  # said plainly: no URL, no file
    assert Path(video["video"] if isinstance(video, dict) else video).stat().st_size > 0
    rows = list(csv.DictReader(Path(csv_path).read_text().splitlines()))
    assert len(rows) == 20 and {row["face_id"] for row in rows} == {"1"}
    assert summary["data"][0][0] == 1


def test_the_video_example_runs_once_per_setting(client):
    def analyse(every: int) -> tuple:
        example = handle_file(str(EXAMPLES / "four-shots.mp4"))
        return client.predict(example, "mini_xception", "none", every, api_name="/analyze_video")

    first, again = analyse(10), analyse(10)
    assert "Done: 210 frames" in first[0] and "analysed earlier" not in first[0]
    assert "analysed earlier" in again[0] and Path(again[8]).read_text() == Path(first[8]).read_text()
    assert "analysed earlier" not in analyse(5)[0]


def test_video_endpoint_explains_a_bad_file(client, tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_bytes(b"not a video\n" * 100)
    with pytest.raises(AppError, match="not a video"):
        client.predict(handle_file(str(path)), "mini_xception", "none", 5, 640, 0.3,
                       api_name="/analyze_video")  # fmt: skip


def test_webcam_stream_sends_back_annotated_frames_and_keeps_the_session(client):
    frames = list(webcam_frames(45))  # 3 s at 15 fps: faces are found in the background meanwhile
    session = AppSession(client.src)
    try:
        answers = session.stream("webcam_stream", frames, "mini_xception", "none", 0.95, 20, interval=1 / 15)
        assert len(answers) == 45
        images = [a[0] for a in answers if isinstance(a[0], dict) and a[0].get("url")]
        assert len(images) == 45 and len({image["url"] for image in images}) == 45  # a new frame each time
        annotated = np.asarray(Image.open(io.BytesIO(session.fetch(images[-1]))))
        assert annotated.shape == (480, 640, 3)
        assert np.abs(annotated.astype(int) - frames[-1]).max() > 100  # the box and caption are drawn
        statuses = [a[1] for a in answers if isinstance(a[1], str)]
        assert "Looking for faces" in statuses[0] and "1 face" in statuses[-1]
        timelines = [a[2] for a in answers if isinstance(a[2], dict) and a[2].get("type") == "plotly"]
        assert "No faces yet" in timelines[0]["plot"] and "Happiness" in timelines[-1]["plot"]
        # The session's state outlives the stream: its CSV holds a row per frame (and face).
        (csv_file,) = session.call("webcam_csv")
        rows = list(csv.DictReader(io.StringIO(session.fetch(csv_file).decode())))
        faces = [row["face_id"] for row in rows]
        assert len(rows) == 45 and faces[-30:] == ["1"] * 30 and set(faces) == {"", "1"}
        assert sum(row["top_label"] == "Happiness" for row in rows) >= 28
    finally:
        session.close()


def test_closing_the_tab_frees_the_webcam_session_at_once(demo):
    session = AppSession(demo.local_url)
    try:
        session.stream("webcam_stream", list(webcam_frames(2)), "mini_xception", "none", 0.95, 20)
        (live,) = [v for v in demo.state_holder[session.session_hash].state_data.values() if v is not None]
        assert live.frames.folder.exists() and live.analysis.log.path.exists()
        release_session_state(demo)(gr.Request(session_hash=session.session_hash))  # what unload runs
        assert not live.frames.folder.exists() and not live.analysis.log.path.exists()
        assert live not in demo.state_holder[session.session_hash].state_data.values()
    finally:
        session.close()


def test_an_unavailable_model_says_so_once_in_place_without_a_server_path(client):
    """A visitor picking a model whose weights are missing (offline here: EmoNet) gets one plain
    message where the result goes, nothing of an earlier result, and no path or command."""
    image, status, _plot, table, csv_path, json_path, cards = client.predict(
        handle_file(str(EXAMPLES / "two-faces.jpg")), "emonet_8", api_name="/analyze_image"
    )
    assert "EmoNet" in status and "unavailable" in status and "choose another model" in status
    assert not any(part in status for part in (".pth", "/tmp", "http", "python -m", "FER_DEMO_"))
    assert image is None and csv_path is None and json_path is None and not cards
    assert not table["data"] or table["data"] == [[""] * len(table["headers"])]
    info = client.predict("emonet_8", api_name="/model_info")
    assert not any(part in info for part in (".pth", "/tmp", "python -m"))


def test_the_table_names_its_columns_for_people_and_the_csv_for_code(client):
    _, _, _, table, csv_path, _, _ = client.predict(
        handle_file(str(EXAMPLES / "three-people.jpg")), "mini_xception", api_name="/analyze_image"
    )
    assert table["headers"][:3] == ["Face", "Top expression", "Its probability"]
    assert "Box left (px)" in table["headers"] and "x1" not in table["headers"]
    header = next(csv.reader(Path(csv_path).read_text().splitlines()))
    assert header[:3] == ["face", "top_label", "top_probability"]
    assert len(table["data"]) == 3  # the three people of the real group photo


def test_faces_too_small_to_read_are_said_not_dropped(client, tmp_path):
    from tests.support.real_footage import CLASSROOM, clip_frames

    photo = tmp_path / "classroom.png"
    Image.fromarray(clip_frames(CLASSROOM)[30]).save(photo)
    _, status, *_ = client.predict(handle_file(str(photo)), "mini_xception", api_name="/analyze_image")
    assert "No faces found" in status and "too small to read (under 24 px)" in status
    _, status, _, table, *_ = client.predict(
        handle_file(str(photo)), "mini_xception", 0.93, 8, api_name="/analyze_image"
    )
    assert len(table["data"]) >= 3 and "too small" not in status  # a lower minimum reads them
