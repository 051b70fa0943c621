"""Pure functions from results to Plotly figures."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fer_demo.labels import CANONICAL_LABELS
from fer_demo.pipeline import FaceResult, ImageAnalysis
from fer_demo.render import face_colour


def _rgb(colour: tuple[int, int, int]) -> str:
    return "rgb({},{},{})".format(*colour)


def empty_figure(message: str) -> go.Figure:
    """A blank figure that says why it is blank."""
    figure = go.Figure()
    figure.add_annotation(text=message, showarrow=False, font={"size": 16})
    figure.update_layout(
        xaxis_visible=False, yaxis_visible=False, height=320, margin={"l": 20, "r": 20, "t": 20, "b": 20}
    )
    return figure


def probability_chart(faces: Sequence[FaceResult], title: str = "") -> go.Figure:
    """Grouped bars: one group per expression (canonical order), one bar per face."""
    if not faces:
        return empty_figure("No faces found")
    labels = [label for label in CANONICAL_LABELS if label in faces[0].probabilities]
    figure = go.Figure()
    for face in faces:
        figure.add_bar(
            name=f"Face #{face.face}",
            x=labels,
            y=[face.probabilities[label] for label in labels],
            marker_color=_rgb(face_colour(face.face - 1)),
            hovertemplate="%{x}: %{y:.1%}<extra>Face #" + str(face.face) + "</extra>",
        )
    figure.update_layout(
        title=title or None,
        barmode="group",
        height=360,
        yaxis={"title": "probability", "range": [0, 1], "tickformat": ".0%"},
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 50, "r": 20, "t": 40 if title else 20, "b": 40},
    )
    return figure


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


def comparison_chart(
    analyses: Sequence[ImageAnalysis], agreements: Sequence[tuple[str, int, int]]
) -> go.Figure:
    """One panel per face, bars per model over every canonical label (absent labels have no bar)."""
    if not analyses or not analyses[0].faces:
        return empty_figure("No faces found")
    faces = len(analyses[0].faces)
    titles = [
        f"Face #{i + 1}: {count} of {total} models say {label}"
        for i, (label, count, total) in enumerate(agreements)
    ]
    figure = make_subplots(rows=faces, cols=1, subplot_titles=titles, vertical_spacing=0.12 / max(faces, 1))
    for m, analysis in enumerate(analyses):
        for i, face in enumerate(analysis.faces):
            figure.add_bar(
                row=i + 1,
                col=1,
                name=analysis.model,
                legendgroup=analysis.model,
                showlegend=i == 0,
                x=list(CANONICAL_LABELS),
                y=[face.probabilities.get(label) for label in CANONICAL_LABELS],
                marker_color=MODEL_COLOURS[m % len(MODEL_COLOURS)],
                hovertemplate="%{x}: %{y:.1%}<extra>" + analysis.model + "</extra>",
            )
    figure.update_yaxes(range=[0, 1], tickformat=".0%")
    figure.update_layout(
        barmode="group",
        height=300 * faces + 80,
        legend={"orientation": "h", "y": -0.08},
        margin={"l": 50, "r": 20, "t": 40, "b": 40},
    )
    return figure
