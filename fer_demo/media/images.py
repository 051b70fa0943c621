"""Read any still image a user may upload into one form: RGB uint8, upright.

Everything downstream assumes ``(H, W, 3)`` RGB uint8, so every odd mode
(grayscale, alpha, palette, 16-bit, float, CMYK) and EXIF rotation is dealt
with here, and every way a file can be bad becomes an :class:`InputError`
with a message of its own. What the user should know about how the file was
read (only the first of several frames, float values rescaled) comes back as
notes beside the pixels.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from fer_demo.errors import InputError

MIN_SIDE = 24  # below this no detector can find a face
FORMATS = "JPEG, PNG, WebP, BMP, GIF or TIFF"
NOT_AN_IMAGE = f"This file is not an image we can read. Please upload a {FORMATS}."
TRUNCATED = "The image file is truncated or corrupt and cannot be decoded. Please upload it again."
UNDECODABLE = (
    "This image is damaged or uses a feature our decoder does not support, so it cannot be read. "
    f"Please save it again as a {FORMATS}."
)
# The decoders an upload may reach: what we advertise (JPEG includes phones' MPO files). Pillow
# knows dozens more (EPS would even run Ghostscript); every one is attack surface nobody needs here.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
Image.init()  # registers every plugin, so that Image.open(formats=...) can name them
# Formats whose extra frames are real content (animation, pages); MPO's second frame is a phone's depth map.
MULTI_FRAME_FORMATS = {"GIF", "PNG", "WEBP", "TIFF"}


@dataclass(frozen=True)
class DecodedImage:
    """An upload as the pipeline needs it, and what the user should know about how it was read.

    Attributes:
        pixels: RGB uint8 (H, W, 3), upright.
        frames: how many frames (or pages) the file holds; only the first is in ``pixels``.
        notes: sentences for the user, e.g. that float values were rescaled.
    """

    pixels: np.ndarray
    frames: int = 1
    notes: tuple[str, ...] = ()


def load_image(source: str | Path | bytes, max_pixels: int) -> np.ndarray:
    """Decode an image file into an upright RGB uint8 array of shape (H, W, 3); see :func:`decode_image`."""
    return decode_image(source, max_pixels).pixels


def decode_image(source: str | Path | bytes | np.ndarray, max_pixels: int) -> DecodedImage:
    """Decode the first frame of an image file, with notes on anything the user should know.

    Args:
        source: a path, the file's bytes, or an image already in memory (see :func:`decode_array`).
        max_pixels: refuse images with more pixels than this before decoding them.

    Raises:
        InputError: empty, not an image, truncated, damaged, too large or too small.
    """
    if isinstance(source, np.ndarray):
        return decode_array(source, max_pixels)
    with pillow_errors(max_pixels):
        image = Image.open(_open_source(source), formats=ACCEPTED_FORMATS)
        check_size(image.size, max_pixels)
        frames = _frame_count(image)
        animated = plays_as_animation(image)
        image.load()
        pixels, notes = to_rgb_array(image)
    if frames > 1:
        notes = (_frames_note(frames, animated, image.format), *notes)
    return DecodedImage(pixels, frames, notes)


def plays_as_animation(image: Image.Image) -> bool:
    """Several frames meant to be played (GIF, APNG, WebP), not the pages of a TIFF."""
    return image.format != "TIFF" and bool(getattr(image, "is_animated", False))


def check_image_header(data: bytes, max_pixels: int) -> None:
    """Refuse image bytes that are empty, not an image or too large, reading only the header."""
    with pillow_errors(max_pixels):
        check_size(Image.open(_open_source(data), formats=ACCEPTED_FORMATS).size, max_pixels)


def decode_camera_frame(data: bytes, max_pixels: int) -> np.ndarray:
    """A webcam frame (a JPEG the page's canvas made) as RGB uint8, header checked first.

    Canvas JPEGs carry no EXIF orientation, so this skips what a photo needs; at 15-30 frames a
    second per viewer the few milliseconds count.
    """
    with pillow_errors(max_pixels):
        image = Image.open(_open_source(data), formats=ACCEPTED_FORMATS)
        check_size(image.size, max_pixels)
        return np.asarray(image.convert("RGB"))


@contextlib.contextmanager
def pillow_errors(max_pixels: int) -> Iterator[None]:
    """Turn whatever Pillow raises on a hostile or damaged file into an InputError that says what happened."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            warnings.filterwarnings("ignore", module="PIL")  # e.g. corrupt EXIF: the result says enough
            yield
    except InputError:
        raise
    except Image.DecompressionBombError as error:
        raise InputError(_bomb_message(str(error), max_pixels)) from error
    except UnidentifiedImageError as error:
        raise InputError(NOT_AN_IMAGE) from error
    except MemoryError as error:
        raise InputError("This image needs more memory to decode than the server can give it.") from error
    except Exception as error:  # Pillow raises many types for damaged data
        raise InputError(_damage_message(error)) from error


def _open_source(source: str | Path | bytes) -> io.BytesIO | Path:
    if isinstance(source, bytes):
        if not source:
            raise InputError("The file is empty (0 bytes). Please upload a photo.")
        return io.BytesIO(source)
    path = Path(source)
    if not path.is_file():
        raise InputError("No image was received. Please upload a photo.")
    if path.stat().st_size == 0:
        raise InputError("The file is empty (0 bytes). Please upload a photo.")
    return path


def check_size(size: tuple[int, int], max_pixels: int) -> None:
    """Refuse images too large to decode safely or too small to hold a face, with the numbers."""
    width, height = size
    if width * height > max_pixels:
        raise InputError(
            f"This image is too large: {width}x{height} = {_megapixels(width * height)} megapixels; "
            f"the limit is {_megapixels(max_pixels)} megapixels. Please resize it."
        )
    if min(width, height) < MIN_SIDE:
        raise InputError(
            f"This image is too small ({width}x{height} pixels) to find a face in; "
            f"it needs at least {MIN_SIDE} pixels on each side."
        )


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.0f}" if pixels >= 10e6 else f"{pixels / 1e6:.1f}"


def _bomb_message(pillow_message: str, max_pixels: int) -> str:
    """Pillow refuses images over twice its own limit while opening them; quote ours instead."""
    found = re.search(r"\((\d+) pixels\)", pillow_message)
    size = f": {_megapixels(int(found.group(1)))} megapixels" if found else ""
    return (
        f"This image is too large{size}; the limit is {_megapixels(max_pixels)} megapixels. Please resize it."
    )


def _damage_message(error: Exception) -> str:
    text = str(error)
    if "MAX_TEXT_CHUNK" in text or "text chunks" in text:
        limit = PngImagePlugin.MAX_TEXT_CHUNK / 1e6
        return (
            f"This PNG carries a text (metadata) chunk larger than {limit:.0f} MB, which is refused as "
            "unsafe. Please save the image again without its metadata."
        )
    if "truncated" in text or isinstance(error, EOFError | SyntaxError):
        return TRUNCATED
    return UNDECODABLE


def _frame_count(image: Image.Image) -> int:
    if image.format not in MULTI_FRAME_FORMATS:
        return 1
    return max(1, int(getattr(image, "n_frames", 1)))


def _frames_note(frames: int, animated: bool, image_format: str | None) -> str:
    if animated:
        return (
            f"This is an animation of {frames} frames; frame 1 of {frames} was analysed. "
            "To follow the faces through every frame, analyse it as a video."
        )
    kind = "pages" if image_format == "TIFF" else "frames"
    return f"This file holds {frames} {kind}; {kind[:-1]} 1 of {frames} was analysed."


def to_rgb_array(image: Image.Image) -> tuple[np.ndarray, tuple[str, ...]]:
    """Apply EXIF orientation and convert any PIL mode to RGB uint8 (H, W, 3), with notes."""
    notes: tuple[str, ...] = ()
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values, notes = to_uint8(np.asarray(image))
        image = Image.fromarray(values)
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        # Transparent pixels would be black by default; white is how viewers show them.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8)), notes


def to_uint8(values: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Rescale a 16-bit, 32-bit or float single-channel image to 0..255, with a note for floats.

    Float data in 0..1 is scaled by 255; anything else (HDR radiance, 0..255
    floats, negative values) is stretched from its minimum to its maximum.
    NaN becomes 0 and infinities the largest or smallest finite value.
    """
    if values.dtype.kind != "f":
        wide = values.astype(np.float64)
        high = float(wide.max())
        if high > 255:
            top = 65535.0 if high <= 65535 else high
            return np.round(wide / top * 255).astype(np.uint8), ()
        return np.clip(wide, 0, 255).astype(np.uint8), ()
    finite = np.isfinite(values)
    bad = int(values.size - np.count_nonzero(finite))
    low = float(values[finite].min()) if finite.any() else 0.0
    high = float(values[finite].max()) if finite.any() else 0.0
    clean = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=high, neginf=low)
    if low >= 0.0 and high <= 1.0:
        scaled = clean * 255
    else:
        scaled = (clean - low) / (high - low) * 255 if high > low else np.zeros_like(clean)
    note = f"This image holds floating-point values from {low:.4g} to {high:.4g}"
    if bad:
        note += f" and {bad} pixel{'s' if bad != 1 else ''} with no value (NaN or infinite, set to 0)"
    note += "; they were scaled to 0–255 for analysis."
    return np.clip(np.round(scaled), 0, 255).astype(np.uint8), (note,)


def decode_array(array: np.ndarray, max_pixels: int) -> DecodedImage:
    """An image already in memory (NumPy: gray, RGB or RGBA) as the pipeline needs it.

    Colour must be uint8 RGB(A), as PIL and imageio give it (OpenCV's BGR must be
    flipped first); one channel may be any integer or float type (rescaled, with a note).

    Raises:
        InputError: not 2-D gray or H x W x 1/3/4, empty, or over ``max_pixels``.
    """
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    shape = "x".join(map(str, array.shape))
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InputError(
            f"An image array must be H x W (gray), H x W x 3 (RGB) or H x W x 4 (RGBA); got {shape}."
        )
    if array.ndim == 3 and array.dtype != np.uint8:
        raise InputError(f"A colour image array must be uint8 (0-255); got {array.dtype} ({shape}).")
    if array.dtype.kind not in "uif":
        raise InputError(f"An image array must hold numbers; got {array.dtype}.")
    check_size((array.shape[1], array.shape[0]), max_pixels)
    notes: tuple[str, ...] = ()
    if array.ndim == 2 and array.dtype != np.uint8:
        array, notes = to_uint8(array)
    pixels, more = to_rgb_array(Image.fromarray(np.ascontiguousarray(array)))
    return DecodedImage(pixels, 1, (*notes, *more))
