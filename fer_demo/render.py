"""Draw results on frames: boxes, face numbers, top label, valence/arousal.

Knows nothing of models: it takes an RGB image and :class:`FaceResult` s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fer_demo.palette import face_colour
from fer_demo.pipeline import FaceResult


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def face_caption(face: FaceResult) -> str:
    """The text drawn above a face, e.g. "#1 Happiness 97%  V +0.41 A +0.12"."""
    caption = f"#{face.face} {face.top_label} {face.top_probability:.0%}"
    if face.valence is not None and face.arousal is not None:
        caption += f"  V {face.valence:+.2f} A {face.arousal:+.2f}"
    return caption


# The smallest place an annotated image is shown: the output panel on a 390 px wide phone. Labels
# are sized so that there they are still MIN_LABEL_PX tall (a caption's box is about 1.1 times
# its font size); anywhere larger they are larger.
PHONE_VIEW = (360, 420)
MIN_LABEL_PX = 14


def label_font_size(width: int, height: int) -> int:
    """Font size, in image pixels, that keeps a caption MIN_LABEL_PX tall on a phone's screen."""
    shown = min(PHONE_VIEW[0] / width, PHONE_VIEW[1] / height, 1.0)
    return max(12, math.ceil(MIN_LABEL_PX / 1.1 / shown))


def annotate(image: np.ndarray, faces: Sequence[FaceResult], landmarks: bool = False) -> np.ndarray:
    """Return a copy of an RGB uint8 image with every face's box and caption drawn, and with
    ``landmarks`` its five points (eyes, nose, mouth corners) as dots in the face's colour."""
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    height, width = image.shape[:2]
    line = max(2, round(max(width, height) / 400))
    font = _font(label_font_size(width, height))
    for face in faces:
        colour = face_colour(face.face - 1)
        x1, y1, x2, y2 = face.box
        draw.rectangle((x1, y1, x2, y2), outline=colour, width=line)
        if landmarks:
            radius = line + 1
            for x, y in face.landmarks:
                draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour, outline=(0, 0, 0))
        text = face_caption(face)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        text_w, text_h = right - left, bottom - top
        pad = max(2, text_h // 4)
        tx = min(max(0.0, x1), max(0.0, width - text_w - 2 * pad))
        ty = y1 - text_h - 2 * pad if y1 - text_h - 2 * pad >= 0 else y2  # below the box at the top edge
        draw.rectangle((tx, ty, tx + text_w + 2 * pad, ty + text_h + 2 * pad), fill=colour)
        draw.text((tx + pad - left, ty + pad - top), text, fill=(0, 0, 0), font=font)
    return np.asarray(canvas)
