"""Files a hostile or careless user may send, generated on the spot (no file from elsewhere).

Each function writes one file into ``folder`` and returns its path. Faces come
from the public-domain astronaut; everything else is synthesised.
"""

from __future__ import annotations

import struct
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, PngImagePlugin

from tests.support.paths import EXAMPLES


def astronaut(size: int = 256) -> Image.Image:
    return Image.open(EXAMPLES / "astronaut.jpg").convert("RGB").resize((size, size))


def png_header_only(folder: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height`` and whose data is one tiny chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    path = folder / f"claims-{width}x{height}.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


def png_with_text_chunk(folder: Path, megabytes: int) -> Path:
    """A valid small PNG carrying a compressed text chunk that inflates to ``megabytes`` MB."""
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "A" * (megabytes << 20), zip=True)
    path = folder / "big-text.png"
    astronaut(64).save(path, pnginfo=info)
    return path


def float_tiff(folder: Path, with_nan: bool = True) -> Path:
    """A 32-bit float grayscale TIFF of the astronaut scaled to 0..4 (HDR-like), with a NaN band."""
    values = np.asarray(astronaut().convert("L"), np.float32) / 64.0
    if with_nan:
        values[:20] = np.nan
    path = folder / "float.tif"
    Image.fromarray(values, mode="F").save(path)
    return path


def multi_frame(folder: Path, suffix: str, frames: int = 3) -> Path:
    """An animated GIF/PNG/WebP or a multi-page TIFF of the astronaut turning slightly."""
    images = [astronaut().rotate(angle) for angle in range(0, 5 * frames, 5)]
    path = folder / f"multi.{suffix}"
    extra = {} if suffix == "tif" else {"duration": 100, "loop": 0}
    images[0].save(path, save_all=True, append_images=images[1:], **extra)
    return path


def solid(folder: Path, width: int, height: int, name: str | None = None, mode: str = "RGB") -> Path:
    path = folder / (name or f"solid-{width}x{height}.png")
    Image.new(mode, (width, height), 128).save(path)
    return path


def other_format(folder: Path, pillow_format: str, suffix: str) -> Path:
    """A real image in a format Pillow reads but the app does not accept (EPS would run Ghostscript)."""
    path = folder / f"photo.{suffix}"
    astronaut(64).save(path, pillow_format)
    return path


def truncated_jpeg(folder: Path) -> Path:
    path = folder / "truncated.jpg"
    astronaut().save(path, quality=90)
    path.write_bytes(path.read_bytes()[:3000])
    return path


def corrupt_png(folder: Path) -> Path:
    """A PNG whose compressed pixel data is garbage (valid header, broken IDAT)."""
    path = folder / "corrupt.png"
    astronaut(64).save(path)
    data = bytearray(path.read_bytes())
    start = data.find(b"IDAT") + 4
    data[start + 10 : start + 400] = bytes(range(256)) + bytes(134)
    path.write_bytes(bytes(data))
    return path


def write_bytes(folder: Path, name: str, content: bytes) -> Path:
    path = folder / name
    path.write_bytes(content)
    return path


def video(
    folder: Path,
    name: str,
    size: tuple[int, int],
    seconds: float,
    fps: float,
    container: str = "mp4",
    face: bool = True,
) -> Path:
    """A small H.264 clip; with ``face`` the astronaut fills the frame's height."""
    width, height = size
    frame = np.full((height, width, 3), 90, np.uint8)
    if face and min(size) >= 48:
        side = min(size)
        frame[:side, :side] = np.asarray(astronaut(side))
    path = folder / name
    with av.open(str(path), "w", format=container) as output:
        stream = output.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for _ in range(round(seconds * fps)):
            output.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        output.mux(stream.encode(None))
    return path


def size_switching_video(folder: Path, first: tuple[int, int], second: tuple[int, int]) -> Path:
    """A raw H.264 stream that changes picture size halfway (two encodes, one after the other)."""
    parts = [video(folder, f"part-{w}x{h}.h264", (w, h), 0.5, 10, "h264") for w, h in (first, second)]
    path = folder / f"switch-{first[0]}-to-{second[0]}.h264"
    path.write_bytes(b"".join(part.read_bytes() for part in parts))
    return path
