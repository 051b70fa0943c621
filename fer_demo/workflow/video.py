"""A whole video through the stream analyzer, as a generator of progress events.

Frames are decoded one at a time (PyAV), analysed, drawn and handed to an
encoder thread, so decoding, inference and encoding overlap and memory stays
flat whatever the video's length. The caller iterates: every event is
either a :class:`VideoProgress` or, last, the :class:`VideoResult`.
Stopping the iteration (closing the generator) cancels the work promptly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from fer_demo.analysis.persons import TrackSamples, link_tracks
from fer_demo.analysis.timeline import (
    MIN_TRACK_SECONDS,
    brief_faces,
    face_summary,
    frame_records,
    record_columns,
    with_persons,
)
from fer_demo.config import VideoLimits
from fer_demo.durations import duration_text, over_limit_text
from fer_demo.errors import InputError
from fer_demo.media.video_io import Frame, VideoInfo, VideoWriter, probe, read_frames
from fer_demo.models.specs import FACE_EMBEDDER
from fer_demo.presentation.render import annotate, too_small_note

if TYPE_CHECKING:
    from fer_demo.analysis.stream import FrameResult, StreamAnalyzer


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
    output: Path | None  # None when no video was asked for, or the job was cancelled before its first frame
    records: list[dict]
    summary: list[dict]
    info: VideoInfo
    frames: int
    elapsed: float
    model: str
    notes: tuple[str, ...] = ()  # what the user should know: resampling, size changes, limits hit
    cancelled: bool = False
    analysed_seconds: float = 0.0  # video time covered, the whole video unless stopped early
    brief_faces: tuple[int, ...] = ()  # tracks too short to report (MIN_TRACK_SECONDS), in records only
    cuts: tuple[float, ...] = ()  # seconds at which a new shot starts (shot 1 starts at the first frame)
    persons: dict[int, int] = field(default_factory=dict)  # reported track -> person (1..N)
    linked: bool = False  # persons come from re-identification (else each track is a person)
    thumbnails: dict[int, np.ndarray] = field(default_factory=dict)  # person -> their best-scored crop
    too_small_max: int = 0  # faces seen under the minimum size, at most at once
    too_small_seconds: float = 0.0  # video time during which such faces were seen

    def reported_records(self) -> list[dict]:
        """The records of the faces reported (summary, timelines): brief tracks left out."""
        brief = set(self.brief_faces)
        return [record for record in self.records if record["face_id"] not in brief]

    def flagged_records(self) -> list[dict]:
        """Every record, those of brief tracks marked ``"brief": true`` (the raw JSON)."""
        brief = set(self.brief_faces)
        return [
            {**record, "brief": True} if record["face_id"] in brief else record for record in self.records
        ]

    def person_tracks(self) -> dict[int, list[int]]:
        """Each person's tracks (the ``face_id`` s merged into them)."""
        tracks: dict[int, list[int]] = {}
        for track, person in sorted(self.persons.items()):
            tracks.setdefault(person, []).append(track)
        return dict(sorted(tracks.items()))

    def shots(self) -> list[dict]:
        """Each shot's number and the seconds it starts and ends (the last ends with the analysis)."""
        starts = [0.0, *self.cuts]
        ends = [*self.cuts, round(self.analysed_seconds, 4)]
        spans = enumerate(zip(starts, ends, strict=True), start=1)
        return [{"shot": shot, "start_s": start, "end_s": end} for shot, (start, end) in spans]

    def columns(self) -> list[str]:
        """The per-frame CSV's columns."""
        return record_columns(self.model, video=True)

    def document(self) -> dict:
        """The JSON export: settings-free facts, the shots, the summary and every record (flagged)."""
        return {
            "model": self.model,
            "fps": self.info.fps,
            "duration": self.info.duration,
            "analysed_seconds": self.analysed_seconds,
            "cancelled": self.cancelled,
            "notes": list(self.notes),
            "shots": self.shots(),
            "persons_linked_by_face": self.linked,
            "persons": [{"person": p, "tracks": t} for p, t in self.person_tracks().items()],
            "summary": self.summary,
            "brief_faces": list(self.brief_faces),
            "too_small_faces": {
                "max_at_once": self.too_small_max,
                "seconds": round(self.too_small_seconds, 2),
            },
            "records": self.flagged_records(),
        }

    @property
    def speed(self) -> float:
        """Processing speed as a multiple of real time (1.0 = as fast as the video plays)."""
        return self.analysed_seconds / self.elapsed if self.elapsed > 0 else 0.0


def check_limits(info: VideoInfo, limits: VideoLimits) -> None:
    """Refuse, with the numbers in the user's units, a video longer or larger than the server accepts."""
    if info.duration > limits.max_seconds:
        length, limit = over_limit_text(info.duration, limits.max_seconds)
        raise InputError(
            f"This video is {length} long; the limit is {limit}. Please trim it, or run the app "
            "yourself with a higher FER_DEMO_VIDEO_MAX_SECONDS."
        )
    if max(info.width, info.height) > limits.max_side:
        raise InputError(
            f"This video is {info.width}x{info.height}; the largest accepted side is "
            f"{limits.max_side} pixels. Please downscale it."
        )


def output_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(width, height) of the analysed and encoded frames: at most ``max_side``, even (H.264 4:2:0)."""
    scale = min(1.0, max_side / max(width, height))
    return max(2, round(width * scale) // 2 * 2), max(2, round(height * scale) // 2 * 2)


def fit_into(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An RGB frame scaled to exactly ``size`` (width, height), letterboxed if its shape differs.

    Frames of one stream are mostly one size; a stream that changes size midway
    is drawn into the first size, keeping its proportions, so the output stays one video.
    """
    height, width = image.shape[:2]
    if (width, height) == size:
        return image
    scale = min(size[0] / width, size[1] / height)
    inner = (max(1, round(width * scale)), max(1, round(height * scale)))
    scaled = np.asarray(Image.fromarray(image).resize(inner, Image.BILINEAR, reducing_gap=2.0))
    if inner == size:
        return scaled
    canvas = np.zeros((size[1], size[0], 3), np.uint8)
    left, top = (size[0] - inner[0]) // 2, (size[1] - inner[1]) // 2
    canvas[top : top + inner[1], left : left + inner[0]] = scaled
    return canvas


def sample_by_time(frames: Iterator[Frame], max_fps: float) -> Iterator[Frame]:
    """At most ``max_fps`` frames per second of video time: the first frame of each 1/max_fps slot.

    A frame a hair early (1% of a slot: timestamp rounding) counts for the next
    slot, so a 29.97 or 30 fps video keeps every frame at 30, and a 1000 fps
    one keeps 30 a second, evenly spaced.
    """
    last = None
    for frame in frames:
        slot = int(np.floor(frame.time * max_fps + 0.01))
        if last is None or slot > last:
            last = slot
            yield frame


@dataclass(frozen=True)
class Stop:
    """Why a job ended before the end of its video: the user's cancel, or a limit (its note)."""

    cancelled: bool
    note: str = ""


class _Tally:
    """What the frames analysed so far add up to; the result is made of it at the end."""

    def __init__(self, model: str, rate: float, samples: TrackSamples) -> None:
        self.model, self.rate, self.samples = model, rate, samples
        self.records: list[dict] = []
        self.cuts: list[float] = []  # seconds at which a new shot starts
        self.frames = 0
        self.covered = 0.0  # video seconds the frames so far stand for
        self.last_index = -1  # the last frame's index in the file
        self.too_small_max = 0  # faces seen under the minimum size, at most at once
        self.too_small_seconds = 0.0

    def add(self, frame: Frame, image: np.ndarray, result: FrameResult) -> None:
        faces = result.faces
        if result.shot > len(self.cuts) + 1:
            self.cuts.append(round(frame.time, 4))
        if result.detected and faces:  # real detections, not predictions: sample them for persons
            boxes, scores = np.array([face.box for face in faces]), [face.score for face in faces]
            landmarks = np.array([face.landmarks for face in faces], np.float32)
            self.samples.add(image, frame.time, boxes, scores, [face.face for face in faces], landmarks)
        if len(result.too_small):
            self.too_small_max = max(self.too_small_max, len(result.too_small))
            self.too_small_seconds += 1.0 / self.rate
        self.records.extend(frame_records(frame.index, frame.time, faces, self.model, result.shot))
        self.frames += 1
        self.covered, self.last_index = frame.time + 1.0 / self.rate, frame.index


def analyze_video(
    path: str | Path,
    analyzer: StreamAnalyzer,
    output: Path | None,
    limits: VideoLimits = VideoLimits(),  # noqa: B008 (frozen)
    progress_every: float = 0.5,
    preview_every: float = 2.0,
    stop: threading.Event | None = None,
    samples: TrackSamples | None = None,
    link_threshold: float = FACE_EMBEDDER.link_threshold,
) -> Iterator[VideoProgress | VideoResult]:
    """Analyse the frames of ``path`` and write the annotated H.264 MP4 to ``output`` (None: no
    video is written, for runs that want the numbers only: encoding is a third of the work).

    Yields progress at most every ``progress_every`` seconds (with a preview
    frame every ``preview_every``), then the result. Work is bounded whatever
    the file claims: at most ``limits.max_fps`` frames per second of video
    time, ``limits.max_frames`` frames and ``limits.max_seconds`` of video.
    Setting ``stop`` ends the job at the next frame with what was done so far.
    With ``samples`` (a face-recognition network's sampler), the tracks of one
    person are linked into one person across cuts; without, each track is a person.
    Raises InputError for a file that is not a usable video or exceeds ``limits``.
    """
    info = probe(path)
    check_limits(info, limits)
    samples = samples if samples is not None else TrackSamples(None)  # thumbnails for the gallery
    analyzer.reset()
    model = analyzer.model.spec.name
    if stop is not None and stop.is_set():
        yield VideoResult(output=None, records=[], summary=[], info=info, frames=0, elapsed=0.0, model=model,
                          notes=("Cancelled before it started.",), cancelled=True)  # fmt: skip
        return
    rate = min(info.fps, limits.max_fps)
    size = output_size(info.width, info.height, limits.output_side)
    by_time = round(info.duration * rate) or info.frame_count
    expected = max(1, min(info.frame_count, by_time, limits.max_frames))
    notes: list[str] = []
    if info.fps > limits.max_fps + 0.5:
        notes.append(f"This video has {info.fps:.0f} frames a second; {limits.max_fps:g} a second were used.")
    tally = _Tally(model, rate, samples)
    started = time.perf_counter()
    last_progress = last_preview = started
    first_shape, stopped, size_changed = None, None, False
    audio = Path(path) if info.has_audio else None
    # ultrafast: half the CPU of veryfast for a file about 3x larger, which keeps 720p real time.
    writing = VideoWriter(output, fps=rate, preset="ultrafast", audio_from=audio) if output else nullcontext()
    with writing as writer:
        for frame in sample_by_time(read_frames(path, limits.max_side), limits.max_fps):
            if (stopped := _stop_reason(frame, tally.frames, limits, stop)) is not None:
                break
            first_shape = first_shape or frame.image.shape
            if frame.image.shape != first_shape and not size_changed:
                notes.append(_size_change_note(frame, first_shape, size))
                size_changed = True
            image = fit_into(frame.image, size)
            result = analyzer.process(image, frame.time)
            tally.add(frame, image, result)
            drawn = None
            if writer is not None:
                drawn = annotate(image, result.faces, too_small=result.too_small)
                writer.write(drawn, time=frame.time)
            now = time.perf_counter()
            if now - last_progress >= progress_every:
                preview = None
                if now - last_preview >= preview_every:
                    if drawn is None:
                        drawn = annotate(image, result.faces, too_small=result.too_small)
                    preview = drawn
                    last_preview = now
                last_progress = now
                yield VideoProgress(tally.frames, max(expected, tally.frames), now - started, preview)
    if tally.frames == 0:
        raise InputError("No frame of this video could be decoded. The file may be damaged.")
    if stopped is not None and stopped.note:
        notes.append(stopped.note)
    elapsed = time.perf_counter() - started
    min_size = (analyzer.settings.detection or analyzer.detector.options).min_face_size
    yield _result(tally, info, output, elapsed, notes, stopped, min_size, link_threshold)


def _result(tally: _Tally, info: VideoInfo, output: Path | None, elapsed: float, notes: list[str],
            stopped: Stop | None, min_face_size: int, link_threshold: float) -> VideoResult:  # fmt: skip
    """The result of the frames tallied: brief tracks set apart, persons linked, notes said."""
    brief_tracks = brief_faces(tally.records, 1.0 / tally.rate)
    if stopped is not None:  # cut short: a face still on screen at the end is no glimpse
        brief_tracks -= {record["face_id"] for record in tally.records if record["frame"] == tally.last_index}
    brief = tuple(sorted(brief_tracks))
    persons = _persons(tally.records, set(brief), tally.samples, link_threshold)
    records = with_persons(tally.records, persons)
    reported = [record for record in records if record["person"] is not None]
    notes = list(notes)
    if brief:
        tracks = f"{len(brief)} track{'s' if len(brief) != 1 else ''}"
        notes.append(f"{tracks} shorter than {MIN_TRACK_SECONDS:g} s (a glimpse or a false detection) "
                     "not counted as faces; the JSON flags them.")  # fmt: skip
    small = too_small_note(tally.too_small_max, min_face_size, tally.too_small_seconds)
    notes.extend([small] if small else [])
    return VideoResult(
        output=output,
        records=records,
        summary=face_summary(reported, 1.0 / tally.rate, key="person"),
        info=info,
        frames=tally.frames,
        elapsed=elapsed,
        model=tally.model,
        notes=tuple(notes),
        cancelled=stopped is not None and stopped.cancelled,
        analysed_seconds=info.duration if stopped is None else min(tally.covered, info.duration),
        brief_faces=brief,
        cuts=tuple(tally.cuts),
        persons=persons,
        linked=tally.samples.links,
        thumbnails=_thumbnails(tally.samples, persons),
        too_small_max=tally.too_small_max,
        too_small_seconds=tally.too_small_seconds,
    )


def _persons(
    records: list[dict], brief: set[int], samples: TrackSamples, threshold: float
) -> dict[int, int]:
    """Track -> person for the reported tracks: linked by face, or one person per track."""
    frames: dict[int, set[int]] = {}
    for record in records:
        if record["face_id"] not in brief:
            frames.setdefault(record["face_id"], set()).add(record["frame"])
    embeddings = samples.means()
    return link_tracks(embeddings, frames, threshold)


def _thumbnails(samples: TrackSamples, persons: dict[int, int]) -> dict[int, np.ndarray]:
    """Per person, the crop of their highest-scored sampled detection."""
    best: dict[int, tuple[float, np.ndarray]] = {}
    for track, (score, face) in samples.thumbnails.items():
        person = persons.get(track)
        if person is not None and score > best.get(person, (-1.0, None))[0]:
            best[person] = (score, face)
    return {person: face for person, (_, face) in sorted(best.items())}


def _stop_reason(frame: Frame, frames: int, limits: VideoLimits, stop: threading.Event | None) -> Stop | None:
    """Why the job ends before this frame (the user's cancel, a limit), or None to go on."""
    if stop is not None and stop.is_set():
        return Stop(cancelled=True)
    if frames >= limits.max_frames:
        limit = f"{limits.max_frames} frames ({duration_text(frame.time)})"
        return Stop(False, f"Analysis stopped at the limit of {limit}.")
    if frame.time > limits.max_seconds:
        return Stop(False, "This video runs longer than its header says; analysis stopped at the limit of "
                    f"{duration_text(limits.max_seconds)}.")  # fmt: skip
    return None


def _size_change_note(frame: Frame, first: tuple[int, ...], size: tuple[int, int]) -> str:
    return (
        f"The picture changes size at {duration_text(frame.time)} ({first[1]}x{first[0]} to "
        f"{frame.image.shape[1]}x{frame.image.shape[0]}); later frames are scaled into {size[0]}x{size[1]}."
    )
