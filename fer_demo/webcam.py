"""A live webcam session: frames in, annotated frames, a live timeline and a status out.

One :class:`WebcamSession` per browser session holds everything that must
persist between frames: the :class:`~fer_demo.stream.StreamAnalyzer` (tracker,
smoothing or LSTM windows), the last minute of results for the live plots and
the whole session's CSV on disk. It knows nothing of Gradio, so the tests and
the benchmark drive exactly what the webcam tab runs.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

from fer_demo.errors import UserFacingError
from fer_demo.export import CsvLog
from fer_demo.faces import DetectionOptions
from fer_demo.labels import CANONICAL_LABELS
from fer_demo.models.specs import get_spec
from fer_demo.plots import circumplex, emotion_timeline
from fer_demo.render import annotate
from fer_demo.stream import StreamAnalyzer, StreamSettings
from fer_demo.timeline import by_face, frame_records

log = logging.getLogger(__name__)

# The session CSV holds every canonical label, so switching model mid-session keeps one file.
SESSION_COLUMNS = ["frame", "time", "face_id", "x1", "y1", "x2", "y2", "score", *CANONICAL_LABELS,
                   "valence", "arousal", "top_label", "top_probability", "model"]  # fmt: skip

LIVE_POINTS = 300  # per face and line on the live timeline: 5 per second, plenty for a glance, cheap to send

AnalyzerFactory = Callable[[str, StreamSettings], StreamAnalyzer]


@dataclass(frozen=True)
class WebcamSettings:
    """Knobs of a live session; the defaults suit a 2-core server and a 15-30 fps camera."""

    stream: StreamSettings = field(default_factory=lambda: StreamSettings(detect_every=5))  # 3 Hz at 15 fps
    history_seconds: float = 60.0  # what the live timeline shows
    refresh_every: float = 1.0  # seconds between plot refreshes: a plot per frame costs more than a frame
    trail_seconds: float = 5.0  # length of the valence/arousal trail on the circumplex
    gap_seconds: float = 2.0  # a longer pause between frames (camera stopped) restarts tracking
    frozen_seconds: float = 2.0  # an unchanged picture this long is reported as a frozen camera
    dark_level: float = 12.0  # mean grey level under which the picture is "black"


@dataclass(frozen=True)
class WebcamUpdate:
    """What one frame produces. ``None`` fields mean "keep what is shown"."""

    image: np.ndarray | None
    status: str | None
    timeline: go.Figure | None
    circumplex: go.Figure | None


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
        self._last_time: float | None = None
        self._last_shape: tuple[int, ...] | None = None
        self._last_thumb: np.ndarray | None = None
        self._last_image: np.ndarray | None = None
        self._changed_at = 0.0  # session time of the last frame that differed from the one before
        self._last_refresh = float("-inf")
        self._recent: deque[float] = deque(maxlen=64)  # times of recent frames, for the frame rate
        self._notice: str | None = None  # a one-off event to show with the next status

    # ---- the step -------------------------------------------------------------------------------
    def step(
        self,
        frame: np.ndarray | None,
        model_name: str,
        now: float,
        temporal_model: str | None = None,
        detection: DetectionOptions | None = None,
    ) -> WebcamUpdate:
        """Advance by one RGB uint8 frame received at clock reading ``now`` (seconds).

        ``temporal_model`` names an EMO-AffectNet LSTM to run over each face's features;
        ``detection`` sets what counts as a face from this frame on (tracks are kept).
        """
        if frame is None:
            return WebcamUpdate(None, "Waiting for the camera: press the record button to start.", None, None)
        frame = _as_rgb(frame)
        if self.start is None:
            self.start = now
        time = now - self.start
        self._choose_model(model_name, temporal_model)
        if self.analyzer is not None and detection not in (None, self.analyzer.settings.detection):
            self.analyzer.settings = replace(self.analyzer.settings, detection=detection)
        self._watch_for_breaks(frame, time)
        if self.analyzer is None:
            return WebcamUpdate(frame, f"**Model unavailable.** {self.model_problem}", None, None)
        if self._is_frozen(frame, time):  # nothing new to see: spare the CPU for other users
            return WebcamUpdate(self._last_image, self._frozen_status(time), None, None)

        faces = self.analyzer.process(frame, time)
        records = frame_records(self.frames, time, faces, self.model_name)
        self.frames += 1
        self.log.write(records)
        self.history.extend(records)
        while self.history and self.history[0]["time"] < time - self.settings.history_seconds:
            self.history.popleft()
        self._recent.append(time)
        self._last_image = annotate(frame, faces)

        if not self._refresh_due(time):
            return WebcamUpdate(self._last_image, None, None, None)
        self._last_refresh = time
        self.log.flush()
        timeline, plane = self.figures(time)
        return WebcamUpdate(self._last_image, self._status(time, len(faces), frame), timeline, plane)

    def _refresh_due(self, time: float) -> bool:
        """Plots are due every ``refresh_every`` s, on a frame that neither detected nor classified
        (one heavy task per frame keeps the slowest frames short), unless they are a second late."""
        since = time - self._last_refresh
        light = not (self.analyzer.detected or self.analyzer.classified)
        return since >= 2 * self.settings.refresh_every or (since >= self.settings.refresh_every and light)

    def figures(self, time: float) -> tuple[go.Figure, go.Figure]:
        """The live timeline (last ``history_seconds``) and the circumplex with a short trail."""
        groups = {face: rows[:: 1 + len(rows) // LIVE_POINTS] for face, rows in by_face(self.history).items()}
        timeline = emotion_timeline(groups, title="Last minute")
        timeline.update_xaxes(range=[max(0.0, time - self.settings.history_seconds), max(time, 1.0)])
        recent = [r for r in self.history if r["time"] >= time - self.settings.trail_seconds]
        return timeline, circumplex(by_face(recent))

    # ---- housekeeping ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Start over: no faces, no history, an empty CSV; the model stays."""
        if self.analyzer is not None:
            self.analyzer.reset()
        self.history.clear()
        self.log.truncate()
        self.start = None
        self.frames = 0
        self._last_time = self._last_shape = self._last_thumb = self._last_image = None
        self._changed_at = 0.0
        self._last_refresh = float("-inf")
        self._recent.clear()

    def export_csv(self) -> Path:
        """The session so far as a CSV file (one row per frame and face)."""
        self.log.flush()
        return self.log.path

    def close(self) -> None:
        """Free the session: its CSV is deleted (faces are biometric data)."""
        self.log.delete()
        self.history.clear()
        self.analyzer = None

    def _choose_model(self, model_name: str, temporal_model: str | None) -> None:
        """Build the analyzer for a newly chosen model: its tracks and buffers start empty."""
        if (model_name, temporal_model) == (self.model_name, self.temporal_model):
            return
        switched = self.model_name is not None
        self.model_name, self.temporal_model = model_name, temporal_model
        self.history.clear()  # one model's timeline at a time; the CSV keeps every model's rows
        self._last_refresh = float("-inf")
        self.analyzer = None
        try:
            spec = get_spec(model_name)
            lstm = temporal_model if temporal_model in spec.temporal_models else None  # stale UI choice
            self.analyzer = self.make_analyzer(model_name, replace(self.settings.stream, temporal_model=lstm))
            self.model_problem = None
            if switched:
                self._notice = f"Switched to {spec.display_name}: buffers reset."
        except UserFacingError as error:
            self.model_problem = str(error)

    def _watch_for_breaks(self, frame: np.ndarray, time: float) -> None:
        """Restart tracking when the camera paused or changed resolution: old boxes mean nothing."""
        restart = None
        if self._last_shape is not None and frame.shape != self._last_shape:
            restart = f"Camera resolution changed to {frame.shape[1]}x{frame.shape[0]}: tracking restarted."
        elif self._last_time is not None and time - self._last_time > self.settings.gap_seconds:
            restart = f"Camera resumed after {time - self._last_time:.0f} s: tracking restarted."
        self._last_shape, self._last_time = frame.shape, time
        if restart and self.analyzer is not None:
            self.analyzer.reset()
            self._last_thumb = None
            self._notice = restart
            self._last_refresh = float("-inf")  # say so now

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

    def _status(self, time: float, faces: int, frame: np.ndarray) -> str:
        recent = [t for t in self._recent if t >= time - 2.0]  # the rate now, not since the start
        span = recent[-1] - recent[0] if len(recent) > 1 else 0.0
        fps = (len(recent) - 1) / span if span > 0 else 0.0
        if faces:
            found = f"**{faces} face{'s' if faces != 1 else ''}**"
        elif float(frame.mean()) < self.settings.dark_level:
            found = "**The picture is black**: is the lens covered or the room dark?"
        else:
            found = "**No face found**: face the camera in good light"
        parts = [found, f"{fps:.1f} frames/s analysed", f"{time:.0f} s recorded"]
        if self._notice:
            parts.append(self._notice)
            self._notice = None
        return " · ".join(parts)


def _as_rgb(frame: np.ndarray) -> np.ndarray:
    """Browsers send RGB, but a grey or RGBA frame must not break a live demo."""
    if frame.ndim == 2:
        return np.repeat(frame[..., None], 3, axis=2)
    return frame if frame.shape[2] == 3 else np.ascontiguousarray(frame[..., :3])
