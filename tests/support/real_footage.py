"""Real multi-person footage for tests and benchmarks: Intel's CC BY 4.0 clips in ``examples/``.

Attribution: Intel Corporation, intel-iot-devkit/sample-videos, CC BY 4.0 (examples/README.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

import av
import numpy as np
from PIL import Image

from tests.support.paths import EXAMPLES

REAL_FOUR_SHOTS = EXAMPLES / "real-four-shots.mp4"  # 13.96 s, 25 fps, 480x270, cuts at 4.64, 8.04, 10.96 s
REAL_CUTS = (4.64, 8.04, 10.96)
HEAD_POSE = EXAMPLES / "intel-head-pose-face-detection-female-and-male.mp4"  # two faces, 61-72 px
WALK_AND_PAUSE = EXAMPLES / "intel-face-demographics-walking-and-pause.mp4"  # three faces, 30-60 px
WALKING = EXAMPLES / "intel-face-demographics-walking.mp4"  # small faces, 11-23 px
CLASSROOM = EXAMPLES / "intel-classroom.mp4"  # tiny faces, 9-20 px
THREE_PEOPLE = EXAMPLES / "three-people.jpg"  # a still of WALK_AND_PAUSE: three faces


@cache
def clip_frames(path: Path) -> tuple[np.ndarray, ...]:
    """Every frame of a (short) example clip as RGB uint8, decoded once per test run."""
    with av.open(str(path)) as container:
        return tuple(frame.to_ndarray(format="rgb24") for frame in container.decode(video=0))


def _tile(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The frame cut to the tile's aspect ratio around its centre and scaled to ``size``."""
    height, width = frame.shape[:2]
    keep = round(height * size[0] / size[1])
    left = (width - keep) // 2
    return np.asarray(Image.fromarray(frame[:, left : left + keep]).resize(size, Image.BILINEAR))


def crowd_frames(count: int, size: tuple[int, int] = (640, 480)) -> Iterator[np.ndarray]:
    """A webcam's view of a crowd: four real clips at once in a 2x2 grid, 25 fps.

    The head-pose clip (two people turning) and the walking-and-pause clip (three people walking
    up, stopping, leaving), each twice at different moments: up to ten real faces at a time, 25 to
    65 px wide at 640x480, coming and going as the clips loop.
    """
    tiles = [clip_frames(HEAD_POSE), clip_frames(WALK_AND_PAUSE)]
    half = (size[0] // 2, size[1] // 2)
    for i in range(count):
        quarters = [
            _tile(tiles[0][i % len(tiles[0])], half),
            _tile(tiles[1][i % len(tiles[1])], half),
            _tile(tiles[1][(i + 40) % len(tiles[1])], half),
            _tile(tiles[0][(i + 58) % len(tiles[0])][:, ::-1], half),
        ]
        yield np.concatenate(
            [np.concatenate(quarters[:2], axis=1), np.concatenate(quarters[2:], axis=1)], axis=0
        )
