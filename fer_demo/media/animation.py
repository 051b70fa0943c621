"""Animated images (GIF, APNG, animated WebP) as H.264 MP4s, so the Video tab can follow their faces.

The image tab analyses an animation's first frame and offers this conversion;
Pillow reads all three formats (FFmpeg has no animated WebP decoder), and each
frame is shown for its own duration.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageSequence

from fer_demo.errors import InputError
from fer_demo.media.images import (
    ACCEPTED_FORMATS,
    check_size,
    pillow_errors,
    plays_as_animation,
    to_rgb_array,
)
from fer_demo.media.video_io import VideoWriter

DEFAULT_FRAME_SECONDS = 0.1  # what browsers show for a GIF frame without a duration


def is_animation(path: str | Path, max_pixels: int) -> bool:
    """True for an image file with several frames meant to be played (not a multi-page TIFF)."""
    try:
        with pillow_errors(max_pixels), Image.open(path, formats=ACCEPTED_FORMATS) as image:
            return plays_as_animation(image)
    except InputError:
        return False


def animation_to_mp4(path: str | Path, output: Path, max_pixels: int, max_frames: int) -> Path:
    """Write every frame of an animated image to an H.264 MP4 with the frames' own timing.

    Raises:
        InputError: not an animation, too large, damaged, or more than ``max_frames`` frames.
    """
    with pillow_errors(max_pixels), Image.open(path, formats=ACCEPTED_FORMATS) as image:
        check_size(image.size, max_pixels)
        frames = int(getattr(image, "n_frames", 1))
        if frames < 2:
            raise InputError("This image has a single frame: the Image tab analyses it as it is.")
        if frames > max_frames:
            raise InputError(f"This animation has {frames} frames; the limit is {max_frames}.")
        time = 0.0
        # Timestamps carry each frame's duration; 30 ticks a second is finer than any GIF delay.
        with VideoWriter(output, fps=30, preset="ultrafast") as writer:
            for frame in ImageSequence.Iterator(image):
                pixels, _ = to_rgb_array(frame.convert("RGBA"))  # decodes the frame, which sets its duration
                writer.write(pixels, time=time)
                milliseconds = frame.info.get("duration") or 0
                time += milliseconds / 1000 if milliseconds > 0 else DEFAULT_FRAME_SECONDS
    return output
