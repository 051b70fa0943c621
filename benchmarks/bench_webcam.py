"""Webcam speed: the webcam tab's own frame handler fed 640x480 JPEG frames offered at 30 fps.

    python benchmarks/bench_webcam.py [--seconds 20] [--memory-minutes 10]

Each simulated browser does what Gradio's webcam component does: on every
tick of ``stream_every`` it captures the camera's newest frame, unless a frame
is still pending. The server side is the real path: Gradio's own JPEG
decoding of the frame, the tab's handler (detect, track, classify, smooth,
draw, plots once a second), the frame file and Gradio's serialisation of the
outputs. "Server ms" times those steps per frame; "delay" runs from the moment
the camera produced a frame to the moment its answer was ready. Models load
random weights written in the published checkpoint formats: speed does not
depend on their values.
"""

from __future__ import annotations

import argparse
import base64
import io
import math
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
import numpy as np
import plotly.graph_objects as go
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["FER_DEMO_OFFLINE"] = "1"
from fer_demo.config import Settings
from fer_demo.models.specs import MODEL_SPECS, TEMPORAL_SPECS
from fer_demo.studio import Studio
from fer_demo.ui.webcam_tab import FRAME_INTERVAL, stream_handler
from tests.checkpoints.emo_affectnet import write_lstm_checkpoint, write_static_checkpoint
from tests.checkpoints.emonet import write_emonet_checkpoint
from tests.checkpoints.hsemotion import write_whole_model_pickle
from tests.synthetic_video import webcam_frames

CAMERA_FPS = 30.0
CASES = [  # (label, model, temporal model)
    ("HSEmotion enet_b0", "enet_b0_8_best_afew", None),
    ("EMO-AffectNet ResNet50 + LSTM", "emo_affectnet_resnet50", "lstm_ravdess"),
    ("EmoNet 8", "emonet_8", None),
]


def write_random_weights(folder: Path) -> None:
    """Random-valued checkpoints under their published names and containers."""
    write_whole_model_pickle(folder / MODEL_SPECS["enet_b0_8_best_afew"].weights[0].filename)
    write_static_checkpoint(folder / MODEL_SPECS["emo_affectnet_resnet50"].weights[0].filename)
    write_lstm_checkpoint(folder / TEMPORAL_SPECS["lstm_ravdess"].weights.filename)
    write_emonet_checkpoint(folder / MODEL_SPECS["emonet_8"].weights[0].filename)


def camera_payloads(count: int = 90) -> list:
    """What the browser sends: the frames as JPEG data URLs, like ``canvas.toDataURL("image/jpeg")``."""
    payloads = []
    for frame in webcam_frames(count):
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, "JPEG", quality=92)
        url = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
        payloads.append(gr.Image.data_model(url=url, path=None))
    return payloads


@dataclass
class SessionStats:
    server_ms: list[float] = field(default_factory=list)
    delays_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def fps(self) -> float:
        return len(self.server_ms) / self.seconds

    def delay_trend(self) -> tuple[float, float]:
        """Median delay of the first and the last third of the run: equal when no backlog builds."""
        third = max(1, len(self.delays_ms) // 3)
        return float(np.median(self.delays_ms[:third])), float(np.median(self.delays_ms[-third:]))


def browser(handler, payloads: list, model: str, temporal: str | None, seconds: float) -> SessionStats:
    """One webcam session: capture on each tick unless pending, send, wait for the answer."""
    camera = gr.Image(sources=["webcam"], streaming=True, type="numpy")
    annotated, plot = gr.Image(type="filepath", interactive=False), gr.Plot()
    stats, live = SessionStats(), None
    start = tick = time.perf_counter()
    while (now := time.perf_counter()) - start < seconds:
        if now < tick:
            time.sleep(tick - now)
        shot = math.floor((tick - start) * CAMERA_FPS)  # the camera's newest frame at this tick
        began = time.perf_counter()
        frame = camera.preprocess(payloads[shot % len(payloads)])
        *outputs, live = handler(frame, model, temporal or "none", None, None, live)
        image, _status, *figures = outputs
        if isinstance(image, str):
            annotated.postprocess(image)
        for figure in figures:
            if isinstance(figure, go.Figure):
                plot.postprocess(figure)
        done = time.perf_counter()
        stats.server_ms.append((done - began) * 1000)
        stats.delays_ms.append((done - (start + shot / CAMERA_FPS)) * 1000)
        tick = start + math.ceil((done - start) / FRAME_INTERVAL) * FRAME_INTERVAL  # next tick, not pending
    stats.seconds = time.perf_counter() - start
    live.close()
    return stats


def run_sessions(studio: Studio, cache: Path, payloads: list, case: tuple, sessions: int, seconds: float):
    _, model, temporal = case
    handler = stream_handler(studio, cache)
    browser(handler, payloads[:10], model, temporal, 2.0)  # load the model and warm up
    results: list[SessionStats] = [None] * sessions

    def run(index: int) -> None:
        results[index] = browser(handler, payloads, model, temporal, seconds)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def memory_child(weights: Path, cache: Path, minutes: float) -> None:
    """One enet_b0 session for ``minutes``; RSS after the first minute and at the end."""
    studio = Studio(Settings(weights_dir=weights))
    handler = stream_handler(studio, cache)
    payloads = camera_payloads()
    first = browser(handler, payloads, "enet_b0_8_best_afew", None, 60.0)
    after_one = rss_mb()
    rest = browser(handler, payloads, "enet_b0_8_best_afew", None, (minutes - 1) * 60.0)
    at_end = rss_mb()
    print(
        f"\nmemory, one enet_b0 session for {minutes:g} min ({len(first.server_ms) + len(rest.server_ms)} "
        f"frames): RSS after 1 min {after_one:.0f} MB, after {minutes:g} min {at_end:.0f} MB, "
        f"growth {at_end - after_one:+.0f} MB"
    )


def rss_mb() -> float:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per measurement")
    parser.add_argument("--memory-minutes", type=float, default=0.0)
    parser.add_argument("--memory-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        weights, cache = Path(tmp) / "weights", Path(tmp) / "cache"
        weights.mkdir()
        write_random_weights(weights)
        if not args.memory_only:
            studio = Studio(Settings(weights_dir=weights))
            payloads = camera_payloads()
            print(f"640x480 JPEG frames offered at {CAMERA_FPS:.0f} fps, one face; {os.cpu_count()} CPUs; "
                  f"browser tick {FRAME_INTERVAL * 1000:.0f} ms")  # fmt: skip
            header = (f"{'model':<32} {'backend':<12} {'sessions':>8} {'fps each':>9} {'server ms p50':>14} "
                      f"{'p95':>6} {'delay ms first/last third':>26}")  # fmt: skip
            print(header)
            for case in CASES:
                backend = studio.zoo.get(case[1]).backend
                for sessions in (1, 4) if case is CASES[0] else (1,):
                    results = run_sessions(studio, cache, payloads, case, sessions, args.seconds)
                    server = np.concatenate([r.server_ms for r in results])
                    fps = ", ".join(f"{r.fps:.1f}" for r in results)
                    trend = " | ".join("{:.0f}/{:.0f}".format(*r.delay_trend()) for r in results)
                    p50, p95 = np.percentile(server, [50, 95])
                    print(f"{case[0]:<32} {backend:<12} {sessions:>8} {fps:>9} {p50:>14.0f} {p95:>6.0f} "
                          f"{trend:>26}")  # fmt: skip
        if args.memory_minutes or args.memory_only:
            spawn = multiprocessing.get_context("spawn")
            child = spawn.Process(target=memory_child, args=(weights, cache, args.memory_minutes or 10.0))
            child.start()
            child.join()


if __name__ == "__main__":
    main()
