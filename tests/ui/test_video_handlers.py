"""The video tab's handlers iterated as plain functions: no browser, no server, no Gradio event."""

from __future__ import annotations

import csv
import json
import threading

import pytest

from fer_demo.errors import InputError
from fer_demo.ui.example_cache import REUSED_NOTE, ExampleCache
from fer_demo.ui.video_handlers import (
    PREPARING,
    READY,
    VideoProgressView,
    VideoView,
    analyse,
    cleared,
    job_from_widgets,
)
from tests.support.real_footage import REAL_FOUR_SHOTS


def widgets(**changed):
    """The video tab's widget values at their defaults, some changed."""
    values = {"model_name": "mini_xception", "temporal_name": "none", "every": 5, "side": 640, "smooth": 0.3,
              "threshold": 0.9, "min_face": 20, "link": True, "link_distance": 0.55}  # fmt: skip
    return {**values, **changed}


def test_widget_values_are_checked_with_a_message_naming_the_setting():
    with pytest.raises(InputError, match="Detect faces every N frames"):
        job_from_widgets(**widgets(every=0))
    with pytest.raises(InputError, match="Smoothing"):
        job_from_widgets(**widgets(smooth="slow"))
    with pytest.raises(InputError, match="linking threshold"):
        job_from_widgets(**widgets(link_distance=9))
    job = job_from_widgets(**widgets(every="3", temporal_name="none", link=0))
    assert job.stream.detect_every == 3 and job.stream.temporal_model is None and job.link_persons is False


def test_real_four_shot_footage_progress_then_every_result(studio):
    views = list(analyse(studio, str(REAL_FOUR_SHOTS), job_from_widgets(**widgets())))
    first = views[0]  # nothing of an earlier video stays while this one prepares
    assert first.status == PREPARING and first.video is None and first.csv is None and not first.persons
    progress = [view for view in views if isinstance(view, VideoProgressView)]
    assert len(progress) >= 3 and all("Analysing: frame" in view.status for view in progress)
    done = [int(view.status.split("**")[1].split(" / ")[0]) for view in progress]
    assert done == sorted(done)
    result = views[-1]
    assert isinstance(result, VideoView) and result.status.startswith("Done:")
    assert "**4 persons** (from" in result.status and "linked by face" in result.status  # the woman twice
    with open(result.csv, newline="") as file:
        rows = list(csv.DictReader(file))
    persons = {row["person"] for row in rows if row["person"]}
    assert len(result.summary) == len(persons) == 4  # the four people large enough to identify
    assert len(result.persons) == len(result.summary)  # a thumbnail per person in the table
    assert {name for _, name in result.persons} == {f"Person {p}" for p in result.summary["Person"]}
    assert len(result.timeline.data) >= len(result.summary) and result.video.endswith(".mp4")
    assert result.warning is None
    with open(result.json) as file:  # persons are linked, but no face descriptor is ever written
        assert not any(len(numbers) in (128, 512) for numbers in number_lists(json.load(file)))


def number_lists(value):
    """Every list of numbers anywhere in a JSON document."""
    if isinstance(value, dict):
        for item in value.values():
            yield from number_lists(item)
    elif isinstance(value, list):
        if value and all(isinstance(item, int | float) for item in value):
            yield value
        for item in value:
            yield from number_lists(item)


def test_an_example_analysed_again_is_answered_at_once(studio):
    examples = ExampleCache([REAL_FOUR_SHOTS])
    job = job_from_widgets(**widgets(every=10))
    first = list(analyse(studio, str(REAL_FOUR_SHOTS), job, examples=examples))[-1]
    again = list(analyse(studio, str(REAL_FOUR_SHOTS), job, examples=examples))
    assert len(again) == 2 and not isinstance(again[1], VideoProgressView)  # no frame analysed again
    assert REUSED_NOTE in again[1].status and again[1].csv == first.csv


def test_a_cancelled_job_keeps_what_it_did(studio):
    stop = threading.Event()
    views = []
    for view in analyse(studio, str(REAL_FOUR_SHOTS), job_from_widgets(**widgets()), stop=stop):
        views.append(view)
        if isinstance(view, VideoProgressView):
            stop.set()
    result = views[-1]
    assert result.status.startswith("**Cancelled**") and result.csv is not None
    with open(result.csv, newline="") as file:
        frames = {int(row["frame"]) for row in csv.DictReader(file)}
    assert frames and max(frames) < 300  # some of the clip's 349 frames, not all


def test_no_video_is_a_message_and_a_cleared_tab_says_what_to_do(studio):
    with pytest.raises(InputError, match="upload a video"):
        next(analyse(studio, None, job_from_widgets(**widgets())))
    assert cleared().status == READY and cleared().video is None and len(cleared().summary) == 0
