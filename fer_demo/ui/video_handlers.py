"""What the video tab does, as plain functions: widget values in, :class:`VideoView` s out.

Nothing here knows Gradio. :func:`analyse` yields a :class:`VideoProgressView`
per progress event and one :class:`VideoView` at the end; the tab binds their
fields to its widgets by name, and the tests iterate it directly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fer_demo.analysis.timeline import by_face
from fer_demo.config import StreamSettings
from fer_demo.durations import duration_text
from fer_demo.errors import InputError
from fer_demo.models.weights import Progress
from fer_demo.presentation.export import download_name, table_frame, write_csv, write_json
from fer_demo.presentation.plots import circumplex, emotion_timeline, valence_arousal_timeline
from fer_demo.ui.downloads import new_export_dir
from fer_demo.ui.example_cache import REUSED_NOTE, ExampleCache
from fer_demo.ui.values import as_number, chosen_lstm, detection_options
from fer_demo.workflow import video_job
from fer_demo.workflow.studio import Studio
from fer_demo.workflow.video import VideoProgress, VideoResult

log = logging.getLogger(__name__)

READY = "Upload a video and press **Analyse video**."
PREPARING = "Preparing the model and the video…"
NO_VIDEO = "Please upload a video first."
NO_FACES = "No faces found in this video."
SUMMARY_COLUMNS = ["person", "tracks", "first_seen_s", "last_seen_s", "time_on_screen_s", "dominant_emotion",
                   "dominant_mean_probability", "mean_valence", "mean_arousal"]  # fmt: skip


@dataclass(frozen=True)
class VideoProgressView:
    """A progress event on screen: the status line and, when there is one, the latest frame drawn."""

    status: str
    preview: np.ndarray | None  # None: keep the preview shown


@dataclass(frozen=True)
class VideoView:
    """Everything the video tab shows for one video (or for none: :func:`cleared`)."""

    status: str
    video: str | None = None  # the annotated video's path
    timeline: Any = None  # Plotly figures; None empties the plot
    valence_arousal: Any = None
    circumplex: Any = None
    persons: list[tuple[np.ndarray, str]] = field(default_factory=list)  # a thumbnail and name per person
    summary: pd.DataFrame = field(default_factory=lambda: table_frame([], SUMMARY_COLUMNS))
    csv: str | None = None
    json: str | None = None
    warning: str | None = None  # said once, as a toast, besides the status

    @property
    def files(self) -> tuple[str | None, ...]:
        """What it offers for download (the example cache checks they still exist)."""
        return self.video, self.csv, self.json


def cleared(status: str = READY) -> VideoView:
    """A new video (or none): the last one's results go, so nothing shown belongs to another video."""
    return VideoView(status)


def job_from_widgets(model_name: str, temporal_name: str | None, every: Any, side: Any, smooth: Any,
                     threshold: Any, min_face: Any, link: Any,
                     link_distance: Any) -> video_job.VideoJob:  # fmt: skip
    """The job the widgets (or an API caller) describe, checked: a message naming a bad setting."""
    return video_job.VideoJob(
        model=model_name,
        stream=StreamSettings(
            detect_every=as_number(every, "Detect faces every N frames", 1, 30, whole=True),
            smoothing=as_number(smooth, "Smoothing", 0, 5),
            temporal_model=chosen_lstm(temporal_name),
            detection=detection_options(threshold, min_face),
        ),
        detect_side=as_number(side, "Detection resolution", 160, 4096, whole=True),
        link_persons=bool(link),
        link_threshold=as_number(link_distance, "Person linking threshold", 0.005, 2.0),
    )


def link_choice(studio: Studio) -> dict:
    """The "link tracks into persons" box: ticked where the face-recognition network can run,
    unticked and locked, saying why, where it cannot."""
    label = "Link tracks into persons (face re-identification)"
    if not studio.zoo.embedder_availability().available:
        return {"value": False, "interactive": False, "label": label, "info": video_job.NO_REID}
    info = (f"{studio.zoo.embedder.display_name} joins one person's tracks across cuts and after "
            "they leave the picture. A face too small to identify stays a face of its own. Face "
            "descriptors stay in memory for this job only; they are never written.")  # fmt: skip
    return {"value": True, "label": label, "info": info}


def link_slider(studio: Studio) -> dict:
    """The linking threshold's default: the face-recognition network's own (one person's vectors
    lie much closer for some networks than for others); fine steps, for the embedded one's 0.045."""
    return {"minimum": 0.005, "maximum": 1.0, "step": 0.005, "value": studio.zoo.embedder.link_threshold}


def analyse(
    studio: Studio,
    path: str | None,
    job: video_job.VideoJob,
    stop: threading.Event | None = None,
    download: Progress | None = None,
    examples: ExampleCache | None = None,
) -> Iterator[VideoProgressView | VideoView]:
    """Analyse one video: a cleared view saying it prepares, progress, then the result.

    ``examples`` answers at once for one of the app's example clips analysed before with the
    same settings (a cancelled run is not kept).
    """
    if not path:
        raise InputError(NO_VIDEO)
    yield cleared(PREPARING)  # no result of another run stays while this one prepares
    prepared = video_job.prepare(studio, job, download)
    key = None
    if examples is not None:
        key = examples.key(path, job.model, job.stream, job.detect_side, prepared.links_persons,
                           job.link_threshold)  # fmt: skip
        if (reused := examples.get(key)) is not None:
            yield reused
            return
    output = new_export_dir() / "annotated.mp4"
    for event in video_job.run(prepared, path, output, studio.settings.video_limits, stop=stop):
        if isinstance(event, VideoProgress):
            yield VideoProgressView(progress_text(event), event.preview)
            continue
        view = finished(event, output.parent, prepared.persons_note, path)
        if examples is not None and not event.cancelled:
            examples.put(key, replace(view, status=f"{view.status}\n\n{REUSED_NOTE}"), files=view.files)
        yield view


def finished(result: VideoResult, folder: Path, note: str, source: str) -> VideoView:
    """The view of a finished (or cancelled) analysis, its CSV and JSON written to ``folder``."""
    log.info("video %d frames %.1fs in %.1fs (%s)", result.frames, result.info.duration, result.elapsed,
             result.model)  # fmt: skip
    csv_name, json_name = (download_name(source, result.model, kind) for kind in ("csv", "json"))
    csv_path = write_csv(result.records, result.columns(), folder / csv_name)
    json_path = write_json(result.document(), folder / json_name)
    key, name = ("person", "Person {}") if result.linked else ("face_id", "Face #{}")
    groups = by_face(result.reported_records(), key)
    return VideoView(
        status=result_text(result, note),
        video=str(result.output) if result.output else None,
        timeline=emotion_timeline(groups, cuts=result.cuts, name=name),
        valence_arousal=valence_arousal_timeline(groups, cuts=result.cuts, name=name),
        circumplex=circumplex(groups, name=name),
        persons=person_gallery(result),
        summary=summary_table(result),
        csv=str(csv_path),
        json=str(json_path),
        warning=NO_FACES if not result.summary and not result.cancelled else None,
    )


def progress_text(event: VideoProgress) -> str:
    left = f"{event.seconds_left:.0f} s left" if event.seconds_left != float("inf") else "estimating"
    return (f"Analysing: frame **{event.frames_done} / {event.frames_total}**, "
            f"{event.fps:.1f} frames/s, {left}.")  # fmt: skip


def found_text(result: VideoResult) -> str:
    """How many people the video shows, and how that was decided."""
    persons = len(result.summary)
    tracks = len(result.persons)
    if not persons:
        return "**No faces found** in this video"
    if not result.linked:
        return f"**{persons} face{'s' if persons != 1 else ''}** tracked"
    merged = f"from {tracks} tracks linked by face" if tracks != persons else "each seen in one track"
    return f"**{persons} person{'s' if persons != 1 else ''}** ({merged})"


def result_text(result: VideoResult, note: str = "") -> str:
    found = found_text(result)
    if result.cancelled:
        head = (f"**Cancelled** after {duration_text(result.elapsed)}: the video and data below cover "
                f"{result.frames} frames, {duration_text(result.analysed_seconds)} of "
                f"{duration_text(result.info.duration)} of video.")  # fmt: skip
    else:
        seconds = f"{duration_text(result.analysed_seconds)} of video"
        head = (f"Done: {result.frames} frames ({seconds}) in {duration_text(result.elapsed)}, "
                f"{result.speed:.2f}x real time.")  # fmt: skip
    notes = [*result.notes, *([note] if note else [])]
    return "\n\n".join([f"{head} {found}.", *(f"Note: {text}" for text in notes)])


def person_gallery(result: VideoResult) -> list[tuple[np.ndarray, str]]:
    """A thumbnail per person, captioned with the name the summary and timelines use: "Person 2"
    when tracks were linked, else the track's "Face #7" as drawn on the video."""
    rows = {row["person"]: row for row in result.summary}
    return [
        (face, person_name(result, person)) for person, face in result.thumbnails.items() if person in rows
    ]


def person_name(result: VideoResult, person: int) -> str:
    if result.linked:
        return f"Person {person}"
    return f"Face #{result.person_tracks()[person][0]}"


def summary_table(result: VideoResult) -> pd.DataFrame:
    """The per-person table; without linking, a row per face named by its track, as drawn."""
    if not result.linked:  # one track each: the track id, as drawn
        rows = [{**row, "face": row["tracks"][0]} for row in result.summary]
        return table_frame(rows, ["face", *SUMMARY_COLUMNS[2:]])
    rows = [{**row, "tracks": ", ".join(map(str, row["tracks"]))} for row in result.summary]
    return table_frame(rows, SUMMARY_COLUMNS)
