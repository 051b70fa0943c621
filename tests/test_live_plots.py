"""The webcam's live figures: the data swapped into a cached Plotly shape is the data given."""

from __future__ import annotations

import json

import pytest

from fer_demo.live_plots import LIVE_POINTS, LiveCircumplex, LiveTimeline, thin
from fer_demo.plots import circumplex, emotion_timeline

LABELS = ["Neutral", "Happiness", "Sadness"]


def records(face: int, count: int, start: float = 0.0, va: bool = False) -> list[dict]:
    rows = []
    for i in range(count):
        row = {
            "time": start + i / 10,
            "face_id": face,
            "Neutral": 0.5,
            "Happiness": i / count,
            "Sadness": 0.1,
        }
        if va:
            row.update(valence=i / count - 0.5, arousal=0.25)
        rows.append(row)
    return rows


def test_the_timeline_has_a_panel_per_face_and_a_line_per_expression_with_the_given_values():
    groups = {1: records(1, 40), 3: records(3, 20, start=2.0)}
    figure = json.loads(LiveTimeline().render(groups, 0.0, 60.0))
    reference = json.loads(emotion_timeline(groups).to_json())
    assert [t["name"] for t in figure["data"]] == [t["name"] for t in reference["data"]] == LABELS * 2
    assert [t.get("xaxis") for t in figure["data"]] == [t.get("xaxis") for t in reference["data"]]
    assert [a["text"] for a in figure["layout"]["annotations"]] == ["Face #1", "Face #3"]
    happiness_of_3 = figure["data"][4]
    assert happiness_of_3["x"] == pytest.approx([2.0 + i / 10 for i in range(20)])
    assert happiness_of_3["y"] == pytest.approx([i / 20 for i in range(20)], abs=1e-3)
    assert figure["layout"]["xaxis"]["range"] == figure["layout"]["xaxis2"]["range"] == [0.0, 60.0]


def test_a_new_face_changes_the_shape_and_the_old_shape_is_reused():
    timeline = LiveTimeline()
    one = json.loads(timeline.render({1: records(1, 5)}, 0, 10))
    two = json.loads(timeline.render({1: records(1, 5), 2: records(2, 5)}, 0, 10))
    again = json.loads(timeline.render({1: records(1, 8)}, 0, 10))
    assert (len(one["data"]), len(two["data"]), len(again["data"])) == (3, 6, 3)
    assert again["data"][1]["y"] == pytest.approx([i / 8 for i in range(8)], abs=1e-3)  # not the old data


def test_long_histories_are_thinned_and_keep_the_newest_point():
    rows = records(1, 1000)
    kept = thin(rows)
    assert len(kept) <= LIVE_POINTS and kept[-1] is rows[-1]
    figure = json.loads(LiveTimeline().render({1: rows}, 0, 100))
    assert len(figure["data"][0]["x"]) == len(kept) and figure["data"][0]["x"][-1] == pytest.approx(99.9)


def test_no_faces_gives_a_figure_that_says_so():
    figure = json.loads(LiveTimeline().render({}, 0, 60))
    assert figure["layout"]["annotations"][0]["text"] == "No faces yet"


def test_the_circumplex_draws_each_path_and_marks_its_latest_point():
    groups = {1: records(1, 10, va=True), 2: records(2, 4, va=True)}
    figure = json.loads(LiveCircumplex().render(groups))
    reference = json.loads(circumplex(groups).to_json())
    assert len(figure["data"]) == len(reference["data"]) == 5  # the unit circle, then path + marker per face
    assert figure["data"][0] == reference["data"][0]
    path, latest = figure["data"][3], figure["data"][4]
    assert path["x"] == pytest.approx([i / 4 - 0.5 for i in range(4)]) and path["y"] == pytest.approx(
        [0.25] * 4
    )
    assert latest["x"] == pytest.approx([0.25]) and latest["y"] == pytest.approx([0.25])
    assert [t["line"]["color"] for t in figure["data"][1::2]] == [
        t["line"]["color"] for t in reference["data"][1::2]
    ]


def test_the_circumplex_without_valence_arousal_says_so():
    figure = json.loads(LiveCircumplex().render({1: records(1, 5)}))
    assert figure["layout"]["annotations"][0]["text"] == "No faces yet"
