"""The once-a-second summary the live page sends: checked as hostile input, then typed.

Anyone can post to a component's server function, so nothing of the payload
is trusted: sizes are bounded, every number must be finite and in range, and
the probabilities must name exactly the classes of a model the live mode
runs. What passes becomes the same :class:`~fer_demo.analysis.pipeline.FaceResult`
records the server-side analysis makes, so the CSV, timeline and circumplex
cannot tell the two apart.

The wire format is compact because it is the live mode's whole server cost:
``{"model": name, "frames": text}`` where ``text`` is JSON of
``[[t, drawn, [face, ...]], ...]``, ``t`` the page's seconds, ``drawn`` the
boxes on screen, and each face a flat array
``[id, score, x1, y1, x2, y2, p..., valence, arousal]`` (probabilities in
canonical order, valence and arousal only for a model that has them). The
frames travel as one string because Gradio walks every list and object of an
event's data looking for files: on a crowd's summary that walk cost the
server more than reading it (``pipeline.js``'s ``summaryFace`` writes a face).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from fer_demo.analysis.labels import canonical_order
from fer_demo.analysis.pipeline import FaceResult
from fer_demo.errors import InputError
from fer_demo.models.specs import ModelSpec

MAX_FRAMES = 120  # per summary: 4 s at 30 fps, more than a second's worth with a late tick
MAX_FACES = 64  # per frame: a crowd in front of a webcam; the page sends no more (its config says)
MAX_COORDINATE = 10_000.0  # pixels: no camera frame is wider
MAX_TIME = 86_400.0  # seconds of one page's life
MAX_FACE_ID = 1_000_000
MAX_TEXT = 2_000_000  # characters: MAX_FRAMES of MAX_FACES faces of an 8-class model, with room
FACE_FIELDS = ("id", "score", "x1", "y1", "x2", "y2")  # then the probabilities, then valence, arousal


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
    if type(value) not in (int, float) or not math.isfinite(value):  # a boolean is not a number
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


def _check_columns(values: np.ndarray, low: float, high: float, what: str) -> None:
    if values.size and not (np.all(values >= low) and np.all(values <= high)):
        raise InputError(f"live summary: {what} is out of range")


def _face_table(rows: list, labels: list[str], has_valence_arousal: bool) -> np.ndarray:
    """Every face of a summary as one float array, each column checked at once."""
    width = len(FACE_FIELDS) + len(labels) + (2 if has_valence_arousal else 0)
    for row in rows:
        if not isinstance(row, list) or len(row) != width:
            raise InputError(f"live summary: a face must be a list of {width} numbers for this model")
    if not all(type(v) in (int, float) for row in rows for v in row):  # strings, booleans, null
        raise InputError("live summary: a face value is not a number")
    table = np.array(rows, dtype=np.float64).reshape(len(rows), width)
    if not np.all(np.isfinite(table)):
        raise InputError("live summary: a face value is not a number")
    k = len(labels)
    _check_columns(table[:, 0], 1, MAX_FACE_ID, "a face id")
    _check_columns(table[:, 1], 0.0, 1.0, "a face score")
    _check_columns(table[:, 2:6], -MAX_COORDINATE, MAX_COORDINATE, "a box coordinate")
    probabilities = table[:, 6 : 6 + k]
    _check_columns(probabilities, 0.0, 1.0, "a probability")
    _check_columns(probabilities.sum(axis=1), 0.98, 1.02, "a sum of probabilities (not 1)")
    if has_valence_arousal:
        _check_columns(table[:, 6 + k :], -1.0, 1.0, "valence or arousal")
    return table


def _results(table: np.ndarray, labels: list[str], has_valence_arousal: bool) -> list[FaceResult]:
    k = len(labels)
    probabilities = table[:, 6 : 6 + k]
    probabilities = np.round(probabilities / probabilities.sum(axis=1, keepdims=True), 5)
    tops = probabilities.argmax(axis=1).tolist()
    ids = table[:, 0].astype(int).tolist()
    scores = np.round(table[:, 1], 4).tolist()
    boxes = np.round(table[:, 2:6], 1).tolist()
    affect = np.round(table[:, 6 + k :], 4).tolist() if has_valence_arousal else [(None, None)] * len(ids)
    return [
        FaceResult(
            face=face_id,
            box=tuple(box),
            score=score,
            landmarks=[],
            probabilities=dict(zip(labels, p, strict=True)),
            top_label=labels[top],
            top_probability=p[top],
            valence=valence,
            arousal=arousal,
        )
        for face_id, score, box, p, top, (valence, arousal) in zip(
            ids, scores, boxes, probabilities.tolist(), tops, affect, strict=True
        )
    ]


def parse_summary(payload: Any, spec: ModelSpec) -> list[BrowserFrame]:
    """The frames of one summary for the model ``spec``, oldest first.

    Raises:
        InputError: the payload is malformed, too big, or not about ``spec``'s classes.
    """
    if not isinstance(payload, dict):
        raise InputError("live summary: expected an object")
    text = payload.get("frames")
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise InputError("live summary: frames must be JSON text of at most 2 MB")
    try:
        items = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise InputError("live summary: frames are not JSON") from error
    labels = canonical_order(spec.labels)
    times, drawn, counts, rows, last = [], [], [], [], -1.0
    for item in _items(items, MAX_FRAMES, "frames"):
        if not isinstance(item, list) or len(item) != 3:
            raise InputError("live summary: a frame must be [time, boxes drawn, faces]")
        time = _number(item[0], 0.0, MAX_TIME, "a frame time")
        if time < last:
            raise InputError("live summary: frame times must not go back")
        last = time
        faces = _items(item[2], MAX_FACES, "faces")
        times.append(time)
        drawn.append(int(_number(item[1], len(faces), MAX_FACES, "the number of faces drawn")))
        counts.append(len(faces))
        rows.extend(faces)
    results = _results(_face_table(rows, labels, spec.has_valence_arousal), labels, spec.has_valence_arousal)
    frames, start = [], 0
    for time, shown, count in zip(times, drawn, counts, strict=True):
        frames.append(BrowserFrame(time, tuple(results[start : start + count]), shown))
        start += count
    return frames
