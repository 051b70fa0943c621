"""A live webcam session: frames in, annotated frames, a live timeline and a status out.

One :class:`WebcamSession` per browser session holds everything that must
persist between frames: the :class:`~fer_demo.analysis.stream.StreamAnalyzer` (tracker,
smoothing or LSTM windows), the last minute of results for the live plots and
the whole session's CSV on disk. It knows nothing of Gradio, so the tests and
the benchmark drive exactly what the webcam tab runs.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time as clock
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fer_demo.analysis.labels import CANONICAL_LABELS
from fer_demo.analysis.pipeline import FaceResult
from fer_demo.analysis.stream import StreamAnalyzer
from fer_demo.analysis.timeline import by_face, frame_records
from fer_demo.config import DetectionOptions, StreamSettings, WebcamSettings
from fer_demo.errors import UserFacingError
from fer_demo.models.specs import get_spec
from fer_demo.presentation.export import CsvLog
from fer_demo.presentation.live_plots import LiveCircumplex, LiveTimeline
from fer_demo.presentation.render import annotate

if TYPE_CHECKING:
    from fer_demo.browser.summary import BrowserFrame

log = logging.getLogger(__name__)

# The session CSV holds every canonical label, so switching model mid-session keeps one file.
SESSION_COLUMNS = ["frame", "time", "face_id", "x1", "y1", "x2", "y2", "score", *CANONICAL_LABELS,
                   "valence", "arousal", "top_label", "top_probability", "model"]  # fmt: skip

AnalyzerFactory = Callable[[str, StreamSettings], StreamAnalyzer]


@dataclass(frozen=True)
class WebcamUpdate:
    """What one frame produces. ``None`` fields mean "keep what is shown"; figures are Plotly JSON."""

    image: np.ndarray | None
    status: str | None
    timeline: str | None
    circumplex: str | None
    has_valence_arousal: bool = False  # whether the model gives any: without, the circumplex is hidden


class WebcamSession:
    """The state of one live stream and the step that advances it by one frame."""

    def __init__(
        self, make_analyzer: AnalyzerFactory, log_path: Path, settings: WebcamSettings | None = None
    ) -> None:
        self.make_analyzer = make_analyzer
        self.settings = settings or WebcamSettings()
        self.log = CsvLog(log_path, SESSION_COLUMNS)
        self.analyzer: StreamAnalyzer | None = None
        self.model_name: str | None = None
        self.temporal_model: str | None = None
        self.model_problem: str | None = None  # why the chosen model cannot run, shown instead of results
        self.history: deque[dict] = deque()  # records of the last ``history_seconds``
        self.start: float | None = None  # clock reading of the first frame: session time 0
        self.frames = 0  # frames analysed this session (the CSV's frame column)
        self._waiting_since: float | None = None  # when the last frame's analysis ended: the next may come
        self._found: int | None = None  # faces the last detection found (None: none ran yet)
        self._faces_said: int | None = None  # faces the last status reported
        self._last_shape: tuple[int, ...] | None = None
        self._last_thumb: np.ndarray | None = None
        self._last_image: np.ndarray | None = None
        self._changed_at = 0.0  # session time of the last frame that differed from the one before
        self._last_refresh = float("-inf")
        self._turn = 0  # refreshes since the last full redraw: the plots take turns
        self._recent: deque[float] = deque()  # times of the frames of the last ``rate_window`` seconds
        self._notice: str | None = None  # a one-off event to show with the next status
        self._timeline, self._plane = LiveTimeline(), LiveCircumplex()
        self._source: str | None = None  # "server" or "browser": who analyses the frames now

    def _use_source(self, source: str) -> None:
        """Switching between the server and the live page starts a new timeline: their clocks
        differ (the page's seconds, the server's monotonic clock). The CSV keeps every row."""
        if self._source is not None and source != self._source:
            self.start = None
            self.history.clear()
            self._recent.clear()
            self._found = self._faces_said = None
            self._redraw_now()
            self._notice = "Mode changed: a new timeline starts."
        self._source = source

    # ---- the step -------------------------------------------------------------------------------
    def step(
        self,
        frame: np.ndarray | None,
        model_name: str,
        now: float,
        temporal_model: str | None = None,
        detection: DetectionOptions | None = None,
        pace: float = 1.0,
    ) -> WebcamUpdate:
        """Advance by one RGB uint8 frame received at clock reading ``now`` (seconds).

        ``temporal_model`` names an EMO-AffectNet LSTM to run over each face's features;
        ``detection`` sets what counts as a face from this frame on (tracks are kept);
        ``pace`` stretches the detection and classification intervals (see :class:`LiveLoad`).
        """
        if frame is None:
            return WebcamUpdate(None, "Waiting for the camera: press the record button to start.", None, None)
        began = clock.perf_counter()
        try:
            return self._advance(_as_rgb(frame), model_name, now, temporal_model, detection, pace)
        finally:  # a wait for the next frame counts from here, so slow analysis never looks like a pause
            self._waiting_since = now + clock.perf_counter() - began

    def _advance(
        self,
        frame: np.ndarray,
        model_name: str,
        now: float,
        temporal_model: str | None,
        detection: DetectionOptions | None,
        pace: float,
    ) -> WebcamUpdate:
        self._use_source("server")
        if self.start is None:
            self.start = now
        time = now - self.start
        self._choose_model(model_name, temporal_model)
        if self.analyzer is not None and detection not in (None, self.analyzer.settings.detection):
            self.analyzer.settings = replace(self.analyzer.settings, detection=detection)
        self._watch_for_breaks(frame, now)
        if self.analyzer is None:
            return WebcamUpdate(frame, f"**Model unavailable.** {self.model_problem}", None, None)
        self.analyzer.pace = pace
        if self._is_frozen(frame, time):  # nothing new to see: spare the CPU for other users
            return WebcamUpdate(self._last_image, self._frozen_status(time), None, None)

        faces = self.analyzer.process(frame, time)
        if self.analyzer.found is not None:
            self._found = self.analyzer.found
        self._record(time, faces)
        self._last_image = annotate(frame, faces, too_small=self.analyzer.too_small)
        return self._refresh(time, len(faces), frame)

    # ---- results analysed in the visitor's browser ----------------------------------------------
    def add_browser_frames(
        self, frames: Sequence[BrowserFrame], model_name: str, detection: DetectionOptions | None = None
    ) -> WebcamUpdate:
        """Record frames the page analysed itself (live mode): same CSV, history and plots.

        Frame times are the page's seconds; the first frame after a start or a reset is time 0.
        The model is the page's: no analyzer is built here (one is, if the server mode follows).
        ``detection`` is what the page was told to apply: a face under its threshold is not
        recorded, whatever a page sends. The status counts the boxes the page drew in most of
        the summary's frames, so it agrees with the picture (a face is boxed before its label).
        """
        self._use_source("browser")
        if model_name != self.model_name:
            switched = self.model_name is not None
            self.model_name, self.temporal_model = model_name, None
            self.history.clear()
            self._redraw_now()
            if switched:
                self._notice = f"Switched to {get_spec(model_name).display_name}."
        has_valence_arousal = get_spec(model_name).has_valence_arousal  # the page runs no LSTM
        if not frames:
            return WebcamUpdate(None, None, None, None, has_valence_arousal)
        if self.start is None or frames[0].time < self.start:  # a start, a reset, or a reloaded page
            self.start = frames[0].time
        for frame in frames:
            faces = frame.faces
            if detection is not None:
                faces = tuple(face for face in faces if face.score >= detection.min_confidence)
            self._record(frame.time - self.start, faces)
        shown = shown_faces(frames)
        self._found = shown  # the page detects on every frame it analyses
        update = self._refresh(frames[-1].time - self.start, shown, None)
        return replace(update, has_valence_arousal=has_valence_arousal)

    # ---- shared by both paths -------------------------------------------------------------------
    def _record(self, time: float, faces: Sequence[FaceResult]) -> None:
        """One analysed frame into the CSV (a row even without a face), the history and the rate."""
        records = frame_records(self.frames, time, faces, self.model_name)
        self.log.write(records or [no_face_record(self.frames, time, self.model_name)])
        self.frames += 1
        self.history.extend(records)
        while self.history and self.history[0]["time"] < time - self.settings.history_seconds:
            self.history.popleft()
        self._recent.append(time)
        while self._recent[0] < time - self.settings.rate_window:
            self._recent.popleft()

    def _refresh(self, time: float, faces: int, frame: np.ndarray | None) -> WebcamUpdate:
        """Status and plots when due (the plots take turns); a change in faces is said at once."""
        if time - self._last_refresh < self.settings.refresh_every:
            status = self._status(time, faces, frame) if faces != self._faces_said else None
            return WebcamUpdate(self._last_image, status, None, None)
        self._last_refresh = time
        self.log.flush()
        turn, self._turn = self._turn, self._turn + 1
        timeline = self.timeline(time) if turn == 0 or turn % 2 == 1 else None
        plane = self.circumplex(time) if turn % 2 == 0 else None
        status = self._status(time, faces, frame)
        return WebcamUpdate(self._last_image, status, timeline, plane, self._has_valence_arousal)

    @property
    def _has_valence_arousal(self) -> bool:
        return self.analyzer is not None and self.analyzer.gives_valence_arousal

    def timeline(self, time: float) -> str:
        """The live timeline of the last ``history_seconds``, as Plotly JSON."""
        start = max(0.0, time - self.settings.history_seconds)
        return self._timeline.render(by_face(self.history), start, max(time, start + 1.0))

    def circumplex(self, time: float) -> str:
        """The valence/arousal circumplex with the last ``trail_seconds`` of each face, as Plotly JSON."""
        since = time - self.settings.trail_seconds
        recent = list(itertools.takewhile(lambda r: r["time"] >= since, reversed(self.history)))
        return self._plane.render(by_face(reversed(recent)))  # the newest few s of a minute's records

    def _redraw_now(self) -> None:
        """Status and both plots on the next frame (a restart, a new model)."""
        self._last_refresh = float("-inf")
        self._turn = 0

    # ---- housekeeping ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Start over: no faces, no history, an empty CSV; the model stays."""
        if self.analyzer is not None:
            self.analyzer.reset()
        self.history.clear()
        self.log.truncate()
        self.start = None
        self.frames = 0
        self._waiting_since = self._last_shape = self._last_thumb = self._last_image = None
        self._found = self._faces_said = None
        self._changed_at = 0.0
        self._redraw_now()
        self._recent.clear()

    def export_csv(self) -> Path:
        """The session so far as a CSV file (one row per frame and face)."""
        self.log.flush()
        return self.log.path

    def close(self) -> None:
        """Free the session: its CSV is deleted (faces are biometric data)."""
        self.log.delete()
        self.history.clear()
        if self.analyzer is not None:
            self.analyzer.close()
        self.analyzer = None

    def _choose_model(self, model_name: str, temporal_model: str | None) -> None:
        """Build the analyzer for a newly chosen model: its tracks and buffers start empty."""
        built = self.analyzer is not None or self.model_problem is not None  # the live page names models too
        if (model_name, temporal_model) == (self.model_name, self.temporal_model) and built:
            return
        switched = self.model_name is not None and (model_name, temporal_model) != (
            self.model_name,
            self.temporal_model,
        )
        self.model_name, self.temporal_model = model_name, temporal_model
        self.history.clear()  # one model's timeline at a time; the CSV keeps every model's rows
        self._redraw_now()
        if self.analyzer is not None:
            self.analyzer.close()
        self.analyzer = None
        try:
            spec = get_spec(model_name)
            lstm = temporal_model if temporal_model in spec.temporal_models else None  # stale UI choice
            self.analyzer = self.make_analyzer(model_name, replace(self.settings.stream, temporal_model=lstm))
            self.model_problem = None
            if switched:
                self._notice = f"Switched to {spec.display_name}: buffers reset."
        except UserFacingError as error:
            self.model_problem = getattr(error, "visitor", str(error))  # no server path on the page

    def _watch_for_breaks(self, frame: np.ndarray, now: float) -> None:
        """Restart tracking when the camera paused or changed resolution: old boxes mean nothing.

        A pause is judged by how long the stream waited for this frame after the last one was
        done, so a frame that took long to analyse is not mistaken for a camera that stopped.
        """
        restart = None
        waited = 0.0 if self._waiting_since is None else now - self._waiting_since
        if self._last_shape is not None and frame.shape != self._last_shape:
            restart = f"Camera resolution changed to {frame.shape[1]}x{frame.shape[0]}: tracking restarted."
        elif waited > self.settings.gap_seconds:
            restart = f"Camera resumed after {waited:.0f} s: tracking restarted."
        self._last_shape = frame.shape
        if restart and self.analyzer is not None:
            self.analyzer.reset()
            self._last_thumb = None
            self._found = None
            self._notice = restart
            self._redraw_now()  # say so now

    def _is_frozen(self, frame: np.ndarray, time: float) -> bool:
        """True when the picture is identical to the last one (a stalled camera sends copies)."""
        thumb = frame[::16, ::16]
        frozen = self._last_image is not None and self._last_thumb is not None
        if frozen and np.array_equal(thumb, self._last_thumb):
            return True
        self._last_thumb = thumb.copy()
        self._changed_at = time
        return False

    def _frozen_status(self, time: float) -> str | None:
        """Once a second while the picture stays frozen, after ``frozen_seconds``, say so."""
        if time - self._last_refresh < self.settings.refresh_every:
            return None
        self._last_refresh = time
        still = time - self._changed_at
        if still >= self.settings.frozen_seconds:
            return f"**The picture has not changed for {still:.0f} s.** Is the camera frozen or paused?"
        return None

    def frame_rate(self, time: float) -> float:
        """Frames analysed per second over the last ``rate_window`` seconds (or since the start)."""
        span = min(self.settings.rate_window, time)
        return (len(self._recent) - 1) / span if len(self._recent) > 1 and span > 0 else 0.0

    def _status(self, time: float, faces: int, frame: np.ndarray | None) -> str:
        self._faces_said = faces
        if faces:
            found = f"**{faces} face{'s' if faces != 1 else ''}**"
        elif frame is not None and float(frame.mean()) < self.settings.dark_level:
            found = "**The picture is black**: is the lens covered or the room dark?"
        elif self._found == 0:  # only a detection that ran and found nothing says so
            found = "**No face found**: face the camera in good light"
        else:
            found = "Looking for faces…"
        parts = [found, f"{self.frame_rate(time):.1f} frames/s analysed", f"{time:.0f} s recorded"]
        small = len(self.analyzer.too_small) if self.analyzer is not None and frame is not None else 0
        if small:
            parts.insert(1, f"{small} more too small to read (grey boxes)")
        if self._notice:
            parts.append(self._notice)
            self._notice = None
        return " · ".join(parts)


class LiveLoad:
    """How many live sessions sent a frame lately, and how much each should slow its analysis.

    Every session's detections and classifications are stretched by ``pace`` (active
    sessions per core, at least 1), so four webcams on two cores each keep a live picture
    instead of all falling behind; boxes are still tracked on every frame.
    """

    def __init__(self, cores: int, window: float = 2.0) -> None:
        self.cores = max(1, cores)
        self.window = window
        self._seen: dict[int, float] = {}
        self._lock = threading.Lock()

    def pace(self, session: object, now: float) -> float:
        """Record a frame of ``session`` at ``now``; the pace every session should keep now."""
        with self._lock:
            self._seen[id(session)] = now
            self._seen = {key: t for key, t in self._seen.items() if now - t <= self.window}
            return max(1.0, len(self._seen) / self.cores)


def shown_faces(frames: Sequence[BrowserFrame]) -> int:
    """The number of boxes the page drew in most of ``frames`` (the larger on a tie), or 1 if any
    frame had a face: "no face" only when none was drawn during the whole summary."""
    counts = [frame.shown for frame in frames]
    common = max(set(counts), key=lambda count: (counts.count(count), count))
    return common or int(any(counts))


def no_face_record(frame: int, time: float, model_name: str) -> dict:
    """The session CSV's row for a frame analysed without a face: every analysed frame has a row."""
    return {"frame": frame, "time": round(time, 4), "model": model_name}


def _as_rgb(frame: np.ndarray) -> np.ndarray:
    """Browsers send RGB, but a grey or RGBA frame must not break a live demo."""
    if frame.ndim == 2:
        return np.repeat(frame[..., None], 3, axis=2)
    return frame if frame.shape[2] == 3 else np.ascontiguousarray(frame[..., :3])
