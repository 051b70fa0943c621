"""The image tab: one photo, one model or all of them side by side."""

from __future__ import annotations

import logging

import gradio as gr

from fer_demo.errors import ModelUnavailableError
from fer_demo.media.animation import is_animation
from fer_demo.presentation.export import face_columns, table_frame
from fer_demo.ui.common import (
    QUICK,
    detection_controls,
    download_progress,
    model_note,
    refresh_on_focus,
    user_errors,
)
from fer_demo.ui.example_cache import ExampleCache
from fer_demo.ui.image_handlers import (
    TOP_LABEL,
    LatestOnly,
    PhotoRequest,
    PhotoView,
    SharedRuns,
    analyse_photo,
    cleared,
    compare_photo,
    explain_photo,
    target_choices,
)
from fer_demo.ui.request_guard import accept_received_files
from fer_demo.ui.values import detection_options
from fer_demo.workflow.studio import Studio

log = logging.getLogger(__name__)

IMAGE_EXAMPLES = ["examples/astronaut.jpg", "examples/biden-portrait.jpg", "examples/two-faces.jpg",
                  "examples/three-people.jpg"]  # fmt: skip
EXAMPLE_LABELS = ["Astronaut Eileen Collins (NASA)", "Official portrait (White House)", "Two faces",
                  "Three people (Intel, CC BY 4.0)"]  # fmt: skip


def needs_download(studio: Studio, name: str) -> bool:
    """Whether the model can run once its weights are fetched (and they are not here yet)."""
    status = studio.availability(name)
    return status.available and status.needs_download


def session_of(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or ""


def build_image_tab(studio: Studio) -> tuple[gr.Image, gr.Button]:
    """The tab; returns its photo input and the button that sends an animation to the Video tab."""
    default = studio.default_model()
    examples = ExampleCache(IMAGE_EXAMPLES)
    with gr.Tab("Image", id="image"):
        # The photo and its result side by side; on a phone the result comes right under the photo
        # (a column of controls between them put it 1,100 px further down). Controls follow.
        with gr.Row():
            with gr.Column(scale=1):
                image_in = accept_received_files(
                    gr.Image(
                        label="Photo",
                        type="filepath",
                        sources=["upload", "clipboard", "webcam"],
                        height=420,
                        elem_id="image-input",
                    ),
                    pass_path=True,
                    max_pixels=studio.settings.max_image_pixels,  # pasted images arrive as data URLs
                )
            with gr.Column(scale=1):
                image_out = gr.Image(
                    label="Faces found",
                    type="numpy",
                    format="jpeg",
                    height=420,
                    interactive=False,
                    elem_id="image-output",
                )
                status = gr.Markdown(elem_id="image-status")
                as_video = gr.Button("Analyse every frame in the Video tab", visible=False, size="sm")
        with gr.Row():
            with gr.Column(scale=1):
                model = gr.Dropdown(
                    studio.model_choices(),
                    value=default,
                    label="Model",
                    info="Unavailable models say why.",
                    elem_id="image-tab-model",
                )
                note = gr.Markdown(model_note(studio, default))
                fetch = gr.Button(
                    "Download this model's weights now", size="sm", visible=needs_download(studio, default)
                )
                with gr.Accordion("Face detection", open=False):
                    threshold, min_face = detection_controls(studio)
                    landmarks = gr.Checkbox(False, label="Draw landmarks (eyes, nose, mouth corners)")
                with gr.Group():
                    why = gr.Checkbox(
                        False,
                        label="Why? Show where the model looked",
                        info="Grad-CAM heatmaps: red is where the face raised the score of the class.",
                        elem_id="image-why",
                    )
                    why_target = gr.Dropdown(
                        target_choices(default), value=TOP_LABEL, label="Explain", elem_id="image-why-target"
                    )
                with gr.Row():
                    analyse = gr.Button("Analyse faces", variant="primary")
                    compare = gr.Button("Compare all available models")
                gr.Examples(
                    IMAGE_EXAMPLES,
                    inputs=image_in,
                    label="Examples (public domain; the group: CC BY 4.0, Intel)",
                    example_labels=EXAMPLE_LABELS,  # text for screen readers, not only thumbnails
                )
            with gr.Column(scale=1):
                cards = gr.HTML(elem_id="image-faces")  # each face's picture and numbers, by the photo
                why_maps = gr.Gallery(
                    label="Where the model looked (Grad-CAM)",
                    columns=3,
                    fit_columns=False,  # two faces stay two tiles of a row, not two giant ones
                    object_fit="contain",
                    allow_preview=True,
                    visible=False,
                    elem_id="image-why-maps",
                )
        chart = gr.Plot(label="Expression probabilities per face", elem_id="image-chart")
        empty = table_frame([], face_columns(default))
        table = gr.Dataframe(empty, label="Results per face", interactive=False)  # scrolls sideways on phones
        with gr.Row():
            csv_file = gr.File(label="CSV", interactive=False, elem_id="image-csv")
            json_file = gr.File(label="JSON", interactive=False)

    model.change(lambda name: model_note(studio, name), model, note, api_name="model_info", queue=False)
    model.change(lambda name: gr.Button(visible=needs_download(studio, name)), model, fetch, queue=False,
                 api_visibility="private")  # fmt: skip

    def fetch_weights(name: str, progress: gr.Progress = gr.Progress()) -> tuple:  # noqa: B008
        """What a web visitor can do about a model whose weights are not here yet: get them now.
        A failure is said under the menu, which then lists the model as unavailable."""
        try:
            studio.zoo.get(name, download_progress(progress))
            said = model_note(studio, name)
        except ModelUnavailableError as error:
            log.info("weights download for a visitor failed: %s", error)
            gr.Warning(error.visitor)
            said = f"**Could not get the weights.** {error.visitor}"
        return (
            said,
            gr.Button(visible=needs_download(studio, name)),
            gr.Dropdown(choices=studio.model_choices()),
        )

    fetch.click(fetch_weights, model, [note, fetch, model], api_visibility="private", show_progress_on=[note],
                **QUICK)  # fmt: skip
    refresh_on_focus(model, studio)

    def displayed(view: PhotoView) -> dict:
        """A view's fields into the widgets that show them."""
        if view.warning:
            gr.Warning(view.warning)
        return {image_out: view.annotated, status: view.status, chart: view.chart, table: view.table,
                csv_file: view.csv, json_file: view.json, cards: view.cards}  # fmt: skip

    outputs = [image_out, status, chart, table, csv_file, json_file, cards]
    analysis_inputs = [image_in, model, threshold, min_face, landmarks]

    def analyse_view(path, model_name, threshold, min_face, show_landmarks, progress) -> PhotoView:
        request = PhotoRequest.from_widgets(path, model_name, threshold, min_face, show_landmarks)
        return analyse_photo(studio, request, download_progress(progress),
                             loading=lambda desc: progress(0, desc=desc), examples=examples)  # fmt: skip

    @user_errors
    def run(path: str | None, model_name: str, threshold: float, min_face: float, landmarks_on: bool = False,
            progress: gr.Progress = gr.Progress()) -> dict:  # noqa: B008 (Gradio injects it)  # fmt: skip
        return displayed(analyse_view(path, model_name, threshold, min_face, landmarks_on, progress))

    @user_errors
    def run_comparison(path: str | None, threshold: float, min_face: float) -> dict:
        return displayed(compare_photo(studio, path, detection_options(threshold, min_face)))

    # On a phone the results are below the controls: pressing a button scrolls to them.
    analyse.click(run, analysis_inputs, outputs, api_name="analyze_image", scroll_to_output=True, **QUICK)
    runs = SharedRuns()

    @user_errors
    def refresh(path: str | None, model_name: str, threshold: float, min_face: float, show_landmarks: bool,
                request: gr.Request, progress=gr.Progress()) -> dict:  # noqa: B008 (Gradio injects it)  # fmt: skip
        """A new photo (upload, paste or example), model, detection setting or drawing choice:
        analysed at once; no photo: nothing shown. Twin events of one drop share one run."""
        if not path:
            return displayed(cleared(model_name))
        asked = (path, model_name, threshold, min_face, bool(show_landmarks))
        return displayed(runs.run(session_of(request), asked,
                             lambda: analyse_view(*asked, progress)))  # fmt: skip

    for trigger in (image_in.change, model.change, landmarks.change, threshold.release, min_face.release):
        trigger(refresh, analysis_inputs, outputs, api_visibility="private", **QUICK)
    compare_inputs = [image_in, threshold, min_face]
    compare.click(
        run_comparison, compare_inputs, outputs, api_name="compare_models", scroll_to_output=True, **QUICK
    )

    def offer_video(path: str | None) -> gr.Button:
        animated = bool(path) and is_animation(path, studio.settings.max_image_pixels)
        return gr.Button(visible=animated)

    image_in.change(offer_video, image_in, as_video, api_visibility="private", queue=False)

    why_calls = LatestOnly()

    @user_errors
    def show_why(path: str | None, model_name: str, target: str, threshold: float, min_face: float,
                 show: bool, request: gr.Request,
                 progress: gr.Progress = gr.Progress()) -> gr.Gallery:  # noqa: B008  # fmt: skip
        """The Why? view follows the photo, the model and the class; maps that took long are
        dropped if a newer request (Why? switched off, another photo) came meanwhile."""
        session = session_of(request)
        call = why_calls.begin(session)
        if not show or not path:
            return gr.Gallery(None, visible=False)
        photo = PhotoRequest.from_widgets(path, model_name, threshold, min_face)
        view = explain_photo(studio, photo, target, download_progress(progress))
        if not why_calls.is_latest(session, call):
            return gr.skip()
        if view.items is None:
            return gr.Gallery(None, visible=False)
        return gr.Gallery(view.items, visible=True, label=view.label)

    why_inputs = [image_in, model, why_target, threshold, min_face, why]
    # always_last: switching Why? off while its maps are computed must still hide them.
    why_triggers = (image_in.change, model.change, why.input, why_target.input, analyse.click,
                    threshold.release, min_face.release)  # fmt: skip
    for trigger in why_triggers:
        trigger(show_why, why_inputs, why_maps, api_visibility="private", trigger_mode="always_last", **QUICK)
    model.change(lambda name: gr.Dropdown(choices=target_choices(name), value=TOP_LABEL), model, why_target,
                 queue=False, api_visibility="private")  # fmt: skip
    return image_in, as_video
