"""Face boxes: found where the face is, squared, grown and cropped predictably."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fer_demo.analysis.faces import FaceDetections, FaceDetector, crop, downscale_factor, expand_boxes
from tests.support.boxes import iou

# Eileen Collins' face in skimage.data.astronaut(), measured by eye on the image.
ASTRONAUT_FACE = (180, 60, 270, 175)




def test_expand_boxes_squares_around_the_centre():
    out = expand_boxes(np.array([[10, 20, 30, 60]]), margin=0.0, square=True)
    np.testing.assert_allclose(out, [[0, 20, 40, 60]])  # 20x40 -> 40x40, same centre


def test_expand_boxes_margin_is_per_side_fraction():
    out = expand_boxes(np.array([[100, 100, 200, 200]]), margin=0.1, square=True)
    np.testing.assert_allclose(out, [[90, 90, 210, 210]])


def test_expand_boxes_without_squaring_keeps_aspect():
    out = expand_boxes(np.array([[0, 0, 20, 40]]), margin=0.0, square=False)
    np.testing.assert_allclose(out, [[0, 0, 20, 40]])


def test_expand_boxes_empty():
    assert expand_boxes(np.zeros((0, 4)), 0.2, True).shape == (0, 4)


def test_crop_pads_outside_the_image_with_black():
    image = np.full((10, 10, 3), 200, np.uint8)
    out = crop(image, np.array([-5, -5, 5, 5]), pad=True)
    assert out.shape == (10, 10, 3)
    assert (out[:5, :5] == 0).all() and (out[5:, 5:] == 200).all()


def test_crop_clips_when_not_padding():
    image = np.arange(100, dtype=np.uint8).reshape(10, 10, 1)
    out = crop(image, np.array([-5, 2, 4, 8]), pad=False)
    assert out.shape == (6, 4, 1)
    np.testing.assert_array_equal(out, image[2:8, 0:4])


def test_crop_entirely_outside_is_black_not_an_error():
    out = crop(np.full((10, 10, 3), 9, np.uint8), np.array([20, 20, 30, 30]))
    assert out.shape == (10, 10, 3) and not out.any()


def test_detections_index_and_empty():
    empty = FaceDetections.empty()
    assert len(empty) == 0 and empty.boxes.shape == (0, 4) and empty.landmarks.shape == (0, 5, 2)
    two = FaceDetections(
        np.array([[0, 0, 1, 1], [2, 2, 3, 3]], np.float32),
        np.array([0.9, 0.8], np.float32),
        np.zeros((2, 5, 2), np.float32),
    )
    assert (two.track_ids == -1).all()
    assert len(two[1]) == 1 and two[1].scores[0] == pytest.approx(0.8)
    assert len(two[np.array([False, False])]) == 0


def test_downscale_factor():
    assert downscale_factor(1280, 720, 640) == 0.5
    assert downscale_factor(320, 240, 640) == 1.0


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(max_side=640, pyramid_min_px=20)


def test_detector_finds_the_astronaut(detector, astronaut):
    faces = detector.detect(astronaut)
    assert len(faces) == 1
    assert faces.scores[0] > 0.95
    assert iou(faces.boxes[0], ASTRONAUT_FACE) > 0.7
    left_eye, right_eye = faces.landmarks[0][0], faces.landmarks[0][1]
    assert left_eye[0] < right_eye[0] and abs(left_eye[1] - right_eye[1]) < 15


def test_boxes_are_mapped_back_to_full_resolution(detector, astronaut):
    big = np.asarray(Image.fromarray(astronaut).resize((2048, 2048)))  # detected on a 640 px copy
    faces = detector.detect(big)
    assert len(faces) == 1
    assert iou(faces.boxes[0] / 4, ASTRONAUT_FACE) > 0.7


def test_no_face_is_an_empty_result_not_none(detector):
    sky = np.zeros((240, 320, 3), np.uint8)
    sky[..., 2] = np.linspace(80, 255, 320, dtype=np.uint8)[None, :]
    faces = detector.detect(sky)
    assert isinstance(faces, FaceDetections) and len(faces) == 0


def test_faces_are_numbered_left_to_right(detector, astronaut):
    pair = np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)  # a face in each half
    faces = detector.detect(pair)
    assert len(faces) == 2
    assert faces.boxes[0, 0] < 512 < faces.boxes[1, 0]
