"""The image tab: one photo, one model or all of them side by side."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from pathlib import Path

import gradio as gr

from fer_demo.analysis.compare import agreement, compared_labels, comparison_rows
from fer_demo.analysis.labels import canonical_order
from fer_demo.analysis.saliency import gallery_items
from fer_demo.errors import ModelUnavailableError
from fer_demo.media.animation import is_animation
from fer_demo.models.specs import get_spec
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
from fer_demo.ui.common import (
    QUICK,
    detection_controls,
    detection_options,
    download_progress,
    model_note,
    refresh_on_focus,
    user_errors,
)
from fer_demo.ui.downloads import new_export_dir
from fer_demo.ui.example_cache import REUSED_NOTE, ExampleCache
from fer_demo.ui.request_guard import accept_received_files
from fer_demo.workflow.studio import Studio

log = logging.getLogger(__name__)

TOP_LABEL = "Each face's top label"
IMAGE_EXAMPLES = ["examples/astronaut.jpg", "examples/biden-portrait.jpg", "examples/two-faces.jpg",
                  "examples/three-people.jpg"]  # fmt: skip
EXAMPLE_LABELS = ["Astronaut Eileen Collins (NASA)", "Official portrait (White House)", "Two faces",
                  "Three people (Intel, CC BY 4.0)"]  # fmt: skip
NO_FACES = "No faces found. Try a photo where faces are larger, frontal and well lit."


def target_choices(model_name: str) -> list[str]:
    """What the Why? view can explain: each face's own verdict, or any class the model has."""
    return [TOP_LABEL, *canonical_order(get_spec(model_name).labels)]


def needs_download(studio: Studio, name: str) -> bool:
    """Whether the model can run once its weights are fetched (and they are not here yet)."""
    status = studio.availability(name)
    return status.available and status.needs_download


def analysis_summary(count: int, display_name: str, elapsed: float) -> str:
    if count == 0:
        return "**No faces found** in this image."
    return f"Found **{count} face{'s' if count > 1 else ''}** with {display_name} in {elapsed * 1000:.0f} ms."


def with_notes(summary: str, notes: tuple[str, ...]) -> str:
    """The summary line followed by what the user should know about how the file was read."""
    return "\n\n".join([summary, *(f"Note: {note}" for note in notes)])


def _files_exist(result: tuple) -> bool:
    """Whether a result's CSV and JSON downloads are still on disk (export folders are purged)."""
    return all(path is None or Path(path).is_file() for path in result[4:6])


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

    def cleared(model_name: str, message: str = "") -> tuple:
        """No result on screen: the photo is gone, or ``message`` says why there is none."""
        return None, message, None, table_frame([], face_columns(model_name)), None, None, ""

    @user_errors
    def run(
        path: str | None,
        model_name: str,
        threshold: float,
        min_face: float,
        show_landmarks: bool = False,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio injects it)
    ) -> tuple:
        if not path:
            raise gr.Error("Please upload a photo first.", print_exception=False)
        options = detection_options(threshold, min_face)
        key = examples.key(path, model_name, options, bool(show_landmarks))
        if (reused := examples.get(key)) is not None:
            return reused
        if not studio.zoo.is_loaded(model_name):
            progress(0, desc=f"Loading {get_spec(model_name).display_name}")
        started = time.perf_counter()
        try:
            image, analysis = studio.analyze_file(path, model_name, download_progress(progress), options)
        except ModelUnavailableError as error:  # said once, in place; nothing of an earlier result stays
            log.info("image tab: %s", error)
            return cleared(model_name, f"**{error.visitor}**")
        elapsed = time.perf_counter() - started
        count = len(analysis.faces)
        log.info(
            "image %dx%d, %d faces, %s, %.0f ms",
            analysis.width,
            analysis.height,
            count,
            model_name,
            elapsed * 1000,
        )
        columns, rows = face_columns(model_name), face_rows(analysis)
        folder = new_export_dir()
        csv_path = write_csv(rows, columns, folder / download_name(path, model_name, "csv"))
        json_path = write_json(
            {**analysis.to_dict(), "notes": list(image.notes)},
            folder / download_name(path, model_name, "json"),
        )
        small = too_small_note(len(analysis.too_small), options.min_face_size)
        if count == 0 and not small:
            gr.Warning(NO_FACES)
        figure = probability_chart(analysis.faces) if count else empty_figure("No faces found")
        summary = analysis_summary(count, analysis.model_display_name, elapsed)
        notes = (*image.notes, *([small] if small else ()))
        result = (
            annotate(image.pixels, analysis.faces, bool(show_landmarks), analysis.too_small),
            with_notes(summary, notes),
            figure,
            table_frame(rows, columns),
            str(csv_path),
            str(json_path),
            face_cards(image.pixels, analysis),
        )
        examples.put(key, (result[0], with_notes(summary, (*notes, REUSED_NOTE)), *result[2:]),
                     files=(csv_path, json_path))  # fmt: skip
        return result

    @user_errors
    def run_comparison(path: str | None, threshold: float, min_face: float) -> tuple:
        if not path:
            raise gr.Error("Please upload a photo first.", print_exception=False)
        image, analyses = studio.compare_file(path, detection_options(threshold, min_face))
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
        if not agreements:
            gr.Warning(NO_FACES)
            verdicts = "**No faces found**."
        else:
            verdicts = " ".join(
                f"Face #{a.face}: **{a.agreeing} of {a.models}** models say **{a.label}**."
                for a in agreements
            )
        shared = agreements[0].shared_labels if agreements else ()
        basis = []
        if agreements and len(shared) < len(compared_labels(analyses)):
            basis = [f"Votes are each model's most probable label among the {len(shared)} all of them have "
                     f"({', '.join(shared)}): a class one model lacks is not a disagreement."]  # fmt: skip
        message = "\n\n".join([verdicts, *basis, f"{ran}.", *skipped])
        faces = analyses[0].faces if analyses else []
        return (
            annotate(image.pixels, faces),
            with_notes(message, image.notes),
            comparison_chart(analyses, agreements),
            table_frame(rows, columns),
            str(csv_path),
            str(json_path),
            face_cards(image.pixels, analyses[0]) if analyses else "",
        )

    outputs = [image_out, status, chart, table, csv_file, json_file, cards]
    analysis_inputs = [image_in, model, threshold, min_face, landmarks]
    # On a phone the results are below the controls: pressing a button scrolls to them.
    analyse.click(run, analysis_inputs, outputs, api_name="analyze_image", scroll_to_output=True, **QUICK)

    # Per session: its last request and the result (a Future: a repeat may come while it runs).
    last: OrderedDict[str, tuple[tuple, Future]] = OrderedDict()
    last_lock = threading.Lock()

    def refresh(path: str | None, model_name: str, threshold: float, min_face: float, show_landmarks: bool,
                request: gr.Request, progress=gr.Progress()):  # noqa: B008 (Gradio injects it)  # fmt: skip
        """A new photo (upload, paste or example), model, detection setting or drawing choice:
        analysed at once; no photo: nothing shown. A repeat of the session's last request (a drop
        onto the photo fires the change event twice, at once) shares its run instead of another."""
        if not path:
            return cleared(model_name)
        asked = (path, model_name, threshold, min_face, bool(show_landmarks))
        session = getattr(request, "session_hash", None) or ""
        with last_lock:
            if session in last and last[session][0] == asked:
                shared = last[session][1]
                if not shared.done() or _files_exist(shared.result()):  # a purged download is made again
                    return shared.result()
            future: Future = Future()
            last[session] = (asked, future)
            last.move_to_end(session)
            while len(last) > 256:
                last.popitem(last=False)
        try:
            future.set_result(run(path, model_name, threshold, min_face, show_landmarks, progress))
        except BaseException as error:
            future.set_exception(error)
            with last_lock:  # a failure is not kept: the same request tries again
                if last.get(session, (None, None))[1] is future:
                    del last[session]
        return future.result()

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

    why_calls: dict[str, int] = {}  # per session: Why? requests so far; a stale one's maps are not shown

    @user_errors
    def show_why(path: str | None, model_name: str, target: str, threshold: float, min_face: float,
                 show: bool, request: gr.Request,
                 progress: gr.Progress = gr.Progress()) -> gr.Gallery:  # noqa: B008  # fmt: skip
        """The Why? view: where the model looked on each face, for the class picked (one the model
        has, else each face's top label); it follows the photo, the model and the class. Maps that
        took long are dropped if a newer request (Why? switched off, another photo) came meanwhile."""
        session = getattr(request, "session_hash", None) or ""
        with last_lock:
            if len(why_calls) > 4096:  # sessions come and go: an in-flight request then just shows nothing
                why_calls.clear()
            call = why_calls[session] = why_calls.get(session, 0) + 1
        if not show or not path:
            return gr.Gallery(None, visible=False)
        asked = target if target in target_choices(model_name)[1:] else None
        try:
            image, analysis = studio.analyze_file(path, model_name, download_progress(progress),
                                                  detection_options(threshold, min_face))  # fmt: skip
        except ModelUnavailableError:  # the result panel says so, once
            return gr.Gallery(None, visible=False)
        saliencies = studio.explain(image.pixels, analysis, asked)
        if why_calls.get(session) != call:
            return gr.skip()
        if not saliencies:
            return gr.Gallery(None, visible=False)
        label = f"Where the model looked (Grad-CAM, {saliencies[0].seconds * 1000:.0f} ms a face)"
        if len(analysis.faces) > len(saliencies):
            label += f"; faces #1-{len(saliencies)} of {len(analysis.faces)}"
        return gr.Gallery(gallery_items(image.pixels, saliencies, asked), visible=True, label=label)

    why_inputs = [image_in, model, why_target, threshold, min_face, why]
    # always_last: switching Why? off while its maps are computed must still hide them.
    why_triggers = (image_in.change, model.change, why.input, why_target.input, analyse.click,
                    threshold.release, min_face.release)  # fmt: skip
    for trigger in why_triggers:
        trigger(show_why, why_inputs, why_maps, api_visibility="private", trigger_mode="always_last", **QUICK)
    model.change(lambda name: gr.Dropdown(choices=target_choices(name), value=TOP_LABEL), model, why_target,
                 queue=False, api_visibility="private")  # fmt: skip
    return image_in, as_video
