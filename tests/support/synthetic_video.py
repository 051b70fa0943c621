"""Synthesised test videos with known face positions, made from the public-domain examples.

A head-and-shoulders tile of the astronaut (NASA, public domain) glides
across a gradient; optionally a tile of the White House portrait (public
domain) crosses the other way for part of the clip. Tile positions are
exact, so every frame's true face box is known once the face's box inside
each tile is measured.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from tests.support.paths import EXAMPLES


def face_tiles(height: int) -> list[np.ndarray]:
    """Astronaut and portrait head tiles, ``height`` pixels tall, RGB uint8."""
    astronaut = Image.open(EXAMPLES / "astronaut.jpg").crop((120, 10, 330, 250))
    portrait = Image.open(EXAMPLES / "biden-portrait.jpg").crop((360, 80, 800, 660))
    return [np.asarray(tile.resize((round(tile.width * height / tile.height), height))) for tile in
            (astronaut, portrait)]  # fmt: skip


@dataclass
class Clip:
    """A synthesised clip: where each tile is at each frame ((x, y) of its top-left corner)."""

    path: Path
    fps: float
    size: tuple[int, int]  # width, height
    frames: int
    tile_sizes: list[tuple[int, int]]
    positions: list[dict[int, tuple[int, int]]] = field(default_factory=list)  # frame -> {tile: (x, y)}


def _background(width: int, height: int) -> np.ndarray:
    frame = np.empty((height, width, 3), np.uint8)
    frame[..., 0] = np.linspace(40, 120, width, dtype=np.uint8)[None, :]
    frame[..., 1] = np.linspace(90, 60, height, dtype=np.uint8)[:, None]
    frame[..., 2] = 110
    return frame


def clip_frames(clip: Clip, tiles: list[np.ndarray]) -> Iterator[np.ndarray]:
    background = _background(*clip.size)
    for positions in clip.positions:
        frame = background.copy()
        for tile_index, (x, y) in positions.items():
            tile = tiles[tile_index]
            h, w = tile.shape[:2]
            frame[y : y + h, x : x + w] = tile
        yield frame


def make_clip(
    path: Path,
    seconds: float = 3.0,
    fps: float = 25.0,
    size: tuple[int, int] = (640, 360),
    tile_height: int = 150,
    second_face: tuple[float, float] | None = (1.0, 2.2),
    audio: bool = False,
) -> Clip:
    """Write an H.264 MP4: tile 0 moves left to right for the whole clip; tile 1 moves right
    to left in the upper band between ``second_face`` seconds (start, end)."""
    width, height = size
    tiles = face_tiles(tile_height)
    frames = round(seconds * fps)
    clip = Clip(Path(path), fps, size, frames, [(t.shape[1], t.shape[0]) for t in tiles])
    for i in range(frames):
        t = i / fps
        progress = i / max(frames - 1, 1)
        positions = {0: (round(10 + progress * (width - tiles[0].shape[1] - 20)), height - tile_height - 10)}
        if second_face and second_face[0] <= t < second_face[1]:
            share = (t - second_face[0]) / (second_face[1] - second_face[0])
            x = round(width - tiles[1].shape[1] - 10 - share * (width - tiles[1].shape[1] - 20))
            positions[1] = (x, 5)
        clip.positions.append(positions)
    write_mp4(clip, clip_frames(clip, tiles), audio=audio)
    return clip


def write_mp4(clip: Clip, frames: Iterator[np.ndarray], audio: bool = False) -> None:
    rate = Fraction(clip.fps).limit_denominator(1001)
    with av.open(str(clip.path), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height = clip.size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "20"}
        sound = None
        if audio:
            sound = container.add_stream("aac", rate=44100)
            sound.layout = "mono"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if sound is not None:
            samples = int(clip.frames / clip.fps * 44100)
            tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / 44100)).astype(np.float32)
            for start in range(0, samples, 1024):
                samples_now = tone[None, start : start + 1024]
                chunk = av.AudioFrame.from_ndarray(samples_now, format="fltp", layout="mono")
                chunk.sample_rate = 44100
                chunk.pts = start
                for packet in sound.encode(chunk):
                    container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)


def true_boxes(clip: Clip, face_in_tile: dict[int, np.ndarray]) -> list[dict[int, np.ndarray]]:
    """Per frame, {tile: true face box (x1, y1, x2, y2)} from the face's box inside each tile."""
    return [
        {tile: face_in_tile[tile] + np.array([x, y, x, y], np.float32) for tile, (x, y) in positions.items()}
        for positions in clip.positions
    ]


def webcam_frames(
    count: int, size: tuple[int, int] = (640, 480), tile_height: int = 220, both: bool = False
) -> Iterator[np.ndarray]:
    """Camera-like RGB frames: the astronaut sways left and right (and the portrait stands still).

    Like a real sensor, every frame carries a little noise, so no two are identical.
    """
    width, height = size
    tiles = face_tiles(tile_height)
    background = _background(width, height)
    rng = np.random.default_rng(0)
    for i in range(count):
        frame = background + rng.integers(0, 3, background.shape, np.uint8)
        x = round(40 + 30 * np.sin(i / 5))  # a few pixels per frame, like a person moving on a call
        frame[height - tile_height - 10 : height - 10, x : x + tiles[0].shape[1]] = tiles[0]
        if both:
            portrait = tiles[1]
            frame[10 : 10 + tile_height, width - portrait.shape[1] - 10 : width - 10] = portrait
        yield frame


def write_y4m(path: Path, frames: Iterator[np.ndarray], fps: int = 15) -> Path:
    """A YUV4MPEG2 (4:2:0) file: what Chromium's fake camera plays with --use-file-for-fake-video-capture."""
    frames = list(frames)
    height, width = frames[0].shape[:2]
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            y, u, v = Image.fromarray(frame).convert("YCbCr").split()
            half = (width // 2, height // 2)
            out.write(b"FRAME\n" + y.tobytes() + u.resize(half).tobytes() + v.resize(half).tobytes())
    return Path(path)
