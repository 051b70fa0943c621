"""One browser session's live stream: frames in, annotated frames, a live timeline and a status out.

:class:`WebcamSession` holds what must persist between frames, the
:class:`~fer_demo.analysis.stream.StreamAnalyzer` (tracker, smoothing or LSTM windows),
and coordinates the pieces with one job each: the record (``recording``), the camera
watch (``camera``), the plot schedule (``schedule``) and the status words (``status``).
"""

from __future__ import annotations

import logging
import time as clock
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fer_demo.analysis.stream import StreamAnalyzer
from fer_demo.analysis.timeline import by_face
from fer_demo.config import DetectionOptions, StreamSettings, WebcamSettings
from fer_demo.errors import UserFacingError
from fer_demo.models.specs import get_spec
from fer_demo.presentation.live_plots import LiveCircumplex, LiveTimeline
from fer_demo.presentation.render import annotate
from fer_demo.workflow.webcam.camera import CameraWatch
from fer_demo.workflow.webcam.recording import SessionRecording
from fer_demo.workflow.webcam.schedule import PlotSchedule
from fer_demo.workflow.webcam.status import StatusFacts, status_text

if TYPE_CHECKING:
    from fer_demo.browser.summary import BrowserFrame

log = logging.getLogger(__name__)

AnalyzerFactory = Callable[[str, StreamSettings], StreamAnalyzer]
WAITING = "Waiting for the camera: press the record button to start."


@dataclass(frozen=True)
class WebcamUpdate:
    """What one frame produces. ``None`` fields mean "keep what is shown"; figures are Plotly JSON."""

    image: np.ndarray | None
    status: str | None
    timeline: str | None = None
    circumplex: str | None = None
    has_valence_arousal: bool = False  # whether the model gives any: without, the circumplex is hidden


class WebcamSession:
    """The state of one live stream and the step that advances it by one frame."""

    def __init__(
        self, make_analyzer: AnalyzerFactory, log_path: Path, settings: WebcamSettings | None = None
    ) -> None:
        self.make_analyzer = make_analyzer
        self.settings = settings = settings or WebcamSettings()
        self.recording = SessionRecording(log_path, settings.history_seconds, settings.rate_window)
        self.camera = CameraWatch(settings.gap_seconds, settings.frozen_seconds)
        self.schedule = PlotSchedule(settings.refresh_every)
        self.analyzer: StreamAnalyzer | None = None
        self.model_name: str | None = None
        self.temporal_model: str | None = None
        self.model_problem: str | None = None  # why the chosen model cannot run, shown instead of results
        self.start: float | None = None  # clock reading of the first frame: session time 0
        self._found: int | None = None  # faces the last detection found (None: none ran yet)
        self._faces_said: int | None = None  # faces the last status reported
        self._too_small = 0  # faces the last frame saw under the minimum size
        self._last_image: np.ndarray | None = None
        self._notice: str | None = None  # a one-off event to show with the next status
        self._timeline, self._plane = LiveTimeline(), LiveCircumplex()
        self._source: str | None = None  # "server" or "browser": who analyses the frames now

    @property
    def history(self):
        """The records of the last ``history_seconds`` (what the live plots show)."""
        return self.recording.history

    @property
    def frames(self) -> int:
        """Frames analysed this session."""
        return self.recording.frames

    @property
    def log(self):
        return self.recording.log

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
            return WebcamUpdate(None, WAITING)
        began = clock.perf_counter()
        try:
            return self._advance(_as_rgb(frame), model_name, now, temporal_model, detection, pace)
        finally:  # a wait for the next frame counts from here, so slow analysis never looks like a pause
            self.camera.answered(now + clock.perf_counter() - began)

    def _advance(self, frame: np.ndarray, model_name: str, now: float, temporal_model: str | None,
                 detection: DetectionOptions | None, pace: float) -> WebcamUpdate:  # fmt: skip
        self._use_source("server")
        if self.start is None:
            self.start = now
        time = now - self.start
        self._build_analyzer(model_name, temporal_model)
        if self.analyzer is not None and detection not in (None, self.analyzer.settings.detection):
            self.analyzer.settings = replace(self.analyzer.settings, detection=detection)
        if (restart := self.camera.break_before(frame, now)) and self.analyzer is not None:
            self.analyzer.reset()  # old boxes mean nothing after a pause or a new resolution
            self._found = None
            self._notice = restart
            self.schedule.redraw_now()  # say so now
        if self.analyzer is None:
            return WebcamUpdate(frame, f"**Model unavailable.** {self.model_problem}")
        self.analyzer.pace = pace
        if self.camera.is_frozen(frame, time, shown=self._last_image is not None):
            # nothing new to see: spare the CPU for other users, and say so once in a while
            status = self.camera.frozen_text(time) if self.schedule.due(time) else None
            return WebcamUpdate(self._last_image, status)
        result = self.analyzer.process(frame, time)
        if result.found is not None:
            self._found = result.found
        self._too_small = len(result.too_small)
        self.recording.add(time, result.faces, self.model_name)
        self._last_image = annotate(frame, result.faces, too_small=result.too_small)
        return self._refresh(time, len(result.faces), frame)

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
        self._choose_model(model_name, None)  # the page runs no LSTM
        has_valence_arousal = get_spec(model_name).has_valence_arousal
        if not frames:
            return WebcamUpdate(None, None, has_valence_arousal=has_valence_arousal)
        if self.start is None or frames[0].time < self.start:  # a start, a reset, or a reloaded page
            self.start = frames[0].time
        for frame in frames:
            faces = frame.faces
            if detection is not None:
                faces = tuple(face for face in faces if face.score >= detection.min_confidence)
            self.recording.add(frame.time - self.start, faces, self.model_name)
        shown = shown_faces(frames)
        self._found = shown  # the page detects on every frame it analyses
        update = self._refresh(frames[-1].time - self.start, shown, None)
        return replace(update, has_valence_arousal=has_valence_arousal)

    # ---- shared by both paths -------------------------------------------------------------------
    def _use_source(self, source: str) -> None:
        """Switching between the server and the live page starts a new timeline: their clocks
        differ (the page's seconds, the server's monotonic clock). The CSV keeps every row."""
        if self._source is not None and source != self._source:
            self.start = None
            self.recording.new_timeline()
            self._found = self._faces_said = None
            self.schedule.redraw_now()
            self._notice = "Mode changed: a new timeline starts."
        self._source = source

    def _choose_model(self, model_name: str, temporal_model: str | None) -> bool:
        """A newly chosen model (or LSTM) starts a new timeline and drops the old analyzer: one
        model's timeline at a time; the CSV keeps every model's rows. True if it changed."""
        if (model_name, temporal_model) == (self.model_name, self.temporal_model):
            return False
        if self.model_name is not None:
            name = get_spec(model_name).display_name
            self._notice = f"Switched to {name}: buffers reset, a new timeline starts."
        self.model_name, self.temporal_model = model_name, temporal_model
        self.recording.history.clear()
        self.schedule.redraw_now()
        if self.analyzer is not None:
            self.analyzer.close()
        self.analyzer, self.model_problem = None, None
        return True

    def _build_analyzer(self, model_name: str, temporal_model: str | None) -> None:
        """The analyzer of the chosen model, built once: its tracks and buffers start empty."""
        self._choose_model(model_name, temporal_model)
        if self.analyzer is not None or self.model_problem is not None:
            return
        try:
            spec = get_spec(model_name)
            lstm = temporal_model if temporal_model in spec.temporal_models else None  # stale UI choice
            self.analyzer = self.make_analyzer(model_name, replace(self.settings.stream, temporal_model=lstm))
        except UserFacingError as error:
            self.model_problem = getattr(error, "visitor", str(error))  # no server path on the page

    def _refresh(self, time: float, faces: int, frame: np.ndarray | None) -> WebcamUpdate:
        """Status and plots when due (the plots take turns); a change in faces is said at once."""
        if not self.schedule.due(time):
            status = self._status(time, faces, frame) if faces != self._faces_said else None
            return WebcamUpdate(self._last_image, status)
        self.recording.log.flush()
        redraw = self.schedule.next_redraw()
        timeline = self.timeline(time) if redraw.timeline else None
        plane = self.circumplex(time) if redraw.circumplex else None
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
        return self._plane.render(by_face(self.recording.since(time - self.settings.trail_seconds)))

    def frame_rate(self, time: float) -> float:
        return self.recording.frame_rate(time)

    def _status(self, time: float, faces: int, frame: np.ndarray | None) -> str:
        self._faces_said = faces
        facts = StatusFacts(
            faces=faces,
            seconds=time,
            frames_per_s=self.recording.frame_rate(time),
            dark=frame is not None and float(frame.mean()) < self.settings.dark_level,
            none_found=self._found == 0,
            too_small=self._too_small if frame is not None else 0,  # the page draws no grey boxes
            notice=self._notice,
        )
        self._notice = None
        return status_text(facts)

    # ---- housekeeping ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Start over: no faces, no history, an empty CSV; the model stays."""
        if self.analyzer is not None:
            self.analyzer.reset()
        self.recording.reset()
        self.camera.reset()
        self.start = self._last_image = None
        self._found = self._faces_said = None
        self._too_small = 0
        self.schedule.redraw_now()

    def export_csv(self) -> Path:
        """The session so far as a CSV file (one row per frame and face)."""
        return self.recording.export()

    def close(self) -> None:
        """Free the session: its CSV is deleted (faces are biometric data)."""
        self.recording.close()
        if self.analyzer is not None:
            self.analyzer.close()
        self.analyzer = None


def shown_faces(frames: Sequence[BrowserFrame]) -> int:
    """The number of boxes the page drew in most of ``frames`` (the larger on a tie), or 1 if any
    frame had a face: "no face" only when none was drawn during the whole summary."""
    counts = [frame.shown for frame in frames]
    common = max(set(counts), key=lambda count: (counts.count(count), count))
    return common or int(any(counts))


def _as_rgb(frame: np.ndarray) -> np.ndarray:
    """Browsers send RGB, but a grey or RGBA frame must not break a live demo."""
    if frame.ndim == 2:
        return np.repeat(frame[..., None], 3, axis=2)
    return frame if frame.shape[2] == 3 else np.ascontiguousarray(frame[..., :3])
