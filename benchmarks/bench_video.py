"""Video speed and memory on a synthesised 720p30 H.264 clip with one face.

    python benchmarks/bench_video.py [--seconds 20] [--memory-minutes 10]

Prints one table: our streaming pipeline (decode, detect every N frames on a
640 px copy, track, batched classify, smooth, draw, encode in a thread) per
model, and a naive reference loop (full-resolution MTCNN and one model call
per face on every frame, no batching, no threads) with the ratio. Random
weights: speed does not depend on their values. With --memory-minutes, RSS
is sampled while a clip that long is analysed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fer_demo.analysis.faces import FaceDetector
from fer_demo.analysis.pipeline import face_crops, face_results
from fer_demo.analysis.stream import StreamAnalyzer
from fer_demo.config import StreamSettings
from fer_demo.media.video_io import probe, read_frames
from fer_demo.models.base import EmotionModel
from fer_demo.models.emo_affectnet import EmotionLSTM
from fer_demo.models.loading import ARCHITECTURES, with_fast_backend
from fer_demo.models.specs import MODEL_SPECS
from fer_demo.presentation.render import annotate
from fer_demo.workflow.video import VideoResult, analyze_video
from tests.support.synthetic_video import make_clip


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB, from /proc."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def random_model(name: str, cache: Path, backend: bool = True) -> EmotionModel:
    spec = MODEL_SPECS[name]
    model = EmotionModel(spec, ARCHITECTURES[spec.architecture](spec).eval())
    return with_fast_backend(model, cache, key=f"bench-{name}") if backend else model


def ours(clip: Path, model: EmotionModel, lstm: torch.nn.Module | None = None) -> VideoResult:
    settings = StreamSettings(temporal_model="lstm_ravdess" if lstm is not None else None)
    analyzer = StreamAnalyzer(model, FaceDetector(max_side=640), settings, lstm)
    with tempfile.TemporaryDirectory() as folder:
        *_, result = analyze_video(clip, analyzer, Path(folder) / "out.mp4")
    return result


def naive(clip: Path, model: EmotionModel, max_frames: int) -> tuple[float, int]:
    """Every frame: full-resolution detection, one call per face, draw, encode inline."""
    detector = FaceDetector(max_side=100_000)
    info = probe(clip)
    started = time.perf_counter()
    frames = 0
    with tempfile.TemporaryDirectory() as folder, av.open(str(Path(folder) / "naive.mp4"), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(info.fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = info.width, info.height, "yuv420p"
        stream.options = {"preset": "veryfast"}
        for frame in read_frames(clip):
            faces = detector.detect(frame.image)
            crops = face_crops(frame.image, faces, model)
            results = []
            for i, crop in enumerate(crops):
                results += face_results(faces[i], model.predict([crop]), model)
            drawn = annotate(frame.image, results)
            for packet in stream.encode(av.VideoFrame.from_ndarray(drawn, format="rgb24")):
                out.mux(packet)
            frames += 1
            if frames >= max_frames:
                break
        for packet in stream.encode():
            out.mux(packet)
    elapsed = time.perf_counter() - started
    return frames / info.fps / elapsed, frames


def memory_run(minutes: float, folder: Path) -> None:
    """Analyse a long clip in a fresh process, so RSS counts only what a video analysis holds."""
    clip = make_clip(folder / "long.mp4", seconds=minutes * 60, fps=30.0, size=(1280, 720), tile_height=300,
                     second_face=None)  # fmt: skip
    spawn = multiprocessing.get_context("spawn")
    child = spawn.Process(target=_memory_child, args=(clip.path, minutes, folder))
    child.start()
    child.join()


def _memory_child(clip_path: Path, minutes: float, folder: Path) -> None:
    model = random_model("enet_b0_8_best_afew", folder)
    analyzer = StreamAnalyzer(model, FaceDetector(max_side=640), StreamSettings())
    marks: dict[int, float] = {}
    for event in analyze_video(clip_path, analyzer, folder / "long-out.mp4", progress_every=1.0):
        done = getattr(event, "frames_done", getattr(event, "frames", 0))
        video_minute = int(done / 30 / 60)
        marks.setdefault(video_minute, rss_mb()[0])
    current, peak = rss_mb()
    print(
        f"\nmemory over {minutes:g} min of 720p30 (enet_b0): "
        f"RSS at 1 min {marks.get(1, float('nan')):.0f} MB, at end {current:.0f} MB, "
        f"growth {current - marks.get(1, current):+.0f} MB, peak {peak:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--naive-frames", type=int, default=60, help="frames timed for the naive loop")
    parser.add_argument("--memory-minutes", type=float, default=0.0)
    parser.add_argument("--memory-only", action="store_true", help="skip the speed table")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.memory_only:
            memory_run(args.memory_minutes or 10.0, folder)
            return
        clip = make_clip(folder / "clip.mp4", seconds=args.seconds, fps=30.0, size=(1280, 720),
                         tile_height=300, second_face=None)  # fmt: skip
        short = make_clip(folder / "short.mp4", seconds=5.0, fps=30.0, size=(1280, 720), tile_height=300,
                          second_face=None)  # fmt: skip
        print(f"clip: 1280x720, 30 fps, H.264, one face; torch threads {torch.get_num_threads()}")
        print(f"{'pipeline':<46} {'video s':>8} {'wall s':>8} {'x real time':>12}")
        b0 = random_model("enet_b0_8_best_afew", folder)
        result = ours(clip.path, b0)
        print(
            f"{'ours, HSEmotion enet_b0 (' + b0.backend + ')':<46} {result.info.duration:>8.1f} "
            f"{result.elapsed:>8.1f} {result.speed:>12.2f}"
        )
        naive_speed, frames = naive(
            clip.path, random_model("enet_b0_8_best_afew", folder, backend=False), args.naive_frames
        )
        print(
            f"{'naive reference, enet_b0 (pytorch)':<46} {frames / 30:>8.1f} "
            f"{frames / 30 / naive_speed:>8.1f} {naive_speed:>12.3f}"
        )
        print(f"{'ratio ours / naive':<46} {'':>8} {'':>8} {result.speed / naive_speed:>12.1f}")
        resnet = random_model("emo_affectnet_resnet50", folder, backend=False)
        result = ours(short.path, resnet, EmotionLSTM().eval())
        print(
            f"{'ours, EMO-AffectNet ResNet50 + LSTM (pytorch)':<46} {result.info.duration:>8.1f} "
            f"{result.elapsed:>8.1f} {result.speed:>12.2f}"
        )
        emonet = random_model("emonet_8", folder)
        result = ours(short.path, emonet)
        print(
            f"{'ours, EmoNet 8 (' + emonet.backend + ')':<46} {result.info.duration:>8.1f} "
            f"{result.elapsed:>8.1f} {result.speed:>12.2f}"
        )
        if args.memory_minutes:
            memory_run(args.memory_minutes, folder)


if __name__ == "__main__":
    main()
