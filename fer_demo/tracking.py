"""Face tracking between detections: a stable id per person and a box on every frame.

In video and webcam mode MTCNN runs only every few frames, so the tracker

* on detection frames matches the detections to the live tracks (IoU with
  each track's predicted box, plus a centre-distance term that still links a
  fast face whose boxes no longer overlap), solved optimally with the
  Hungarian algorithm, and returns **exactly the detections**, each with its
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
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from fer_demo.faces import FaceDetections


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


def _hungarian(cost: np.ndarray) -> np.ndarray:
    """Minimum-cost perfect matching of a square (n, n) matrix: the column of each row, (n,).

    The shortest-augmenting-path form of the Hungarian algorithm, O(n^3);
    index 0 of the potentials is a sentinel, rows and columns count from 1.
    """
    n = len(cost)
    u, v = np.zeros(n + 1), np.zeros(n + 1)  # row and column potentials
    owner = np.zeros(n + 1, dtype=np.int64)  # owner[j]: row matched to column j (0 = none)
    way = np.zeros(n + 1, dtype=np.int64)
    for row in range(1, n + 1):
        owner[0] = row
        j0 = 0
        min_slack = np.full(n + 1, np.inf)
        used = np.zeros(n + 1, dtype=bool)
        while owner[j0] != 0:
            used[j0] = True
            i0 = owner[j0]
            slack = cost[i0 - 1] - u[i0] - v[1:]
            better = ~used[1:] & (slack < min_slack[1:])
            min_slack[1:][better] = slack[better]
            way[1:][better] = j0
            j1 = 1 + int(np.argmin(np.where(used[1:], np.inf, min_slack[1:])))
            delta = min_slack[j1]
            u[owner[used]] += delta
            v[used] -= delta
            min_slack[~used] -= delta
            j0 = j1
        while j0 != 0:  # flip the augmenting path
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    column_of_row = np.empty(n, dtype=np.int64)
    column_of_row[owner[1:] - 1] = np.arange(n)
    return column_of_row


def assign(cost: np.ndarray, gate: np.ndarray) -> list[tuple[int, int]]:
    """Optimal one-to-one matching of rows (tracks) to columns (detections) among allowed pairs.

    A pair outside the gate costs more than any set of allowed pairs, so the
    result has as many allowed matches as possible and, among those, the
    lowest total cost (a greedy choice can steal the one detection another
    track needed). Rectangular matrices are padded to square.

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
    rows, cols = cost.shape
    forbidden = 1.0 + 2.0 * np.abs(cost[gate]).sum()
    square = np.full((max(rows, cols),) * 2, forbidden)
    square[:rows, :cols] = np.where(gate, cost, forbidden)
    column_of_row = _hungarian(square)
    return [
        (r, int(column_of_row[r]))
        for r in range(rows)
        if column_of_row[r] < cols and gate[r, column_of_row[r]]
    ]


def _centre_size(box: np.ndarray) -> np.ndarray:
    """(4,) box -> (4,) cx, cy, w, h."""
    return np.concatenate([(box[:2] + box[2:]) / 2, box[2:] - box[:2]])


@dataclass
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

    def observe(self, box: np.ndarray, score: float, landmarks: np.ndarray, time: float) -> None:
        """Take a matched detection and refit the velocity."""
        self.box, self.score, self.landmarks, self.time, self.missed = box, score, landmarks, time, 0
        self.history.append((time, _centre_size(box)))
        times = np.array([t for t, _ in self.history])
        states = np.stack([s for _, s in self.history])
        centred = times - times.mean()
        spread = float(centred @ centred)
        self.velocity = centred @ (states - states.mean(axis=0)) / spread if spread > 1e-12 else np.zeros(4)

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
        self.reset()

    def reset(self) -> None:
        """Forget every track; the next id is 1 again (a new stream)."""
        self._tracks: list[Track] = []  # sorted by id
        self._next_id = 1

    @property
    def active_ids(self) -> list[int]:
        """Ids of the live tracks, including those missed on the last round but not dropped yet."""
        return [track.id for track in self._tracks]

    @property
    def needs_detection(self) -> bool:
        """Whether a face shown on prediction frames has been detected only once, so has no velocity yet.

        Until its second detection such a face's box stands still while the
        face moves; detecting again on the very next frame (one extra detection
        per new face) gives it a velocity one frame after it appears instead of
        one detection interval after.
        """
        return any(track.missed == 0 and len(track.history) == 1 for track in self._tracks)

    def update(self, detections: FaceDetections | None, time: float) -> FaceDetections:
        """Faces of the frame at ``time`` seconds, ``track_ids`` set, sorted by track id.

        With detections: exactly those faces (boxes, scores, landmarks untouched).
        With ``None``: the tracks matched on the last detection round, at their predicted boxes.
        """
        if detections is None:
            return self._predicted(time)
        return self._matched(detections, time)

    def _predicted(self, time: float) -> FaceDetections:
        tracks = [track for track in self._tracks if track.missed == 0]
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
        gate = (iou >= self.min_iou) | (distance <= self.max_distance)
        pairs = assign((1.0 - iou) + distance, gate)

        ids = np.full(len(boxes), -1, np.int64)
        for row, col in pairs:
            track = self._tracks[row]
            track.observe(boxes[col], float(detections.scores[col]), landmarks[col], time)
            ids[col] = track.id
        matched = {row for row, _ in pairs}
        for row, track in enumerate(self._tracks):
            if row not in matched:
                track.missed += 1
        self._tracks = [
            t for t in self._tracks if t.missed < self.max_missed and time - t.time <= self.max_age
        ]
        for col in np.flatnonzero(ids < 0):  # new faces, numbered in the detector's left-to-right order
            score = float(detections.scores[col])
            track = Track(self._next_id, boxes[col], score, landmarks[col], time, deque(maxlen=self.history))
            track.observe(boxes[col], score, landmarks[col], time)
            self._tracks.append(track)
            ids[col] = self._next_id
            self._next_id += 1

        order = np.argsort(ids, kind="stable")
        return FaceDetections(
            np.asarray(detections.boxes)[order],
            np.asarray(detections.scores)[order],
            np.asarray(detections.landmarks)[order],
            ids[order],
        )
