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

from fer_demo.analysis.pipeline import FaceResult
from fer_demo.durations import duration_text
from fer_demo.presentation.label_layout import place_labels
from fer_demo.presentation.palette import face_colour


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


def too_small_note(count: int, min_size: int, seconds: float | None = None) -> str:
    """What the user hears of faces seen but under the minimum size; "" when there were none.

    ``count`` faces in a photo, or in a video (``seconds`` given) at most ``count`` at a time.
    """
    if count <= 0:
        return ""
    plural = count != 1
    faces = f"{count} face{'s' if plural else ''}"
    if seconds is None:
        head = f"{faces} {'were' if plural else 'was'} too small to read (under {min_size} px)"
    else:
        head = (f"Up to {faces} at a time {'were' if plural else 'was'} too small to read "
                f"(under {min_size} px), for {duration_text(seconds)} of the video")  # fmt: skip
    return (f"{head}: boxed in grey, not analysed. Lower the minimum face size to try them; below "
            "about 24 px labels are unreliable.")  # fmt: skip


TOO_SMALL_COLOUR = (160, 160, 160)  # a face seen but too small to read: a thin grey box, no caption


def annotate(
    image: np.ndarray,
    faces: Sequence[FaceResult],
    landmarks: bool = False,
    too_small: Sequence[tuple[float, float, float, float]] = (),
) -> np.ndarray:
    """Return a copy of an RGB uint8 image with every face's box and caption drawn, with
    ``landmarks`` its five points (eyes, nose, mouth corners) as dots in the face's colour, and
    the ``too_small`` faces (seen, not analysed) as thin grey boxes."""
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    height, width = image.shape[:2]
    line = max(2, round(max(width, height) / 400))
    font = _font(label_font_size(width, height))
    for box in too_small:
        draw.rectangle(tuple(box), outline=TOO_SMALL_COLOUR, width=max(1, line // 2))
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
