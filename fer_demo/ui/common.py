"""Helpers every tab uses: error translation, file inputs, download progress."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

import gradio as gr

from fer_demo.errors import ModelUnavailableError, UserFacingError
from fer_demo.models.specs import TEMPORAL_SPECS, get_spec
from fer_demo.models.weights import Progress
from fer_demo.presentation.model_cards import weights_status
from fer_demo.ui.values import NO_TEMPORAL
from fer_demo.workflow.studio import Studio

log = logging.getLogger(__name__)

# Image requests share one Gradio group with room for many: the CPU work inside them is bounded by
# Studio.analysis_slots instead, so a request waiting for a model download holds back no one else.
QUICK = {"concurrency_id": "images", "concurrency_limit": 16}


def detection_controls(studio: Studio) -> tuple[gr.Slider, gr.Slider]:
    """The two sliders that say what counts as a face (every tab has them)."""
    defaults = studio.settings.detection
    threshold = gr.Slider(
        0.5,
        1.0,
        value=defaults.min_confidence,
        step=0.005,
        label="Face detection threshold",
        info="Weaker detections are neither drawn nor reported. Raise it if hair or objects get boxes.",
    )
    min_face = gr.Slider(
        0,
        400,
        value=defaults.min_face_size,
        step=1,
        label="Minimum face size (pixels)",
        info="Smaller faces (shorter side of the box, in image pixels) are ignored.",
    )
    return threshold, min_face


def _translate(error: Exception, name: str) -> gr.Error:
    """The gr.Error a user sees for ``error``; unexpected errors are logged, not shown."""
    if isinstance(error, gr.Error):
        return error
    if isinstance(error, ModelUnavailableError):  # a visitor cannot fix a server's folders
        log.info("model unavailable in %s: %s", name, error)
        return gr.Error(error.visitor, print_exception=False)
    if isinstance(error, UserFacingError):
        return gr.Error(str(error), print_exception=False)
    log.error("unexpected error in %s", name, exc_info=error)
    return gr.Error(
        "Something went wrong while analysing this input. It was logged; please try another file or model.",
        print_exception=False,
    )


def user_errors(fn: Callable) -> Callable:
    """Turn our errors into ``gr.Error`` and hide unexpected ones behind a plain message.

    Generator functions (progress-streaming handlers) stay generator functions, so
    Gradio still streams them and errors raised while iterating are translated too.
    """
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except Exception as error:
                raise _translate(error, fn.__name__) from None

        return generator

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            raise _translate(error, fn.__name__) from None

    return wrapper


def download_progress(progress: gr.Progress) -> Progress:
    """Report weight downloads on a Gradio progress bar."""

    def report(done: int, total: int | None) -> None:
        if total:
            progress(
                done / total, desc=f"Downloading model weights: {done / 1e6:.0f} of {total / 1e6:.0f} MB"
            )
        else:
            progress(None, desc=f"Downloading model weights: {done / 1e6:.0f} MB")

    return report


def model_note(studio: Studio, name: str) -> str:
    """The line under the model picker: accuracy, license, weight status and fix."""
    spec = get_spec(name)
    return (
        f"**{spec.display_name}**: {spec.reported_accuracy}. License: {spec.license}. "
        f"Weights: {weights_status(studio.availability(name))}"
    )


def refresh_on_focus(model: gr.Dropdown, studio: Studio) -> None:
    """Re-read every model's status when the menu is opened: a download that failed, or weights
    put in place, show in the labels without reloading the page."""
    model.focus(
        lambda: gr.Dropdown(choices=studio.model_choices()),
        None,
        model,
        queue=False,
        api_visibility="private",
    )


def temporal_options(model_name: str) -> dict:
    """Choices of the temporal-model picker: the model's LSTMs, shown only for models that have them."""
    names = get_spec(model_name).temporal_models
    choices = [("none (exponential smoothing)", NO_TEMPORAL)]
    choices += [(f"{TEMPORAL_SPECS[n].display_name} ({TEMPORAL_SPECS[n].reported})", n) for n in names]
    return {"choices": choices, "value": NO_TEMPORAL, "visible": bool(names)}


def follow_model(model: gr.Dropdown, temporal: gr.Dropdown, api_name: str) -> None:
    """Offer the chosen model's temporal models (and hide the picker for models without any)."""
    model.change(
        lambda name: gr.Dropdown(**temporal_options(name)), model, temporal, api_name=api_name, queue=False
    )
