"""Per-face temporal steps shared by video and webcam: smoothing and the EMO-AffectNet LSTM window.

State is keyed by track id (:mod:`fer_demo.analysis.tracking`); ``prune(active_ids)``
forgets faces the tracker dropped and ``reset()`` starts a new stream (do it
together with the tracker's reset, which restarts ids at 1).

Everything runs on timestamps, not frame counts, so a 24, 30 or 60 fps video
(or a webcam with an irregular rate) gives the same result over the same
span of time.

LSTM windows. The EMO-AffectNet LSTMs were trained on windows of 10 ReLU(fc1)
features sampled at about 5 per second (2 s of video). :class:`FeatureWindow`
takes a new sample of a face once at least ``sample_period`` = 0.2 s passed
since its previous sample (the first feature is always taken), keeps the last
10, and the LSTM runs on each new window: a 2 s window sliding by one sample,
so the output updates 5 times a second and is held in between. At 30 fps
that is every 6th frame, at 60 fps every 12th, at 25 and 24 fps every 5th.
At 24, 25, 30, 50 and 60 fps this is the authors' offline cadence (every
round(5*fps/25)-th frame); at other rates ours is at most one frame longer,
never faster than 5 Hz. Either way a window spans about 2 s at any frame
rate. Differences from the authors:

* their offline script (run.py, the step-5 windows) slides windows by 5
  samples (1 s) and averages the overlapping windows of every frame
  afterwards, which needs the future; sliding by one sample is the causal,
  live equivalent (and pads a short last window with its last sample, where
  we pad a short track's window with its first);
* their webcam notebook slides by one **frame** (step 1, no subsampling), so
  a window spans 10 frames (0.33 s at 30 fps, 0.17 s at 60 fps), a time
  scale the LSTM was not trained on and one that changes with the frame rate;
* like the notebook, a track shorter than 10 samples is padded by repeating
  its first feature at the front (its ``[f] * 10`` initialisation), and a new
  track (a face lost and found again) starts a new window.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from torch import nn

# Timestamps of frames exactly one period apart may differ by rounding; this much earlier still counts.
_TIME_TOLERANCE = 1e-6


class ExponentialSmoother:
    """Per-face exponential moving average of probabilities (and valence, arousal) over time.

    alpha = 1 - exp(-dt / time_constant) for a step of dt seconds, so the
    smoothing depends on elapsed time, not on the number of frames: after
    ``time_constant`` seconds an input change is 63% through at any frame
    rate. The first sample of a face passes through; ``time_constant == 0``
    turns smoothing off.
    """

    def __init__(self, time_constant: float = 0.5) -> None:
        self.time_constant = time_constant
        self._state: dict[int, tuple[float, np.ndarray, float | None, float | None]] = {}

    def reset(self) -> None:
        self._state.clear()

    def prune(self, active_ids: Iterable[int]) -> None:
        """Forget faces that are not in ``active_ids`` (the tracker dropped them)."""
        keep = set(active_ids)
        self._state = {k: v for k, v in self._state.items() if k in keep}

    def update(
        self,
        track_id: int,
        time: float,
        probabilities: np.ndarray,
        valence: float | None = None,
        arousal: float | None = None,
    ) -> tuple[np.ndarray, float | None, float | None]:
        """Smoothed (K,) float32 probabilities summing to 1, valence and arousal of one face at ``time``."""
        probabilities = _normalised(probabilities)
        previous = self._state.get(track_id)
        if (
            previous is None
            or self.time_constant <= 0
            or time < previous[0]
            or previous[1].shape != probabilities.shape
        ):
            # First sample, smoothing off, or a new stream (time went back, other classes): pass through.
            smoothed, v, a = probabilities, valence, arousal
        else:
            last_time, last_p, last_v, last_a = previous
            alpha = 1.0 - math.exp(-(time - last_time) / self.time_constant)
            smoothed = _normalised(last_p + alpha * (probabilities - last_p))
            v, a = _blend(last_v, valence, alpha), _blend(last_a, arousal, alpha)
        self._state[track_id] = (time, smoothed, v, a)
        return smoothed.copy(), v, a


def _normalised(probabilities: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(probabilities, np.float64).reshape(-1), 0.0, None)
    total = p.sum()
    return (p / total if total > 0 else np.full(len(p), 1.0 / max(len(p), 1))).astype(np.float32)


def _blend(previous: float | None, value: float | None, alpha: float) -> float | None:
    if value is None or previous is None:
        return value
    return float(previous + alpha * (value - previous))


class FeatureWindow:
    """The last ``window`` features of each face, sampled every ``sample_period`` seconds.

    A feature is sampled when at least ``sample_period`` seconds passed since
    the face's previous sample; a face's first feature is always sampled.
    """

    def __init__(self, window: int = 10, sample_period: float = 0.2) -> None:
        self.window = window
        self.sample_period = sample_period
        self._samples: dict[int, deque[np.ndarray]] = {}
        self._last_time: dict[int, float] = {}

    def reset(self) -> None:
        self._samples.clear()
        self._last_time.clear()

    def prune(self, active_ids: Iterable[int]) -> None:
        """Forget faces that are not in ``active_ids``."""
        keep = set(active_ids)
        for store in (self._samples, self._last_time):
            for track_id in [k for k in store if k not in keep]:
                del store[track_id]

    def __contains__(self, track_id: int) -> bool:
        return track_id in self._samples

    def __len__(self) -> int:
        """Number of faces with a window."""
        return len(self._samples)

    def update(self, track_id: int, time: float, feature: np.ndarray) -> bool:
        """Offer a face's (D,) feature of the frame at ``time``; True when it was sampled."""
        last = self._last_time.get(track_id)
        if last is not None and time - last < self.sample_period - _TIME_TOLERANCE:
            return False
        feature = np.asarray(feature, np.float32).reshape(-1).copy()
        self._samples.setdefault(track_id, deque(maxlen=self.window)).append(feature)
        self._last_time[track_id] = time
        return True

    def window_for(self, track_id: int) -> np.ndarray:
        """(window, D) float32, oldest first; a short track is padded at the front with its first sample."""
        samples = list(self._samples[track_id])  # shorter than the window only while nothing was dropped
        return np.stack([samples[0]] * (self.window - len(samples)) + samples)


class LstmTemporalModel:
    """Runs an LSTM over each face's feature window, in one batch, when the window gains a sample.

    ``module`` maps (B, T, D) float32 features to (B, K) logits (the app uses
    ``fer_demo.models.emo_affectnet.EmotionLSTM``); softmax is applied here.
    Between samples a face keeps its last output, so the LSTM runs about 5
    times a second per face whatever the frame rate.
    """

    def __init__(self, module: nn.Module, window: int = 10, sample_period: float = 0.2) -> None:
        self.module = module.eval()
        self.windows = FeatureWindow(window, sample_period)
        self._last: dict[int, np.ndarray] = {}

    def reset(self) -> None:
        self.windows.reset()
        self._last.clear()

    def prune(self, active_ids: Iterable[int]) -> None:
        """Forget faces that are not in ``active_ids``."""
        keep = set(active_ids)
        self.windows.prune(keep)
        self._last = {k: v for k, v in self._last.items() if k in keep}

    def update(self, track_ids: Sequence[int], time: float, features: np.ndarray) -> dict[int, np.ndarray]:
        """Probabilities of each face of the frame at ``time``.

        Args:
            track_ids: the N faces' track ids (distinct).
            features: (N, D) features of those faces on this frame.

        Returns:
            track id -> (K,) float32 probabilities summing to 1, from the face's latest window.
        """
        if len(track_ids) == 0:
            return {}
        features = np.asarray(features, np.float32).reshape(len(track_ids), -1)
        fresh = [
            track_id
            for track_id, feature in zip(track_ids, features, strict=True)
            if self.windows.update(track_id, time, feature) or track_id not in self._last
        ]
        if fresh:
            import torch  # with the LSTM that runs it, not with the stream analyzer

            batch = torch.from_numpy(np.stack([self.windows.window_for(t) for t in fresh]))
            parameter = next(self.module.parameters(), None)
            if parameter is not None:
                batch = batch.to(parameter.device)
            with torch.inference_mode():
                probabilities = torch.softmax(self.module(batch).float(), dim=1).cpu().numpy()
            for track_id, row in zip(fresh, probabilities, strict=True):
                self._last[track_id] = row
        return {track_id: self._last[track_id].copy() for track_id in track_ids}
