"""Every colour the app draws with, in one place, chosen to stay apart for colour-blind viewers.

Expressions: one fixed colour each, in every chart of every tab. The set was
picked from Paul Tol's qualitative schemes so that every pair stays at least
15 CAM02-UCS units apart for full protanopia, deuteranopia and tritanopia as
well as normal vision (``tests/presentation/test_palette.py`` measures it); the hues keep
the usual associations (gold joy, red anger, green disgust, blue sadness).

Faces and models: Okabe-Ito, readable on photos as box outlines.
"""

from __future__ import annotations

EMOTION_COLOURS = {
    "Neutral": "#BBBBBB",
    "Happiness": "#DDAA33",
    "Sadness": "#332288",
    "Surprise": "#33BBEE",
    "Fear": "#AA4499",
    "Disgust": "#228833",
    "Anger": "#EE6677",
    "Contempt": "#000000",
}

# Okabe-Ito, black left out (it vanishes on dark photos).
FACE_COLOURS = (
    (230, 159, 0),
    (86, 180, 233),
    (0, 158, 115),
    (240, 228, 66),
    (0, 114, 178),
    (213, 94, 0),
    (204, 121, 167),
)

MODEL_COLOURS = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
    "#999999",
    "#882255",
)


def face_colour(index: int) -> tuple[int, int, int]:
    """A stable colour per face number or track id."""
    return FACE_COLOURS[index % len(FACE_COLOURS)]


def face_colour_css(index: int) -> str:
    """:func:`face_colour` as a CSS ``rgb()`` string (what Plotly takes)."""
    return "rgb({},{},{})".format(*face_colour(index))
