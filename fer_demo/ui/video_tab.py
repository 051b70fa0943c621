"""The video tab: upload, watch progress, get the annotated video, timelines and numbers."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import gradio as gr
import pandas as pd

from fer_demo.downloads import new_export_dir
from fer_demo.export import write_csv, write_json
from fer_demo.plots import circumplex, emotion_timeline, valence_arousal_timeline
from fer_demo.stream import StreamSettings
from fer_demo.studio import Studio
from fer_demo.timeline import by_face, record_columns
from fer_demo.ui.common import chosen_lstm, download_progress, follow_model, temporal_options, user_errors
from fer_demo.video import VideoProgress, VideoResult, analyze_video

log = logging.getLogger(__name__)

SUMMARY_COLUMNS = ["face_id", "first_seen_s", "last_seen_s", "time_on_screen_s", "dominant_emotion",
                   "dominant_mean_probability", "mean_valence", "mean_arousal"]  # fmt: skip


def progress_text(event: VideoProgress) -> str:
    left = f"{event.seconds_left:.0f} s left" if event.seconds_left != float("inf") else "estimating"
    return (f"Analysing: frame **{event.frames_done} / {event.frames_total}**, "
            f"{event.fps:.1f} frames/s, {left}.")  # fmt: skip


def result_text(result: VideoResult) -> str:
    faces = len(result.summary)
    found = (
        f"**{faces} face{'s' if faces != 1 else ''}** tracked"
        if faces
        else "**No faces found** in this video"
    )
    seconds = f"{result.info.duration:.1f} s of video"
    return (f"Done: {result.frames} frames ({seconds}) in {result.elapsed:.1f} s, "
            f"{result.speed:.2f}x real time. {found}.")  # fmt: skip


def build_video_tab(studio: Studio) -> None:
    default = studio.settings.default_model
    with gr.Tab("Video", id="video"):
        with gr.Row():
            with gr.Column(scale=1):
                video_in = gr.Video(
                    label="Video (mp4, mov, webm, avi, mkv)",
                    sources=["upload"],
                    height=360,
                    elem_id="video-input",
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
                    smoothing = gr.Slider(
                        0,
                        2,
                        value=0.3,
                        step=0.05,
                        label="Smoothing (seconds)",
                        info="Time constant of per-face smoothing; 0 turns it off.",
                    )
                with gr.Row():
                    start = gr.Button("Analyse video", variant="primary")
                    cancel = gr.Button("Cancel", variant="stop")
            with gr.Column(scale=1):
                status = gr.Markdown("Upload a video and press **Analyse video**.", elem_id="video-status")
                preview = gr.Image(
                    label="Preview", type="numpy", format="jpeg", height=300, interactive=False
                )
                video_out = gr.Video(
                    label="Annotated video (H.264)", height=360, interactive=False, elem_id="video-output"
                )
        timeline = gr.Plot(label="Expressions over time, per face", elem_id="video-timeline")
        with gr.Row():
            va_timeline = gr.Plot(label="Valence and arousal over time")
            va_plane = gr.Plot(label="Valence / arousal circumplex")
        summary = gr.Dataframe(
            pd.DataFrame(columns=SUMMARY_COLUMNS), label="Per-face summary", interactive=False
        )
        with gr.Row():
            csv_file = gr.File(label="CSV: one row per frame and face", interactive=False)
            json_file = gr.File(label="JSON", interactive=False)

    follow_model(model, temporal, api_name="video_temporal_models")
    outputs = [status, preview, video_out, timeline, va_timeline, va_plane, summary, csv_file, json_file]

    @user_errors
    def run(
        path: str | None,
        model_name: str,
        temporal_name: str,
        every: float,
        side: float,
        smooth: float,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio injects it)
    ) -> Iterator[tuple]:
        if not path:
            raise gr.Error("Please upload a video first.", print_exception=False)
        lstm = chosen_lstm(temporal_name)
        settings = StreamSettings(detect_every=int(every), smoothing=float(smooth), temporal_model=lstm)
        analyzer = studio.stream_analyzer(model_name, settings, int(side), download_progress(progress))
        output = new_export_dir() / "annotated.mp4"
        for event in analyze_video(path, analyzer, output, studio.settings.video_limits):
            if isinstance(event, VideoProgress):
                progress((event.frames_done, event.frames_total), desc="Analysing video", unit="frames")
                frame = event.preview if event.preview is not None else gr.skip()
                yield (progress_text(event), frame, *([gr.skip()] * 7))
                continue
            yield finished(event, output.parent)

    def finished(result: VideoResult, folder) -> tuple:
        log.info(
            "video %d frames %.1fs in %.1fs (%s)",
            result.frames,
            result.info.duration,
            result.elapsed,
            result.model,
        )
        columns = record_columns(result.model)
        csv_path = write_csv(result.records, columns, folder / f"faces-{result.model}.csv")
        json_path = write_json(
            {"model": result.model, "fps": result.info.fps, "duration": result.info.duration,
             "summary": result.summary, "records": result.records},
            folder / f"faces-{result.model}.json",
        )  # fmt: skip
        if not result.summary:
            gr.Warning("No faces found in this video.")
        groups = by_face(result.records)
        return (
            result_text(result),
            gr.skip(),
            str(result.output),
            emotion_timeline(groups),
            valence_arousal_timeline(groups),
            circumplex(groups),
            pd.DataFrame(result.summary, columns=SUMMARY_COLUMNS),
            str(csv_path),
            str(json_path),
        )

    job = start.click(
        run,
        [video_in, model, temporal, detect_every, detect_side, smoothing],
        outputs,
        api_name="analyze_video",
        concurrency_limit=1,
        concurrency_id="video",
    )
    cancel.click(lambda: "Cancelled.", None, status, cancels=[job], api_name="cancel_video", queue=False)
