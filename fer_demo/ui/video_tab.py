"""The video tab: upload, watch progress, get the annotated video, timelines and numbers."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import gradio as gr

from fer_demo.config import StreamSettings
from fer_demo.errors import InputError
from fer_demo.presentation.export import table_frame
from fer_demo.ui.common import (
    detection_controls,
    download_progress,
    follow_model,
    refresh_on_focus,
    temporal_options,
    user_errors,
)
from fer_demo.ui.example_cache import ExampleCache
from fer_demo.ui.request_guard import accept_received_files
from fer_demo.ui.video_handlers import (
    NO_VIDEO,
    READY,
    SUMMARY_COLUMNS,
    VideoProgressView,
    VideoView,
    analyse,
    cleared,
    job_from_widgets,
    link_choice,
    link_slider,
)
from fer_demo.ui.video_jobs import VideoJobs
from fer_demo.workflow.studio import Studio

log = logging.getLogger(__name__)

VIDEO_EXAMPLE = "examples/four-shots.mp4"
REAL_EXAMPLE = "examples/real-four-shots.mp4"  # Intel's clips, CC BY 4.0 (examples/README.md)


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
                        label="Person linking threshold (cosine distance)",
                        info="Tracks closer than this are one person. Lower splits more, higher merges more.",
                        **link_slider(studio),
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
    outputs = [status, preview, video_out, timeline, va_timeline, va_plane, persons, summary, csv_file,
               json_file]  # fmt: skip

    def displayed(view: VideoView | VideoProgressView) -> dict:
        """A view's fields into the widgets that show them; progress touches only the status and
        the preview (in the status line: no overlay hides the preview)."""
        if isinstance(view, VideoProgressView):
            shown = gr.Image(view.preview, visible=True) if view.preview is not None else gr.skip()
            return {status: view.status, preview: shown}
        if view.warning:
            gr.Warning(view.warning)
        return {status: view.status, preview: gr.Image(None, visible=False), video_out: view.video,
                timeline: view.timeline, va_timeline: view.valence_arousal, va_plane: view.circumplex,
                persons: view.persons, summary: view.summary, csv_file: view.csv,
                json_file: view.json}  # fmt: skip

    @user_errors
    def run(path: str | None, model_name: str, temporal_name: str, every: float, side: float, smooth: float,
            threshold: float, min_face: float, link: bool, link_distance: float, request: gr.Request,
            progress: gr.Progress = gr.Progress()) -> Iterator[dict]:  # noqa: B008 (Gradio injects it)  # fmt: skip
        if not path:
            raise InputError(NO_VIDEO)
        job = job_from_widgets(model_name, temporal_name, every, side, smooth, threshold, min_face, link,
                               link_distance)  # fmt: skip
        stop = jobs.take(request.session_hash)
        try:
            for view in analyse(studio, path, job, stop, download_progress(progress), examples):
                yield displayed(view)
        finally:
            jobs.finish(request.session_hash, stop)

    def arm(request: gr.Request) -> None:
        jobs.arm(request.session_hash)

    def cancel_job(request: gr.Request) -> str:
        if jobs.cancel(request.session_hash):
            return "Cancelling: the job stops at the next frame and keeps what it has done."
        return "Nothing to cancel: no video is being analysed in this session."

    def clear() -> dict:
        return displayed(cleared())

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
