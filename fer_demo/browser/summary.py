"""The once-a-second summary the live page sends: checked as hostile input, then typed.

Anyone can post to a component's server function, so nothing of the payload
is trusted: sizes are bounded, every number must be finite and in range, and
the probabilities must name exactly the classes of a model the live mode
runs. What passes becomes the same :class:`~fer_demo.pipeline.FaceResult`
records the server-side analysis makes, so the CSV, timeline and circumplex
cannot tell the two apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from fer_demo.errors import InputError
from fer_demo.labels import canonical_order
from fer_demo.models.specs import ModelSpec
from fer_demo.pipeline import FaceResult

MAX_FRAMES = 120  # per summary: 4 s at 30 fps, more than a second's worth with a late tick
MAX_FACES = 64  # per frame: a crowd in front of a webcam; the page sends no more (its config says)
MAX_COORDINATE = 10_000.0  # pixels: no camera frame is wider
MAX_TIME = 86_400.0  # seconds of one page's life
MAX_FACE_ID = 1_000_000


@dataclass(frozen=True)
class BrowserFrame:
    """One frame the page analysed: its time in the page's seconds, the faces it classified, and
    how many boxes it drew (a face is boxed before its first label)."""

    time: float
    faces: tuple[FaceResult, ...]
    shown: int | None = None  # None: the faces classified

    def __post_init__(self) -> None:
        if self.shown is None:
            object.__setattr__(self, "shown", len(self.faces))


def _number(value: Any, low: float, high: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"live summary: {what} is not a number")
    if not low <= value <= high:
        raise InputError(f"live summary: {what} is out of range")
    return float(value)


def _items(value: Any, limit: int, what: str) -> list:
    if not isinstance(value, list):
        raise InputError(f"live summary: {what} must be a list")
    if len(value) > limit:
        raise InputError(f"live summary: more than {limit} {what}")
    return value


def _face(item: Any, labels: list[str], has_valence_arousal: bool) -> FaceResult:
    if not isinstance(item, dict):
        raise InputError("live summary: a face must be an object")
    face_id = int(_number(item.get("id"), 1, MAX_FACE_ID, "a face id"))
    box = _items(item.get("box"), 4, "box coordinates")
    if len(box) != 4:
        raise InputError("live summary: a box has 4 coordinates")
    x1, y1, x2, y2 = (_number(v, -MAX_COORDINATE, MAX_COORDINATE, "a box coordinate") for v in box)
    raw = _items(item.get("p"), len(labels), "probabilities")
    if len(raw) != len(labels):
        raise InputError(f"live summary: {len(labels)} probabilities expected, got {len(raw)}")
    values = [_number(v, 0.0, 1.0, "a probability") for v in raw]
    total = sum(values)
    if not 0.98 <= total <= 1.02:
        raise InputError("live summary: probabilities must sum to 1")
    probabilities = {label: round(v / total, 5) for label, v in zip(labels, values, strict=True)}
    top = max(probabilities, key=probabilities.get)
    valence = arousal = None
    if has_valence_arousal:
        valence = round(_number(item.get("v"), -1.0, 1.0, "valence"), 4)
        arousal = round(_number(item.get("a"), -1.0, 1.0, "arousal"), 4)
    return FaceResult(
        face=face_id,
        box=(round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1)),
        score=round(_number(item.get("score"), 0.0, 1.0, "a face score"), 4),
        landmarks=[],
        probabilities=probabilities,
        top_label=top,
        top_probability=probabilities[top],
        valence=valence,
        arousal=arousal,
    )


def parse_summary(payload: Any, spec: ModelSpec) -> list[BrowserFrame]:
    """The frames of one summary for the model ``spec``, oldest first.

    Raises:
        InputError: the payload is malformed, too big, or not about ``spec``'s classes.
    """
    if not isinstance(payload, dict):
        raise InputError("live summary: expected an object")
    labels = canonical_order(spec.labels)
    frames, last = [], -1.0
    for item in _items(payload.get("frames"), MAX_FRAMES, "frames"):
        if not isinstance(item, dict):
            raise InputError("live summary: a frame must be an object")
        time = _number(item.get("t"), 0.0, MAX_TIME, "a frame time")
        if time < last:
            raise InputError("live summary: frame times must not go back")
        last = time
        faces = tuple(
            _face(face, labels, spec.has_valence_arousal)
            for face in _items(item.get("faces"), MAX_FACES, "faces")
        )
        drawn = item.get("n", len(faces))  # older pages do not say: the faces they classified
        shown = int(_number(drawn, len(faces), MAX_FACES, "the number of faces drawn"))
        frames.append(BrowserFrame(time, faces, shown))
    return frames
