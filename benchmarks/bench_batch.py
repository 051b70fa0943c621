"""Corpus mode: wall time, video-seconds per second and CPU use, against the single-file CLI.

    python benchmarks/bench_batch.py [--clips 12] [--photos 50] [--seconds 8]

A synthetic corpus: ``--clips`` H.264 clips (640x360, 25 fps, one moving face and a
second for part of the clip) and ``--photos`` photos (the licensed example faces,
resized and flipped). Each configuration runs as its own process on a fresh output
folder, as a user would start it:

- baseline: ``python -m fer_demo video`` once per clip, one after another (it also
  writes the annotated MP4, as that command always does), then ``python -m fer_demo
  images`` once over the photo folder;
- ``batch --workers 1``, ``batch --workers 2`` and ``batch --ray local`` (a Ray instance
  on this machine with its CPUs, started by the run);
- ``--configs cluster``: ``batch --ray auto`` against a Ray cluster of this machine's CPUs
  started before the timing (``ray start --head``), as a running cluster would be.

CPU use is the whole machine's busy time over the run (from /proc/stat), so Ray's
worker processes count too; run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.synthetic_video import make_clip  # noqa: E402


def busy_and_total() -> tuple[int, int]:
    """Jiffies the machine spent busy, and in all, since boot (the /proc/stat 'cpu' line)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def timed(commands: list[list[str]]) -> tuple[float, float]:
    """Run commands one after another; (wall seconds, machine CPU use as a share of all cores)."""
    env = {**os.environ, "FER_DEMO_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    busy0, total0 = busy_and_total()
    started = time.perf_counter()
    for command in commands:
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    busy1, total1 = busy_and_total()
    return wall, (busy1 - busy0) / max(1, total1 - total0)


def make_corpus(folder: Path, clips: int, photos: int, seconds: float) -> float:
    """The corpus; returns its total video seconds."""
    (folder / "photos").mkdir(parents=True)
    (folder / "videos").mkdir()
    for i in range(clips):
        make_clip(folder / "videos" / f"session{i:02d}.mp4", seconds=seconds, fps=25.0,
                  second_face=(seconds * 0.3, seconds * 0.7))  # fmt: skip
    faces = [Image.open(ROOT / "examples" / name).convert("RGB")
             for name in ("astronaut.jpg", "biden-portrait.jpg", "two-faces.jpg")]  # fmt: skip
    for i in range(photos):
        picture = faces[i % len(faces)]
        scale = 0.6 + 0.4 * ((i * 7) % 10) / 10
        picture = picture.resize((round(picture.width * scale), round(picture.height * scale)))
        (ImageOps.mirror(picture) if i % 2 else picture).save(
            folder / "photos" / f"photo{i:02d}.jpg", quality=90
        )
    return clips * seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--photos", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--model", default="mini_xception")
    parser.add_argument(
        "--configs",
        nargs="*",
        default=["baseline", "one", "two", "ray"],
        help="which runs (default: all four)",
    )
    args = parser.parse_args()
    python = [sys.executable, "-m", "fer_demo"]
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        corpus = work / "corpus"
        video_seconds = make_corpus(corpus, args.clips, args.photos, args.seconds)
        clips = sorted((corpus / "videos").glob("*.mp4"))
        print(f"corpus: {len(clips)} clips ({video_seconds:.0f} s of video, 640x360 25 fps), "
              f"{args.photos} photos; model {args.model}; {os.cpu_count()} cores")  # fmt: skip
        baseline = [
            [*python, "video", str(c), "--model", args.model, "--out", str(work / "base" / f"{c.stem}.mp4"),
             "--csv", str(work / "base" / f"{c.stem}.csv"), "--json", str(work / "base" / f"{c.stem}.json")]
            for c in clips
        ]  # fmt: skip
        baseline.append([*python, "images", str(corpus / "photos"), "--model", args.model,
                         "--csv", str(work / "base" / "photos.csv")])  # fmt: skip
        (work / "base").mkdir()

        def batch(name: str, *extra: str) -> list[list[str]]:
            # A fresh output folder every time (rm first), or a repeated configuration would skip it all.
            out = str(work / name)
            return [
                ["rm", "-rf", out],
                [*python, "batch", str(corpus), "--model", args.model, "--out", out, *extra],
            ]

        runs = {
            "baseline": ("single-file CLI, one file after another", baseline),
            "one": ("batch --workers 1", batch("one")),
            "two": ("batch --workers 2", batch("two", "--workers", "2")),
            "ray": (f"batch --ray local ({os.cpu_count()} CPUs)", batch("ray", "--ray", "local")),
            "cluster": (
                f"batch --ray auto (a running {os.cpu_count()}-CPU cluster)",
                batch("cluster", "--ray", "auto"),
            ),
        }
        print(f"{'configuration':<42} {'wall s':>8} {'video-s per s':>14} {'CPU use':>8} {'vs first':>12}")
        reference = None
        for config in args.configs:
            name, commands = runs[config]
            if config == "cluster":  # started (and stopped) outside the timing, as a cluster would be
                ray = str(Path(sys.executable).with_name("ray"))
                start = [ray, "start", "--head", f"--num-cpus={os.cpu_count()}", "--include-dashboard=false"]
                subprocess.run(start, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wall, cpu = timed(commands)
            finally:
                if config == "cluster":
                    subprocess.run(
                        [ray, "stop", "--force"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                    )
            reference = reference or wall
            rate = video_seconds / wall
            print(f"{name:<42} {wall:>8.1f} {rate:>14.2f} {cpu:>8.0%} {reference / wall:>11.2f}x")


if __name__ == "__main__":
    main()
