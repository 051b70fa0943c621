"""Measure the webcam tab as a viewer sees it: annotated frames displayed per second and their delay.

The fake camera plays a clip whose every frame carries its index as a
barcode (a strip of black and white cells along the top edge). In the page,
each time the "Live analysis" image loads, a script reads the barcode of the
displayed annotated frame and of the frame the camera shows at that moment:
the difference is the camera-to-display delay, measured in camera frames. The
output is mirrored like the camera preview, so its barcode is read right to
left. Both the browser benchmark and the browser test use this.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.support.synthetic_video import webcam_frames, write_y4m

BITS = 12  # frame indices up to 4095
STRIP = 16  # barcode height in pixels


def stamp(frame: np.ndarray, index: int) -> np.ndarray:
    """``frame`` with ``index`` written as a barcode in its top ``STRIP`` rows (most significant bit left)."""
    out = frame.copy()
    width = frame.shape[1]
    for bit in range(BITS):
        left, right = bit * width // BITS, (bit + 1) * width // BITS
        out[:STRIP, left:right] = 255 if (index >> (BITS - 1 - bit)) & 1 else 0
    return out


def read_stamp(frame: np.ndarray, mirrored: bool = False) -> int:
    """The index a frame's barcode holds (the reader the page runs, in Python, for its test)."""
    row = frame[STRIP // 2].mean(axis=-1) if frame.ndim == 3 else frame[STRIP // 2]
    width = len(row)
    value = 0
    for bit in range(BITS):
        x = (2 * bit + 1) * width // (2 * BITS)
        value = value << 1 | int(row[width - 1 - x if mirrored else x] > 128)
    return value


def camera_frames(count: int, size: tuple[int, int] = (640, 480), both: bool = True) -> Iterator[np.ndarray]:
    """Frames of two faces (``webcam_frames``) under a band that holds each frame's index as a barcode.

    The band (an eighth of the height) keeps the barcode clear of faces and of the labels drawn
    above them.
    """
    width, height = size
    band = height // 8
    scenes = webcam_frames(
        count, size=(width, height - band), tile_height=(height - band) * 10 // 21, both=both
    )
    for i, scene in enumerate(scenes):
        yield stamp(np.pad(scene, ((band, 0), (0, 0), (0, 0)), mode="edge"), i)


def write_camera_clip(path: Path, seconds: float = 6.0, fps: int = 30, both: bool = True) -> Path:
    """A looping fake-camera clip (.y4m, 640x480) of two faces, every frame stamped with its index."""
    return write_y4m(path, camera_frames(round(seconds * fps), both=both), fps=fps)


# Installed in the page before the camera starts. Records, per load of the output image:
# page time (ms), the index the output shows, the index the camera shows.
METER_JS = """
(() => {
  const BITS = %(bits)d, STRIP = %(strip)d;
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  function read(source, width, height, mirrored) {
    canvas.width = width; canvas.height = STRIP;
    context.drawImage(source, 0, 0, width, STRIP, 0, 0, width, STRIP);
    const row = context.getImageData(0, STRIP >> 1, width, 1).data;
    let value = 0;
    for (let bit = 0; bit < BITS; bit++) {
      let x = Math.floor((2 * bit + 1) * width / (2 * BITS));
      if (mirrored) x = width - 1 - x;
      const grey = (row[4 * x] + row[4 * x + 1] + row[4 * x + 2]) / 3;
      value = (value << 1) | (grey > 128 ? 1 : 0);
    }
    return value;
  }
  window.__meter = { loads: [] };
  document.addEventListener("load", (event) => {
    const img = event.target;
    if (!(img instanceof HTMLImageElement) || !img.closest("%(output)s")) return;
    const video = document.querySelector("%(camera)s video");
    if (!video || !video.videoWidth) return;
    const shown = read(img, img.naturalWidth, img.naturalHeight, true);
    const camera = read(video, video.videoWidth, video.videoHeight, false);
    window.__meter.loads.push([performance.now(), shown, camera]);
  }, true);
})();
"""


@dataclass(frozen=True)
class LiveFigures:
    """What a viewer saw over a measurement window."""

    seconds: float
    displayed: int  # distinct annotated frames displayed
    delays_ms: list[float]  # camera-to-display delay of each displayed frame
    posted: int  # frames the page sent

    @property
    def displayed_fps(self) -> float:
        return self.displayed / self.seconds

    @property
    def posted_fps(self) -> float:
        return self.posted / self.seconds

    def delay_percentile(self, q: float) -> float:
        return float(np.percentile(self.delays_ms, q)) if self.delays_ms else float("nan")

    def delay_trend(self) -> tuple[float, float]:
        """Median delay of the first and last thirds: equal when no backlog builds."""
        third = max(1, len(self.delays_ms) // 3)
        return statistics.median(self.delays_ms[:third]), statistics.median(self.delays_ms[-third:])


def meter_script(output: str = "#webcam-output", camera: str = "#webcam-input") -> str:
    return METER_JS % {"bits": BITS, "strip": STRIP, "output": output, "camera": camera}


def summarise(loads: list, posted: int, seconds: float, clip_frames: int, fps: float) -> LiveFigures:
    """Turn the page's raw records into figures; the clip loops, so delays are taken modulo its length."""
    shown = [index for _, index, _ in loads]
    delays = [((camera - index) % clip_frames) * 1000 / fps for _, index, camera in loads]
    distinct = sum(1 for i, index in enumerate(shown) if i == 0 or index != shown[i - 1])
    return LiveFigures(seconds, distinct, delays, posted)
