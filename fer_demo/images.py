"""Read any still image a user may upload into one form: RGB uint8, upright.

Everything downstream assumes ``(H, W, 3)`` RGB uint8, so every odd mode
(grayscale, alpha, palette, 16-bit, CMYK) and EXIF rotation is dealt with here,
and every way a file can be bad becomes an :class:`InputError` with a message.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from fer_demo.errors import InputError

MIN_SIDE = 24  # below this no detector can find a face


def load_image(source: str | Path | bytes, max_pixels: int) -> np.ndarray:
    """Decode an image file into an upright RGB uint8 array of shape (H, W, 3).

    Args:
        source: a path or the file's bytes.
        max_pixels: refuse images with more pixels than this before decoding them.

    Raises:
        InputError: empty, not an image, truncated, too large or too small.
    """
    if isinstance(source, bytes):
        if not source:
            raise InputError("The file is empty (0 bytes). Please upload a photo.")
        stream: io.BytesIO | Path = io.BytesIO(source)
    else:
        stream = Path(source)
        if not stream.is_file():
            raise InputError("No image was received. Please upload a photo.")
        if stream.stat().st_size == 0:
            raise InputError("The file is empty (0 bytes). Please upload a photo.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(stream)
            _check_size(image.size, max_pixels)
            image.load()
    except Image.DecompressionBombError as error:
        raise InputError(f"This image is too large to analyse safely ({error}).") from error
    except UnidentifiedImageError as error:
        raise InputError(
            "This file is not an image we can read. Please upload a JPEG, PNG, WebP, BMP, GIF or TIFF."
        ) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise InputError(
            "The image file is truncated or corrupt and cannot be decoded. Please upload it again."
        ) from error
    return to_rgb_array(image)


def _check_size(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise InputError(
            f"This image is too large: {width}x{height} = {width * height / 1e6:.0f} megapixels; "
            f"the limit is {max_pixels / 1e6:.0f} megapixels. Please resize it."
        )
    if min(width, height) < MIN_SIDE:
        raise InputError(
            f"This image is too small ({width}x{height} pixels) to find a face in; "
            f"it needs at least {MIN_SIDE} pixels on each side."
        )


def to_rgb_array(image: Image.Image) -> np.ndarray:
    """Apply EXIF orientation and convert any PIL mode to RGB uint8 (H, W, 3)."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        image = Image.fromarray(_to_uint8(np.asarray(image)))
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        # Transparent pixels would be black by default; white is how viewers show them.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """Rescale a 16-bit or float single-channel image to 0..255."""
    values = values.astype(np.float64)
    low, high = float(values.min()), float(values.max())
    if values.dtype.kind == "f" and high <= 1.0 and low >= 0.0:
        return np.round(values * 255).astype(np.uint8)
    if high > 255:
        top = 65535.0 if high <= 65535 else high
        return np.round(values / top * 255).astype(np.uint8)
    return np.clip(values, 0, 255).astype(np.uint8)
