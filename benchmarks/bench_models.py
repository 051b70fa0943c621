"""Milliseconds per face for every registered model at batch 1 and batch 8.

    python benchmarks/bench_models.py [--runs 5] [--models NAME ...]

Real weights cannot be downloaded everywhere, and speed does not depend on
weight values, so each network is built with random initialisation (the
embedded model uses its real weights). Time covers preprocessing of face
crops and the forward pass; median of ``--runs`` after one warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fer_demo.models.base import EmotionModel
from fer_demo.models.loading import ARCHITECTURES, with_fast_backend
from fer_demo.models.specs import MODEL_SPECS


def per_face_ms(model: EmotionModel, batch: int, runs: int) -> float:
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 255, (180, 150, 3), dtype=np.uint8) for _ in range(batch)]
    model.predict(crops)  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        model.predict(crops)
        times.append((time.perf_counter() - started) * 1000 / batch)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--models", nargs="*", default=list(MODEL_SPECS))
    args = parser.parse_args()
    print(f"torch {torch.__version__} with {torch.get_num_threads()} threads; ONNX Runtime with 1 thread")
    print(
        f"{'model':<24} {'input':>7} {'params M':>9} {'backend':>12} "
        f"{'batch 1 ms/face':>16} {'batch 8 ms/face':>16}"
    )
    with tempfile.TemporaryDirectory() as cache:
        for name in args.models:
            spec = MODEL_SPECS[name]
            network = ARCHITECTURES[spec.architecture](spec).eval()
            params = sum(p.numel() for p in network.parameters()) / 1e6
            size = spec.preprocessing.size
            pytorch = EmotionModel(spec, network)
            for model in (pytorch, with_fast_backend(pytorch, Path(cache), key=name)):
                one, eight = per_face_ms(model, 1, args.runs), per_face_ms(model, 8, args.runs)
                print(
                    f"{name:<24} {size:>4}px {params:>9.2f} {model.backend:>12} {one:>16.1f} {eight:>16.1f}"
                )


if __name__ == "__main__":
    main()
