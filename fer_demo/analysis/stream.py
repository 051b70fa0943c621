"""Frame-by-frame analysis of a stream (a video file or a webcam), with memory.

One :class:`StreamAnalyzer` per stream holds the tracker and the temporal
state, so face ids persist across frames and smoothing or the EMO-AffectNet
LSTM sees each face's history. Detection runs every ``detect_every`` frames
(MTCNN is the costly step); faces are tracked in between, and all faces of
a frame are classified in one batch. A frame that ran the detector classifies
only faces it has never seen: the others wait one frame, so no single frame
pays for both (what keeps a live stream's worst frames short).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from fer_demo.analysis.faces import FaceDetector
from fer_demo.analysis.pipeline import FaceResult, face_crops, face_results
from fer_demo.analysis.shots import ShotDetector
from fer_demo.analysis.temporal import ExponentialSmoother, LstmTemporalModel
from fer_demo.analysis.tracking import FaceTracker
from fer_demo.config import StreamSettings
from fer_demo.models.predictions import Predictions

if TYPE_CHECKING:
    from torch import nn

    from fer_demo.models.base import EmotionModel


@dataclass(frozen=True)
class FrameResult:
    """What one frame of a stream gave: its faces, and what the analyzer did for it."""

    faces: list[FaceResult]  # numbered by track id
    shot: int  # the shot the frame belongs to (1-based)
    detected: bool  # a detection was applied in this frame: its faces are detections, not predictions
    found: int | None  # faces that detection returned (None: none was applied)
    classified: int  # faces classified in this frame (the others show their last output)
    too_small: np.ndarray  # (N, 4) boxes seen under the minimum size, held until the next detection or cut


@dataclass
class _FaceState:
    """The last output shown for one track and when it was computed."""

    time: float
    probabilities: np.ndarray
    valence: float | None
    arousal: float | None
    branches: np.ndarray | None = None  # an ensemble's member softmaxes (B, K), as last classified


class StreamAnalyzer:
    """Stateful analysis of consecutive frames of one stream."""

    def __init__(
        self,
        model: EmotionModel,
        detector: FaceDetector,
        settings: StreamSettings = StreamSettings(),  # noqa: B008 (frozen)
        lstm: nn.Module | None = None,
    ) -> None:
        if lstm is not None and not model.has_features:
            raise ValueError(f"{model.spec.name} has no features for a temporal model")
        self.model = model
        self.detector = detector
        self.settings = settings
        self.tracker = FaceTracker(min_hits=settings.min_hits, memory=settings.memory)
        self.smoother = ExponentialSmoother(settings.smoothing)
        self.lstm = LstmTemporalModel(lstm) if lstm is not None else None
        self.period = 1.0 / settings.classify_rate if settings.classify_rate > 0 else 0.0
        if self.lstm is not None:  # the LSTM samples features every 0.2 s: classify at least that often
            self.period = min(self.period or 0.2, 0.2)
        self.shots = ShotDetector(settings.cut_threshold) if settings.cut_threshold > 0 else None
        self.shot = 1  # the shot the last frame belongs to (1-based)
        self.faces: dict[int, _FaceState] = {}
        self.frames = 0
        self._detected_at: float | None = None
        self._pending: tuple[Future, float] | None = None  # a background detection and its frame's time
        self._worker: ThreadPoolExecutor | None = None
        self.pace = 1.0  # detection and classification intervals are stretched by this (shared CPU)
        # Faces the last detection saw but found under the minimum size (boxes, held until the next
        # detection or cut): drawn in grey and counted, never analysed.
        self._too_small = np.zeros((0, 4), np.float32)

    @property
    def gives_valence_arousal(self) -> bool:
        """Whether results carry valence/arousal (an LSTM replaces the model's head: they do not)."""
        return self.model.spec.has_valence_arousal and self.lstm is None

    def reset(self) -> None:
        """Forget every face: the next frame starts a new stream."""
        self.tracker.reset()
        self.smoother.reset()
        if self.lstm is not None:
            self.lstm.reset()
        self.faces.clear()
        self.frames = 0
        self.shot = 1
        if self.shots is not None:
            self.shots.reset()
        self._detected_at = None
        self._too_small = np.zeros((0, 4), np.float32)
        if self._pending is not None:
            self._pending[0].cancel()
            self._pending = None

    def wait_for_detection(self, timeout: float | None = None) -> None:
        """Block until the background detection in flight, if any, is done (offline runs and tests
        that want every frame's detection applied, whatever the machine's speed)."""
        if self._pending is not None:
            self._pending[0].exception(timeout)

    def close(self) -> None:
        """Stop the background detection thread, if any."""
        self.reset()
        if self._worker is not None:
            self._worker.shutdown(wait=False, cancel_futures=True)
            self._worker = None

    def process(self, image: np.ndarray, time: float) -> FrameResult:
        """Analyse one RGB uint8 frame shown at ``time`` seconds."""
        # Every frame goes to the shot detector (the first is its reference: never a cut).
        cut = self.shots is not None and self.shots.is_cut(image, time)
        if cut:
            self._cut()
        if self.settings.background_detection:
            faces, detected, found = self._track_with_background_detection(image, time)
        else:
            # A new face has no velocity yet: detect again soon to track it from there.
            detected = cut or self._detection_due(time) or self.tracker.needs_detection(time)
            if detected:
                self._detected_at = time
            found = self.detector.detect(image, self.settings.detection) if detected else None
            faces = self.tracker.update(found, time)
        self.frames += 1
        ids = [int(i) for i in faces.track_ids]
        only_new = detected and not self.settings.background_detection  # MTCNN ran in this frame
        due = [i for i, track in enumerate(ids) if self._due(track, time, new_only=only_new)]
        due = self._limit(due, ids)
        if found is not None:
            self._too_small = found.too_small
        elif cut:
            self._too_small = np.zeros((0, 4), np.float32)
        if due:
            self._classify(image, faces[np.array(due)], [ids[i] for i in due], time)
        active = self.tracker.active_ids
        self.faces = {track: state for track, state in self.faces.items() if track in active}
        self.smoother.prune(active)
        if self.lstm is not None:
            self.lstm.prune(active)
        return FrameResult(
            faces=face_results(faces, self._current(ids), self.model),
            shot=self.shot,
            detected=detected,
            found=None if found is None else len(found),
            classified=len(due),
            too_small=self._too_small,
        )

    def _cut(self) -> None:
        """A new shot: no face of the last one goes on (ids keep counting, so none is reused)."""
        self.shot += 1
        self.tracker.end_tracks()
        self.faces.clear()
        self._detected_at = None  # a live stream's interval counts from here (a video keeps its cadence)
        if self._pending is not None:  # a detection of the last shot's faces
            self._pending[0].cancel()
            self._pending = None

    def _track_with_background_detection(self, image: np.ndarray, time: float):
        """Apply a finished detection at its frame's time, start the next one if due, predict now."""
        found = None
        if self._pending is not None and self._pending[0].done():
            future, at = self._pending
            self._pending = None
            found = future.result()
            self.tracker.update(found, at)
        if self._pending is None and (self._detection_due(time) or self.tracker.needs_detection(time)):
            if self._worker is None:
                self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="face-detection")
            self._detected_at = time
            self._pending = (self._worker.submit(self.detector.detect, image, self.settings.detection), time)
        # A detection result counts as "this frame detected" for the new-faces-only rule.
        return self.tracker.update(None, time), found is not None, found

    def _limit(self, due: list[int], ids: list[int]) -> list[int]:
        """At most ``max_crops`` faces that already have an output (the stalest first), plus new ones."""
        if not self.settings.max_crops:
            return due
        new = [i for i in due if ids[i] not in self.faces]
        known = sorted((i for i in due if ids[i] in self.faces), key=lambda i: self.faces[ids[i]].time)
        return sorted(new + known[: max(0, self.settings.max_crops - len(new))])

    def _detection_due(self, time: float) -> bool:
        if self.settings.detect_interval > 0:
            interval = self.settings.detect_interval * self.pace
            return self._detected_at is None or time - self._detected_at >= interval - 1e-6
        # Every N-th frame: the extra detections (a cut, a new face) do not shift the cadence.
        return self.frames % max(1, self.settings.detect_every) == 0

    def _due(self, track: int, time: float, new_only: bool = False) -> bool:
        state = self.faces.get(track)
        return state is None or (not new_only and time - state.time >= self.period * self.pace - 1e-6)

    def _classify(self, image: np.ndarray, faces, ids: list[int], time: float) -> None:
        """Classify the due faces in one batch and store their (smoothed or LSTM) outputs."""
        crops = face_crops(image, faces, self.model)
        if self.lstm is not None:
            _, features = self.model.predict_with_features(crops)
            by_track = self.lstm.update(ids, time, features)
            for track in ids:
                self.faces[track] = _FaceState(time, by_track[track], None, None)
            return
        raw = self.model.predict(crops)
        for i, track in enumerate(ids):
            valence = None if raw.valence is None else float(raw.valence[i])
            arousal = None if raw.arousal is None else float(raw.arousal[i])
            probabilities = raw.probabilities[i]
            if self.settings.smoothing > 0:
                probabilities, valence, arousal = self.smoother.update(
                    track, time, probabilities, valence, arousal
                )
            branches = None if raw.branch_probabilities is None else raw.branch_probabilities[i]
            self.faces[track] = _FaceState(time, probabilities, valence, arousal, branches)

    def _current(self, ids: list[int]) -> Predictions:
        """The stored outputs of the faces ``ids``, as one Predictions."""
        k = len(self.model.spec.labels)
        if not ids:
            empty = np.zeros(0, np.float32) if self.model.spec.has_valence_arousal else None
            return Predictions(np.zeros((0, k), np.float32), empty, empty)
        states = [self.faces[track] for track in ids]
        probabilities = np.stack([state.probabilities for state in states]).astype(np.float32)
        # An ensemble's agreement: the latest member votes against the label shown (smoothed or not).
        branches = np.stack([s.branches for s in states]) if states[0].branches is not None else None
        if not self.model.spec.has_valence_arousal or states[0].valence is None:
            return Predictions(probabilities, branch_probabilities=branches)
        valence = np.asarray([state.valence for state in states], np.float32)
        arousal = np.asarray([state.arousal for state in states], np.float32)
        return Predictions(probabilities, valence, arousal, branches)
