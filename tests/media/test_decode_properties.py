"""Property: whatever bytes arrive, decoding an image ends quickly in pixels or an InputError.

Hypothesis mutates real encodings of a small photo (flipped and inserted bytes,
cuts, header fields set to any number); the decoder must never raise anything
but :class:`InputError` (whose message a user can read) and never hang.
"""

from __future__ import annotations

import io
import signal
import struct
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from fer_demo.errors import InputError
from fer_demo.media.images import decode_image
from tests.support.paths import EXAMPLES

MAX_PIXELS = 4_000_000
SECONDS_PER_CASE = 5
FORMATS = {
    "PNG": {},
    "JPEG": {"quality": 80},
    "GIF": {"save_all": True, "duration": 50},
    "TIFF": {"compression": "tiff_lzw"},
    "WEBP": {"quality": 80},
    "BMP": {},
}


def encodings() -> dict[str, bytes]:
    photo = Image.open(EXAMPLES / "astronaut.jpg").convert("RGB").resize((48, 48))
    result = {}
    for name, options in FORMATS.items():
        buffer = io.BytesIO()
        extra = {"append_images": [photo.rotate(10)]} if options.get("save_all") else {}
        photo.save(buffer, name, **options, **extra)
        result[name] = buffer.getvalue()
    return result


ENCODED = encodings()


@st.composite
def hostile_bytes(draw: st.DrawFn) -> bytes:
    data = bytearray(ENCODED[draw(st.sampled_from(sorted(ENCODED)))])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "cut", "number", "header"]))
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "cut":
            del data[at:]
            if not data:
                break
        elif kind == "number":  # a header-sized field (width, height, length, offset) set to any number
            at = min(at, len(data) - 4)
            if at >= 0:
                data[at : at + 4] = struct.pack(">I", draw(st.integers(0, 2**32 - 1)))
        elif (
            len(data) >= 2
        ):  # a short among the first 64 bytes (sizes, depths, modes, counts) set to anything
            at = draw(st.integers(0, min(63, len(data) - 2)))
            data[at : at + 2] = struct.pack(draw(st.sampled_from(["<H", ">H"])), draw(st.integers(0, 65535)))
    return bytes(data)


@contextmanager
def time_limit(seconds: int):
    def fail(signum: int, frame: object) -> None:
        raise TimeoutError(f"decoding took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("name", sorted(ENCODED))
def test_every_unmodified_encoding_decodes(name):
    decoded = decode_image(ENCODED[name], MAX_PIXELS)
    assert decoded.pixels.shape == (48, 48, 3) and decoded.pixels.dtype == np.uint8


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_bytes())
def test_any_bytes_end_in_pixels_or_a_readable_message_quickly(data):
    with time_limit(SECONDS_PER_CASE):
        try:
            decoded = decode_image(data, MAX_PIXELS)
        except InputError as error:
            assert str(error) and "Something went wrong" not in str(error)
            return
    height, width, channels = decoded.pixels.shape
    assert channels == 3 and decoded.pixels.dtype == np.uint8 and height * width <= MAX_PIXELS
