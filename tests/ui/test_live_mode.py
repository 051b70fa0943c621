"""The Python side of the in-browser live mode: its files, its model specs, its summaries."""

from __future__ import annotations

import csv
import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from fer_demo.analysis.labels import CANONICAL_LABELS
from fer_demo.browser.assets import AssetServer, integrity_of
from fer_demo.browser.page import LivePage, model_json
from fer_demo.browser.runtime import CDN, FILES, runtime_assets
from fer_demo.browser.summary import MAX_FACES, BrowserFrame, parse_summary
from fer_demo.config import DetectionOptions
from fer_demo.errors import InputError
from fer_demo.models.specs import MODEL_SPECS
from fer_demo.ui.live_view import read_summary
from fer_demo.workflow.webcam import WebcamSession
from tests.support.paths import ROOT

PIPELINE_JS = ROOT / "fer_demo" / "browser" / "js" / "pipeline.js"
BROWSER_MODELS = [name for name, spec in MODEL_SPECS.items() if spec.browser]


def test_the_browser_runs_only_the_small_models():
    assert BROWSER_MODELS == ["mini_xception", "enet_b0_7", "enet_b0_8_best_afew", "enet_b0_8_best_vgaf",
                              "enet_b0_8_va_mtl"]  # fmt: skip


@pytest.mark.parametrize("name", BROWSER_MODELS)
def test_the_page_gets_each_models_preprocessing_from_its_spec(name):
    spec = MODEL_SPECS[name]
    exported = json.loads(json.dumps(model_json(spec)))  # what reaches the page
    pre, crop = spec.preprocessing, spec.crop
    expected = {"size": pre.size, "color": pre.color, "resize": pre.resize, "scale": pre.scale,
                "mean": list(pre.mean), "std": list(pre.std), "reference": pre.reference}  # fmt: skip
    assert exported["preprocessing"] == expected
    assert exported["crop"] == {"square": crop.square, "margin": crop.margin, "pad": crop.pad}
    assert exported["labels"] == list(spec.labels)  # the network's output order
    assert len(exported["canonical_labels"]) == len(spec.labels)
    assert set(exported["canonical_labels"]) <= set(CANONICAL_LABELS)
    assert exported["canonical_order"] == [c for c in CANONICAL_LABELS if c in exported["canonical_labels"]]
    assert exported["has_valence_arousal"] == spec.has_valence_arousal


# ---- summaries from the page ---------------------------------------------------------------------
def face(face_id=1, p=None, box=(10, 20, 110, 140), v=None, a=None, score=0.9) -> list:
    """A face as the page sends it (``pipeline.js``'s ``summaryFace``)."""
    return [face_id, score, *box, *(p or [1 / 7] * 7), *([] if v is None else [v, a])]


def frame(t, faces, n=None) -> list:
    return [t, len(faces) if n is None else n, faces]


def summary(frames, model="mini_xception") -> dict:
    return {"model": model, "frames": json.dumps(frames)}


def test_a_summary_becomes_face_results_in_canonical_labels():
    p = [0.1, 0.5, 0.1, 0.1, 0.1, 0.05, 0.05]
    model, frames = read_summary(summary([frame(1.5, [face(3, p)]), frame(1.6, [])]))
    assert model == "mini_xception" and [f.time for f in frames] == [1.5, 1.6]
    (result,) = frames[0].faces
    assert result.face == 3 and result.box == (10.0, 20.0, 110.0, 140.0)
    assert result.top_label == "Happiness" and result.top_probability == pytest.approx(0.5)
    assert list(result.probabilities) == [c for c in CANONICAL_LABELS if c != "Contempt"]
    assert frames[1].faces == ()


def test_valence_and_arousal_come_with_a_model_that_has_them():
    model = "enet_b0_8_va_mtl"
    (first,) = read_summary(summary([frame(0, [face(p=[1 / 8] * 8, v=0.25, a=-0.5)])], model))[1]
    assert (first.faces[0].valence, first.faces[0].arousal) == (0.25, -0.5)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {"model": "mini_xception"},  # no frames
        summary([]) | {"model": "emonet_8"},  # a model the browser does not run
        summary([]) | {"model": "../../etc/passwd"},
        summary([frame(0, [])] * 121),  # too many frames
        summary([frame(0, [face(i + 1) for i in range(MAX_FACES + 1)])]),  # too many faces
        summary([frame(0, [face(1)], n=0)]),  # fewer boxes drawn than faces classified
        summary([frame(0, [], n=MAX_FACES + 1)]),
        summary([frame(math.nan, [])]),
        summary([frame(2, []), frame(1, [])]),  # time goes back
        summary([frame(0, [face(p=[1 / 8] * 8)])]),  # 8 probabilities for a 7-class model
        summary([frame(0, [face(p=[0.9] * 7)])]),  # do not sum to 1
        summary([frame(0, [face(p=[2.0] + [0.0] * 6)])]),
        summary([frame(0, [face(box=(0, 0, 1e9, 1))])]),
        summary([frame(0, [face(face_id=True)])]),  # a boolean is not a number
        summary([frame(0, [face(face_id=0)])]),
        summary([frame(0, [[*face()[:2], "0,0,1,1", *face()[6:]]])]),  # a string among numbers
        summary([frame(0, [{"id": 1}])]),  # a face must be a list
        summary([frame(0, [face(), [*face(), 0.5]])]),  # a value too many
        summary([frame(0, [face(), face(p=[None] * 7)])]),
        summary([[0, 0]]),  # a frame of two items
        {"model": "mini_xception", "frames": [frame(0, [face()])]},  # not the JSON text
        {"model": "mini_xception", "frames": "[[0, 1, [[1, 0.9"},  # cut short
        {"model": "mini_xception", "frames": "[" * 100_000 + "]" * 100_000},  # nested too deep
        {"model": "mini_xception", "frames": " " * 2_000_001 + "[]"},  # too long
        summary([frame(0, [face(p=[1 / 8] * 8, v=3, a=0)])], "enet_b0_8_va_mtl"),
    ],
)
def test_a_hostile_summary_is_refused_with_a_message(payload):
    with pytest.raises(InputError, match="live summary"):
        read_summary(payload)


SUMMARY_FACE_JS = """
import { summaryFace } from PIPELINE;
const [models, output] = JSON.parse(process.argv[2]);
const box = { x1: 10.04, y1: 20.06, x2: 110.5, y2: 140.25, score: 0.987654 };
const frames = models.map((model, i) => [i, 1, [summaryFace(7, box, output[model.name], model)]]);
console.log(JSON.stringify(frames.map((f) => JSON.stringify([f]))));
"""


@pytest.mark.parametrize("name", ["mini_xception", "enet_b0_8_va_mtl"])
def test_the_faces_the_page_writes_are_what_the_server_reads(tmp_path, name):
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    spec = MODEL_SPECS[name]
    exported = model_json(spec)
    p = np.linspace(1, 2, len(exported["canonical_order"]))
    probabilities = dict(zip(exported["canonical_order"], (p / p.sum()).tolist(), strict=True))
    output = {"probabilities": probabilities, "valence": 1.3, "arousal": -0.25}  # valence past the edge
    script = tmp_path / "summary.mjs"
    script.write_text(SUMMARY_FACE_JS.replace("PIPELINE", json.dumps(PIPELINE_JS.as_uri())))
    answer = subprocess.run([node, str(script), json.dumps([[exported], {name: output}])],
                            capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    (text,) = json.loads(answer.stdout)
    _, (first,) = read_summary({"model": name, "frames": text})
    (result,) = first.faces
    assert result.face == 7 and result.box == (10.0, 20.1, 110.5, 140.3) and result.score == 0.9877
    assert result.probabilities == pytest.approx(probabilities, abs=1e-5)
    assert result.top_label == exported["canonical_order"][-1]
    if spec.has_valence_arousal:
        assert (result.valence, result.arousal) == (1.0, -0.25)
    else:
        assert result.valence is None


def test_summaries_fill_the_same_csv_timeline_and_status_as_the_server_path(tmp_path):
    session = WebcamSession(lambda *args: None, tmp_path / "live.csv")
    p = [0.05, 0.6, 0.1, 0.1, 0.05, 0.05, 0.05]
    frames = [
        BrowserFrame(100.0 + i / 30, ()) if i < 3 else
        BrowserFrame(100.0 + i / 30, parse_summary(summary([frame(1, [face(1, p), face(2, p)])]),
                                                   MODEL_SPECS["mini_xception"])[0].faces)
        for i in range(45)
    ]  # fmt: skip
    update = session.add_browser_frames(frames[:30], "mini_xception")
    later = session.add_browser_frames(frames[30:], "mini_xception")
    assert update.status.startswith("**2 faces**") and "frames/s analysed" in update.status
    assert update.timeline is not None and not update.has_valence_arousal
    assert later.timeline is None and later.circumplex is None  # 0.5 s later: not due yet
    rows = list(csv.DictReader(session.export_csv().open()))
    assert len(rows) == 3 + 2 * 42  # faceless frames keep a row; then a row per face and frame
    assert rows[0]["time"] == "0.000" and rows[0]["face_id"] == ""
    assert {r["top_label"] for r in rows[3:]} == {"Happiness"} and {r["model"] for r in rows} == {
        "mini_xception"
    }
    timeline = json.loads(update.timeline)
    assert len(timeline["data"]) == 14  # a line per expression of each face
    session.close()


def live_frames(counts: list[tuple[int, int]], start: float = 0.0, score: float = 0.9) -> list[BrowserFrame]:
    """Frames at 10 fps: (faces classified, boxes drawn) each."""
    p = [0.05, 0.6, 0.1, 0.1, 0.05, 0.05, 0.05]
    spec = MODEL_SPECS["mini_xception"]
    frames = []
    for i, (classified, drawn) in enumerate(counts):
        payload = summary(
            [frame(1, [face(k + 1, p, score=score) for k in range(classified)], n=drawn)]
        )
        frames.append(BrowserFrame(start + i / 10, parse_summary(payload, spec)[0].faces, drawn))
    return frames


def test_the_live_status_counts_the_boxes_on_screen_not_the_last_frame_alone(tmp_path):
    session = WebcamSession(lambda *args: None, tmp_path / "live.csv")
    # Two faces drawn for most of the second; the last frame lost them both for a moment.
    update = session.add_browser_frames(live_frames([(2, 2)] * 9 + [(0, 0)]), "mini_xception")
    assert update.status.startswith("**2 faces**")
    session.reset()
    # A box is drawn before its first label: the picture shows a face, so does the status.
    update = session.add_browser_frames(live_frames([(0, 1)] * 10), "mini_xception")
    assert update.status.startswith("**1 face**")
    session.reset()
    update = session.add_browser_frames(live_frames([(0, 0)] * 10), "mini_xception")
    assert update.status.startswith("**No face found**")
    session.close()


def test_the_live_threshold_applies_to_what_is_recorded(tmp_path):
    session = WebcamSession(lambda *args: None, tmp_path / "live.csv")
    strict = DetectionOptions(0.8, 40)
    session.add_browser_frames(live_frames([(1, 1)] * 5, score=0.95), "mini_xception", strict)
    session.add_browser_frames(live_frames([(1, 1)] * 5, start=1.0, score=0.6), "mini_xception", strict)
    rows = list(csv.DictReader(session.export_csv().open()))
    scored = [float(row["score"]) for row in rows if row["score"]]
    assert len(rows) == 10 and scored == [0.95] * 5  # the weak ones keep a faceless row, no face
    session.close()


def test_the_page_is_told_its_detector_and_the_visitors_settings(tmp_path):
    page = LivePage(AssetServer(tmp_path / "gzip"), None)
    spec = MODEL_SPECS["mini_xception"]
    default = page.config(spec, None)["detector"]
    assert "BlazeFace" in default["name"]
    assert (default["threshold"], default["min_face"]) == (0.5, 24)
    chosen = page.config(spec, None, detection=DetectionOptions(0.7, 64))["detector"]
    assert (chosen["threshold"], chosen["min_face"]) == (0.7, 64)
    assert page.config(spec, None)["max_faces"] == MAX_FACES


# ---- files --------------------------------------------------------------------------------------
@pytest.fixture
def served(tmp_path: Path):
    """An AssetServer with one file, in front of an app that answers everything else itself."""
    folder = tmp_path / "files"
    folder.mkdir()
    model = folder / "model.onnx"
    model.write_bytes(bytes(range(256)) * 4096)  # 1 MB, compressible
    assets = AssetServer(tmp_path / "gzip")
    asset = assets.add(model)
    app = Starlette(routes=[Route("/{path:path}", lambda request: PlainTextResponse("the app"))])
    with TestClient(assets.middleware(app)) as client:
        yield client, asset, model


def test_a_registered_file_is_served_gzipped_and_cached_for_good(served):
    client, asset, model = served
    response = client.get("/" + asset.url)
    assert response.status_code == 200 and response.content == model.read_bytes()  # httpx unzips
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) < model.stat().st_size / 10
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert asset.integrity == integrity_of(model) and asset.size == model.stat().st_size
    again = client.get("/" + asset.url, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    plain = client.get("/" + asset.url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == model.read_bytes()
    assert client.head("/" + asset.url).status_code == 200
    assert client.post("/" + asset.url).status_code == 405


@pytest.mark.parametrize(
    "path",
    ["/live-assets/", "/live-assets/x/model.onnx", "/live-assets/../../etc/passwd", "/live-assets/%2e%2e/x"],
)
def test_nothing_but_registered_files_is_served(served, path):
    client = served[0]
    # Not found, or (where the client resolved the dots itself) a request the app answers.
    assert client.get(path).text in ("Not found", "the app")
    assert client.get("/config").text == "the app"  # every other request reaches the app


def test_a_changed_file_gets_a_new_address(tmp_path):
    path = tmp_path / "a.js"
    path.write_text("one")
    assets = AssetServer(tmp_path / "gzip")
    first = assets.add(path)
    path.write_text("two, longer")
    assert assets.add(path).url != first.url


def test_the_runtime_comes_from_the_cdn_with_pinned_hashes_or_from_a_checked_folder(tmp_path):
    assets = AssetServer(tmp_path / "gzip")
    cdn = runtime_assets(assets, None)
    assert {a.url for a in cdn.values()} == {CDN + name for name in FILES}
    assert all(a.integrity.startswith("sha384-") for a in cdn.values())
    local = tmp_path / "ort"
    local.mkdir()
    for name in FILES:
        (local / name).write_bytes(b"not the runtime")
    with pytest.raises(ValueError, match="is not onnxruntime-web"):
        runtime_assets(assets, local)
    page = LivePage(assets, local)  # the app still starts, and says why live mode cannot run
    assert "runtime is not available" in page.problem


def test_the_server_mode_works_after_the_live_mode_in_the_same_session(studio, tmp_path):
    """The soak found it: live summaries set the session's model without an analyzer, so the
    server mode that followed in the same tab analysed nothing."""
    from tests.support.synthetic_video import webcam_frames

    session = WebcamSession(studio.stream_analyzer, tmp_path / "live.csv")
    session.add_browser_frames(live_frames([(2, 2)] * 10), "mini_xception")
    frames = list(webcam_frames(40, both=True))
    updates = []
    for i, frame in enumerate(frames):
        updates.append(session.step(frame, "mini_xception", 500.0 + i / 10))
        session.analyzer.wait_for_detection(timeout=60)  # a detector faster than the camera
    statuses = [u.status for u in updates if u.status]
    assert not any("unavailable" in text for text in statuses), statuses
    assert any("2 faces" in text for text in statuses), statuses
    times = [row["time"] for row in session.history]
    assert times and max(times) < 10  # the server's own clock from the switch, not the page's
    session.close()
