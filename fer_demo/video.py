"""A whole video through the stream analyzer, as a generator of progress events.

Frames are decoded one at a time (PyAV), analysed, drawn and handed to an
encoder thread, so decoding, inference and encoding overlap and memory stays
flat whatever the video's length. The caller iterates: every event is
either a :class:`VideoProgress` or, last, the :class:`VideoResult`.
Stopping the iteration (closing the generator) cancels the work promptly.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from fer_demo.config import VideoLimits
from fer_demo.errors import InputError
from fer_demo.render import annotate
from fer_demo.stream import StreamAnalyzer
from fer_demo.timeline import face_summary, frame_records
from fer_demo.video_io import VideoInfo, VideoWriter, probe, read_frames


@dataclass(frozen=True)
class VideoProgress:
    frames_done: int
    frames_total: int
    elapsed: float  # seconds of wall time so far
    preview: np.ndarray | None  # the latest annotated frame, now and then

    @property
    def fps(self) -> float:
        return self.frames_done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float:
        remaining = max(self.frames_total - self.frames_done, 0)
        return remaining / self.fps if self.fps > 0 else float("inf")


@dataclass(frozen=True)
class VideoResult:
    output: Path
    records: list[dict]
    summary: list[dict]
    info: VideoInfo
    frames: int
    elapsed: float
    model: str

    @property
    def speed(self) -> float:
        """Processing speed as a multiple of real time (1.0 = as fast as the video plays)."""
        return self.info.duration / self.elapsed if self.elapsed > 0 else 0.0


def check_limits(info: VideoInfo, limits: VideoLimits) -> None:
    """Refuse, with the numbers, a video longer or larger than the server accepts."""
    if info.duration > limits.max_seconds:
        raise InputError(
            f"This video is {_duration_text(info.duration)} long; this server analyses up to "
            f"{_duration_text(limits.max_seconds)}. Please trim it, or run the app yourself "
            f"with a higher FER_DEMO_VIDEO_MAX_SECONDS."
        )
    if max(info.width, info.height) > limits.max_side:
        raise InputError(
            f"This video is {info.width}x{info.height}; the largest accepted side is "
            f"{limits.max_side} pixels. Please downscale it."
        )


def _duration_text(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def fit_within(image: np.ndarray, max_side: int) -> np.ndarray:
    """Downscale an RGB frame so its longest side is at most ``max_side`` (no upscaling)."""
    height, width = image.shape[:2]
    if max(height, width) <= max_side:
        return image
    scale = max_side / max(height, width)
    size = (round(width * scale) // 2 * 2, round(height * scale) // 2 * 2)
    return np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR))


def analyze_video(
    path: str | Path,
    analyzer: StreamAnalyzer,
    output: Path,
    limits: VideoLimits = VideoLimits(),  # noqa: B008 (frozen)
    progress_every: float = 0.5,
    preview_every: float = 2.0,
) -> Iterator[VideoProgress | VideoResult]:
    """Analyse every frame of ``path`` and write the annotated H.264 MP4 to ``output``.

    Yields progress at most every ``progress_every`` seconds (with a preview
    frame every ``preview_every``), then the result. Raises InputError for a
    file that is not a usable video or exceeds ``limits``.
    """
    info = probe(path)
    check_limits(info, limits)
    analyzer.reset()
    model = analyzer.model.spec.name
    records: list[dict] = []
    started = time.perf_counter()
    last_progress = last_preview = started
    frames = 0
    audio = Path(path) if info.has_audio else None
    # ultrafast: half the CPU of veryfast for a file about 3x larger, which keeps 720p real time.
    with VideoWriter(output, fps=info.fps, preset="ultrafast", audio_from=audio) as writer:
        for frame in read_frames(path):
            image = fit_within(frame.image, limits.output_side)
            faces = analyzer.process(image, frame.time)
            drawn = annotate(image, faces)
            writer.write(drawn, time=frame.time)
            records.extend(frame_records(frame.index, frame.time, faces, model))
            frames += 1
            now = time.perf_counter()
            if now - last_progress >= progress_every:
                preview = None
                if now - last_preview >= preview_every:
                    preview, last_preview = drawn, now
                last_progress = now
                yield VideoProgress(frames, max(info.frame_count, frames), now - started, preview)
    if frames == 0:
        raise InputError("No frame of this video could be decoded. The file may be damaged.")
    elapsed = time.perf_counter() - started
    summary = face_summary(records, 1.0 / info.fps if info.fps else 0.0)
    yield VideoResult(output, records, summary, info, frames, elapsed, model)
