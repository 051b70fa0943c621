"""What the image tab does, as plain functions: a request in, a :class:`PhotoView` out.

Nothing here knows Gradio. The tab (``image_tab.py``) lays out the widgets and
binds each field of a view to its widget by name; the tests call these
functions directly, without a browser or a server.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fer_demo.analysis.compare import agreement, compared_labels, comparison_rows
from fer_demo.analysis.labels import canonical_order
from fer_demo.config import DetectionOptions
from fer_demo.errors import InputError, ModelUnavailableError
from fer_demo.models.specs import get_spec
from fer_demo.models.weights import Progress
from fer_demo.presentation.export import (
    download_name,
    face_columns,
    face_rows,
    table_frame,
    write_csv,
    write_json,
)
from fer_demo.presentation.face_cards import face_cards
from fer_demo.presentation.plots import comparison_chart, empty_figure, probability_chart
from fer_demo.presentation.render import annotate, too_small_note
from fer_demo.ui.downloads import new_export_dir
from fer_demo.ui.example_cache import REUSED_NOTE, ExampleCache
from fer_demo.ui.values import detection_options
from fer_demo.workflow.studio import Studio

log = logging.getLogger(__name__)

TOP_LABEL = "Each face's top label"
NO_FACES = "No faces found. Try a photo where faces are larger, frontal and well lit."
NO_PHOTO = "Please upload a photo first."


@dataclass(frozen=True)
class PhotoRequest:
    """One photo to analyse and how; built from the widgets' values by :meth:`from_widgets`."""

    path: str
    model: str
    detection: DetectionOptions
    landmarks: bool = False

    @classmethod
    def from_widgets(cls, path: str | None, model: str, threshold: Any, min_face: Any,
                     landmarks: Any = False) -> PhotoRequest:  # fmt: skip
        """The request the widgets (or an API caller) describe, checked: a message if not."""
        if not path:
            raise InputError(NO_PHOTO)
        return cls(str(path), model, detection_options(threshold, min_face), bool(landmarks))


@dataclass(frozen=True)
class PhotoView:
    """Everything the image tab shows for one photo (or for none: see :func:`cleared`)."""

    annotated: np.ndarray | None  # the photo with boxes and labels drawn
    status: str  # Markdown under the photo: what was found, and notes on how the file was read
    chart: Any  # a Plotly figure, or None for an empty plot
    table: pd.DataFrame
    csv: str | None  # download paths
    json: str | None
    cards: str  # HTML: each face's crop and numbers
    warning: str | None = None  # said once, as a toast, besides the status

    def downloads_exist(self) -> bool:
        """Whether the CSV and JSON it offers are still on disk (export folders are purged)."""
        return all(path is None or Path(path).is_file() for path in (self.csv, self.json))


@dataclass(frozen=True)
class WhyView:
    """The Why? gallery: one Grad-CAM map per face, or ``items=None`` for none (hidden)."""

    items: list | None
    label: str = ""


def target_choices(model_name: str) -> list[str]:
    """What the Why? view can explain: each face's own verdict, or any class the model has."""
    return [TOP_LABEL, *canonical_order(get_spec(model_name).labels)]


def analysis_summary(count: int, display_name: str, seconds: float) -> str:
    if count == 0:
        return "**No faces found** in this image."
    return f"Found **{count} face{'s' if count > 1 else ''}** with {display_name} in {seconds * 1000:.0f} ms."


def with_notes(summary: str, notes: tuple[str, ...]) -> str:
    """The summary line followed by what the user should know about how the file was read."""
    return "\n\n".join([summary, *(f"Note: {note}" for note in notes)])


def cleared(model_name: str, message: str = "") -> PhotoView:
    """No result on screen: the photo is gone, or ``message`` says why there is none."""
    return PhotoView(None, message, None, table_frame([], face_columns(model_name)), None, None, "")


def analyse_photo(
    studio: Studio,
    request: PhotoRequest,
    download: Progress | None = None,
    loading: Callable[[str], None] | None = None,
    examples: ExampleCache | None = None,
) -> PhotoView:
    """Faces, expressions, chart, table, cards and downloads of one photo.

    ``loading`` is told the model's name when it must be loaded first; ``examples``
    answers at once for one of the app's example photos analysed before with the same settings.
    """
    key = None
    if examples is not None:
        key = examples.key(request.path, request.model, request.detection, request.landmarks)
        if (reused := examples.get(key)) is not None:
            return reused
    if loading is not None and not studio.zoo.is_loaded(request.model):
        loading(f"Loading {get_spec(request.model).display_name}")
    started = time.perf_counter()
    try:
        image, analysis = studio.analyze_file(request.path, request.model, download, request.detection)
    except ModelUnavailableError as error:  # said once, in place; nothing of an earlier result stays
        log.info("image tab: %s", error)
        return cleared(request.model, f"**{error.visitor}**")
    seconds = time.perf_counter() - started
    count = len(analysis.faces)
    log.info("image %dx%d, %d faces, %s, %.0f ms", analysis.width, analysis.height, count, request.model,
             seconds * 1000)  # fmt: skip
    columns, rows = face_columns(request.model), face_rows(analysis)
    folder = new_export_dir()
    csv_path = write_csv(rows, columns, folder / download_name(request.path, request.model, "csv"))
    json_path = write_json({**analysis.to_dict(), "notes": list(image.notes)},
                           folder / download_name(request.path, request.model, "json"))  # fmt: skip
    small = too_small_note(len(analysis.too_small), request.detection.min_face_size)
    notes = (*image.notes, *([small] if small else ()))
    summary = analysis_summary(count, analysis.model_display_name, seconds)
    view = PhotoView(
        annotated=annotate(image.pixels, analysis.faces, request.landmarks, analysis.too_small),
        status=with_notes(summary, notes),
        chart=probability_chart(analysis.faces) if count else empty_figure("No faces found"),
        table=table_frame(rows, columns),
        csv=str(csv_path),
        json=str(json_path),
        cards=face_cards(image.pixels, analysis),
        warning=NO_FACES if count == 0 and not small else None,
    )
    if examples is not None:
        examples.put(key, replace(view, status=with_notes(summary, (*notes, REUSED_NOTE))),
                     files=(csv_path, json_path))  # fmt: skip
    return view


def compare_photo(studio: Studio, path: str | None, detection: DetectionOptions) -> PhotoView:
    """Every available model on one photo: how many agree on each face, side by side."""
    if not path:
        raise InputError(NO_PHOTO)
    image, analyses = studio.compare_file(path, detection)
    agreements = agreement(analyses)
    columns, rows = comparison_rows(analyses)
    folder = new_export_dir()
    csv_path = write_csv(rows, columns, folder / download_name(path, "compared", "csv"))
    document = {"agreement": [a.to_dict() for a in agreements], "models": [a.to_dict() for a in analyses]}
    json_path = write_json(document, folder / download_name(path, "compared", "json"))
    ran = f"Ran {len(analyses)} model{'s' if len(analyses) != 1 else ''}: " + ", ".join(
        a.model_display_name for a in analyses
    )
    skipped = [f"Skipped {len(names)} ({why}): {', '.join(names)}."
               for why, names in studio.skipped_models().items()]  # fmt: skip
    verdicts = " ".join(
        f"Face #{a.face}: **{a.agreeing} of {a.models}** models say **{a.label}**." for a in agreements
    )
    shared = agreements[0].shared_labels if agreements else ()
    basis = []
    if agreements and len(shared) < len(compared_labels(analyses)):
        basis = [f"Votes are each model's most probable label among the {len(shared)} all of them have "
                 f"({', '.join(shared)}): a class one model lacks is not a disagreement."]  # fmt: skip
    message = "\n\n".join([verdicts or "**No faces found**.", *basis, f"{ran}.", *skipped])
    return PhotoView(
        annotated=annotate(image.pixels, analyses[0].faces if analyses else []),
        status=with_notes(message, image.notes),
        chart=comparison_chart(analyses, agreements),
        table=table_frame(rows, columns),
        csv=str(csv_path),
        json=str(json_path),
        cards=face_cards(image.pixels, analyses[0]) if analyses else "",
        warning=None if agreements else NO_FACES,
    )


def explain_photo(studio: Studio, request: PhotoRequest, target: str,
                  download: Progress | None = None) -> WhyView:  # fmt: skip
    """Where the model looked on each face, for the class ``target`` (one the model has, else
    each face's top label). A model that cannot run shows no maps: the result panel says why."""
    from fer_demo.analysis.saliency import gallery_items  # torch and Grad-CAM: not at the app's start

    asked = target if target in target_choices(request.model)[1:] else None
    try:
        image, analysis = studio.analyze_file(request.path, request.model, download, request.detection)
    except ModelUnavailableError:
        return WhyView(None)
    saliencies = studio.explain(image.pixels, analysis, asked)
    if not saliencies:
        return WhyView(None)
    label = f"Where the model looked (Grad-CAM, {saliencies[0].seconds * 1000:.0f} ms a face)"
    if len(analysis.faces) > len(saliencies):
        label += f"; faces #1-{len(saliencies)} of {len(analysis.faces)}"
    return WhyView(gallery_items(image.pixels, saliencies, asked), label)


class SharedRuns:
    """Per session, its last request and the run answering it: a repeat of the same request (a
    drop onto the photo fires the change event twice, at once) shares that run instead of
    starting another. A failure is not kept, so the same request tries again."""

    def __init__(self, max_sessions: int = 256) -> None:
        self._last: OrderedDict[str, tuple[Hashable, Future]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_sessions = max_sessions

    def run(self, session: str, asked: Hashable, work: Callable[[], PhotoView]) -> PhotoView:
        with self._lock:
            if session in self._last and self._last[session][0] == asked:
                shared = self._last[session][1]
                if not shared.done() or shared.result().downloads_exist():  # a purged download is made again
                    return replace(shared.result(), warning=None)  # the run it shares says it
            future: Future = Future()
            self._last[session] = (asked, future)
            self._last.move_to_end(session)
            while len(self._last) > self._max_sessions:
                self._last.popitem(last=False)
        try:
            future.set_result(work())
        except BaseException as error:
            future.set_exception(error)
            with self._lock:
                if self._last.get(session, (None, None))[1] is future:
                    del self._last[session]
        return future.result()


class LatestOnly:
    """Per session, a counter of calls: a result that took long is dropped if a newer call came."""

    def __init__(self, max_sessions: int = 4096) -> None:
        self._calls: dict[str, int] = {}
        self._lock = threading.Lock()
        self._max_sessions = max_sessions

    def begin(self, session: str) -> int:
        with self._lock:
            if len(self._calls) > self._max_sessions:  # an in-flight call of a session then shows nothing
                self._calls.clear()
            call = self._calls[session] = self._calls.get(session, 0) + 1
            return call

    def is_latest(self, session: str, call: int) -> bool:
        return self._calls.get(session) == call
