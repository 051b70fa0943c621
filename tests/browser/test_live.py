"""The webcam's live mode in Chromium: the page analyses the fake camera itself, offline."""

from __future__ import annotations

import base64
import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from fer_demo.analysis.faces import crop, expand_boxes
from fer_demo.analysis.labels import to_canonical
from fer_demo.models.preprocess import prepare
from fer_demo.models.specs import MODEL_SPECS
from fer_demo.models.zoo import ModelZoo
from fer_demo.ui.live_view import page_config
from fer_demo.workflow.studio import Studio
from tests.support.checkpoints.hsemotion import write_whole_model_pickle
from tests.support.paths import EXAMPLES

from .test_browser import open_tab

FRAME_REQUESTS = ("/gradio_api/stream/", "/gradio_api/upload", "/gradio_api/queue/join")


def start_live(page, url: str) -> list[str]:
    """Open the Webcam tab and start the live camera; returns the URLs the page requests from then."""
    open_tab(page, url, "Webcam")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.get_by_role("button", name="Start the camera").click()
    return requests


def test_live_mode_finds_faces_labels_them_and_reports_to_the_server(laptop, live_app):
    page = laptop
    requests = start_live(page, live_app.local_url)
    page.wait_for_function("window.__ferLive?.faces.filter(f => f.label).length === 2")
    status = page.locator("#webcam-status")
    status.filter(has_text="2 faces").wait_for()  # the summaries reached Python
    before = page.evaluate("({...window.__ferLive})")
    # It keeps drawing and classifying both faces (the speed is bench_live_browser.py's to measure).
    page.wait_for_function(
        "([o, c, s]) => __ferLive.overlays >= o + 60 && __ferLive.classifications >= c + 20"
        " && __ferLive.summariesSent >= s + 2",
        arg=[before["overlays"], before["classifications"], before["summariesSent"]],
    )
    after = page.evaluate("({...window.__ferLive})")
    assert after["summariesSent"] > before["summariesSent"] and not after["errors"]
    assert "frames/s analysed" in status.inner_text()
    traces = page.locator("#webcam-timeline .js-plotly-plot .scatterlayer .trace")
    assert traces.count() == 14  # a line per expression of each face, from the page's numbers
    assert page.locator("#webcam-timeline").bounding_box()["y"] < 768  # the timeline starts on screen
    joins = [url for url in requests if "/gradio_api/queue/join" in url]
    assert not [url for url in requests if any(part in url for part in FRAME_REQUESTS[:2])]  # no frame
    assert len(joins) <= after["summariesSent"] + 1  # one event per summary (numbers), none per frame

    page.get_by_role("button", name="Download this session as CSV").click()
    with page.expect_download() as download:
        page.locator("#webcam-csv a").first.click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert {row["face_id"] for row in rows if row["face_id"]} == {"1", "2"}
    assert all(row["top_label"] for row in rows if row["face_id"])
    assert "Happiness" in {row["top_label"] for row in rows}  # the smiling astronaut, as the image tab says
    assert {row["model"] for row in rows} == {"mini_xception"}

    page.get_by_label("On the server").check()
    page.locator("#webcam-input").wait_for()
    page.wait_for_function("window.__ferLive.state === 'stopped'")  # a hidden live view lets the camera go
    assert not page.locator(".fer-live-stage").is_visible()


def test_a_model_too_heavy_for_the_browser_switches_to_the_server_mode(page, live_app):
    open_tab(page, live_app.local_url, "Webcam")
    page.locator("#webcam-model input").click()
    page.get_by_role("option", name="EmoNet 8-class (valence/arousal)").click()
    page.locator("#webcam-input").wait_for()
    assert page.get_by_label("On the server").is_checked()


TRACKER_JS = """
async ({config, frames}) => {
  const pipeline = await import(new URL(config.scripts["pipeline.js"].url, location.href).href);
  const tracker = new pipeline.Tracker({ minHits: config.min_hits, memory: config.memory });
  const box = (x, y) => ({ x1: x, y1: y, x2: x + 80, y2: y + 100, score: 0.9 });
  const ids = (time, faces) => tracker.update(faces.map(([x, y]) => box(x, y)), time).map((t) => t.id);
  return frames.map(([time, faces]) => ids(time, faces));
}
"""


def test_the_page_keeps_a_face_id_through_a_stall_and_a_quick_move(page, live_app):
    """A page that froze 1.3 s (a busy CPU) while a face swayed 0.7 face widths: still the same two ids."""
    config = json.loads(page_config(live_app.studio, live_app.live_page, "mini_xception"))
    swaying = [(t / 30, [(500, 100), (100 + 2 * t, 300)]) for t in range(6)]
    after_stall = [(1.5 + t / 30, [(500, 100), (40 - t, 300)]) for t in range(4)]
    page.goto(live_app.local_url)
    ids = page.evaluate(TRACKER_JS, {"config": config, "frames": swaying + after_stall})
    assert ids[0] == []  # not numbered before its second sighting
    assert all(frame == [1, 2] for frame in ids[1:])


PREPARE_JS = """
async ({config, crops, pre}) => {
  const pipeline = await import(new URL(config.scripts["pipeline.js"].url, location.href).href);
  return crops.map(({rgba, width, height}) => {
    const pixels = Uint8ClampedArray.from(atob(rgba), (c) => c.charCodeAt(0));
    return Array.from(pipeline.prepareInput(pixels, width, height, pre));
  });
}
"""


@pytest.mark.parametrize("color", ["gray", "rgb"])
def test_the_page_resizes_and_greys_a_crop_exactly_as_opencv(page, live_app, color):
    """The live page's cv2_linear resize and luma, bit for bit against cv2, shrinking and growing."""
    import cv2

    rng = np.random.default_rng(7)
    shapes = [(97, 113), (13, 11), (128, 128), (300, 280), (64, 64), (1, 1), (41, 200)]
    crops = [rng.integers(0, 256, (*shape, 3), dtype=np.uint8) for shape in shapes]
    size = 64 if color == "gray" else 96
    pre = {"size": size, "color": color, "resize": "cv2_linear", "scale": 1, "mean": [0] * 3, "std": [1] * 3}
    rgba = [np.dstack([c, np.full(c.shape[:2], 255, np.uint8)]) for c in crops]
    payload = [{"rgba": base64.b64encode(c.tobytes()).decode(), "width": c.shape[1], "height": c.shape[0]}
               for c in rgba]  # fmt: skip
    config = json.loads(page_config(live_app.studio, live_app.live_page, "mini_xception"))
    page.goto(live_app.local_url)
    results = page.evaluate(PREPARE_JS, {"config": config, "crops": payload, "pre": pre})
    for crop_pixels, result in zip(crops, results, strict=True):
        source = cv2.cvtColor(crop_pixels, cv2.COLOR_RGB2GRAY) if color == "gray" else crop_pixels
        expected = cv2.resize(source, (size, size), interpolation=cv2.INTER_LINEAR).reshape(size, size, -1)
        np.testing.assert_array_equal(np.asarray(result).reshape(-1, size, size), expected.transpose(2, 0, 1))


@pytest.fixture(scope="module")
def enet_onnx(tmp_path_factory):
    """enet_b0_8_va_mtl with random weights in its published container, exported as the app does."""
    weights = tmp_path_factory.mktemp("enet")
    write_whole_model_pickle(weights / MODEL_SPECS["enet_b0_8_va_mtl"].weights[0].filename, num_classes=10)
    return ModelZoo(weights).get("enet_b0_8_va_mtl")


PARITY_JS = """
async ({config, asset, crops}) => {
  const url = (name) => new URL(config.scripts[name].url, location.href).href;
  const live = await import(url("live.js"));
  const pipeline = await import(url("pipeline.js"));
  const model = config.model, pre = model.preprocessing;
  const runner = await live.startRunner(config, asset);
  const out = [];
  for (const {rgba, width, height} of crops) {
    const pixels = Uint8ClampedArray.from(atob(rgba), (c) => c.charCodeAt(0));
    const input = pipeline.prepareInput(pixels, width, height, pre);
    const channels = pre.color === "gray" ? 1 : 3;
    const {outputs} = await runner.run(input.slice(), [1, channels, pre.size, pre.size]);
    const result = pipeline.interpret(Object.values(outputs)[0], model);
    const probabilities = model.canonical_order.map((label) => result.probabilities[label]);
    out.push({input: Array.from(input), probabilities, valence: result.valence, arousal: result.arousal});
  }
  runner.stop();
  return out;
}
"""


def face_crops(studio: Studio, spec) -> list[np.ndarray]:
    """Faces of the example photos as the model's crop policy cuts them, also shrunk and grown."""
    crops = []
    for name in ("biden-portrait.jpg", "astronaut.jpg", "two-faces.jpg"):
        image = np.asarray(Image.open(EXAMPLES / name).convert("RGB"))
        boxes = expand_boxes(studio.detector.detect(image).boxes, spec.crop.margin, spec.crop.square)
        for box in boxes:
            face = crop(image, box, pad=spec.crop.pad)
            crops.append(face)
            crops.append(np.asarray(Image.fromarray(face).resize((97, 113))))  # upscaled by the model
    return crops


@pytest.mark.parametrize("name", ["mini_xception", "enet_b0_8_va_mtl"])
def test_the_browser_prepares_and_classifies_a_face_as_python_does(page, live_app, enet_onnx, name):
    """Same crops, same ONNX file: the page's preprocessing and onnxruntime-web against Python's."""
    spec = MODEL_SPECS[name]
    studio = live_app.studio
    model = enet_onnx if name == "enet_b0_8_va_mtl" else studio.zoo.get(name)
    config = json.loads(page_config(studio, live_app.live_page, "mini_xception"))
    config["model"] = live_app.live_page.model_entry(spec, model.runner.path)
    crops = face_crops(studio, spec)
    rgba = [np.dstack([c, np.full(c.shape[:2], 255, np.uint8)]) for c in crops]
    payload = [{"rgba": base64.b64encode(c.tobytes()).decode(), "width": c.shape[1], "height": c.shape[0]}
               for c in rgba]  # fmt: skip
    page.goto(live_app.local_url)
    results = page.evaluate(PARITY_JS, {"config": config, "asset": config["model"], "crops": payload})
    expected = model.predict(crops)
    canonical = np.asarray([list(to_canonical(p, spec.labels).values()) for p in expected.probabilities])
    input_gap = max(float(np.abs(np.asarray(r["input"]) - prepare(c, spec.preprocessing).ravel()).max())
                    for r, c in zip(results, crops, strict=True))  # fmt: skip
    probability_gap = float(np.abs(np.asarray([r["probabilities"] for r in results]) - canonical).max())
    print(f"{name}: {len(crops)} crops, inputs within {input_gap:.2g}, probabilities {probability_gap:.2g}")
    assert input_gap <= 1e-5  # the same arithmetic, bit for bit before float scaling
    assert probability_gap <= 0.02
    if spec.has_valence_arousal:
        valence = np.asarray([r["valence"] for r in results])
        assert float(np.abs(valence - expected.valence).max()) <= 0.02


def test_a_refused_camera_says_so_and_offers_the_server_mode(page, live_app):
    refuse = "() => Promise.reject(new DOMException('no', 'NotAllowedError'))"
    page.add_init_script(f"navigator.mediaDevices.getUserMedia = {refuse};")
    open_tab(page, live_app.local_url, "Webcam")
    page.get_by_role("button", name="Start the camera").click()
    message = page.locator(".fer-live-message")
    message.filter(has_text="access was refused").wait_for()
    assert "server-side mode" in message.inner_text()
    page.get_by_role("button", name="Analyse on the server instead").click()
    page.locator("#webcam-input").wait_for()
    assert page.get_by_label("On the server").is_checked()
