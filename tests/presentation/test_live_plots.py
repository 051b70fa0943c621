"""The webcam's live figures: the data swapped into a cached Plotly shape is the data given."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fer_demo.presentation.live_plots import (
    LIVE_PANELS,
    LIVE_POINTS,
    LIVE_STRIP_ROWS,
    LiveCircumplex,
    LiveTimeline,
    live_faces,
    thin,
)
from fer_demo.presentation.palette import EMOTION_COLOURS
from fer_demo.presentation.plots import MAX_PANELS, circumplex, dominant_codes, emotion_timeline

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


# ---- any number of faces: panels for a few, a dominant-expression strip for all ----------------------


def crowd(faces: int, seconds: float, rng: np.random.Generator) -> dict[int, list[dict]]:
    """``faces`` faces coming and going over ``seconds``, each with its own top expression."""
    groups = {}
    for face in range(1, faces + 1):
        start = float(rng.uniform(0, seconds * 0.8))
        end = min(seconds, start + float(rng.uniform(1, seconds / 3)))
        top = LABELS[face % len(LABELS)]
        groups[face] = [
            {"time": t, "face_id": face, **{label: 0.8 if label == top else 0.1 for label in LABELS}}
            for t in np.arange(start, end, 0.25)
        ]
    return groups


def test_the_live_timeline_holds_any_number_of_faces_with_readable_panels():
    rng = np.random.default_rng(1)
    timeline = LiveTimeline()
    for faces in (1, 2, 3, 8, 9, 12, 35, 80):
        groups = crowd(faces, 60.0, rng)
        figure = json.loads(timeline.render(groups, 0.0, 60.0))  # never an exception
        layout = figure["layout"]
        axes = [key for key in layout if key.startswith("yaxis")]
        plot_px = layout["height"] - layout["margin"]["t"] - layout["margin"]["b"]
        for key in axes:
            low, high = layout[key]["domain"]
            assert 0 <= low < high <= 1
            assert (high - low) * plot_px >= 100  # a panel (or the strip) at least 100 px tall
        panels = [a["text"] for a in layout["annotations"] if a["text"].startswith("Face #")]
        assert len(panels) == min(faces, LIVE_PANELS)
        strip = [trace for trace in figure["data"] if trace["type"] == "heatmap"]
        assert len(strip) == (faces > LIVE_PANELS)
        if strip:
            assert len(strip[0]["y"]) == min(faces, LIVE_STRIP_ROWS)


def test_the_live_panels_are_the_faces_on_screen_now():
    old = {face: records(face, 50, start=0.0) for face in (1, 2, 3)}  # seen 0-5 s, then gone
    now = {face: records(face, 50, start=55.0) for face in (7, 9)}  # on screen at 60 s
    panels, strip = live_faces({**old, **now}, 60.0)
    assert panels == [7, 9]
    assert set(strip) == {1, 2, 3, 7, 9}
    figure = json.loads(LiveTimeline().render({**old, **now}, 0.0, 60.0))
    titles = [a["text"] for a in figure["layout"]["annotations"]]
    assert titles[:2] == ["Face #7", "Face #9"]


def test_the_strip_colours_each_moment_by_its_top_expression():
    groups = {face: records(face, 10) for face in (1, 2)}
    for row in groups[2]:
        row.update(Neutral=0.1, Happiness=0.1, Sadness=0.8)
    edges = np.linspace(-0.05, 0.95, 11)  # a record (every 0.1 s) in the middle of each bin
    assert dominant_codes(groups[2], LABELS, edges).tolist() == [2.0] * 10  # Sadness throughout
    codes = dominant_codes(groups[1], LABELS, np.linspace(-0.05, 1.95, 11))  # face 1 gone after 1 s
    assert codes[:5].tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]  # Neutral, then Happiness beats 0.5
    assert np.isnan(codes[5:]).all()  # away: a gap, not a colour


def test_a_video_with_many_persons_gets_panels_for_the_longest_seen_and_a_row_for_each():
    rng = np.random.default_rng(2)
    groups = crowd(35, 120.0, rng)
    figure = emotion_timeline(groups, cuts=[30.0, 60.0], name="Person {}")
    titles = [a.text for a in figure.layout.annotations if a.text]
    longest = sorted(sorted(groups, key=lambda face: -len(groups[face]))[: MAX_PANELS - 1])
    assert titles[: MAX_PANELS - 1] == [f"Person {face}" for face in longest]
    assert titles[MAX_PANELS - 1] == "Top expression of each of the 35 persons"
    (strip,) = [trace for trace in figure.data if trace.type == "heatmap"]
    assert list(strip.y) == [f"Person {face}" for face in groups]
    colours = {colour for _, colour in strip.colorscale}
    assert colours == {EMOTION_COLOURS[label] for label in LABELS}  # the palette's, nothing new
    few = emotion_timeline(crowd(MAX_PANELS, 20.0, rng))
    assert not [trace for trace in few.data if trace.type == "heatmap"]  # few faces: a panel each


def test_new_faces_on_the_circumplex_get_their_own_names_and_colours_without_a_rebuild():
    plane = LiveCircumplex()
    plane.render({1: records(1, 5, va=True), 2: records(2, 5, va=True)})
    groups = {5: records(5, 5, va=True), 9: records(9, 5, va=True)}
    figure = json.loads(plane.render(groups))
    reference = json.loads(circumplex(groups).to_json())
    assert [t.get("name") for t in figure["data"][1::2]] == ["Face #5", "Face #9"]
    assert [t["line"]["color"] for t in figure["data"][1::2]] == [
        t["line"]["color"] for t in reference["data"][1::2]
    ]
    assert [t["marker"]["color"] for t in figure["data"][2::2]] == [
        t["marker"]["color"] for t in reference["data"][2::2]
    ]
