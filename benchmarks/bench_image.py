"""Detection and end-to-end time for a 1280x720 photo with one and with five faces.

    python benchmarks/bench_image.py [--runs 20] [--model mini_xception]

Faces come from the public-domain examples pasted onto a synthetic 1280x720
scene, JPEG-encoded; end to end is decode, detect, classify and draw. Prints
medians over ``--runs`` after one warm-up; the floor for the embedded model
is 150 ms end to end for one face on 2 cores.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fer_demo.config import Settings
from fer_demo.media.images import load_image
from fer_demo.presentation.render import annotate
from fer_demo.workflow.studio import Studio

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def scene(faces: int) -> np.ndarray:
    """A 1280x720 frame with ``faces`` head-and-shoulder tiles on a grey gradient."""
    frame = np.zeros((720, 1280, 3), np.uint8)
    frame[:] = np.linspace(60, 160, 1280, dtype=np.uint8)[None, :, None]
    tiles = [
        Image.open(EXAMPLES / "astronaut.jpg").crop((130, 20, 330, 240)),
        Image.open(EXAMPLES / "biden-portrait.jpg").crop((330, 60, 830, 680)),
    ]
    width = 1280 // max(faces, 1)
    for i in range(faces):
        tile = tiles[i % 2]
        side = min(width - 10, 300)
        tile = tile.resize((side, round(side * tile.height / tile.width)))
        frame[150 : 150 + tile.height, i * width + 5 : i * width + 5 + tile.width] = np.asarray(tile)[
            : 720 - 150
        ]
    return frame


def median_ms(fn, runs: int) -> float:
    fn()  # warm-up: first calls allocate and pick kernels
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--model", default="mini_xception")
    args = parser.parse_args()
    studio = Studio(Settings.from_env())
    model = studio.zoo.get(args.model)
    threads, side = torch.get_num_threads(), studio.detector.max_side
    print(f"model {args.model}, torch threads {threads}, detection on a {side} px copy")
    print(f"{'faces':>5} {'found':>5} {'detect ms':>10} {'end-to-end ms':>14}")
    for faces in (1, 5):
        frame = scene(faces)
        found = len(studio.detector.detect(frame))
        detect = median_ms(lambda frame=frame: studio.detector.detect(frame), args.runs)

        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, "JPEG", quality=90)
        photo = buffer.getvalue()

        def end_to_end(photo: bytes = photo) -> None:  # decode, detect, classify, draw
            image = load_image(photo, studio.settings.max_image_pixels)
            annotate(image, studio.analyze(image, args.model, model).faces)

        total = median_ms(end_to_end, args.runs)
        print(f"{faces:>5} {found:>5} {detect:>10.1f} {total:>14.1f}")


if __name__ == "__main__":
    main()
