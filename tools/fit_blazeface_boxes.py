"""Fit the live mode's BlazeFace boxes to the MTCNN boxes the app's models were measured with.

    python tools/fit_blazeface_boxes.py [more photos...]

BlazeFace's box hugs the face from the brows to the chin; MTCNN's also takes
the forehead. The models crop "the detector box" (HSEmotion as it is,
mini-Xception with a margin), so the live page moves and scales BlazeFace's
box to MTCNN's: centre shift (dx, dy) in box sizes and side scales (sw, sh),
the medians over every face of the example photos, each at several sizes and
mirrored. Prints the values for ``LiveSettings.box_fit`` in
``fer_demo/browser/page.py`` and how far the fitted boxes land from MTCNN's.
The detector runs here, but its outputs are decoded by the page's own code
(``letterbox`` and ``decodeFaces`` of ``fer_demo/browser/js/pipeline.js``, run
by Node): the fit is of the very boxes the page finds, and BlazeFace's decoding
is written once. Needs Node.js.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fer_demo.analysis.faces import FaceDetector  # noqa: E402
from fer_demo.browser.page import DETECTOR, LiveSettings  # noqa: E402

PIPELINE_JS = ROOT / "fer_demo" / "browser" / "js" / "pipeline.js"
# The page's letterbox fits for {"sizes"}, or its faces for {"outputs", "options"}: float32 arrays
# travel as base64, so Node decodes exactly what onnxruntime gave.
PAGE_JS = """
import { blazefaceAnchors, decodeFaces, letterbox } from PIPELINE;
const floats = (text) => new Float32Array(new Uint8Array(Buffer.from(text, "base64")).buffer);
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const { sizes, outputs, options } = JSON.parse(input);
  const anchors = blazefaceAnchors();
  const answer = sizes
    ? sizes.map(([w, h]) => letterbox(w, h))
    : outputs.map(({ size: [w, h], regressors, logits }) =>
      decodeFaces(floats(regressors), floats(logits), anchors, letterbox(w, h), options));
  process.stdout.write(JSON.stringify(answer));
});
"""
LIVE = LiveSettings()
# BlazeFace's own boxes (no box fit: they are what is fitted), every size, the page's score and merging.
DECODING = {"threshold": LIVE.detector_threshold, "iou": LIVE.detector_overlap, "minSize": 0,
            "boxFit": {"dx": 0, "dy": 0, "sw": 1, "sh": 1}}  # fmt: skip


class Page:
    """The live page's pipeline.js, asked through Node (JSON over stdin and stdout)."""

    def __init__(self, folder: Path) -> None:
        self.node = shutil.which("node")
        if self.node is None:
            raise SystemExit("Node.js is needed: the page's own code decodes the detector's outputs")
        self.script = folder / "page.mjs"
        self.script.write_text(PAGE_JS.replace("PIPELINE", json.dumps(PIPELINE_JS.as_uri())))

    def ask(self, request: dict) -> list:
        answer = subprocess.run([self.node, str(self.script)], input=json.dumps(request), capture_output=True,
                                text=True, check=True, timeout=600)  # fmt: skip
        return json.loads(answer.stdout)


def as_text(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array, "<f4").tobytes()).decode()


def detector_outputs(session: ort.InferenceSession, image: Image.Image, fit: dict) -> dict:
    """BlazeFace's raw outputs on ``image`` letterboxed as the page does (``fit``: its letterbox)."""
    left, top, w, h = fit["target"]
    square = Image.new("RGB", (fit["side"], fit["side"]))
    square.paste(image.resize((w, h), Image.BILINEAR), (left, top))
    pixels = np.asarray(square, np.float32) / 127.5 - 1
    regressors, logits = session.run(None, {"input": pixels.transpose(2, 0, 1)[None]})
    return {"size": image.size, "regressors": as_text(regressors[0]), "logits": as_text(logits[0, :, 0])}


def centre_size(face: dict) -> np.ndarray:
    x1, y1, x2, y2 = (face[k] for k in ("x1", "y1", "x2", "y2"))
    return np.asarray([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1])


def blazeface(page: Page, session: ort.InferenceSession, images: list[Image.Image]) -> list[list[np.ndarray]]:
    """Each image's faces as the page finds them before its box fit: (cx, cy, w, h) in image pixels."""
    fits = page.ask({"sizes": [image.size for image in images]})
    outputs = [detector_outputs(session, image, fit) for image, fit in zip(images, fits, strict=True)]
    faces = page.ask({"outputs": outputs, "options": DECODING})
    return [[centre_size(face) for face in found] for found in faces]


def variants(path: Path):
    image = Image.open(path).convert("RGB")
    for flip in (False, True):
        base = image.transpose(Image.FLIP_LEFT_RIGHT) if flip else image
        for size in (320, 480, 640, 960):
            scale = size / max(base.size)
            yield base.resize((round(base.width * scale), round(base.height * scale)), Image.BILINEAR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="*", type=Path)
    photos = sorted((ROOT / "examples").glob("*.jpg")) + parser.parse_args().photos
    session = ort.InferenceSession(str(DETECTOR), providers=["CPUExecutionProvider"])
    mtcnn = FaceDetector(max_side=640)
    images = [image for photo in photos for image in variants(photo)]
    with tempfile.TemporaryDirectory() as folder:
        page_faces = blazeface(Page(Path(folder)), session, images)
    samples = []
    for image, faces in zip(images, page_faces, strict=True):
        found = mtcnn.detect(np.asarray(image)).boxes
        for b in faces:
            for x1, y1, x2, y2 in found:
                w, h = x2 - x1, y2 - y1
                if abs((x1 + x2) / 2 - b[0]) < w / 3 and abs((y1 + y2) / 2 - b[1]) < h / 3:
                    samples.append(((x1 + x2) / 2, (y1 + y2) / 2, w, h, *b))
    s = np.asarray(samples)
    fit = {"dx": np.median((s[:, 0] - s[:, 4]) / s[:, 6]), "dy": np.median((s[:, 1] - s[:, 5]) / s[:, 7]),
           "sw": np.median(s[:, 2] / s[:, 6]), "sh": np.median(s[:, 3] / s[:, 7])}  # fmt: skip
    fitted = np.column_stack([s[:, 4] + fit["dx"] * s[:, 6], s[:, 5] + fit["dy"] * s[:, 7],
                              s[:, 6] * fit["sw"], s[:, 7] * fit["sh"]])  # fmt: skip
    error = np.abs(fitted - s[:, :4]) / s[:, 2:4].repeat(2, axis=1)
    raw = np.abs(s[:, 4:] - s[:, :4]) / s[:, 2:4].repeat(2, axis=1)
    print(f"{len(s)} matched faces from {len(photos)} photos (4 sizes, mirrored)")
    print("box_fit = {" + ", ".join(f'"{k}": {v:.3f}' for k, v in fit.items()) + "}")
    medians = [np.round(np.median(e, axis=0), 3).tolist() for e in (raw, error)]
    print(f"distance to MTCNN's box in its size (centre x, y, width, height), median: raw {medians[0]}, "
          f"fitted {medians[1]}")  # fmt: skip


if __name__ == "__main__":
    main()
