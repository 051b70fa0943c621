"""What users take away: the annotated image, the chart, CSV and JSON."""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import numpy as np
import pytest

from fer_demo.analysis.compare import agreement, comparison_rows
from fer_demo.analysis.pipeline import FaceResult, ImageAnalysis
from fer_demo.presentation.export import download_name, face_columns, face_rows, write_csv, write_json
from fer_demo.presentation.face_cards import face_cards
from fer_demo.presentation.palette import face_colour
from fer_demo.presentation.plots import comparison_chart, probability_chart
from fer_demo.presentation.render import annotate, face_caption

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
    assert list(figure.data[0].y) == list(PROBS) and figure.data[0].orientation == "h"
    assert list(figure.data[0].x) == list(PROBS.values())


def test_chart_without_faces_says_so():
    figure = probability_chart([])
    assert not figure.data and figure.layout.annotations[0].text == "No faces found"


def test_csv_has_one_row_per_face_in_canonical_columns(tmp_path):
    result = analysis(face(1), face(2))
    path = write_csv(face_rows(result), face_columns("mini_xception"), tmp_path / "faces.csv")
    rows = list(csv.DictReader(path.read_text().splitlines()))
    assert len(rows) == 2 and rows[1]["face"] == "2"
    assert list(rows[0])[:3] == ["face", "top_label", "top_probability"]  # what a reader wants first
    assert list(rows[0])[3:10] == list(PROBS) and list(rows[0])[-5:-1] == ["x1", "y1", "x2", "y2"]
    assert rows[0]["Happiness"] == "0.7000" and rows[0]["model"] == "mini_xception"
    assert "valence" not in rows[0]  # this model has none


def test_csv_numbers_have_fixed_decimals_and_never_scientific_notation(tmp_path):
    rows = [{"face": 1, "Fear": 8e-05, "x1": 12.345678, "time": 1 / 3, "valence": None, "model": "m"}]
    path = write_csv(rows, ["face", "Fear", "x1", "time", "valence", "model"], tmp_path / "f.csv")
    assert path.read_text().splitlines()[1] == "1,0.0001,12.3,0.333,,m"


def test_download_names_say_which_photo_and_model_and_stay_in_their_folder():
    assert download_name("/tmp/gradio/abc/Holiday photo (2).JPG", "enet_b0_7", "csv") == (
        "Holiday-photo-2-enet_b0_7.csv"
    )
    assert download_name("../../etc/passwd", "m", "json") == "passwd-m.json"
    assert download_name(None, "m", "csv") == "faces-m.csv"


def test_csv_without_faces_still_has_its_header(tmp_path):
    path = write_csv([], face_columns("mini_xception"), tmp_path / "none.csv")
    assert path.read_text().splitlines() == [",".join(face_columns("mini_xception"))]


def test_json_round_trip(tmp_path):
    path = write_json(analysis(face(1)).to_dict(), tmp_path / "faces.json")
    data = json.loads(path.read_text())
    assert data["faces"][0]["probabilities"]["Happiness"] == 0.7
    assert data["faces"][0]["box"] == [20.0, 30.0, 60.0, 80.0]


def test_a_comparison_shows_only_the_classes_and_outputs_its_models_have():
    """Seven-class models only: no Contempt axis or column, no empty valence/arousal columns."""
    seven = [analysis(face(1), face(2)), replace(analysis(face(1), face(2)), model="enet_b0_7")]
    columns, rows = comparison_rows(seven)
    assert "Contempt" not in columns and "valence" not in columns and len(rows) == 4
    figure = comparison_chart(seven, agreement(seven))
    assert all(list(bar.y) == list(PROBS) and bar.orientation == "h" for bar in figure.data)
    layout = figure.layout
    paper = layout.height - layout.margin.t - layout.margin.b
    gap = (layout.yaxis.domain[0] - layout.yaxis2.domain[1]) * paper  # pixels between the panels
    assert gap >= 55  # room for one panel's x labels and the next one's title (36 px before)
    with_va = [*seven, replace(analysis(face(1, valence=0.2, arousal=0.1), face(2, valence=0.0, arousal=0.0)),
                               model="enet_b0_8_va_mtl")]  # fmt: skip
    assert "valence" in comparison_rows(with_va)[0]


def model_says(model: str, probabilities: dict[str, float]) -> ImageAnalysis:
    top = max(probabilities, key=probabilities.get)
    verdict = replace(face(1), probabilities=probabilities, top_label=top, top_probability=probabilities[top])
    return ImageAnalysis(model, model, 100, 100, [verdict])


def test_models_agree_on_the_labels_they_share_and_a_missing_class_is_no_disagreement():
    seven = model_says("mini_xception", PROBS)  # Happiness, no Contempt
    eight = model_says("enet_b2_8", {**dict.fromkeys(PROBS, 0.02), "Happiness": 0.3, "Contempt": 0.58})
    five = model_says("emonet_5", {"Neutral": 0.6, "Happiness": 0.3, "Sadness": 0.05, "Surprise": 0.03,
                                   "Anger": 0.02})  # fmt: skip
    (consensus,) = agreement([seven, eight, five])
    assert consensus.shared_labels == ("Neutral", "Happiness", "Sadness", "Surprise", "Anger")
    # The 8-class model's Contempt is outside the shared labels: its vote there is Happiness.
    assert (consensus.label, consensus.agreeing, consensus.models) == ("Happiness", 2, 3)
    assert consensus.to_dict()["share"] == pytest.approx(0.6667)
    columns, rows = comparison_rows([seven, eight, five])
    assert {"shared_vote", "consensus_label", "models_agreeing"} <= set(columns)
    assert [row["top_label"] for row in rows] == ["Happiness", "Contempt", "Neutral"]
    assert [row["shared_vote"] for row in rows] == ["Happiness", "Happiness", "Neutral"]
    assert {row["models_agreeing"] for row in rows} == {"2/3"} and "ensemble_agreement" not in columns


@pytest.mark.parametrize("size", [(300, 300), (640, 480), (2000, 1333), (4032, 3024), (1080, 1920)])
def test_box_labels_stay_at_least_14_px_tall_on_a_phone(size):
    """The label is measured on the drawn image, then scaled as the image panel of a 390 px phone
    shows it (360 x 420 at most): a 2000 px photo's labels were about 5 px there."""
    width, height = size
    box = (width * 0.4, height * 0.5, width * 0.6, height * 0.7)
    out = annotate(np.full((height, width, 3), 255, np.uint8), [face(1, box=box)])
    column = out[: round(box[1]), round(box[0]) + 3]  # straight up from the box, through the label
    label_rows = int((column == face_colour(0)).all(axis=1).sum())
    shown = min(360 / width, 420 / height, 1.0)
    assert label_rows * shown >= 14, f"{label_rows} px label shown at {label_rows * shown:.1f} px"


def test_each_face_gets_a_card_with_its_picture_verdict_bars_and_valence_arousal():
    image = np.full((120, 160, 3), 200, np.uint8)
    result = analysis(face(1), face(2, box=(100.0, 40.0, 150.0, 100.0), valence=0.41, arousal=-0.12))
    cards = face_cards(image, result)
    assert cards.count('class="fer-card"') == 2 and cards.count("data:image/jpeg;base64,") == 2
    assert "#1 Happiness 70%" in cards and cards.count('class="bar"') == 2 * len(PROBS)
    assert "valence +0.41 · arousal -0.12" in cards and cards.count('class="va"') == 1
    assert face_cards(image, analysis()) == ""


def test_landmarks_are_drawn_only_on_request_as_dots_in_the_face_colour():
    image = np.full((120, 160, 3), 255, np.uint8)
    marked = FaceResult(**{**face(1).__dict__, "landmarks": [(30.0, 45.0), (50.0, 45.0), (40.0, 55.0),
                                                             (32.0, 68.0), (48.0, 68.0)]})  # fmt: skip
    plain, dotted = annotate(image, [marked]), annotate(image, [marked], landmarks=True)
    for x, y in marked.landmarks:
        assert tuple(dotted[int(y), int(x)]) == face_colour(0) and tuple(plain[int(y), int(x)]) == (
            255,
            255,
            255,
        )
