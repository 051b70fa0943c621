"""Face tracking between detections: a stable id per person and a box on every frame.

In video and webcam mode MTCNN runs only every few frames, so the tracker

* on detection frames matches the detections to the live tracks (IoU with
  each track's predicted box, plus a centre-distance term that still links a
  fast face whose boxes no longer overlap), solved optimally (SciPy's
  ``linear_sum_assignment``), and returns **exactly the detections**, each with its
  track id: a detected face is never hidden and no face is invented;
* on the frames in between predicts where each face is now with a
  constant-velocity model fitted to the track's last few detections, in
  pixels per second, so it works at any (even variable) frame rate. The
  prediction is a closed-form function of the time since the last detection,
  never accumulated frame by frame, so 24 and 60 fps give the same boxes at
  the same instants. It is limited so a box never flies off: the motion stops
  ``horizon`` seconds after the last detection, the centre moves at most
  ``max_shift`` face sizes and the size stays within half to twice the last.

Track ids are ints >= 1 handed out in order and never reused until
:meth:`FaceTracker.reset`, which starts a new stream (ids restart at 1; reset
per-track temporal state at the same time). Boxes are (x1, y1, x2, y2) pixels.

Two options keep ids few on a live camera, where a face is seen for minutes:
``min_hits`` shows a face (and numbers it) only once it was detected that
many times, so a one-off false detection never gets an id; ``memory`` keeps
a lost face's id for that many seconds, so a face the detector missed for a
moment, or that turned away, comes back under its old number.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from fer_demo.analysis.faces import FaceDetections


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box of ``a`` (N, 4) with every box of ``b`` (M, 4): (N, M)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(bottom_right - top_left, 0, None).prod(axis=2)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(axis=1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def centre_distance_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance between box centres in face sizes (mean side of the two boxes): (N, M).

    1.0 means the centres are one face apart: the gate beyond which a pair
    whose boxes barely overlap is no longer the same face.
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    centre_a, centre_b = (a[:, :2] + a[:, 2:]) / 2, (b[:, :2] + b[:, 2:]) / 2
    side_a, side_b = (a[:, 2:] - a[:, :2]).mean(axis=1), (b[:, 2:] - b[:, :2]).mean(axis=1)
    distance = np.linalg.norm(centre_a[:, None, :] - centre_b[None, :, :], axis=2)
    return distance / np.maximum((side_a[:, None] + side_b[None, :]) / 2, 1e-6)


def assign(cost: np.ndarray, gate: np.ndarray) -> list[tuple[int, int]]:
    """Optimal one-to-one matching of rows (tracks) to columns (detections) among allowed pairs.

    A pair outside the gate costs more than any set of allowed pairs, so the
    result has as many allowed matches as possible and, among those, the
    lowest total cost (a greedy choice can steal the one detection another
    track needed). SciPy's ``linear_sum_assignment`` solves it.

    Args:
        cost: (T, D) float, lower is better.
        gate: (T, D) bool, False where a pair may never match.

    Returns:
        (row, column) pairs, allowed ones only, sorted by row.
    """
    cost = np.asarray(cost, np.float64)
    gate = np.asarray(gate, bool)
    if cost.size == 0 or not gate.any():
        return []
    forbidden = 1.0 + 2.0 * np.abs(cost[gate]).sum()
    from scipy.optimize import linear_sum_assignment  # 0.4 s to import: only once faces are tracked

    rows, columns = linear_sum_assignment(np.where(gate, cost, forbidden))
    return [(int(r), int(c)) for r, c in zip(rows, columns, strict=True) if gate[r, c]]


def _centre_size(box: np.ndarray) -> np.ndarray:
    """(4,) box -> (4,) cx, cy, w, h."""
    return np.concatenate([(box[:2] + box[2:]) / 2, box[2:] - box[:2]])


@dataclass(eq=False)
class Track:
    """One face followed over time; box, score and landmarks are those of its last detection.

    Motion is modelled on (cx, cy, w, h): ``velocity`` is the least-squares
    slope, in pixels per second, over the last few detections in ``history``.
    """

    id: int
    box: np.ndarray  # (4,) float64
    score: float
    landmarks: np.ndarray  # (5, 2) float64
    time: float  # seconds, when last detected
    history: deque = field(default_factory=lambda: deque(maxlen=3))  # (time, (4,) cx, cy, w, h)
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))
    missed: int = 0  # consecutive detection rounds without a match
    hits: int = 0  # detection rounds matched in all
    trusted_span: float = 0.0  # seconds of detections a size change needs to be taken at full rate

    @property
    def confirmed(self) -> bool:
        return self.id > 0

    def observe(self, box: np.ndarray, score: float, landmarks: np.ndarray, time: float) -> None:
        """Take a matched detection and refit the velocity."""
        self.box, self.score, self.landmarks, self.time, self.missed = box, score, landmarks, time, 0
        self.hits += 1
        self.history.append((time, _centre_size(box)))
        times = np.array([t for t, _ in self.history])
        states = np.stack([s for _, s in self.history])
        centred = times - times.mean()
        spread = float(centred @ centred)
        slope = centred @ (states - states.mean(axis=0)) / spread if spread > 1e-12 else np.zeros(4)
        # A face's size changes slowly, and two detections a frame apart differ in size mostly by
        # the detector's jitter (a few pixels over 1/30 s would grow the box 100 px a second): the
        # size's rate is scaled down until the detections span ``trusted_span`` seconds.
        span = float(times[-1] - times[0])
        trust = min(1.0, span / self.trusted_span) if self.trusted_span > 0 else 1.0
        self.velocity = slope * np.array([1.0, 1.0, trust, trust])

    def predict(self, time: float, horizon: float, max_shift: float) -> tuple[np.ndarray, np.ndarray]:
        """Box (4,) and landmarks (5, 2) expected at ``time``, extrapolated from the last detection."""
        dt = min(max(time - self.time, 0.0), horizon)
        state = _centre_size(self.box)
        centre, size = state[:2], state[2:]
        reach = max_shift * max(float(size.mean()), 1.0)
        new_centre = centre + np.clip(self.velocity[:2] * dt, -reach, reach)
        new_size = np.clip(size + self.velocity[2:] * dt, size / 2, size * 2)
        box = np.concatenate([new_centre - new_size / 2, new_centre + new_size / 2])
        landmarks = (self.landmarks - centre) * (new_size / np.maximum(size, 1e-6)) + new_centre
        return box, landmarks


class FaceTracker:
    """Gives every face a stable id across frames and a box on frames without detection.

    Call :meth:`update` once per frame, in time order, with the detector's
    output on detection frames and ``None`` on the others.

    Args:
        max_missed: a track missed on this many consecutive detection rounds is dropped (>= 1).
        max_age: a track missed on a detection round more than this many seconds after
            its last match is dropped (a matched track is kept however sparse the rounds).
        min_iou, max_distance: a track and a detection may match when their IoU is at
            least ``min_iou`` or their centres are at most ``max_distance`` face sizes apart.
        horizon: seconds after the last detection during which a box keeps moving.
        max_shift: farthest a predicted centre moves from the last detection, in face sizes.
        history: detections the velocity is fitted on.
        min_hits: detection rounds a face needs before it is shown and numbered (1: at once).
        memory: seconds a lost face's id is kept; a detection where it was last seen takes it back.
        trusted_span: seconds of detections a size change must span to be used at full rate; one
            fitted on a shorter span is scaled down in proportion (detector jitter, not motion).
        follow_up: seconds after a face's first detection at which :meth:`needs_detection` asks
            for its third.
    """

    def __init__(
        self,
        max_missed: int = 2,
        max_age: float = 1.0,
        min_iou: float = 0.1,
        max_distance: float = 1.0,
        horizon: float = 0.5,
        max_shift: float = 2.0,
        history: int = 3,
        min_hits: int = 1,
        memory: float = 0.0,
        trusted_span: float = 0.3,
        follow_up: float = 0.1,
    ) -> None:
        if max_missed < 1:
            raise ValueError(f"max_missed must be at least 1, got {max_missed}")
        self.max_missed = max_missed
        self.max_age = max_age
        self.min_iou = min_iou
        self.max_distance = max_distance
        self.horizon = horizon
        self.max_shift = max_shift
        self.history = history
        self.min_hits = max(1, min_hits)
        self.memory = memory
        self.trusted_span = trusted_span
        self.follow_up = follow_up
        self.reset()

    def reset(self) -> None:
        """Forget every track; the next id is 1 again (a new stream)."""
        self._tracks: list[Track] = []  # confirmed ones sorted by id, then tentative ones (id 0)
        self._lost: list[Track] = []  # confirmed tracks dropped less than ``memory`` seconds ago
        self._next_id = 1

    def end_tracks(self) -> None:
        """End every track, lost ones too, but keep counting ids (a cut: the faces after it are new)."""
        self._tracks, self._lost = [], []

    @property
    def active_ids(self) -> list[int]:
        """Ids of the live tracks, including those missed on the last round but not dropped yet."""
        return [track.id for track in self._tracks if track.confirmed]

    def needs_detection(self, time: float) -> bool:
        """Whether a new face should be detected again at ``time`` to learn how it moves.

        Until its second detection a face's box stands still while the face
        moves, so the next frame detects again (a velocity one frame after it
        appears, not one interval after). A slope over one frame is mostly the
        detector's jitter, though, so one more detection follows once
        ``follow_up`` seconds have passed since the first: three detections
        spanning that time. Two extra detections per new face in all.
        """
        return any(
            track.missed == 0
            and (track.hits == 1 or (track.hits == 2 and time - track.history[0][0] >= self.follow_up))
            for track in self._tracks
        )

    def update(self, detections: FaceDetections | None, time: float) -> FaceDetections:
        """Faces of the frame at ``time`` seconds, ``track_ids`` set, sorted by track id.

        With detections: exactly those faces (boxes, scores, landmarks untouched).
        With ``None``: the tracks matched on the last detection round, at their predicted boxes.
        """
        if detections is None:
            return self._predicted(time)
        return self._matched(detections, time)

    def _predicted(self, time: float) -> FaceDetections:
        tracks = [track for track in self._tracks if track.missed == 0 and track.confirmed]
        if not tracks:
            return FaceDetections.empty()
        predictions = [track.predict(time, self.horizon, self.max_shift) for track in tracks]
        return FaceDetections(
            np.array([box for box, _ in predictions], np.float32),
            np.array([track.score for track in tracks], np.float32),
            np.array([landmarks for _, landmarks in predictions], np.float32),
            np.array([track.id for track in tracks], np.int64),
        )

    def _matched(self, detections: FaceDetections, time: float) -> FaceDetections:
        # A track already missed whose last match is too old cannot come back.
        self._tracks = [t for t in self._tracks if not (t.missed and time - t.time > self.max_age)]
        boxes = np.asarray(detections.boxes, np.float64).reshape(-1, 4)
        landmarks = np.asarray(detections.landmarks, np.float64)
        predicted = np.array([t.predict(time, self.horizon, self.max_shift)[0] for t in self._tracks])
        iou = iou_matrix(predicted, boxes)
        distance = centre_distance_matrix(predicted, boxes)
        gate = self._gate(iou, distance)
        if self._tracks:  # a face whose predicted box went astray is still where it was last seen
            last = np.array([t.box for t in self._tracks])
            gate |= self._gate(iou_matrix(last, boxes), centre_distance_matrix(last, boxes))
        pairs = assign((1.0 - iou) + distance, gate)

        tracks: list[Track | None] = [None] * len(boxes)
        for row, col in pairs:
            tracks[col] = self._tracks[row]
            tracks[col].observe(boxes[col], float(detections.scores[col]), landmarks[col], time)
        matched = {row for row, _ in pairs}
        for row, track in enumerate(self._tracks):
            if row not in matched:
                track.missed += 1
        keep = [t.missed < self.max_missed and time - t.time <= self.max_age for t in self._tracks]
        self._lost += [t for t, kept in zip(self._tracks, keep, strict=True) if not kept and t.confirmed]
        self._lost = [t for t in self._lost if time - t.time <= self.memory]
        self._tracks = [t for t, kept in zip(self._tracks, keep, strict=True) if kept]
        self._resume_lost(tracks, boxes, detections.scores, landmarks, time)
        for col in [col for col, track in enumerate(tracks) if track is None]:  # new, left to right
            tracks[col] = Track(0, boxes[col], 0.0, landmarks[col], time, deque(maxlen=self.history),
                                trusted_span=self.trusted_span)  # fmt: skip
            tracks[col].observe(boxes[col], float(detections.scores[col]), landmarks[col], time)
            self._tracks.append(tracks[col])
        for track in tracks:  # numbered once detected often enough
            if not track.confirmed and track.hits >= self.min_hits:
                track.id = self._next_id
                self._next_id += 1
        self._tracks.sort(key=lambda t: t.id if t.confirmed else np.inf)

        ids = np.array([track.id for track in tracks], np.int64)
        shown = np.flatnonzero(ids > 0)
        order = shown[np.argsort(ids[shown], kind="stable")]
        return FaceDetections(
            np.asarray(detections.boxes)[order],
            np.asarray(detections.scores)[order],
            np.asarray(detections.landmarks)[order],
            ids[order],
        )

    def _gate(self, iou: np.ndarray, distance: np.ndarray) -> np.ndarray:
        return (iou >= self.min_iou) | (distance <= self.max_distance)

    def _resume_lost(
        self, tracks: list, boxes: np.ndarray, scores, landmarks: np.ndarray, time: float
    ) -> None:
        """Give unmatched detections the ids of lost faces last seen where they are."""
        free = [col for col, track in enumerate(tracks) if track is None]
        if not free or not self._lost:
            return
        last = np.array([t.box for t in self._lost])
        iou, distance = iou_matrix(last, boxes[free]), centre_distance_matrix(last, boxes[free])
        for row, j in assign((1.0 - iou) + distance, self._gate(iou, distance)):
            track, col = self._lost[row], free[j]
            track.history.clear()  # its old velocity says nothing about now
            track.observe(boxes[col], float(scores[col]), landmarks[col], time)
            tracks[col] = track
            self._tracks.append(track)
        resumed = {id(track) for track in self._tracks}
        self._lost = [t for t in self._lost if id(t) not in resumed]
