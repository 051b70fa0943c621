"""Faces aligned as dlib's face-recognition network was trained on: a 150x150 "face chip".

dlib's ``get_face_chip_details(shape, 150, 0.25)`` maps its 68-point mean face onto the
image's landmarks with a similarity transform (rotation, one scale, shift) and samples the
chip through it. Here the detector gives 5 points (MTCNN: eye centres, nose tip, mouth
corners), so the template is dlib's mean face at those 5 points: each eye the mean of
its six points (36-41, 42-47), the nose tip (30) and the mouth corners (48, 54), with
dlib's 0.25 padding. The transform is the least-squares similarity (Umeyama, 1991).
"""

from __future__ import annotations

import cv2
import numpy as np

CHIP_SIZE = 150  # pixels, the network's input
CHIP_PADDING = 0.25  # dlib's face recognition example: the face fills 1 / 1.5 of the chip
# dlib's mean face (dlib/image_transforms/interpolation.h, points 17-67 normalised to the unit
# square) at the detector's 5 points, in image order: the eye on the left of the picture first.
MEAN_FACE_5 = np.array(
    [
        [0.225490, 0.215990],  # eye on the left of the picture: mean of points 36-41
        [0.754761, 0.215990],  # eye on the right: mean of points 42-47
        [0.490127, 0.515625],  # nose tip: point 30
        [0.254149, 0.780233],  # mouth corner on the left: point 48
        [0.726104, 0.780233],  # mouth corner on the right: point 54
    ],
    np.float64,
)


def chip_template(size: int = CHIP_SIZE, padding: float = CHIP_PADDING) -> np.ndarray:
    """The 5 points' places in a chip of ``size`` pixels: (5, 2), as dlib pads its mean face."""
    return (padding + MEAN_FACE_5) / (2 * padding + 1) * size


def similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 matrix of the rotation, scale and shift taking ``source`` points nearest to
    ``target`` points in least squares (Umeyama's closed form; no reflection)."""
    source, target = np.asarray(source, np.float64), np.asarray(target, np.float64)
    mean_s, mean_t = source.mean(axis=0), target.mean(axis=0)
    s, t = source - mean_s, target - mean_t
    covariance = t.T @ s / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(singular) @ sign) / s.var(axis=0).sum()
    shift = mean_t - scale * rotation @ mean_s
    return np.hstack([scale * rotation, shift[:, None]])


def face_chip(image: np.ndarray, landmarks: np.ndarray, size: int = CHIP_SIZE,
              padding: float = CHIP_PADDING) -> np.ndarray:  # fmt: skip
    """The (size, size, 3) aligned face of an RGB uint8 image, from its 5 landmarks (x, y)."""
    matrix = similarity(np.asarray(landmarks, np.float64).reshape(5, 2), chip_template(size, padding))
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
