"""Pure functions from results to Plotly figures."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from fer_demo.labels import CANONICAL_LABELS
from fer_demo.pipeline import FaceResult
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
