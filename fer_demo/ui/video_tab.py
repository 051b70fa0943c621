"""The video tab: upload, watch progress, get the annotated video, timelines and numbers."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import gradio as gr
import pandas as pd

from fer_demo.analysis.persons import DEFAULT_LINK_THRESHOLD
from fer_demo.analysis.timeline import by_face
from fer_demo.config import StreamSettings
from fer_demo.durations import duration_text
from fer_demo.models.specs import FACE_EMBEDDER
from fer_demo.presentation.export import download_name, table_frame, write_csv, write_json
from fer_demo.presentation.plots import circumplex, emotion_timeline, valence_arousal_timeline
from fer_demo.ui.common import (
    as_number,
    chosen_lstm,
    detection_controls,
    detection_options,
    download_progress,
    follow_model,
    refresh_on_focus,
    temporal_options,
    user_errors,
)
from fer_demo.ui.downloads import new_export_dir
from fer_demo.ui.example_cache import REUSED_NOTE, ExampleCache
from fer_demo.ui.request_guard import accept_received_files
from fer_demo.ui.video_jobs import VideoJobs
from fer_demo.workflow import video_job
from fer_demo.workflow.studio import Studio
from fer_demo.workflow.video import VideoProgress, VideoResult

log = logging.getLogger(__name__)

VIDEO_EXAMPLE = "examples/four-shots.mp4"
REAL_EXAMPLE = "examples/real-four-shots.mp4"  # Intel's clips, CC BY 4.0 (examples/README.md)
READY = "Upload a video and press **Analyse video**."
SUMMARY_COLUMNS = ["person", "tracks", "first_seen_s", "last_seen_s", "time_on_screen_s", "dominant_emotion",
                   "dominant_mean_probability", "mean_valence", "mean_arousal"]  # fmt: skip


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


def person_gallery(result: VideoResult) -> list[tuple]:
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


def link_choice(studio: Studio) -> dict:
    """The "link tracks into persons" box: ticked where the face-recognition network can run,
    unticked and locked, saying why, where it cannot."""
    label = "Link tracks into persons (face re-identification)"
    if not studio.zoo.embedder_availability().available:
        return {"value": False, "interactive": False, "label": label, "info": video_job.NO_REID}
    info = (f"{FACE_EMBEDDER.display_name} embeddings join one person's tracks across cuts and after "
            "they leave the picture.")  # fmt: skip
    return {"value": True, "label": label, "info": info}


def build_video_tab(studio: Studio, jobs: VideoJobs) -> gr.Video:
    """The tab; returns its video input (the image tab sends animations to it)."""
    default = studio.default_model()
    examples = ExampleCache([VIDEO_EXAMPLE, REAL_EXAMPLE])
    with gr.Tab("Video", id="video") as tab:
        with gr.Row():
            with gr.Column(scale=1):
                video_in = accept_received_files(
                    gr.Video(
                        label="Video (mp4, mov, webm, avi, mkv)",
                        sources=["upload"],
                        height=360,
                        elem_id="video-input",
                    ),
                    pass_path=True,
                )
                model = gr.Dropdown(studio.model_choices(), value=default, label="Model")
                temporal = gr.Dropdown(
                    label="Temporal model (EMO-AffectNet LSTM)", **temporal_options(default)
                )
                with gr.Accordion("Advanced settings", open=False):
                    detect_every = gr.Slider(
                        1,
                        30,
                        value=StreamSettings().detect_every,
                        step=1,
                        label="Detect faces every N frames",
                        info="Faces are tracked between detections. Lower is slower.",
                    )
                    detect_side = gr.Slider(
                        320,
                        1280,
                        value=studio.settings.detect_max_side,
                        step=32,
                        label="Detection resolution (longest side, px)",
                        info="Higher finds smaller faces, slower.",
                    )
                    threshold, min_face = detection_controls(studio)
                    smoothing = gr.Slider(
                        0,
                        2,
                        value=0.3,
                        step=0.05,
                        label="Smoothing (seconds)",
                        info="Time constant of per-face smoothing; 0 turns it off.",
                    )
                    link_persons = gr.Checkbox(**link_choice(studio))
                    link_threshold = gr.Slider(
                        0.2,
                        1.0,
                        value=DEFAULT_LINK_THRESHOLD,
                        step=0.05,
                        label="Person linking threshold (cosine distance)",
                        info="Tracks closer than this are one person. Lower splits more, higher merges more.",
                    )
                with gr.Row():
                    start = gr.Button("Analyse video", variant="primary")
                    cancel = gr.Button("Cancel", variant="stop")
                example = gr.Examples(
                    [[VIDEO_EXAMPLE], [REAL_EXAMPLE]],
                    inputs=video_in,
                    label="Examples (runs on click): public domain; real footage CC BY 4.0, Intel",
                    example_labels=[
                        "Two people, four shots (8 s)",
                        "Real footage: 2 to 5 people, four shots (14 s)",
                    ],
                )
            with gr.Column(scale=1):
                status = gr.Markdown(READY, elem_id="video-status")
                preview = gr.Image(
                    label="Preview",
                    type="numpy",
                    format="jpeg",
                    height=300,
                    interactive=False,
                    visible=False,
                    elem_id="video-preview",
                )
                video_out = gr.Video(
                    label="Annotated video (H.264)", height=360, interactive=False, elem_id="video-output"
                )
        timeline = gr.Plot(label="Expressions over time, per person (or face)", elem_id="video-timeline")
        with gr.Row():
            va_timeline = gr.Plot(label="Valence and arousal over time")
            va_plane = gr.Plot(label="Valence / arousal circumplex")
        with gr.Row(equal_height=False):
            persons = gr.Gallery(
                label="Persons", columns=3, height=230, object_fit="contain", allow_preview=False,
                elem_id="video-persons", scale=1,
            )  # fmt: skip
            summary = gr.Dataframe(
                table_frame([], SUMMARY_COLUMNS),
                label="Summary per person (or face)",
                interactive=False,
                scale=3,
            )
        with gr.Row():
            csv_file = gr.File(label="CSV: one row per frame and face", interactive=False)
            json_file = gr.File(label="JSON", interactive=False)

    # A download that failed since the page was built (an offline server) locks the box then.
    tab.select(lambda: gr.Checkbox(**link_choice(studio)), None, link_persons, queue=False,
               api_visibility="private")  # fmt: skip
    follow_model(model, temporal, api_name="video_temporal_models")
    refresh_on_focus(model, studio)
    outputs = [
        status,
        preview,
        video_out,
        timeline,
        va_timeline,
        va_plane,
        persons,
        summary,
        csv_file,
        json_file,
    ]

    @user_errors
    def run(
        path: str | None,
        model_name: str,
        temporal_name: str,
        every: float,
        side: float,
        smooth: float,
        threshold: float,
        min_face: float,
        link: bool,
        link_distance: float,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio injects it)
    ) -> Iterator[tuple]:
        if not path:
            raise gr.Error("Please upload a video first.", print_exception=False)
        job = video_job.VideoJob(
            model=model_name,
            stream=StreamSettings(
                detect_every=as_number(every, "Detect faces every N frames", 1, 30, whole=True),
                smoothing=as_number(smooth, "Smoothing", 0, 5),
                temporal_model=chosen_lstm(temporal_name),
                detection=detection_options(threshold, min_face),
            ),
            detect_side=as_number(side, "Detection resolution", 160, 4096, whole=True),
            link_persons=bool(link),
            link_threshold=as_number(link_distance, "Person linking threshold", 0.05, 2.0),
        )
        stop = jobs.take(request.session_hash)
        try:
            yield ("Preparing the model and the video…", *clear()[1:])  # no result of another run stays
            prepared = video_job.prepare(studio, job, download_progress(progress))
            note = prepared.persons_note
            key = examples.key(path, model_name, job.stream, job.detect_side, prepared.links_persons,
                               job.link_threshold)  # fmt: skip
            if (reused := examples.get(key)) is not None:
                yield reused
                return
            output = new_export_dir() / "annotated.mp4"
            events = video_job.run(prepared, path, output, studio.settings.video_limits, stop=stop)
            for event in events:
                if isinstance(event, VideoProgress):  # in the status line; no overlay hides the preview
                    frame = gr.Image(event.preview, visible=True) if event.preview is not None else gr.skip()
                    yield (progress_text(event), frame, *([gr.skip()] * (len(outputs) - 2)))
                    continue
                result = finished(event, output.parent, note, path)
                if not event.cancelled:
                    reused = (f"{result[0]}\n\n{REUSED_NOTE}", *result[1:])
                    examples.put(key, reused, files=(result[2], *result[-2:]))  # the video, CSV, JSON
                yield result
        finally:
            jobs.finish(request.session_hash, stop)

    def finished(result: VideoResult, folder, note: str, source: str) -> tuple:
        log.info(
            "video %d frames %.1fs in %.1fs (%s)",
            result.frames,
            result.info.duration,
            result.elapsed,
            result.model,
        )
        csv_path = write_csv(
            result.records, result.columns(), folder / download_name(source, result.model, "csv")
        )
        json_path = write_json(result.document(), folder / download_name(source, result.model, "json"))
        if not result.summary and not result.cancelled:
            gr.Warning("No faces found in this video.")
        key, name = ("person", "Person {}") if result.linked else ("face_id", "Face #{}")
        groups = by_face(result.reported_records(), key)
        return (
            result_text(result, note),
            gr.Image(None, visible=False),  # the result takes the preview's place
            str(result.output) if result.output else None,
            emotion_timeline(groups, cuts=result.cuts, name=name),
            valence_arousal_timeline(groups, cuts=result.cuts, name=name),
            circumplex(groups, name=name),
            person_gallery(result),
            summary_table(result),
            str(csv_path),
            str(json_path),
        )

    def arm(request: gr.Request) -> None:
        jobs.arm(request.session_hash)

    def cancel_job(request: gr.Request) -> str:
        if jobs.cancel(request.session_hash):
            return "Cancelling: the job stops at the next frame and keeps what it has done."
        return "Nothing to cancel: no video is being analysed in this session."

    def clear() -> tuple:
        """A new video (or none): the last one's results go, so nothing shown belongs to another video."""
        empty = table_frame([], SUMMARY_COLUMNS)
        return READY, gr.Image(None, visible=False), None, None, None, None, [], empty, None, None

    inputs = [video_in, model, temporal, detect_every, detect_side, smoothing, threshold, min_face,
              link_persons, link_threshold]  # fmt: skip
    # Progress is the status line's text; a minimal marker there, no overlay over the preview.
    analysis = {"concurrency_limit": 1, "concurrency_id": "video", "show_progress": "minimal",
                "show_progress_on": [status], "scroll_to_output": True}  # fmt: skip
    def relink() -> gr.Checkbox:  # after a run whose face-recognition download failed: locked, saying why
        return gr.Checkbox(**link_choice(studio))

    private = {"queue": False, "api_visibility": "private"}
    start.click(arm, None, None, **private).then(
        run, inputs, outputs, api_name="analyze_video", **analysis
    ).then(relink, None, link_persons, **private)
    example.load_input_event.then(arm, None, None, **private).then(
        run, inputs, outputs, api_visibility="private", **analysis
    ).then(relink, None, link_persons, **private)
    video_in.upload(clear, None, outputs, queue=False, api_visibility="private")
    video_in.clear(clear, None, outputs, queue=False, api_visibility="private")
    cancel.click(cancel_job, None, status, api_name="cancel_video", queue=False)
    return video_in
