"""The webcam tab: a live annotated stream, a live timeline and the session as CSV.

The page sends frames every ``1 / FER_DEMO_WEBCAM_FPS`` seconds whether or
not the last one was answered; the server keeps only the newest frame it was
sent, so a slow frame drops the ones behind it instead of queueing them. The
rate is set to what a shared 2-core server analyses (README: webcam
benchmarks): faster costs the browser and the server CPU for frames dropped. Each browser
session's analysis state lives in a ``gr.State`` freed when the tab closes or
the session stays idle.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import gradio as gr
import numpy as np
from gradio.components.plot import PlotData

from fer_demo.browser.page import DETECTOR_NAME, LivePage
from fer_demo.errors import InputError
from fer_demo.models.specs import get_spec
from fer_demo.presentation.plots import empty_figure
from fer_demo.ui.common import (
    QUICK,
    detection_controls,
    download_progress,
    follow_model,
    model_note,
    refresh_on_focus,
    temporal_options,
    user_errors,
)
from fer_demo.ui.live_view import live_component, page_config, read_summary
from fer_demo.ui.request_guard import accept_received_files
from fer_demo.ui.values import detection_options
from fer_demo.ui.webcam_handlers import NOTHING_RECORDED, RESET, LiveSession, LiveView
from fer_demo.workflow.studio import Studio
from fer_demo.workflow.webcam import LiveLoad

log = logging.getLogger(__name__)

WAITING = (
    "Press **Start the camera** (live mode) or the camera's **record** button (server mode). "
    "Frames are never stored."
)
LIVE_PRIVACY = (
    "In live mode no camera frame leaves this device: the page finds faces (BlazeFace) and classifies "
    "them itself (onnxruntime-web) and sends the server only numbers, once a second (boxes and "
    "expressions), for the timeline and the CSV."
)
SERVER_PRIVACY = (
    "In server mode the camera's frames are sent to this server, analysed in memory (faces found "
    "by MTCNN) and never stored; only the last few annotated frames exist, as files the page shows."
)


def privacy_text(mode: str) -> str:
    """What happens to the camera's frames in ``mode``."""
    return LIVE_PRIVACY if mode == "live" else SERVER_PRIVACY


def live_detection_controls(page: LivePage) -> tuple[gr.Slider, gr.Slider]:
    """The live page detector's sliders: BlazeFace's own score scale, pixels of the camera frame."""
    defaults = page.detection
    threshold = gr.Slider(
        0.3,
        0.95,
        value=defaults.min_confidence,
        step=0.01,
        label="Face detection threshold (BlazeFace score)",
        info="Weaker detections are neither drawn nor recorded. Raise it if objects get boxes.",
        elem_id="webcam-live-threshold",
    )
    min_face = gr.Slider(
        16,
        400,
        value=defaults.min_face_size,
        step=1,
        label="Minimum face size (pixels of the camera frame)",
        info="Smaller faces are neither drawn nor recorded.",
        elem_id="webcam-live-min-face",
    )
    return threshold, min_face


def close_session(live: LiveSession | None) -> None:
    """``gr.State`` delete callback: free the session's files and buffers."""
    if live is not None:
        live.close()


def shown(view: LiveView) -> tuple:
    """A view as the stream's outputs (image, status, timeline, circumplex); ``gr.skip()`` keeps
    what is shown."""
    plane = gr.skip()
    if view.circumplex is not None:
        plane = gr.Plot(PlotData(type="plotly", plot=view.circumplex), visible=view.has_valence_arousal)
    return (
        gr.skip() if view.image is None else view.image,
        gr.skip() if view.status is None else view.status,
        gr.skip() if view.timeline is None else PlotData(type="plotly", plot=view.timeline),
        plane,
    )


def stream_handler(studio: Studio, cache_dir: str | Path) -> Callable:
    """The function the webcam stream calls per frame."""
    load = LiveLoad(os.cpu_count() or 1)  # the sessions of this app share its cores

    def analyse_frame(frame: np.ndarray | None, model_name: str, temporal: str | None,
                      threshold: float | None, min_face: float | None,
                      live: LiveSession | None) -> tuple:  # fmt: skip
        live = live or LiveSession(studio, cache_dir)
        return (*shown(live.analyse(frame, model_name, temporal, threshold, min_face, load)), live)

    return analyse_frame


def camera_constraints(settings) -> dict:
    """What the page asks the camera for (``getUserMedia``): Gradio's default is 1920x1440, whose
    frames cost the browser tens of milliseconds each to encode and the server to decode, for
    faces that need a few hundred pixels."""
    side = settings.webcam_side
    return {"video": {"width": {"ideal": side}, "height": {"ideal": side * 3 // 4}}, "audio": False}


def summary_handler(studio: Studio, cache_dir: str | Path) -> Callable:
    """What the live page's summary event runs: its frames into the session, plots out."""

    def record(
        live: LiveSession | None, threshold: float | None, min_face: float | None, event: gr.EventData
    ) -> tuple:
        live = live or LiveSession(studio, cache_dir)
        try:
            model_name, frames = read_summary(event._data)
        except InputError as error:
            return f"**{error}**", gr.skip(), gr.skip(), live
        return (*shown(live.record_summary(model_name, frames, threshold, min_face))[1:], live)

    return record


def mode_for(model_name: str, mode: str) -> str:
    """The mode to use with ``model_name``: a model too heavy for the browser runs on the server."""
    return mode if get_spec(model_name).browser else "server"


def build_webcam_tab(studio: Studio, page: LivePage) -> Callable:
    """The tab; returns what the page's load event must run (the live page's configuration)."""
    settings = studio.settings
    default = studio.default_model()
    default_mode = mode_for(default, "live")
    with gr.Tab("Webcam", id="webcam"):
        with gr.Column(visible=default_mode == "live") as live_box:
            live_view = live_component(page, default)
        # The live picture and its charts fit one 1366x768 screen; on a phone the columns stack,
        # the analysed frame right under the camera. Settings and downloads come after.
        with gr.Row(equal_height=True, visible=default_mode == "server") as server_box:
            with gr.Column(scale=1, min_width=320):
                camera = accept_received_files(
                    gr.Image(
                        label="Camera",
                        sources=["webcam"],
                        streaming=True,
                        type="numpy",
                        height=260,
                        webcam_options=gr.WebcamOptions(
                            mirror=True, constraints=camera_constraints(settings)
                        ),
                        elem_id="webcam-input",
                    ),
                    max_pixels=settings.max_image_pixels,  # frames arrive as JPEG data URLs
                )
            with gr.Column(scale=1, min_width=320):
                annotated = gr.Image(
                    label="Live analysis",
                    type="filepath",
                    height=260,
                    interactive=False,
                    elem_id="webcam-output",
                )
        status = gr.Markdown(WAITING, elem_id="webcam-status")
        with gr.Row():
            timeline = gr.Plot(
                label="Live timeline (last minute)",
                elem_id="webcam-timeline",
                scale=2,
                min_width=320,
            )
            plane = gr.Plot(
                label="Valence / arousal (last 5 seconds)",
                elem_id="webcam-plane",
                min_width=260,
                visible=get_spec(default).has_valence_arousal,  # shown by the first update that has them
            )
        with gr.Row():
            with gr.Column(scale=2, min_width=320):
                mode = gr.Radio(
                    [("Live, in your browser", "live"), ("On the server", "server")],
                    value=default_mode,
                    label="Where the camera is analysed",
                    info="Live: on this device, at camera rate; no frame leaves it. Server: any model.",
                    elem_id="webcam-mode",
                )
                privacy = gr.Markdown(privacy_text(default_mode), elem_classes="fer-live-privacy")
                with gr.Row():
                    model = gr.Dropdown(
                        studio.model_choices(), value=default, label="Model", elem_id="webcam-model"
                    )
                    temporal = gr.Dropdown(
                        label="Temporal model (EMO-AffectNet LSTM)", **temporal_options(default)
                    )
                note = gr.Markdown(model_note(studio, default))
                with gr.Accordion("Face detection", open=False):
                    with gr.Group(visible=default_mode == "server") as server_detection:
                        gr.Markdown("On the server, faces are found by **MTCNN**.")
                        threshold, min_face = detection_controls(studio)
                    with gr.Group(visible=default_mode == "live") as live_detection:
                        gr.Markdown(f"In live mode, this browser finds faces with **{DETECTOR_NAME}**; "
                                    "its scores are on a scale of their own.")  # fmt: skip
                        live_threshold, live_min_face = live_detection_controls(page)
            with gr.Column(scale=1, min_width=260):
                reset = gr.Button("Reset session")
                export = gr.Button("Download this session as CSV")
                csv_file = gr.File(label="Session CSV", interactive=False, height=100, elem_id="webcam-csv")
        live = gr.State(None, time_to_live=settings.webcam_idle_seconds, delete_callback=close_session)

    camera.stream(
        stream_handler(studio, annotated.GRADIO_CACHE),
        [camera, model, temporal, threshold, min_face, live],
        [annotated, status, timeline, plane, live],
        api_name="webcam_stream",
        stream_every=1 / settings.webcam_fps,
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

    def configure_live(name: str, threshold: float, min_face: float) -> str:
        try:
            detection = detection_options(threshold, min_face)
        except InputError:
            detection = None  # a hostile value: the page keeps its defaults
        return page_config(studio, page, name, detection)

    def show_mode(chosen: str) -> tuple:
        live_mode = chosen == "live"
        return (
            gr.Column(visible=live_mode),
            gr.Row(visible=not live_mode),
            gr.Group(visible=live_mode),
            gr.Group(visible=not live_mode),
            privacy_text(chosen),
        )

    mode.change(show_mode, mode, [live_box, server_box, live_detection, server_detection, privacy], **QUICK)
    live_config = [model, live_threshold, live_min_face]
    for slider in (live_threshold, live_min_face):
        slider.release(configure_live, live_config, live_view, api_visibility="private", **QUICK)
    model.change(mode_for, [model, mode], mode, api_name=False, **QUICK)  # at once, before any download
    model.change(prepare_model, model, note, api_name="webcam_model", show_progress="minimal").then(
        configure_live, live_config, live_view, api_name="webcam_live_config", **QUICK
    )
    live_view.summary(
        summary_handler(studio, annotated.GRADIO_CACHE),
        [live, live_threshold, live_min_face],
        [status, timeline, plane, live],
        api_name="webcam_live_summary",
        trigger_mode="multiple",  # every summary counts: none may be dropped while one is running
        show_progress="hidden",
        **QUICK,
    )
    live_view.fallback(lambda: "server", None, mode, api_name=False, **QUICK)
    follow_model(model, temporal, api_name="webcam_temporal_models")
    refresh_on_focus(model, studio)

    def reset_session(session: LiveSession | None) -> tuple:
        said = session.reset() if session is not None else RESET
        return said, empty_figure(""), empty_figure("")

    reset.click(reset_session, live, [status, timeline, plane], api_name="webcam_reset")

    @user_errors
    def export_session(session: LiveSession | None) -> str:
        if session is None:
            raise InputError(NOTHING_RECORDED)
        return str(session.export())

    export.click(export_session, live, csv_file, api_name="webcam_csv")
    return lambda demo: demo.load(configure_live, live_config, live_view, api_name=False, **QUICK)
