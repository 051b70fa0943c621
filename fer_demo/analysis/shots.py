"""Hard cuts in a stream of frames, found as they arrive, with PySceneDetect's content detector.

A cut ends every face track: the face after it is another shot's, maybe
another person's, and must not inherit an id, a box or a smoothed output.

PySceneDetect's ``ContentDetector`` scores each frame by its mean change in
hue, saturation and brightness from the previous one and calls a cut above
``threshold`` (its default, 27). Its "suppress" filter reports the cut on the
very frame it happens, so nothing waits for later frames, and ignores a
second cut sooner than ``min_shot_seconds`` after one (a flash, a fast pan).
It counts in frame numbers; frames here are numbered in hundredths of a
second, so that minimum is a time whatever the frame rate. Frames are shrunk
to PySceneDetect's working width (256 pixels) first, bilinear, as its own
scene manager does: the score is a mean, and the cost falls with the pixels.
"""

from __future__ import annotations

import cv2
import numpy as np
from scenedetect.detectors import ContentDetector
from scenedetect.scene_detector import FlashFilter
from scenedetect.scene_manager import compute_downscale_factor

TICKS_PER_SECOND = 100


class ShotDetector:
    """Say, frame by frame, whether a new shot starts."""

    def __init__(self, threshold: float = 27.0, min_shot_seconds: float = 0.5) -> None:
        self.threshold = threshold
        self.min_shot_seconds = min_shot_seconds
        self.reset()

    def reset(self) -> None:
        """A new stream: its first frame starts shot 1."""
        self._detector = ContentDetector(
            threshold=self.threshold,
            min_scene_len=max(1, round(self.min_shot_seconds * TICKS_PER_SECOND)),
            filter_mode=FlashFilter.Mode.SUPPRESS,
        )
        self._last_tick = -1

    def is_cut(self, image: np.ndarray, time: float) -> bool:
        """Whether the RGB frame shown at ``time`` seconds is the first of a new shot."""
        tick = max(round(time * TICKS_PER_SECOND), self._last_tick + 1)  # strictly increasing
        self._last_tick = tick
        return bool(self._detector.process_frame(tick, working_copy(image)))


def working_copy(image: np.ndarray) -> np.ndarray:
    """The RGB frame as PySceneDetect's scene manager would hand it over: BGR, shrunk (bilinear)
    to about 256 pixels wide. Shrinking first keeps the colour swap cheap (0.1 ms at 720p)."""
    height, width = image.shape[:2]
    factor = compute_downscale_factor(width)
    if factor > 1.0:
        size = (max(1, round(width / factor)), max(1, round(height / factor)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
