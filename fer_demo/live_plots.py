"""The webcam's live figures: Plotly builds each figure's shape once; a refresh only swaps its data.

Rebuilding the last-minute timeline with Plotly on every refresh cost about
300 ms of server CPU (Plotly validates every trace and property), a third of
a core at one refresh a second. The shape of a live figure (its panels,
traces, colours, template) changes only when the faces on screen do, so it is
built by :mod:`fer_demo.plots` once per shape and kept as JSON. Each refresh
copies that JSON with new ``x``/``y`` arrays, which costs about a millisecond.
The result is a Plotly JSON string (what ``gr.Plot`` sends to the browser).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

import plotly.graph_objects as go

from fer_demo.labels import CANONICAL_LABELS
from fer_demo.plots import circumplex, emotion_timeline, empty_figure

HEIGHT = 262  # pixels: the live charts share one 1366x768 screen with the camera
MARGIN = {"l": 45, "r": 10, "t": 30, "b": 30}
PANEL_GAP = 26  # pixels between a face's panel and the next one's title
LIVE_POINTS = 60  # per face and line: one a second over a minute, plenty for a glance, cheap to draw


def _values(rows: Sequence[dict], key: str, decimals: int) -> list[float | None]:
    """One field of every row, rounded, as a JSON-ready list (None for missing: a gap in the line)."""
    return [None if row.get(key) is None else round(float(row[key]), decimals) for row in rows]


def thin(rows: Sequence[dict], points: int = LIVE_POINTS) -> Sequence[dict]:
    """Every n-th row so at most about ``points`` remain; the newest row is always kept."""
    step = max(1, -(-len(rows) // points))
    kept = rows[::-1][::step][::-1]  # stepping back from the newest
    return kept


class ShapeCache:
    """Plotly JSON skeletons of figures, by shape; the least recently used beyond ``size`` are dropped."""

    def __init__(self, build: Callable[[Hashable], go.Figure], size: int = 8) -> None:
        self._build = build
        self._size = size
        self._shapes: OrderedDict[Hashable, dict] = OrderedDict()

    def get(self, shape: Hashable) -> dict:
        if shape in self._shapes:
            self._shapes.move_to_end(shape)
        else:
            skeleton = json.loads(self._build(shape).to_json())
            skeleton["layout"].pop("title", None)  # the panel's label names it; Gradio pads titled plots
            self._shapes[shape] = skeleton
            while len(self._shapes) > self._size:
                self._shapes.popitem(last=False)
        return self._shapes[shape]


def _stack_panels(figure: go.Figure, panels: int) -> None:
    """Panels one above the other with room for each one's title, whatever the figure's height."""
    inner = HEIGHT - MARGIN["t"] - MARGIN["b"]
    gap = PANEL_GAP / inner
    each = (1 - gap * (panels - 1)) / panels
    for k in range(panels):
        top = 1 - k * (each + gap)
        figure.layout[f"yaxis{k + 1 if k else ''}"].domain = [max(0.0, top - each), top]
        figure.layout.annotations[k].update(y=top, yanchor="bottom", font={"size": 12})


def _fill(skeleton: dict, columns: Sequence[tuple[list, list]]) -> dict:
    """The skeleton with trace i's ``x``/``y`` replaced by ``columns[i]`` (traces beyond are unchanged)."""
    data = [dict(trace) for trace in skeleton["data"]]
    for trace, (x, y) in zip(data, columns, strict=False):
        trace["x"], trace["y"] = x, y
    return {"data": data, "layout": dict(skeleton["layout"])}


class LiveTimeline:
    """Expression probabilities of each face over a sliding time window, one panel per face."""

    def __init__(self) -> None:
        self._shapes = ShapeCache(self._build)
        self._empty = empty_figure("No faces yet").to_json()

    def _build(self, shape: tuple[tuple[int, ...], tuple[str, ...]]) -> go.Figure:
        faces, labels = shape
        placeholder = {"time": 0.0, **dict.fromkeys(labels, 0.0)}
        figure = emotion_timeline({face: [placeholder] for face in faces})
        # No hover tracking: what the browser redraws every refresh should be only the lines.
        # A column legend beside the panels: the live view is one desktop screen, short and wide.
        figure.update_layout(
            height=HEIGHT, margin=MARGIN, hovermode=False,
            legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"},
        )  # fmt: skip
        _stack_panels(figure, len(faces))
        return figure

    def render(self, groups: dict[int, Sequence[dict]], start: float, end: float) -> str:
        """Plotly JSON of ``groups`` (records by face id) between ``start`` and ``end`` seconds."""
        if not groups:
            return self._empty
        first = next(iter(groups.values()))[0]
        labels = tuple(label for label in CANONICAL_LABELS if label in first)
        figure = _fill(self._shapes.get((tuple(groups), labels)), list(self._columns(groups, labels)))
        layout = figure["layout"]
        for key in [key for key in layout if key.startswith("xaxis")]:
            layout[key] = {**layout[key], "range": [start, end]}
        return json.dumps(figure)

    @staticmethod
    def _columns(groups: dict[int, Sequence[dict]], labels: tuple[str, ...]):
        for rows in groups.values():
            rows = thin(rows)
            times = _values(rows, "time", 2)
            for label in labels:
                yield times, _values(rows, label, 3)


class LiveCircumplex:
    """Each face's recent valence/arousal path on Russell's circumplex, its latest point marked."""

    def __init__(self) -> None:
        self._shapes = ShapeCache(self._build)
        self._empty = empty_figure("No faces yet").to_json()

    @staticmethod
    def _build(faces: tuple[int, ...]) -> go.Figure:
        figure = circumplex({face: [{"valence": 0.0, "arousal": 0.0}] for face in faces})
        figure.update_layout(height=HEIGHT, margin=MARGIN)
        return figure

    def render(self, groups: dict[int, Sequence[dict]]) -> str:
        """Plotly JSON of the valence/arousal paths of ``groups`` (records by face id)."""
        paths = {}
        for face, rows in groups.items():
            points = [row for row in rows if row.get("valence") is not None]
            if points:
                paths[face] = thin(points)
        if not paths:
            return self._empty
        skeleton = self._shapes.get(tuple(paths))
        circle = skeleton["data"][0]
        columns = [(circle["x"], circle["y"])]
        for points in paths.values():
            valence, arousal = _values(points, "valence", 3), _values(points, "arousal", 3)
            columns += [(valence, arousal), (valence[-1:], arousal[-1:])]
        return json.dumps(_fill(skeleton, columns))
