"""Helpers every tab uses: error translation, file inputs, download progress."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

import gradio as gr

from fer_demo.errors import UserFacingError
from fer_demo.model_cards import weights_status
from fer_demo.models.specs import TEMPORAL_SPECS, get_spec
from fer_demo.models.weights import Progress
from fer_demo.studio import Studio

log = logging.getLogger(__name__)

NO_TEMPORAL = "none"  # the temporal-model picker's "no LSTM" choice


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


def _translate(error: Exception, name: str) -> gr.Error:
    """The gr.Error a user sees for ``error``; unexpected errors are logged, not shown."""
    if isinstance(error, gr.Error):
        return error
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


def temporal_options(model_name: str) -> dict:
    """Choices of the temporal-model picker: the model's LSTMs, shown only for models that have them."""
    names = get_spec(model_name).temporal_models
    choices = [("none (exponential smoothing)", NO_TEMPORAL)]
    choices += [(f"{TEMPORAL_SPECS[n].display_name} ({TEMPORAL_SPECS[n].reported})", n) for n in names]
    return {"choices": choices, "value": NO_TEMPORAL, "visible": bool(names)}


def chosen_lstm(temporal: str | None) -> str | None:
    """The temporal-model picker's value as an LSTM name, or None for smoothing."""
    return None if temporal in (None, "", NO_TEMPORAL) else temporal


def follow_model(model: gr.Dropdown, temporal: gr.Dropdown, api_name: str) -> None:
    """Offer the chosen model's temporal models (and hide the picker for models without any)."""
    model.change(
        lambda name: gr.Dropdown(**temporal_options(name)), model, temporal, api_name=api_name, queue=False
    )
