"""Time per face of the Why? saliency maps (Grad-CAM), through the app and in-process.

    python benchmarks/bench_saliency.py [--runs 3] [--models NAME ...]

Headline: ``/explain`` over HTTP on the running app (``python app.py`` in its own
process), the two-face example, median of ``--runs`` after one warm-up call; the
request time covers upload, detection, classification and the maps. Beside it,
labelled in-process: ``SaliencyExplainer.explain`` alone, per face. Networks hold
random weights in their published containers (speed does not depend on the values);
the embedded model uses its real weights.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from gradio_client import Client, handle_file
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.running_app import ROOT, start_app, write_random_weights
from fer_demo.analysis.saliency import SaliencyExplainer
from fer_demo.config import Settings
from fer_demo.workflow.studio import Studio

MODELS = ["mini_xception", "enet_b0_8_best_afew", "emo_affectnet_resnet50", "emonet_8", "esr_9"]
PHOTO = ROOT / "examples" / "two-faces.jpg"


def in_process_ms(weights: Path, name: str, runs: int) -> float:
    studio = Studio(Settings(weights_dir=weights))
    image, analysis = studio.analyze_file(PHOTO, name)
    explainer = SaliencyExplainer(studio.zoo.get(name))
    explainer.explain(image.pixels, analysis.faces)  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        explainer.explain(image.pixels, analysis.faces)
        times.append((time.perf_counter() - started) * 1000 / len(analysis.faces))
    return statistics.median(times)


def over_http(url: str, name: str, runs: int) -> tuple[float, float]:
    """(request ms, the maps' ms per face as the answer reports them), medians."""
    client = Client(url, verbose=False)
    client.predict(handle_file(str(PHOTO)), name, "", False, api_name="/explain")  # warm-up: loads the model
    requests, per_face = [], []
    for _ in range(runs):
        started = time.perf_counter()
        answer = client.predict(handle_file(str(PHOTO)), name, "", False, api_name="/explain")
        requests.append((time.perf_counter() - started) * 1000)
        per_face.append(answer["faces"][0]["seconds"] * 1000)
    return statistics.median(requests), statistics.median(per_face)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--models", nargs="*", default=MODELS)
    args = parser.parse_args()
    faces = 2
    print(f"photo: {PHOTO.name} ({Image.open(PHOTO).size[0]}x{Image.open(PHOTO).size[1]}, {faces} faces)")
    with tempfile.TemporaryDirectory() as folder:
        weights = Path(folder) / "weights"
        weights.mkdir()
        write_random_weights(weights)
        server, url = start_app(weights, Path(folder) / "app.log")
        try:
            print(f"{'model':<26} {'/explain ms':>12} {'maps ms/face (app)':>19} {'in-process ms/face':>19}")
            for name in args.models:
                request, maps = over_http(url, name, args.runs)
                local = in_process_ms(weights, name, args.runs)
                print(f"{name:<26} {request:>12.0f} {maps:>19.0f} {local:>19.0f}")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
