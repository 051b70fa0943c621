"""The webcam tab: a live annotated stream, a live timeline and the session as CSV.

Gradio already keeps latency bounded: the browser sends no frame while one is
being processed, and the server keeps only the newest frame it was sent, so a
slow frame drops the ones behind it instead of queueing them. Each browser
session's analysis state lives in a ``gr.State`` freed when the tab closes or
the session stays idle.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import gradio as gr
import numpy as np

from fer_demo.downloads import new_export_dir
from fer_demo.errors import InputError
from fer_demo.plots import empty_figure
from fer_demo.studio import Studio
from fer_demo.ui.common import (
    chosen_lstm,
    detection_controls,
    detection_options,
    download_progress,
    follow_model,
    model_note,
    temporal_options,
    user_errors,
)
from fer_demo.ui.frame_files import FrameFiles
from fer_demo.ui.request_guard import accept_received_files
from fer_demo.webcam import WebcamSession

log = logging.getLogger(__name__)

FRAME_INTERVAL = 1 / 30  # seconds: offer frames at a camera's rate; the browser waits for each answer anyway
WAITING = "Press the camera's **record** button to start. Frames are analysed live and never stored."


class LiveSession:
    """What one browser session keeps between frames: the analysis and its frame files."""

    def __init__(self, studio: Studio, cache_dir: str | Path) -> None:
        detect_side = studio.settings.webcam_detect_max_side
        make_analyzer = functools.partial(studio.stream_analyzer, detect_max_side=detect_side)
        self.analysis = WebcamSession(make_analyzer, new_export_dir() / "webcam-session.csv")
        self.frames = FrameFiles(cache_dir)
        self.lock = threading.Lock()  # the stream, Reset and Download run in different threads
        self.shown: np.ndarray | None = None  # the last frame written, to not write it twice
        self.errors = 0

    def close(self) -> None:
        with self.lock:
            self.analysis.close()
            self.frames.close()


def close_session(live: LiveSession | None) -> None:
    """``gr.State`` delete callback: free the session's files and buffers."""
    if live is not None:
        live.close()


def stream_handler(studio: Studio, cache_dir: str | Path) -> Callable:
    """The function the webcam stream calls per frame (the benchmark drives it too)."""

    def analyse_frame(
        frame: np.ndarray | None,
        model_name: str,
        temporal: str | None,
        threshold: float | None,
        min_face: float | None,
        live: LiveSession | None,
    ) -> tuple:
        live = live or LiveSession(studio, cache_dir)
        detection = None
        if threshold is not None and min_face is not None:
            try:
                detection = detection_options(threshold, min_face)
            except InputError as error:
                return gr.skip(), f"**{error}**", gr.skip(), gr.skip(), live
        with live.lock:
            try:
                update = live.analysis.step(
                    frame, model_name, time.monotonic(), chosen_lstm(temporal), detection
                )
            except Exception:  # one bad frame must not end a live demo: report, keep streaming
                live.errors += 1
                if live.errors == 1:
                    log.exception("webcam frame failed")
                message = "**This frame could not be analysed.** The stream goes on; reload if this persists."
                return gr.skip(), message, gr.skip(), gr.skip(), live
            image = gr.skip()
            if update.image is not None and update.image is not live.shown:
                image = live.frames.write(update.image)
                live.shown = update.image
        return (
            image,
            gr.skip() if update.status is None else update.status,
            gr.skip() if update.timeline is None else update.timeline,
            gr.skip() if update.circumplex is None else update.circumplex,
            live,
        )

    return analyse_frame


def build_webcam_tab(studio: Studio) -> None:
    settings = studio.settings
    default = settings.default_model
    with gr.Tab("Webcam", id="webcam"):
        with gr.Row():
            with gr.Column(scale=1):
                camera = accept_received_files(
                    gr.Image(
                        label="Camera",
                        sources=["webcam"],
                        streaming=True,
                        type="numpy",
                        height=360,
                        webcam_options=gr.WebcamOptions(mirror=True),
                        elem_id="webcam-input",
                    ),
                    max_pixels=settings.max_image_pixels,  # frames arrive as JPEG data URLs
                )
                model = gr.Dropdown(studio.model_choices(), value=default, label="Model")
                temporal = gr.Dropdown(
                    label="Temporal model (EMO-AffectNet LSTM)", **temporal_options(default)
                )
                note = gr.Markdown(model_note(studio, default))
                with gr.Accordion("Face detection", open=False):
                    threshold, min_face = detection_controls(studio)
                with gr.Row():
                    reset = gr.Button("Reset session")
                    export = gr.Button("Download this session as CSV")
                csv_file = gr.File(label="Session CSV", interactive=False, height=100)
            with gr.Column(scale=1):
                annotated = gr.Image(
                    label="Live analysis",
                    type="filepath",
                    height=360,
                    interactive=False,
                    elem_id="webcam-output",
                )
                status = gr.Markdown(WAITING, elem_id="webcam-status")
        with gr.Row():
            timeline = gr.Plot(
                label="Live timeline (last minute, refreshed every second)", elem_id="webcam-timeline"
            )
            plane = gr.Plot(label="Valence / arousal (last 5 seconds)")
        live = gr.State(None, time_to_live=settings.webcam_idle_seconds, delete_callback=close_session)

    camera.stream(
        stream_handler(studio, annotated.GRADIO_CACHE),
        [camera, model, temporal, threshold, min_face, live],
        [annotated, status, timeline, plane, live],
        api_name="webcam_stream",
        stream_every=FRAME_INTERVAL,
        time_limit=settings.webcam_time_limit,
        concurrency_limit=settings.webcam_sessions,
        concurrency_id="webcam",
        show_progress="hidden",
    )

    @user_errors
    def prepare_model(name: str, progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008
        """Download and load the chosen model here, with a progress bar, not inside the stream."""
        studio.zoo.get(name, download_progress(progress))
        return model_note(studio, name)

    model.change(prepare_model, model, note, api_name="webcam_model", show_progress="minimal")
    follow_model(model, temporal, api_name="webcam_temporal_models")

    def reset_session(session: LiveSession | None) -> tuple:
        if session is not None:
            with session.lock:
                session.analysis.reset()
        return "Session reset: new faces, new timeline, empty CSV.", empty_figure(""), empty_figure("")

    reset.click(reset_session, live, [status, timeline, plane], api_name="webcam_reset")

    def export_session(session: LiveSession | None) -> str:
        if session is None or session.analysis.frames == 0:
            raise gr.Error("Nothing recorded yet: start the camera first.", print_exception=False)
        with session.lock:
            return str(session.analysis.export_csv())

    export.click(export_session, live, csv_file, api_name="webcam_csv")
