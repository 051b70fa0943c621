"""The Gradio app: widgets wired to the pipeline, nothing more.

Every event has an ``api_name``; every failure a user can cause becomes a
``gr.Error`` with a message, never a traceback.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

import gradio as gr
import pandas as pd

from fer_demo.downloads import new_export_dir
from fer_demo.errors import UserFacingError
from fer_demo.export import face_columns, face_rows, write_csv, write_json
from fer_demo.models.specs import get_spec
from fer_demo.plots import empty_figure, probability_chart
from fer_demo.render import annotate
from fer_demo.studio import Studio

log = logging.getLogger(__name__)

EXAMPLES_DIR = "examples"
IMAGE_EXAMPLES = ["examples/astronaut.jpg", "examples/biden-portrait.jpg", "examples/two-faces.jpg"]
INTRO = """# Facial expression recognition studio
Upload a photo, paste one or take a webcam snapshot: every face is found (MTCNN) and
classified by the model you choose. Faces are processed in memory and nothing is kept.
"""


def pass_file_path(image: gr.Image) -> gr.Image:
    """Make an image input hand the handler the uploaded file's path unopened.

    Gradio's own preprocessing opens the file with PIL and fails on bad files
    with a generic error; :func:`fer_demo.images.load_image` decodes instead
    and explains every failure. (Patching the instance, not subclassing:
    Gradio writes a ``.pyi`` stub beside any module defining a component.)
    """
    gradio_preprocess = image.preprocess

    def preprocess(payload: Any) -> str | None:
        if payload is not None and payload.path and not (payload.url or "").startswith("data:"):
            return str(payload.path)
        try:
            return gradio_preprocess(payload)
        except Exception as error:  # a pasted image Gradio could not decode
            raise gr.Error("This image could not be decoded. Please try another file.") from error

    image.preprocess = preprocess
    return image


def user_errors(fn: Callable) -> Callable:
    """Turn our errors into ``gr.Error`` and hide unexpected ones behind a plain message."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except UserFacingError as error:
            raise gr.Error(str(error), print_exception=False) from None
        except Exception:
            log.exception("unexpected error in %s", fn.__name__)
            raise gr.Error(
                "Something went wrong while analysing this input. It was logged; "
                "please try another file or model.",
                print_exception=False,
            ) from None

    return wrapper


def model_note(studio: Studio, name: str) -> str:
    """A line under the model picker: license, and the fix when weights are missing."""
    spec = get_spec(name)
    status = studio.availability(name)
    note = f"**{spec.display_name}**: {spec.reported_accuracy}. License: {spec.license}."
    if not status.available:
        note += f"\n\n**Unavailable**: {status.reason}. To use it, {status.fix}."
    return note


def build_image_tab(studio: Studio) -> None:
    default = studio.settings.default_model
    with gr.Tab("Image", id="image"):
        with gr.Row():
            with gr.Column(scale=1):
                image_in = pass_file_path(
                    gr.Image(
                        label="Photo", type="filepath", sources=["upload", "clipboard", "webcam"], height=420
                    )
                )
                model = gr.Dropdown(
                    studio.model_choices(),
                    value=default,
                    label="Model",
                    info="Models whose weights are missing are marked unavailable.",
                )
                note = gr.Markdown(model_note(studio, default))
                analyse = gr.Button("Analyse faces", variant="primary")
                gr.Examples(IMAGE_EXAMPLES, inputs=image_in, label="Examples (public domain)")
            with gr.Column(scale=1):
                image_out = gr.Image(
                    label="Faces found", type="numpy", format="jpeg", height=420, interactive=False
                )
                status = gr.Markdown()
        chart = gr.Plot(label="Expression probabilities per face")
        table = gr.Dataframe(label="Results per face", interactive=False, wrap=True)
        with gr.Row():
            csv_file = gr.File(label="CSV", interactive=False)
            json_file = gr.File(label="JSON", interactive=False)

    model.change(lambda name: model_note(studio, name), model, note, api_name="model_info", queue=False)

    @user_errors
    def run(path: str | None, model_name: str) -> tuple:
        if not path:
            raise gr.Error("Please upload a photo first.", print_exception=False)
        started = time.perf_counter()
        image, analysis = studio.analyze_file(path, model_name)
        elapsed = time.perf_counter() - started
        log.info(
            "image %dx%d, %d faces, %s, %.0f ms",
            analysis.width,
            analysis.height,
            len(analysis.faces),
            model_name,
            elapsed * 1000,
        )
        columns = face_columns(model_name)
        rows = face_rows(analysis)
        folder = new_export_dir()
        csv_path = write_csv(rows, columns, folder / f"faces-{model_name}.csv")
        json_path = write_json(analysis.to_dict(), folder / f"faces-{model_name}.json")
        count = len(analysis.faces)
        if count == 0:
            gr.Warning("No faces found. Try a photo where faces are larger, frontal and well lit.")
            message = "**No faces found** in this image."
            figure = empty_figure("No faces found")
        else:
            message = (
                f"Found **{count} face{'s' if count > 1 else ''}** with "
                f"{analysis.model_display_name} in {elapsed * 1000:.0f} ms."
            )
            figure = probability_chart(analysis.faces)
        return (
            annotate(image, analysis.faces),
            message,
            figure,
            pd.DataFrame(rows, columns=columns),
            str(csv_path),
            str(json_path),
        )

    analyse.click(
        run,
        [image_in, model],
        [image_out, status, chart, table, csv_file, json_file],
        api_name="analyze_image",
    )


def register_api(studio: Studio) -> None:
    """Endpoints for programs: structured JSON instead of widgets."""
    default = studio.settings.default_model

    @user_errors
    def analyze(image: gr.FileData, model: str = default) -> dict:
        """Find every face in an image and classify its expression.

        Args:
            image: the photo (JPEG, PNG, WebP, ...).
            model: a model name from the Models list, e.g. "mini_xception".

        Returns:
            {"model", "model_display_name", "width", "height", "faces": [{"face", "box",
            "score", "landmarks", "probabilities", "top_label", "top_probability",
            "valence", "arousal"}]}; box is (x1, y1, x2, y2) in pixels.
        """
        path = image.get("path") if isinstance(image, dict) else getattr(image, "path", None)
        if not path:
            raise gr.Error("Please send an image file.", print_exception=False)
        return studio.analyze_file(path, model)[1].to_dict()

    gr.api(analyze, api_name="analyze")


def build_demo(studio: Studio) -> gr.Blocks:
    """The whole app. Loads no model: they load on first use."""
    with gr.Blocks(title="FER studio", delete_cache=(1800, 3600)) as demo:
        gr.Markdown(INTRO)
        with gr.Tabs():
            build_image_tab(studio)
        register_api(studio)
    demo.queue(default_concurrency_limit=2, max_size=64)
    return demo
