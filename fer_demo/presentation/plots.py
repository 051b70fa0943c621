"""Pure functions from results to Plotly figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fer_demo.analysis.compare import FaceAgreement, compared_labels
from fer_demo.analysis.labels import CANONICAL_LABELS
from fer_demo.analysis.pipeline import FaceResult, ImageAnalysis
from fer_demo.presentation.palette import EMOTION_COLOURS, MODEL_COLOURS, face_colour_css


def empty_figure(message: str) -> go.Figure:
    """A blank figure that says why it is blank."""
    figure = go.Figure()
    figure.add_annotation(text=message, showarrow=False, font={"size": 16})
    figure.update_layout(
        xaxis_visible=False, yaxis_visible=False, height=320, margin={"l": 20, "r": 20, "t": 20, "b": 20}
    )
    return figure


def probability_chart(faces: Sequence[FaceResult], title: str = "") -> go.Figure:
    """Horizontal grouped bars: a row per expression (canonical order, top down), a bar per face.

    Horizontal, so the expression names read in full at any width: upright tick labels under
    vertical bars were rotated and clipped ("Happines") on a phone.
    """
    if not faces:
        return empty_figure("No faces found")
    labels = [label for label in CANONICAL_LABELS if label in faces[0].probabilities]
    figure = go.Figure()
    for face in faces:
        figure.add_bar(
            name=f"Face #{face.face}",
            y=labels,
            x=[face.probabilities[label] for label in labels],
            orientation="h",
            marker_color=face_colour_css(face.face - 1),
            hovertemplate="%{y}: %{x:.1%}<extra>Face #" + str(face.face) + "</extra>",
        )
    rows = len(labels) * max(1, min(len(faces), 4))
    figure.update_layout(
        title=title or None,
        barmode="group",
        height=max(300, 22 * rows + 110),
        xaxis={"title": "probability", "range": [0, 1], "tickformat": ".0%"},
        yaxis={"autorange": "reversed", "automargin": True},  # canonical order from the top
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "traceorder": "normal"},
        margin={"l": 10, "r": 20, "t": 60 if title else 40, "b": 40},
    )
    return figure


def comparison_chart(analyses: Sequence[ImageAnalysis], agreements: Sequence[FaceAgreement]) -> go.Figure:
    """One panel per face, a row per label some compared model has (horizontal bars, names whole
    on a phone), a bar per model (a model without the label has no bar there)."""
    if not analyses or not analyses[0].faces:
        return empty_figure("No faces found")
    faces = len(analyses[0].faces)
    labels = compared_labels(analyses)
    panel = max(240, 7 * len(labels) * len(analyses) + 60)
    height = panel * faces + 120
    titles = [f"Face #{a.face}: {a.agreeing}/{a.models} say {a.label}" for a in agreements]
    # 70 px between panels: the x labels of one and the title of the next never touch.
    figure = make_subplots(rows=faces, cols=1, subplot_titles=titles, vertical_spacing=70 / height)
    for m, analysis in enumerate(analyses):
        for i, face in enumerate(analysis.faces):
            figure.add_bar(
                row=i + 1,
                col=1,
                name=analysis.model,
                legendgroup=analysis.model,
                showlegend=i == 0,
                y=labels,
                x=[face.probabilities.get(label) for label in labels],
                orientation="h",
                marker_color=MODEL_COLOURS[m % len(MODEL_COLOURS)],
                hovertemplate="%{y}: %{x:.1%}<extra>" + analysis.model + "</extra>",
            )
    figure.update_xaxes(range=[0, 1], tickformat=".0%")
    figure.update_yaxes(autorange="reversed", automargin=True)
    figure.update_layout(
        barmode="group",
        height=height,
        legend={"orientation": "h", "x": 0, "y": -40 / (height - 100), "yanchor": "top"},  # under the axis
        margin={"l": 10, "r": 20, "t": 60, "b": 40},  # the first title clear of the panel's label
    )
    return figure


MAX_POINTS = 4000  # per line: more than a screen shows, few enough to stay fast in the browser


def _column(rows: Sequence[dict], key: str) -> np.ndarray:
    """One field of every row as a float array (None becomes NaN, a gap in the line).

    Plotly validates arrays in one step but Python lists value by value: ~10x faster.
    """
    return np.array([np.nan if r[key] is None else r[key] for r in rows], np.float64)


def _thin(rows: Sequence[dict]) -> Sequence[dict]:
    step = max(1, len(rows) // MAX_POINTS)
    return rows[::step]


def mark_cuts(figure: go.Figure, cuts: Sequence[float]) -> None:
    """A dotted line at every cut (the start of a new shot) across all panels; one legend entry says so."""
    line = {"color": "#555555", "width": 1, "dash": "dot"}
    for time in cuts:
        figure.add_vline(x=time, row="all", col=1, line=line)
    if cuts:  # shapes have no legend: an empty trace with the same line names them
        figure.add_scatter(x=[None], y=[None], mode="lines", line=line, name="cut (new shot)")


AGREEMENT_NAME = "agreement (members voting for the top label)"
AGREEMENT_LINE = {"color": "#222222", "width": 1.5, "dash": "dash"}
GAP_SECONDS = 0.5  # a face absent this long (another shot, out of view) breaks its lines


def _gapped(times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``times`` and ``values`` with a NaN point wherever the face was away, so no line bridges it."""
    breaks = np.flatnonzero(np.diff(times) > GAP_SECONDS) + 1
    return np.insert(times, breaks, np.nan), np.insert(values, breaks, np.nan)


MAX_PANELS = 4  # a panel per face up to this many; with more, the busiest and a strip of them all
PANEL_PX = 200  # plot height of one face's panel: seven lines stay apart
STRIP_ROW_PX = 22  # one face's row of the dominant-expression strip
STRIP_BINS = 300  # columns of the strip at most: finer than a screen shows of a whole video
PANEL_GAP_PX = 50  # between panels: the x labels of one and the title of the next never touch


def busiest(groups: dict[int, Sequence[dict]], count: int) -> list[int]:
    """The ``count`` faces with the most records (the longest on screen), in id order."""
    ranked = sorted(groups, key=lambda face: (-len(groups[face]), face))[:count]
    return sorted(ranked)


def dominant_codes(rows: Sequence[dict], labels: Sequence[str], edges: np.ndarray) -> np.ndarray:
    """Per time bin (``edges``, seconds), the index in ``labels`` of the face's most probable
    expression on average over the bin; NaN for a bin in which the face was not seen."""
    bins = len(edges) - 1
    times = _column(rows, "time")
    where = np.clip(np.searchsorted(edges, times, side="right") - 1, 0, bins - 1)
    sums = np.zeros((bins, len(labels)))
    np.add.at(sums, where, np.stack([_column(rows, label) for label in labels], axis=1))
    codes = np.argmax(sums, axis=1).astype(np.float64)
    codes[np.bincount(where, minlength=bins) == 0] = np.nan
    return codes


def strip_edges(start: float, end: float, bins: int = STRIP_BINS, finest: float = 0.1) -> np.ndarray:
    """Bin edges from ``start`` to ``end`` seconds: ``bins`` at most, none finer than ``finest``."""
    count = int(np.clip(np.ceil((end - start) / finest), 1, bins))
    return np.linspace(start, max(end, start + finest), count + 1)


def expression_colourscale(labels: Sequence[str]) -> list[list]:
    """A stepped colour scale: code i (a label's index) is that expression's palette colour."""
    scale = []
    for i, label in enumerate(labels):
        scale += [[i / len(labels), EMOTION_COLOURS[label]], [(i + 1) / len(labels), EMOTION_COLOURS[label]]]
    return scale


@dataclass(frozen=True)
class TimelineShape:
    """How a timeline is laid out: panels of lines, then a strip with a row per face, in pixels."""

    panels: int
    strip_rows: int = 0  # 0: no strip
    panel_px: int = PANEL_PX
    row_px: int = STRIP_ROW_PX
    gap_px: int = PANEL_GAP_PX
    margin: tuple[int, int, int, int] = (50, 20, 40, 40)  # left, right, top, bottom

    @property
    def plot_px(self) -> int:
        """Height of all the panels, the strip and the gaps between them."""
        strip = max(3, self.strip_rows) * self.row_px if self.strip_rows else 0
        rows = self.panels + bool(self.strip_rows)
        return self.panels * self.panel_px + strip + self.gap_px * (rows - 1)

    @property
    def height(self) -> int:
        return self.plot_px + self.margin[2] + self.margin[3]


def timeline_frame(shape: TimelineShape, titles: Sequence[str], strip_title: str = "") -> go.Figure:
    """The empty subplots of a timeline: ``shape.panels`` panels titled ``titles``, then the strip."""
    heights = [shape.panel_px] * shape.panels
    if shape.strip_rows:
        heights.append(max(3, shape.strip_rows) * shape.row_px)
    figure = make_subplots(
        rows=len(heights),
        cols=1,
        shared_xaxes=True,
        row_heights=[h / sum(heights) for h in heights],
        subplot_titles=[*titles, *([strip_title] if shape.strip_rows else [])],
        vertical_spacing=shape.gap_px / shape.plot_px if len(heights) > 1 else 0.0,
    )
    for row in range(1, shape.panels + 1):
        figure.update_yaxes(range=[0, 1], tickvals=[0, 0.5, 1], tickformat=".0%", row=row, col=1)
    if shape.strip_rows:
        figure.update_yaxes(autorange="reversed", type="category", row=len(heights), col=1)
    figure.update_xaxes(title_text="time (s)", row=len(heights), col=1)
    figure.update_xaxes(hoverformat=".2f", ticksuffix=" s")
    left, right, top, bottom = shape.margin
    figure.update_layout(height=shape.height, margin={"l": left, "r": right, "t": top, "b": bottom})
    return figure


def add_panel_lines(figure: go.Figure, row: int, rows: Sequence[dict], legend: bool) -> None:
    """A face's panel: a line per expression (canonical colours and order), then an ensemble's agreement."""
    rows = _thin(rows)
    times = _column(rows, "time")
    lines = [(label, label, {"color": EMOTION_COLOURS[label]}) for label in CANONICAL_LABELS]
    lines.append(("agreement", AGREEMENT_NAME, AGREEMENT_LINE))
    for key, name, line in lines:
        if key not in rows[0]:
            continue
        x, y = _gapped(times, _column(rows, key))
        figure.add_scatter(
            row=row, col=1, x=x, y=y, mode="lines", name=name, legendgroup=key, showlegend=legend, line=line,
            hovertemplate="%{y:.0%}<extra>" + name + "</extra>",
        )  # fmt: skip


def add_strip(
    figure: go.Figure, row: int, groups: dict[int, Sequence[dict]], labels: Sequence[str], name: str,
    edges: np.ndarray,
) -> None:  # fmt: skip
    """The dominant-expression strip: a row per face, each time bin coloured by its top expression."""
    codes = np.stack([dominant_codes(rows, labels, edges) for rows in groups.values()])
    names = np.array(labels, dtype=object)
    text = np.where(np.isnan(codes), "", names[np.nan_to_num(codes).astype(int)])
    figure.add_heatmap(
        row=row, col=1, x=(edges[:-1] + edges[1:]) / 2, y=[name.format(face) for face in groups], z=codes,
        text=text, zmin=-0.5, zmax=len(labels) - 0.5, colorscale=expression_colourscale(labels),
        showscale=False, hoverongaps=False, xgap=0, ygap=2,
        hovertemplate="%{y}, %{x:.1f} s: %{text}<extra></extra>",
    )  # fmt: skip


def emotion_timeline(
    groups: dict[int, list[dict]],
    title: str = "",
    cuts: Sequence[float] = (),
    name: str = "Face #{}",
    max_panels: int = MAX_PANELS,
) -> go.Figure:
    """Expressions over time: a panel per face (or person: ``name`` "Person {}") with a line per
    expression, sharing the time axis; a dotted line marks each cut between shots.

    With more than ``max_panels`` faces, the faces longest on screen keep their panels and a
    dominant-expression strip below shows every face, a row each: any number of faces stays
    readable, on a phone too.
    """
    if not groups:
        return empty_figure("No faces found")
    many = len(groups) > max_panels
    panels = busiest(groups, max_panels - 1) if many else list(groups)
    shape = TimelineShape(len(panels), len(groups) if many else 0)
    strip_title = f"Top expression of each of the {len(groups)} {'persons' if 'Person' in name else 'faces'}"
    figure = timeline_frame(shape, [name.format(face) for face in panels], strip_title)
    for row, face in enumerate(panels, start=1):
        add_panel_lines(figure, row, groups[face], legend=row == 1)
    if many:
        labels = [label for label in CANONICAL_LABELS if label in next(iter(groups.values()))[0]]
        times = [rows[i]["time"] for rows in groups.values() for i in (0, -1)]
        add_strip(figure, len(panels) + 1, groups, labels, name, strip_edges(min(times), max(times)))
    mark_cuts(figure, cuts)
    # The legend runs across the bottom, under the time axis (a column beside the panels would
    # take half a phone's width); Plotly grows the bottom margin to fit however many rows.
    under_axis = -64 / shape.plot_px
    figure.update_layout(
        title=title or None,
        hovermode="x unified" if not many else "closest",
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": under_axis, "yanchor": "top"},
    )
    return figure


def valence_arousal_timeline(
    groups: dict[int, list[dict]], cuts: Sequence[float] = (), name: str = "Face #{}"
) -> go.Figure:
    """Valence and arousal of every face (or person) over seconds, cuts between shots marked."""
    if not groups or all(rows[0].get("valence") is None for rows in groups.values()):
        return empty_figure("This model gives no valence/arousal")
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, subplot_titles=["Valence", "Arousal"], vertical_spacing=0.12
    )
    for face, rows in groups.items():
        rows = _thin(rows)
        colour = face_colour_css(face - 1)
        times = _column(rows, "time")
        for panel, key in ((1, "valence"), (2, "arousal")):
            x, y = _gapped(times, _column(rows, key))
            figure.add_scatter(
                row=panel,
                col=1,
                x=x,
                y=y,
                mode="lines",
                name=name.format(face),
                legendgroup=str(face),
                showlegend=panel == 1,
                line={"color": colour},
            )
    figure.update_yaxes(range=[-1, 1])
    figure.update_xaxes(title_text="time (s)", row=2, col=1)
    mark_cuts(figure, cuts)
    figure.update_layout(height=420, margin={"l": 50, "r": 20, "t": 40, "b": 40})
    return figure


def circumplex(groups: dict[int, list[dict]], trail: int | None = None, name: str = "Face #{}") -> go.Figure:
    """Russell's circumplex: each face's (or person's) valence (x) / arousal (y) path, its latest
    point marked.

    ``trail`` keeps only the last points per face (a live view); None draws the whole path.
    """
    figure = go.Figure()
    angle = np.linspace(0, 2 * np.pi, 121)
    figure.add_scatter(
        x=np.cos(angle),
        y=np.sin(angle),
        mode="lines",
        line={"color": "#bbbbbb", "width": 1},
        hoverinfo="skip",
        showlegend=False,
    )
    for text, x, y in (("excited", 0.7, 0.8), ("calm", 0.7, -0.8), ("tense", -0.7, 0.8), ("sad", -0.7, -0.8)):
        figure.add_annotation(x=x, y=y, text=text, showarrow=False, font={"color": "#888888"})
    drawn = False
    for face, rows in groups.items():
        points = [r for r in rows if r.get("valence") is not None]
        if trail:
            points = points[-trail:]
        points = _thin(points)
        if not points:
            continue
        drawn = True
        colour = face_colour_css(face - 1)
        figure.add_scatter(
            x=_column(points, "valence"),
            y=_column(points, "arousal"),
            mode="lines",
            line={"color": colour, "width": 2},
            opacity=0.6,
            name=name.format(face),
            legendgroup=str(face),
            hovertemplate="V %{x:.2f}, A %{y:.2f}<extra></extra>",
        )
        figure.add_scatter(
            x=[points[-1]["valence"]],
            y=[points[-1]["arousal"]],
            mode="markers",
            marker={"color": colour, "size": 12, "line": {"color": "black", "width": 1}},
            legendgroup=str(face),
            showlegend=False,
            hoverinfo="skip",
        )
    if not drawn:
        return empty_figure("This model gives no valence/arousal")
    figure.update_layout(
        xaxis={"range": [-1.1, 1.1], "title": "valence", "zeroline": True, "scaleanchor": "y"},
        yaxis={"range": [-1.1, 1.1], "title": "arousal", "zeroline": True},
        height=420,
        margin={"l": 50, "r": 20, "t": 30, "b": 40},
        title="Valence / arousal",
    )
    return figure
