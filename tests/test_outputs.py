"""What users take away: the annotated image, the chart, CSV and JSON."""

from __future__ import annotations

import csv
import json

import numpy as np

from fer_demo.export import face_columns, face_rows, write_csv, write_json
from fer_demo.palette import face_colour
from fer_demo.pipeline import FaceResult, ImageAnalysis
from fer_demo.plots import probability_chart
from fer_demo.render import annotate, face_caption

PROBS = {
    "Neutral": 0.1,
    "Happiness": 0.7,
    "Sadness": 0.05,
    "Surprise": 0.05,
    "Fear": 0.03,
    "Disgust": 0.02,
    "Anger": 0.05,
}


def face(number: int, box=(20.0, 30.0, 60.0, 80.0), valence=None, arousal=None) -> FaceResult:
    return FaceResult(
        face=number,
        box=box,
        score=0.99,
        landmarks=[(0.0, 0.0)] * 5,
        probabilities=PROBS,
        top_label="Happiness",
        top_probability=0.7,
        valence=valence,
        arousal=arousal,
    )


def analysis(*faces: FaceResult) -> ImageAnalysis:
    return ImageAnalysis("mini_xception", "Mini", 100, 100, list(faces))


def test_annotate_draws_each_face_in_its_colour_and_leaves_the_input_alone():
    image = np.full((120, 160, 3), 255, np.uint8)
    out = annotate(image, [face(1), face(2, box=(100.0, 40.0, 150.0, 100.0))])
    assert out.shape == image.shape and (image == 255).all()
    assert tuple(out[60, 20]) == face_colour(0)  # left edge of box 1
    assert tuple(out[70, 150]) == face_colour(1)  # right edge of box 2


def test_caption_shows_valence_arousal_only_when_present():
    assert face_caption(face(1)) == "#1 Happiness 70%"
    assert face_caption(face(2, valence=0.41, arousal=-0.1)) == "#2 Happiness 70%  V +0.41 A -0.10"


def test_chart_has_a_bar_group_per_label_and_a_trace_per_face():
    figure = probability_chart([face(1), face(2)])
    assert [trace.name for trace in figure.data] == ["Face #1", "Face #2"]
    assert list(figure.data[0].x) == list(PROBS)
    assert list(figure.data[0].y) == list(PROBS.values())


def test_chart_without_faces_says_so():
    figure = probability_chart([])
    assert not figure.data and figure.layout.annotations[0].text == "No faces found"


def test_csv_has_one_row_per_face_in_canonical_columns(tmp_path):
    result = analysis(face(1), face(2))
    path = write_csv(face_rows(result), face_columns("mini_xception"), tmp_path / "faces.csv")
    rows = list(csv.DictReader(path.read_text().splitlines()))
    assert len(rows) == 2 and rows[1]["face"] == "2"
    assert list(rows[0])[8:15] == list(PROBS)
    assert float(rows[0]["Happiness"]) == 0.7 and rows[0]["model"] == "mini_xception"
    assert "valence" not in rows[0]  # this model has none


def test_csv_without_faces_still_has_its_header(tmp_path):
    path = write_csv([], face_columns("mini_xception"), tmp_path / "none.csv")
    assert path.read_text().splitlines() == [",".join(face_columns("mini_xception"))]


def test_json_round_trip(tmp_path):
    path = write_json(analysis(face(1)).to_dict(), tmp_path / "faces.json")
    data = json.loads(path.read_text())
    assert data["faces"][0]["probabilities"]["Happiness"] == 0.7
    assert data["faces"][0]["box"] == [20.0, 30.0, 60.0, 80.0]
