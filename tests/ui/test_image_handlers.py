"""The image tab's handlers called as plain functions: no browser, no server, no Gradio event."""

from __future__ import annotations

import csv
import threading
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from fer_demo.config import DetectionOptions
from fer_demo.errors import InputError
from fer_demo.ui.example_cache import REUSED_NOTE, ExampleCache
from fer_demo.ui.image_handlers import (
    NO_FACES,
    LatestOnly,
    PhotoRequest,
    SharedRuns,
    analyse_photo,
    cleared,
    compare_photo,
    explain_photo,
)
from tests.support.paths import EXAMPLES
from tests.support.real_footage import THREE_PEOPLE, crowd_frames

DEFAULT = DetectionOptions()


def request(path, model="mini_xception", **kwargs) -> PhotoRequest:
    return PhotoRequest(str(path), model, kwargs.pop("detection", DEFAULT), **kwargs)


@pytest.fixture(scope="module")
def crowd_photo(tmp_path_factory):
    """A real crowd: four Intel clips tiled, eight or more faces 25-65 px wide."""
    frame = next(iter(crowd_frames(1, size=(1280, 960))))
    path = tmp_path_factory.mktemp("crowd") / "crowd.png"
    Image.fromarray(frame).save(path)
    return path


def test_widget_values_are_checked_with_a_message_naming_the_setting():
    with pytest.raises(InputError, match="upload a photo"):
        PhotoRequest.from_widgets(None, "mini_xception", 0.9, 20)
    with pytest.raises(InputError, match="face detection threshold"):
        PhotoRequest.from_widgets("x.jpg", "mini_xception", "high", 20)
    with pytest.raises(InputError, match="minimum face size"):
        PhotoRequest.from_widgets("x.jpg", "mini_xception", 0.9, 2.5)
    made = PhotoRequest.from_widgets("x.jpg", "mini_xception", "0.8", 30, landmarks=1)
    assert made.detection == DetectionOptions(0.8, 30) and made.landmarks is True


def test_a_real_crowd_gets_a_row_a_card_and_a_csv_line_per_face(studio, crowd_photo):
    view = analyse_photo(studio, request(crowd_photo))
    with open(view.csv, newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) >= 8, view.status
    assert f"Found **{len(rows)} faces**" in view.status
    assert len(view.table) == len(rows) and view.cards.count('class="fer-card"') == len(rows)
    assert view.annotated.shape == (960, 1280, 3) and view.warning is None
    assert {trace.name for trace in view.chart.data} >= {"Face #1", f"Face #{len(rows)}"}


def test_no_face_is_said_in_the_status_and_as_a_warning(studio, tmp_path):
    blank = tmp_path / "wall.png"
    Image.fromarray(np.full((300, 400, 3), 180, np.uint8)).save(blank)
    view = analyse_photo(studio, request(blank))
    assert "No faces found" in view.status and view.warning == NO_FACES
    assert len(view.table) == 0 and view.cards == ""


def test_a_model_without_weights_clears_the_result_and_says_why(studio):
    view = analyse_photo(studio, request(THREE_PEOPLE, model="emonet_8"))
    assert view.annotated is None and view.csv is None and view.json is None
    assert "unavailable" in view.status and "choose another model" in view.status
    assert str(studio.settings.weights_dir) not in view.status  # no server path


def test_an_example_analysed_again_is_answered_from_the_cache(studio):
    photo = EXAMPLES / "two-faces.jpg"
    examples = ExampleCache([photo])
    first = analyse_photo(studio, request(photo), examples=examples)
    again = analyse_photo(studio, request(photo), examples=examples)
    assert REUSED_NOTE not in first.status and REUSED_NOTE in again.status
    assert again.csv == first.csv and np.array_equal(again.annotated, first.annotated)
    other = analyse_photo(studio, request(photo, landmarks=True), examples=examples)
    assert REUSED_NOTE not in other.status  # another setting is another result


def test_comparison_counts_the_models_that_agree_on_each_face(studio):
    view = compare_photo(studio, str(THREE_PEOPLE), DEFAULT)
    assert view.status.count("Face #") == 3 and "models say" in view.status
    assert "Ran 1 model" in view.status  # only the embedded model has weights here
    with pytest.raises(InputError):
        compare_photo(studio, None, DEFAULT)


def test_why_maps_one_per_face_for_the_chosen_class(studio):
    view = explain_photo(studio, request(EXAMPLES / "two-faces.jpg"), "Happiness")
    assert len(view.items) == 2 and "Grad-CAM" in view.label
    assert explain_photo(studio, request(THREE_PEOPLE, model="emonet_8"), "Happiness").items is None


def test_twin_requests_share_one_run_and_its_warning_is_said_once():
    runs, started, release, calls = SharedRuns(), threading.Event(), threading.Event(), []

    def work():
        calls.append(1)
        started.set()
        release.wait(timeout=30)
        return replace(cleared("mini_xception", "done"), warning=NO_FACES)

    results = []
    first = threading.Thread(target=lambda: results.append(runs.run("s", ("a",), work)))
    first.start()
    assert started.wait(timeout=30)
    second = threading.Thread(target=lambda: results.append(runs.run("s", ("a",), work)))
    second.start()
    release.set()
    first.join(timeout=30)
    second.join(timeout=30)
    assert len(calls) == 1 and len(results) == 2
    assert sorted(view.warning is None for view in results) == [False, True]


def test_a_failed_run_is_not_kept():
    runs, attempts = SharedRuns(), []

    def failing():
        attempts.append(1)
        raise InputError("broken")

    for _ in range(2):
        with pytest.raises(InputError):
            runs.run("s", ("a",), failing)
    assert len(attempts) == 2


def test_only_the_latest_call_of_a_session_is_shown():
    latest = LatestOnly()
    first = latest.begin("s")
    second = latest.begin("s")
    other = latest.begin("t")
    assert not latest.is_latest("s", first) and latest.is_latest("s", second) and latest.is_latest("t", other)

