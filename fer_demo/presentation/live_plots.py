"""The webcam's live figures: Plotly builds each figure's shape once; a refresh only swaps its data.

Rebuilding the last-minute timeline with Plotly on every refresh cost about
300 ms of server CPU (Plotly validates every trace and property), a third of
a core at one refresh a second. The shape of a live figure (its panels,
traces, colours, template) depends only on how many faces have panels (at most
``LIVE_PANELS``) and whether the dominant-expression strip is shown, so three
shapes serve any number of faces coming and going: each is built by
:mod:`fer_demo.presentation.plots` once and kept as JSON, its titles set at each refresh. Each refresh
copies that JSON with new ``x``/``y`` arrays, which costs about a millisecond.
The result is a Plotly JSON string (what ``gr.Plot`` sends to the browser).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace

import numpy as np
import plotly.graph_objects as go

from fer_demo.analysis.labels import CANONICAL_LABELS
from fer_demo.presentation.palette import face_colour_css
from fer_demo.presentation.plots import (
    TimelineShape,
    add_panel_lines,
    add_strip,
    circumplex,
    dominant_codes,
    empty_figure,
    timeline_frame,
)

HEIGHT = 262  # pixels: the circumplex shares one 1366x768 screen with the camera
MARGIN = {"l": 45, "r": 10, "t": 30, "b": 30}
LIVE_POINTS = 60  # per face and line: one a second over a minute, plenty for a glance, cheap to draw
# The live timeline: lines for the faces on screen now (at most LIVE_PANELS), and with more faces
# a dominant-expression strip of the ones seen last. Its shape depends only on how many panels and
# whether there is a strip, so three shapes serve any number of faces coming and going.
LIVE_PANELS = 2
LIVE_STRIP_ROWS = 8
ON_SCREEN_SECONDS = 1.5  # a face seen this recently is on screen now
# The top margin leaves the first panel's title clear of Gradio's label over the chart.
LIVE_SHAPE = TimelineShape(1, panel_px=110, row_px=20, gap_px=40, margin=(45, 10, 56, 30))


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


def _fill(skeleton: dict, columns: Sequence[tuple[list, list]]) -> dict:
    """The skeleton with trace i's ``x``/``y`` replaced by ``columns[i]`` (traces beyond are unchanged)."""
    data = [dict(trace) for trace in skeleton["data"]]
    for trace, (x, y) in zip(data, columns, strict=False):
        trace["x"], trace["y"] = x, y
    return {"data": data, "layout": dict(skeleton["layout"])}


def live_faces(groups: dict[int, Sequence[dict]], now: float) -> tuple[list[int], list[int]]:
    """Which faces get a panel and which a strip row, from records by face up to ``now`` seconds.

    Panels: faces on screen now, the longest seen first, then the most recently seen. The strip,
    when there are more faces than panels: those on screen and the most recently seen, by id.
    """
    last = {face: rows[-1]["time"] for face, rows in groups.items()}
    present = [face for face in groups if last[face] >= now - ON_SCREEN_SECONDS]
    ranked = sorted(present, key=lambda face: -len(groups[face]))
    ranked += sorted((face for face in groups if face not in present), key=lambda face: -last[face])
    panels = sorted(ranked[:LIVE_PANELS])
    strip = sorted(ranked[:LIVE_STRIP_ROWS]) if len(groups) > LIVE_PANELS else []
    return panels, strip


class LiveTimeline:
    """Expression probabilities of the faces on screen over a sliding time window, and a strip of
    the top expression of the faces seen last: readable whatever the number of faces."""

    def __init__(self) -> None:
        self._shapes = ShapeCache(self._build)
        self._empty = empty_figure("No faces yet").to_json()

    @staticmethod
    def _build(shape: tuple[int, bool, tuple[str, ...]]) -> go.Figure:
        panels, strip, labels = shape
        layout = replace(LIVE_SHAPE, panels=panels, strip_rows=LIVE_STRIP_ROWS if strip else 0)
        figure = timeline_frame(layout, ["face"] * panels, "strip")  # titles: set at each render
        placeholder = [{"time": 0.0, **dict.fromkeys(labels, 0.0)}]
        for row in range(1, panels + 1):
            add_panel_lines(figure, row, placeholder, legend=row == 1)
        if strip:
            placeholders = {face: placeholder for face in range(1, LIVE_STRIP_ROWS + 1)}
            add_strip(figure, panels + 1, placeholders, labels, "#{}", np.array([0.0, 1.0]))
        # No hover tracking: what the browser redraws every refresh should be only the lines.
        figure.update_layout(
            hovermode=False,
            legend={"orientation": "h", "x": 0, "y": -44 / layout.plot_px, "yanchor": "top"},
        )  # fmt: skip
        for annotation in figure.layout.annotations:
            annotation.font = {"size": 12}
        if strip:  # every face's row labelled, none skipped for room
            figure.update_yaxes(tickfont={"size": 10}, row=panels + 1, col=1)
        return figure

    def render(self, groups: dict[int, Sequence[dict]], start: float, end: float) -> str:
        """Plotly JSON of ``groups`` (records by face id) between ``start`` and ``end`` seconds."""
        if not groups:
            return self._empty
        first = next(iter(groups.values()))[0]
        labels = tuple(label for label in CANONICAL_LABELS if label in first)
        panels, strip = live_faces(groups, end)
        skeleton = self._shapes.get((len(panels), bool(strip), labels))
        columns = [columns for face in panels for columns in self._columns(groups[face], labels)]
        figure = _fill(skeleton, columns)
        layout = figure["layout"]
        titles = [f"Face #{face}" for face in panels]
        if strip:
            edges = np.linspace(start, end, LIVE_POINTS + 1)
            codes = [dominant_codes(thin(groups[face]), labels, edges) for face in strip]
            heatmap = dict(figure["data"][-1])
            heatmap.update(
                x=[round(float(x), 2) for x in (edges[:-1] + edges[1:]) / 2],
                y=[f"#{face}" for face in strip],
                z=[[None if np.isnan(v) else int(v) for v in row] for row in codes],
            )
            heatmap.pop("text", None)
            figure["data"][-1] = heatmap
            more = len(groups) - len(strip)
            earlier = f"; {more} more left earlier" if more else ""  # short: whole on a phone
            titles.append(f"Top expression{earlier}")
        layout["annotations"] = [
            {**annotation, "text": text}
            for annotation, text in zip(layout["annotations"], titles, strict=True)
        ]
        for key in [key for key in layout if key.startswith("xaxis")]:
            layout[key] = {**layout[key], "range": [start, end]}
        return json.dumps(figure)

    @staticmethod
    def _columns(rows: Sequence[dict], labels: tuple[str, ...]):
        rows = thin(rows)
        times = _values(rows, "time", 2)
        for label in labels:
            yield times, _values(rows, label, 3)


class LiveCircumplex:
    """Each face's recent valence/arousal path on Russell's circumplex, its latest point marked.

    Its shape is keyed by the number of faces only (names and colours are set at each refresh),
    so faces coming and going never rebuild it.
    """

    def __init__(self) -> None:
        self._shapes = ShapeCache(self._build)
        self._empty = empty_figure("No faces yet").to_json()

    @staticmethod
    def _build(faces: int) -> go.Figure:
        figure = circumplex({face: [{"valence": 0.0, "arousal": 0.0}] for face in range(1, faces + 1)})
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
        skeleton = self._shapes.get(len(paths))
        circle = skeleton["data"][0]
        columns = [(circle["x"], circle["y"])]
        for points in paths.values():
            valence, arousal = _values(points, "valence", 3), _values(points, "arousal", 3)
            columns += [(valence, arousal), (valence[-1:], arousal[-1:])]
        figure = _fill(skeleton, columns)
        for k, face in enumerate(paths):
            path, latest = figure["data"][1 + 2 * k], figure["data"][2 + 2 * k]
            colour = face_colour_css(face - 1)
            path.update(name=f"Face #{face}", legendgroup=str(face), line={**path["line"], "color": colour})
            latest.update(legendgroup=str(face), marker={**latest["marker"], "color": colour})
        return json.dumps(figure)
