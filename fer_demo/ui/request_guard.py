"""What a public app's requests may do: open only files Gradio received, and fail with a message.

An API client can put any path into a file payload (``{"path": "/etc/passwd"}``),
and Gradio 6.31 hands a payload without ``meta`` to the component as it is. So
every file input goes through :func:`received_file`: the path, resolved with
``realpath`` (no symlink or ``..`` escapes), must name a regular file inside
Gradio's upload and cache folder. Anything else gets the same message whether
the path exists or not, so an answer tells nothing about the server's files.
Requests Gradio itself refuses before any handler runs (foreign files with
``meta``, wrongly typed sliders, too few inputs) get a message too.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path
from typing import Any

import gradio as gr
import pydantic
from gradio.exceptions import ComponentProcessingError, InvalidPathError
from gradio.utils import get_upload_folder

from fer_demo.errors import InputError
from fer_demo.media.images import check_image_header, decode_camera_frame

PLEASE_UPLOAD = "Please upload the file: this app only analyses files uploaded to it."


def received_folders() -> tuple[Path, ...]:
    """Where Gradio keeps what it received: uploads, pasted data URLs and example files."""
    return (Path(os.path.realpath(get_upload_folder())),)


def received_file(path: Any) -> str:
    """The real path of an uploaded file, or InputError(PLEASE_UPLOAD).

    Refuses anything that is not a non-empty string or path, lies outside
    :func:`received_folders` once resolved, or is not a regular file (a FIFO
    or device would block or never end).
    """
    if not isinstance(path, str | os.PathLike) or not os.fspath(path):
        raise InputError(PLEASE_UPLOAD)
    try:
        resolved = Path(os.path.realpath(path))
        inside = any(resolved.is_relative_to(folder) for folder in received_folders())
        if not inside or not stat.S_ISREG(resolved.stat().st_mode):
            raise InputError(PLEASE_UPLOAD)
    except (OSError, ValueError) as error:  # missing, unreadable, a NUL byte in the path...
        raise InputError(PLEASE_UPLOAD) from error
    return str(resolved)


def payload_path(payload: Any) -> Any:
    """The ``path`` of a file payload, whether Gradio parsed it (FileData) or not (a dict)."""
    if isinstance(payload, dict):
        return payload.get("path")
    return getattr(payload, "path", None)


def data_url_bytes(url: Any) -> bytes | None:
    """The bytes of a ``data:...;base64,`` URL (how the webcam and clipboard send images), else None."""
    if not isinstance(url, str) or not url.startswith("data:"):
        return None
    _, _, encoded = url.partition(",")
    try:
        return base64.b64decode(encoded, validate=False)
    except (binascii.Error, ValueError) as error:
        raise InputError("This image could not be decoded. Please try another file.") from error


def accept_received_files(
    component: gr.components.Component, pass_path: bool = False, max_pixels: int | None = None
) -> gr.components.Component:
    """Make a file component refuse any file Gradio did not receive, before anything opens it.

    With ``pass_path`` the handler gets the checked path unopened (our decoders
    explain bad files better than Gradio's preprocessing); otherwise Gradio's
    own preprocessing runs on the checked file. With ``max_pixels``, images
    sent inline as data URLs (webcam frames, pasted images) are accepted once
    their header shows a size within the limit; without it they are refused.
    Patching the instance, not subclassing: Gradio writes a ``.pyi`` stub
    beside any module defining a component.
    """
    gradio_preprocess = component.preprocess
    # A live camera's frames, decoded here at once: the bytes are already in hand.
    camera = getattr(component, "streaming", False) and getattr(component, "type", None) == "numpy"

    def preprocess(payload: Any) -> Any:
        if payload is None:
            return None
        try:
            inline = data_url_bytes(getattr(payload, "url", None)) if max_pixels else None
            if inline is not None and camera:
                return decode_camera_frame(inline, max_pixels)
            if inline is not None:
                check_image_header(inline, max_pixels)
            else:
                path = received_file(payload_path(payload))
                if pass_path:
                    return path
        except InputError as error:
            raise gr.Error(str(error), print_exception=False) from None
        try:
            return gradio_preprocess(payload)
        except Exception as error:  # an inline image Gradio could not decode
            raise gr.Error("This image could not be decoded. Please try another file.") from error

    component.preprocess = preprocess
    return component


def check_slider_values(components: list, values: list) -> None:
    """A slider's value must be a number: say which slider, and its range, when it is not."""
    for component, value in zip(components, values, strict=False):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if isinstance(component, gr.Slider) and not number:
            raise gr.Error(
                f"{component.label} must be a number from {component.minimum:g} to "
                f"{component.maximum:g}; got {value!r}.",
                print_exception=False,
            )


def explain_refused_requests(demo: gr.Blocks) -> None:
    """Give the requests Gradio itself refuses a message instead of an empty error.

    Gradio checks a call before any component sees it: a file payload with
    ``meta`` that names a foreign file raises ``InvalidPathError``, a video
    payload without ``meta`` a pydantic ``ValidationError``, and a call with
    too few inputs a ``ValueError``; the client would get ``error: null``.
    """
    gradio_preprocess_data = demo.preprocess_data

    async def preprocess_data(block_fn: Any, inputs: list, *args: Any, **kwargs: Any) -> Any:
        if isinstance(inputs, list):
            check_slider_values(block_fn.inputs, inputs)
        try:
            return await gradio_preprocess_data(block_fn, inputs, *args, **kwargs)
        except (InvalidPathError, pydantic.ValidationError):  # a foreign or malformed file payload
            raise gr.Error(PLEASE_UPLOAD, print_exception=False) from None
        except ComponentProcessingError as error:
            raise gr.Error(
                "An input of this call has the wrong type; the API page (footer: Use via API) "
                "says what each input takes.",
                print_exception=False,
            ) from error
        except ValueError as error:
            needed = len(block_fn.inputs)
            if not isinstance(inputs, list) or len(inputs) >= needed:
                raise
            raise gr.Error(
                f"This endpoint takes {needed} inputs and the call sent {len(inputs)}. The API page "
                "(footer: Use via API) lists them; gradio_client fills in the defaults.",
                print_exception=False,
            ) from error

    demo.preprocess_data = preprocess_data

    demo.preprocess_data = preprocess_data
