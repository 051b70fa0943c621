"""Face tracking: one stable id per person, boxes that follow faces between detections."""

from __future__ import annotations

import numpy as np
import pytest

from fer_demo.analysis.faces import FaceDetections
from fer_demo.analysis.tracking import FaceTracker, assign, iou_matrix

# Landmarks as fractions of the box: eyes, nose, mouth corners.
LANDMARK_FRACTIONS = np.array([[0.3, 0.4], [0.7, 0.4], [0.5, 0.6], [0.35, 0.8], [0.65, 0.8]])


def detections(boxes) -> FaceDetections:
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    size = boxes[:, None, 2:] - boxes[:, None, :2]
    landmarks = boxes[:, None, :2] + LANDMARK_FRACTIONS[None] * size
    order = np.argsort(boxes[:, 0], kind="stable")  # the detector's left-to-right order
    return FaceDetections(
        boxes[order], np.full(len(boxes), 0.99, np.float32), landmarks[order].astype(np.float32)
    )


def box_at(
    t: float, start: tuple[float, float], velocity: tuple[float, float], size=(100.0, 120.0)
) -> np.ndarray:
    x, y = start[0] + velocity[0] * t, start[1] + velocity[1] * t
    return np.array([x, y, x + size[0], y + size[1]])




def iou(a, b) -> float:
    return float(iou_matrix(a, b)[0, 0])


def run(
    tracker: FaceTracker,
    frames: int,
    fps: float,
    detect_every: int,
    true_boxes,
    detect=None,
    noise=0.0,
    seed=0,
):
    """Feed a clip to the tracker; ``true_boxes(t)`` -> (N, 4). Returns [(t, detected, output)] per frame."""
    rng = np.random.default_rng(seed)
    out = []
    for frame in range(frames):
        t = frame / fps
        detected = frame % detect_every == 0
        if detected:
            boxes = np.asarray(true_boxes(t), float).reshape(-1, 4)
            if detect is not None:
                boxes = boxes[detect(t, boxes)]
            faces = detections(boxes + rng.uniform(-noise, noise, boxes.shape))
        out.append((t, detected, tracker.update(faces if detected else None, t)))
    return out


def test_iou_matrix():
    a = np.array([[0, 0, 10, 10], [100, 100, 110, 110]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10]])
    np.testing.assert_allclose(iou_matrix(a, b), [[1.0, 50 / 150], [0.0, 0.0]])
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 2)


def test_assign_is_optimal_where_greedy_is_not():
    # Greedy would give row 0 its cheapest column 0 and leave row 1 with the expensive column 1.
    cost = np.array([[0.1, 0.2], [0.15, 5.0]])
    assert assign(cost, np.ones((2, 2), bool)) == [(0, 1), (1, 0)]


def matchings(gate: np.ndarray, row: int = 0, taken: frozenset = frozenset()):
    """Every one-to-one set of allowed (row, column) pairs."""
    if row == len(gate):
        yield []
        return
    yield from matchings(gate, row + 1, taken)
    for col in np.flatnonzero(gate[row]):
        if col not in taken:
            for rest in matchings(gate, row + 1, taken | {col}):
                yield [(row, int(col)), *rest]


def test_assign_matches_brute_force_and_respects_the_gate():
    rng = np.random.default_rng(1)
    for _ in range(200):
        rows, cols = (int(n) for n in rng.integers(1, 6, 2))
        cost, gate = rng.random((rows, cols)), rng.random((rows, cols)) < 0.6
        pairs = assign(cost, gate)
        assert all(gate[r, c] for r, c in pairs)
        assert len({c for _, c in pairs}) == len(pairs) == len({r for r, _ in pairs})
        # As many matches as possible, then the lowest total cost.
        best = min(matchings(gate), key=lambda m: (-len(m), sum(cost[r, c] for r, c in m)))
        assert len(pairs) == len(best)
        assert sum(cost[r, c] for r, c in pairs) == pytest.approx(sum(cost[r, c] for r, c in best))


def test_a_moving_face_keeps_one_id_and_predicted_boxes_follow_it():
    start, velocity = (50.0, 100.0), (150.0, 40.0)  # px/s: a brisk walk across a 720p frame
    results = run(FaceTracker(), 75, 25.0, 5, lambda t: box_at(t, start, velocity), noise=1.5)
    assert {int(i) for _, _, faces in results for i in faces.track_ids} == {1}
    assert all(len(faces) == 1 for _, _, faces in results)
    # From the second detection on the velocity is known and in-between boxes follow the face.
    for t, detected, faces in results[5:]:
        if not detected:
            truth = box_at(t, start, velocity)
            assert iou(faces.boxes, truth) >= 0.7, t
            truth_landmarks = truth[:2] + LANDMARK_FRACTIONS * (truth[2:] - truth[:2])
            assert np.abs(faces.landmarks[0] - truth_landmarks).max() < 8


def test_a_new_face_asks_for_two_extra_detections_to_learn_its_velocity():
    start, velocity = (50.0, 100.0), (300.0, 0.0)  # a fast face: 50 px per 5-frame interval at 30 fps
    tracker = FaceTracker(follow_up=0.1)
    assert not tracker.needs_detection(0.0)
    ious, extra = [], []
    for frame in range(30):
        t = frame / 30
        truth = box_at(t, start, velocity)
        asked = tracker.needs_detection(t)
        extra += [frame] if asked and frame % 5 else []
        faces = tracker.update(detections(truth) if frame % 5 == 0 or asked else None, t)
        ious.append(iou(faces.boxes, truth))
    assert extra == [1, 3]  # the next frame, and 0.1 s after the first detection
    assert list(faces.track_ids) == [1]
    assert min(ious) > 0.95  # the first interval is followed too, not only after the second round


def test_a_new_face_box_keeps_its_size_through_a_jittery_second_detection():
    """Two detections a frame apart, 4 px apart in size (jitter): the box must not grow 120 px/s."""
    tracker = FaceTracker()
    tracker.update(detections([100, 100, 160, 170]), 0.0)
    tracker.update(detections([101, 99, 163, 173]), 1 / 30)
    later = tracker.update(None, 9 / 30).boxes[0]
    width, height = later[2] - later[0], later[3] - later[1]
    assert abs(width - 62) < 4 and abs(height - 74) < 4


@pytest.mark.parametrize("speed", [300.0, 500.0])  # px/s, a 100 px face; at 500 the 0.5 s reach is capped
def test_predicted_boxes_do_not_fly_away_when_detections_stop(speed: float):
    tracker = FaceTracker(horizon=0.5, max_shift=2.0)
    for frame in range(0, 15, 5):
        tracker.update(detections(box_at(frame / 25, (0, 0), (speed, 0))), frame / 25)
    last_x = speed * 10 / 25
    soon, later, much_later = (tracker.update(None, 0.4 + dt).boxes[0] for dt in (0.1, 0.5, 100.0))
    # Constant velocity at first, then the box stops, never farther than 2 face sizes (110 px).
    assert soon[0] == pytest.approx(last_x + min(speed * 0.1, 220), abs=1)
    np.testing.assert_allclose(later, much_later)
    assert later[0] == pytest.approx(last_x + min(speed * 0.5, 220), abs=1)
    assert later[2] - later[0] == pytest.approx(100, abs=1)


def two_faces_crossing(t: float) -> np.ndarray:
    """Face A goes right, face B goes left along nearly the same line; boxes overlap for about 0.5 s."""
    return np.stack([box_at(t, (60, 100), (160, 0), (80, 80)), box_at(t, (560, 120), (-160, 0), (80, 80))])


@pytest.mark.parametrize("detect_every", [3, 5, 8])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_crossing_faces_keep_their_ids(detect_every: int, seed: int):
    results = run(FaceTracker(), 75, 25.0, detect_every, two_faces_crossing, noise=2.0, seed=seed)
    ids_a = set()
    for t, _, faces in results[detect_every:]:  # from the second detection, when velocities are known
        assert len(faces) == 2
        truth = two_faces_crossing(t)
        face_a = int(np.argmax(iou_matrix(truth[:1], faces.boxes)[0]))  # the output box on face A
        ids_a.add(int(faces.track_ids[face_a]))
        assert iou(faces.boxes[face_a], truth[0]) > 0.5
    # Face A starts on the left so it is id 1, and stays id 1 after passing face B.
    assert ids_a == {1}


def test_crossing_face_hidden_for_one_detection_keeps_its_id():
    def front_face_only_while_overlapping(t, boxes):
        return [0, 1] if iou(boxes[0], boxes[1]) < 0.3 else [1]

    results = run(FaceTracker(), 75, 25.0, 5, two_faces_crossing, detect=front_face_only_while_overlapping)
    assert any(detected and len(faces) == 1 for _, detected, faces in results)  # A really was hidden
    for t, _, faces in results:
        truth = two_faces_crossing(t)
        for box, track_id in zip(faces.boxes, faces.track_ids, strict=True):
            assert track_id == 1 + int(np.argmax(iou_matrix(box, truth)[0]))


def test_a_face_appearing_later_gets_a_new_id():
    def boxes(t):
        return (
            two_faces_crossing(t) if t < 1.0 else np.vstack([two_faces_crossing(t), [[300, 400, 380, 480]]])
        )

    results = run(FaceTracker(), 50, 25.0, 5, boxes)
    last = results[-1][2]
    assert list(last.track_ids) == [1, 2, 3]
    np.testing.assert_allclose(last.boxes[2], [300, 400, 380, 480], atol=1)


@pytest.mark.parametrize(
    ("max_missed", "away", "same_id"),
    [(2, 1.2, False), (100, 1.2, False), (100, 0.6, True)],  # max_missed 100: only max_age decides
)
def test_a_face_gone_longer_than_max_age_comes_back_with_a_new_id(
    max_missed: int, away: float, same_id: bool
):
    tracker = FaceTracker(max_missed=max_missed, max_age=1.0)
    face = [100, 100, 200, 200]
    for frame in range(0, 100, 5):  # 25 fps: present for 1 s, away, then back
        t = frame / 25
        faces = tracker.update(detections(face if not 1.0 <= t < 1.0 + away else []), t)
    assert list(faces.track_ids) == ([1] if same_id else [2])


def test_a_face_missed_once_keeps_its_id():
    tracker = FaceTracker()
    face = [100, 100, 200, 200]
    for frame, present in zip(range(0, 25, 5), [True, True, False, True, True], strict=True):
        faces = tracker.update(detections(face if present else []), frame / 25)
    assert list(faces.track_ids) == [1]


def test_detected_faces_are_never_hidden_and_ids_never_reused():
    rng = np.random.default_rng(7)
    tracker = FaceTracker()
    seen: set[int] = set()
    retired: set[int] = set()
    last_ids: list[int] = []
    for frame in range(400):
        t = frame / 30
        if frame % 3 == 0:
            n = int(rng.integers(0, 6))
            corner = rng.uniform(0, 600, (n, 2))
            boxes = np.hstack([corner, corner + rng.uniform(20, 150, (n, 2))])
            faces = tracker.update(detections(boxes), t)
            assert sorted(map(tuple, faces.boxes.tolist())) == sorted(
                map(tuple, detections(boxes).boxes.tolist())
            )
            last_ids = list(faces.track_ids)
        else:
            faces = tracker.update(None, t)
            assert list(faces.track_ids) == last_ids  # exactly the faces of the last detection
        ids = list(faces.track_ids)
        assert ids == sorted(set(ids)) and all(i >= 1 for i in ids)
        assert not retired & set(ids)
        assert set(ids) <= set(tracker.active_ids)
        seen |= set(ids)
        retired |= seen - set(tracker.active_ids)


def test_no_detections_and_reset():
    tracker = FaceTracker()
    assert len(tracker.update(None, 0.0)) == 0  # nothing detected yet
    assert len(tracker.update(FaceDetections.empty(), 0.04)) == 0
    assert list(tracker.update(detections([10, 10, 60, 60]), 0.08).track_ids) == [1]
    assert len(tracker.update(FaceDetections.empty(), 0.12)) == 0  # a detection frame shows only detections
    assert len(tracker.update(None, 0.16)) == 0  # and the missed track is not drawn afterwards
    assert tracker.active_ids == [1]  # though it may still come back
    tracker.reset()
    assert tracker.active_ids == []
    assert len(tracker.update(None, 0.2)) == 0
    assert list(tracker.update(detections([10, 10, 60, 60]), 0.24).track_ids) == [1]


def test_same_motion_at_24_and_60_fps_gives_the_same_boxes():
    def predicted_at_common_times(fps: int, detect_every: int) -> dict[int, np.ndarray]:
        results = run(FaceTracker(), 2 * fps, float(fps), detect_every, motion)
        step = fps // 12  # frames at k / 12 s exist at both rates
        return {
            frame // step: faces.boxes[0] for frame, (_, _, faces) in enumerate(results) if frame % step == 0
        }

    def motion(t):  # a face speeding up and turning: velocity is re-estimated at each detection
        return box_at(t, (100, 100), (120 + 60 * t, 50 * np.sin(3 * t)), (90, 110))

    # Detections at the same instants (every 0.25 s), predictions on every other frame.
    at_24, at_60 = predicted_at_common_times(24, 6), predicted_at_common_times(60, 15)
    assert at_24.keys() == at_60.keys()
    for k in at_24:
        np.testing.assert_allclose(at_24[k], at_60[k], atol=1.0, err_msg=f"t = {k / 12:.3f} s")

    # Detections every 5th frame at both rates (not the same instants), constant velocity.
    def constant(t):
        return box_at(t, (100, 100), (180, -60), (90, 110))

    for fps in (24, 60):
        results = run(FaceTracker(), 2 * fps, float(fps), 5, constant)
        for t, _, faces in results[5:]:
            np.testing.assert_allclose(faces.boxes[0], constant(t), atol=1.0)


def test_with_min_hits_a_one_off_detection_is_never_shown_nor_numbered():
    tracker = FaceTracker(min_hits=2)
    face, flash = [100, 100, 200, 200], [400, 50, 440, 90]
    shown = []
    for frame in range(0, 30, 5):  # the flash (a false detection) appears on one round only
        boxes = [face, flash] if frame == 10 else [face]
        shown.append(list(tracker.update(detections(boxes), frame / 25).track_ids))
        shown.append(list(tracker.update(None, (frame + 1) / 25).track_ids))
    assert shown[:2] == [[], []]  # the face is shown from its second detection on
    assert all(ids == [1] for ids in shown[2:])  # and the flash never got a number
    assert tracker.needs_detection(1.0) is False


@pytest.mark.parametrize(("away", "same_id"), [(1.5, True), (2.6, True), (3.5, False)])
def test_with_memory_a_face_lost_for_a_while_gets_its_id_back(away: float, same_id: bool):
    tracker = FaceTracker(memory=3.0)
    left, right = [100, 100, 200, 200], [400, 100, 500, 200]
    t = 0.0
    while t < 1.0:  # both faces for 1 s
        tracker.update(detections([left, right]), t)
        t += 0.2
    back = t + away
    while t < back:  # the left face is missed (turned away, a hand in front)
        tracker.update(detections([right]), t)
        t += 0.2
    faces = tracker.update(detections([[110, 105, 210, 205], right]), t)
    assert list(faces.track_ids) == ([1, 2] if same_id else [2, 3])


def test_a_face_whose_prediction_went_astray_is_matched_where_it_was_last_seen():
    """A face jerks right then stops: the extrapolated box overshoots by more than a face."""
    tracker = FaceTracker(horizon=2.0, max_shift=5.0)
    for t, x in [(0.0, 100), (0.1, 160), (0.2, 220)]:  # 600 px/s
        tracker.update(detections([x, 100, x + 80, 180]), t)
    faces = tracker.update(detections([230, 100, 310, 180]), 0.6)  # stopped: the prediction says x = 460
    assert list(faces.track_ids) == [1]
