"""Fit the live mode's BlazeFace boxes to the MTCNN boxes the app's models were measured with.

    python tools/fit_blazeface_boxes.py [more photos...]

BlazeFace's box hugs the face from the brows to the chin; MTCNN's also takes
the forehead. The models crop "the detector box" (HSEmotion as it is,
mini-Xception with a margin), so the live page moves and scales BlazeFace's
box to MTCNN's: centre shift (dx, dy) in box sizes and side scales (sw, sh),
the medians over every face of the example photos, each at several sizes and
mirrored. Prints the values for ``LiveSettings.box_fit`` in
``fer_demo/browser/page.py`` and how far the fitted boxes land from MTCNN's.
This re-implements the page's decoding in Python for the fit only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fer_demo.browser.page import DETECTOR  # noqa: E402
from fer_demo.faces import FaceDetector  # noqa: E402

SIDE = 128


def anchors() -> np.ndarray:
    centres = [((x + 0.5) / grid, (y + 0.5) / grid)
               for grid, per_cell in ((16, 2), (8, 6)) for y in range(grid) for x in range(grid)
               for _ in range(per_cell)]  # fmt: skip
    return np.asarray(centres, np.float32)


def blazeface(session: ort.InferenceSession, image: Image.Image) -> list[np.ndarray]:
    """Boxes (cx, cy, w, h) in image pixels with score > 0.5, the strongest per face (plain NMS)."""
    scale = SIDE / max(image.size)
    w, h = round(image.width * scale), round(image.height * scale)
    left, top = (SIDE - w) // 2, (SIDE - h) // 2
    square = Image.new("RGB", (SIDE, SIDE))
    square.paste(image.resize((w, h), Image.BILINEAR), (left, top))
    pixels = np.asarray(square, np.float32) / 127.5 - 1
    regressors, logits = session.run(None, {"input": pixels.transpose(2, 0, 1)[None]})
    keep = np.flatnonzero(logits[0, :, 0] > 0)  # sigmoid > 0.5
    order = keep[np.argsort(-logits[0, keep, 0])]
    boxes = []
    for i in order:
        r, (ax, ay) = regressors[0, i], anchors()[i]
        cx, cy = (ax * SIDE + r[0] - left) / scale, (ay * SIDE + r[1] - top) / scale
        box = np.asarray([cx, cy, r[2] / scale, r[3] / scale])
        if all(np.hypot(*(box[:2] - b[:2])) > b[2] / 2 for b in boxes):
            boxes.append(box)
    return boxes


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
    samples = []
    for photo in photos:
        for image in variants(photo):
            found = mtcnn.detect(np.asarray(image)).boxes
            for b in blazeface(session, image):
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
