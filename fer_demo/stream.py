"""Frame-by-frame analysis of a stream (a video file or a webcam), with memory.

One :class:`StreamAnalyzer` per stream holds the tracker and the temporal
state, so face ids persist across frames and smoothing or the EMO-AffectNet
LSTM sees each face's history. Detection runs every ``detect_every`` frames
(MTCNN is the costly step); faces are tracked in between, and all faces of
a frame are classified in one batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from fer_demo.faces import FaceDetector
from fer_demo.models.base import EmotionModel, Predictions
from fer_demo.pipeline import FaceResult, face_crops, face_results
from fer_demo.temporal import ExponentialSmoother, LstmTemporalModel
from fer_demo.tracking import FaceTracker


@dataclass(frozen=True)
class StreamSettings:
    """Speed/quality knobs of a stream; the defaults keep 720p30 real time on 2 cores."""

    detect_every: int = 5  # frames between detections; tracking fills the gaps
    smoothing: float = 0.3  # seconds: time constant of per-face exponential smoothing, 0 = off
    temporal_model: str | None = None  # an EMO-AffectNet LSTM name (TEMPORAL_SPECS), replaces smoothing


class StreamAnalyzer:
    """Stateful analysis of consecutive frames of one stream."""

    def __init__(
        self,
        model: EmotionModel,
        detector: FaceDetector,
        settings: StreamSettings = StreamSettings(),
        lstm: nn.Module | None = None,
    ) -> None:
        if lstm is not None and not model.has_features:
            raise ValueError(f"{model.spec.name} has no features for a temporal model")
        self.model = model
        self.detector = detector
        self.settings = settings
        self.tracker = FaceTracker()
        self.smoother = ExponentialSmoother(settings.smoothing)
        self.lstm = LstmTemporalModel(lstm) if lstm is not None else None
        self.frames = 0

    def reset(self) -> None:
        """Forget every face: the next frame starts a new stream."""
        self.tracker.reset()
        self.smoother.reset()
        if self.lstm is not None:
            self.lstm.reset()
        self.frames = 0

    def process(self, image: np.ndarray, time: float) -> list[FaceResult]:
        """Analyse one RGB uint8 frame shown at ``time`` seconds; faces numbered by track id."""
        # A face seen once has no velocity yet: detect again at once to track it from there.
        detect = self.frames % max(1, self.settings.detect_every) == 0 or self.tracker.needs_detection
        self.frames += 1
        faces = self.tracker.update(self.detector.detect(image) if detect else None, time)
        ids = [int(i) for i in faces.track_ids]
        crops = face_crops(image, faces, self.model)
        if self.lstm is not None:
            _, features = self.model.predict_with_features(crops)
            by_track = self.lstm.update(ids, time, features)
            predictions = Predictions(np.stack([by_track[i] for i in ids]) if ids else np.zeros((0, 7)))
            self.lstm.prune(self.tracker.active_ids)
        else:
            predictions = self._smoothed(self.model.predict(crops), ids, time)
        self.smoother.prune(self.tracker.active_ids)
        return face_results(faces, predictions, self.model)

    def _smoothed(self, raw: Predictions, ids: list[int], time: float) -> Predictions:
        if not ids or self.settings.smoothing <= 0:
            return raw
        rows, valence, arousal = [], [], []
        for i, track in enumerate(ids):
            v = None if raw.valence is None else float(raw.valence[i])
            a = None if raw.arousal is None else float(raw.arousal[i])
            p, v, a = self.smoother.update(track, time, raw.probabilities[i], v, a)
            rows.append(p)
            valence.append(v)
            arousal.append(a)
        has_va = raw.valence is not None
        return Predictions(
            np.stack(rows).astype(np.float32),
            np.asarray(valence, np.float32) if has_va else None,
            np.asarray(arousal, np.float32) if has_va else None,
        )
