"""Draw results on frames: boxes, face numbers, top label, valence/arousal.

Knows nothing of models: it takes an RGB image and :class:`FaceResult` s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from fer_demo.label_layout import place_labels
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


@dataclass(frozen=True)
class Caption:
    """A face's caption: its text, where its filled box goes, and where its ink starts in it."""

    text: str
    box: tuple[float, float, float, float]  # x1, y1, x2, y2, pixels of the image
    ink: tuple[float, float]  # text origin inside the box


def layout_captions(faces: Sequence[FaceResult], width: int, height: int) -> list[Caption]:
    """Each face's caption, sized for a phone's screen and placed so that none hides another."""
    font = _font(label_font_size(width, height))
    texts = [face_caption(face) for face in faces]
    inks = [font.getbbox(text) for text in texts]
    pads = [max(2, (bottom - top) // 4) for _, top, _, bottom in inks]
    sizes = [
        (r - left + 2 * pad, bottom - top + 2 * pad)
        for (left, top, r, bottom), pad in zip(inks, pads, strict=True)
    ]
    corners = place_labels([face.box for face in faces], sizes, width, height)
    return [
        Caption(text, (x, y, x + w, y + h), (x + pad - ink[0], y + pad - ink[1]))
        for text, ink, pad, (w, h), (x, y) in zip(texts, inks, pads, sizes, corners, strict=True)
    ]


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
        draw.rectangle(face.box, outline=colour, width=line)
        if landmarks:
            radius = line + 1
            for x, y in face.landmarks:
                draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour, outline=(0, 0, 0))
    for face, caption in zip(faces, layout_captions(faces, width, height), strict=True):
        draw.rectangle(caption.box, fill=face_colour(face.face - 1))
        draw.text(caption.ink, caption.text, fill=(0, 0, 0), font=font)
    return np.asarray(canvas)
