"""Rebuild the real-footage examples from Intel's four CC BY 4.0 clips (the project's shared media).

    python tools/make_real_examples.py [SHARED_MEDIA_DIR]

Writes, under ``examples/``:

- ``intel-*.mp4``: each animated GIF as an H.264 MP4 at 25 fps (every GIF frame held for its
  own duration), so tests, benchmarks and the webcam's fake camera read real footage quickly;
- ``real-four-shots.mp4``: the four clips joined end to end, hard cuts between them: real
  multi-person footage whose people come, go, turn, shrink to 9 px and return after a cut
  (the dark-haired woman is in the first two shots); the video tab's second example;
- ``real-mosaic.mp4``: the four clips playing at once in a 2x2 grid (960x540, each clip looping
  over the longest one's 4.6 s): 9 to 12 real faces at a time, coming and going, large and
  tiny; the many-faces clip of the webcam tests and benchmarks (their fake camera plays it);
- ``three-people.jpg``: one frame of the walking-and-pause clip with three people facing the
  camera, a small real group photo for the image tab.

Source: Intel Corporation, intel-iot-devkit/sample-videos (commit 57978890), ``preview/*.gif``,
CC BY 4.0. The conversion (GIF to H.264, concatenation, one still) is a change to the material,
recorded in ``examples/README.md``. The script only runs by hand, never at run or test time.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fer_demo.media.video_io import VideoWriter  # noqa: E402

FPS = 25
# The shot order of the joined clip: two people turning their heads, then three people walking to
# the camera (the woman of shot 1 among them), then small faces walking, then the tiny classroom.
CLIPS = [
    "intel-head-pose-face-detection-female-and-male",
    "intel-face-demographics-walking-and-pause",
    "intel-face-demographics-walking",
    "intel-classroom",
]
STILL = ("intel-face-demographics-walking-and-pause", 2.24)  # seconds: three people face the camera


def gif_frames(path: Path) -> list[np.ndarray]:
    """The GIF's frames at ``FPS``, each GIF frame held for its own duration (rounded to frames)."""
    frames: list[np.ndarray] = []
    shown_ms = 0.0
    with Image.open(path) as gif:
        for frame in ImageSequence.Iterator(gif):
            shown_ms += frame.info.get("duration", 100)
            rgb = np.asarray(frame.convert("RGB"))
            while len(frames) < round(shown_ms * FPS / 1000):
                frames.append(rgb)
    return frames


def write(frames: list[np.ndarray], path: Path) -> None:
    with VideoWriter(path, FPS, crf=20, preset="slow") as writer:
        for frame in frames:
            writer.write(frame)
    print(f"{path.relative_to(ROOT)}: {len(frames)} frames, {len(frames) / FPS:.2f} s, "
          f"{path.stat().st_size / 1e3:.0f} kB")  # fmt: skip


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "media"
    examples = ROOT / "examples"
    joined: list[np.ndarray] = []
    cuts: list[float] = []
    for name in CLIPS:
        frames = gif_frames(source / f"{name}.gif")
        write(frames, examples / f"{name}.mp4")
        if joined:
            cuts.append(len(joined) / FPS)
        joined += frames
        if name == STILL[0]:
            Image.fromarray(frames[round(STILL[1] * FPS)]).save(examples / "three-people.jpg", quality=92)
    write(joined, examples / "real-four-shots.mp4")
    clips = [gif_frames(source / f"{name}.gif") for name in CLIPS]
    longest = max(len(frames) for frames in clips)
    mosaic = [
        np.concatenate([
            np.concatenate([clips[0][i % len(clips[0])], clips[1][i % len(clips[1])]], axis=1),
            np.concatenate([clips[2][i % len(clips[2])], clips[3][i % len(clips[3])]], axis=1),
        ], axis=0)
        for i in range(longest)
    ]  # fmt: skip
    write(mosaic, examples / "real-mosaic.mp4")
    print("cuts at", ", ".join(f"{cut:.2f} s" for cut in cuts))


if __name__ == "__main__":
    main()
