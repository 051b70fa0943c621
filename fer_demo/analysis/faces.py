"""Face detection (MTCNN) and the geometry of face boxes and crops.

Colour order everywhere here is RGB; boxes are (x1, y1, x2, y2) float pixels
of the full-resolution image.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from fer_demo.config import DetectionOptions


@dataclass(frozen=True)
class FaceDetections:
    """Faces of one image as parallel arrays, sorted left to right.

    Attributes:
        boxes: (N, 4) float32, x1, y1, x2, y2 in pixels.
        scores: (N,) float32 detector confidence in [0, 1].
        landmarks: (N, 5, 2) float32: eyes, nose, mouth corners as (x, y).
        track_ids: (N,) int64, -1 where no tracker has assigned one.
        too_small: (M, 4) float32 boxes of faces found as surely but smaller than the minimum
            face size: not analysed, but counted, so the user hears of them.
    """

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray
    track_ids: np.ndarray = field(default=None)  # type: ignore[assignment]
    too_small: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.track_ids is None:
            object.__setattr__(self, "track_ids", np.full(len(self.boxes), -1, dtype=np.int64))
        if self.too_small is None:
            object.__setattr__(self, "too_small", np.zeros((0, 4), np.float32))

    @classmethod
    def empty(cls) -> FaceDetections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32))

    def __len__(self) -> int:
        return len(self.boxes)

    def __getitem__(self, index: int | slice | np.ndarray) -> FaceDetections:
        index = np.atleast_1d(np.arange(len(self))[index])
        return replace(
            self,
            boxes=self.boxes[index],
            scores=self.scores[index],
            landmarks=self.landmarks[index],
            track_ids=self.track_ids[index],
        )


def downscale_factor(width: int, height: int, max_side: int) -> float:
    """Scale (<= 1) for the detection copy: longest side ``max_side``, or the area of a 16:9 such frame.

    The area rule only matters for images longer than 16:9: a 20000x200 strip
    shrunk to 640 px long would be 6 px tall, with no room for any face.
    """
    by_side = max_side / max(width, height)
    by_area = (max_side * max_side * 9 / 16 / (width * height)) ** 0.5
    return min(1.0, max(by_side, by_area))


class FaceDetector:
    """MTCNN run on a downscaled copy, boxes mapped back to full resolution.

    MTCNN's cost grows with image area and shrinks with its smallest face size
    (about 270 ms for a 1280x720 frame at full size against 50 ms at 640 px),
    so detection happens on a copy whose longest side is ``max_side``, looking
    for faces of at least ``pyramid_min_px`` pixels of that copy (MTCNN's pyramid starts there;
    which faces are reported is ``options.min_face_size``, in pixels of the image).
    """

    def __init__(
        self, max_side: int = 640, pyramid_min_px: int = 20, options: DetectionOptions = DetectionOptions()  # noqa: B008
    ) -> None:
        self.max_side = max_side
        self.pyramid_min_px = pyramid_min_px
        self.options = options  # the default for calls that give none
        self._mtcnn = None
        self._lock = threading.Lock()

    def _network(self):
        with self._lock:
            if self._mtcnn is None:
                from facenet_pytorch import MTCNN  # heavy import, only when first used

                self._mtcnn = MTCNN(keep_all=True, post_process=False, device="cpu")
            return self._mtcnn

    def detect(self, image: np.ndarray, options: DetectionOptions | None = None) -> FaceDetections:
        """Find every face in an RGB uint8 (H, W, 3) image; empty result when none."""
        options = options or self.options
        height, width = image.shape[:2]
        scale = downscale_factor(width, height, self.max_side)
        small = image
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            # reducing_gap: box-reduce first, then resample; several times faster, same boxes.
            small = np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR, reducing_gap=2.0))
        # Faces smaller than the user's minimum need not be looked for: a coarser pyramid, faster.
        pyramid_min = max(self.pyramid_min_px, options.min_face_size * small.shape[0] / height)
        if min(small.shape[:2]) < pyramid_min:  # no room for a face; MTCNN's pyramid would be empty
            return FaceDetections.empty()
        boxes, scores, landmarks = self._mtcnn_detect(small, pyramid_min)
        sides = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) * (height / small.shape[0])
        sure = scores >= options.min_confidence
        keep = sure & (sides >= options.min_face_size)
        # x_full = x_small / scale exactly, since resize maps pixel edges to edges.
        sx, sy = width / small.shape[1], height / small.shape[0]
        too_small = boxes[sure & ~keep] * np.array([sx, sy, sx, sy], np.float32)
        if not keep.any():
            return replace(FaceDetections.empty(), too_small=too_small)
        boxes = boxes[keep] * np.array([sx, sy, sx, sy], np.float32)
        landmarks = landmarks[keep] * np.array([sx, sy], np.float32)
        order = np.argsort(boxes[:, 0], kind="stable")
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, width)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, height)
        return FaceDetections(boxes[order], scores[keep][order], landmarks[order], too_small=too_small)

    def _mtcnn_detect(self, image: np.ndarray, min_face: float) -> tuple[np.ndarray, ...]:
        """MTCNN with this call's smallest face: (N, 4) boxes, (N,) scores, (N, 5, 2) landmarks."""
        import torch
        from facenet_pytorch.models.utils.detect_face import detect_face

        mtcnn = self._network()
        with torch.no_grad():
            batch_boxes, batch_points = detect_face(
                image, min_face, mtcnn.pnet, mtcnn.rnet, mtcnn.onet, mtcnn.thresholds, mtcnn.factor, "cpu"
            )
        boxes, points = np.asarray(batch_boxes[0], np.float32), np.asarray(batch_points[0], np.float32)
        if boxes.size == 0:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32)
        return boxes[:, :4], boxes[:, 4], points.reshape(-1, 5, 2)


def expand_boxes(boxes: np.ndarray, margin: float, square: bool) -> np.ndarray:
    """Grow boxes by ``margin`` of their size on each side, squaring them first if asked.

    A square box keeps the face's aspect ratio when a model resizes the crop to
    a square input; the side is the longer of width and height.

    Args:
        boxes: (N, 4) x1, y1, x2, y2.
        margin: fraction of the side added on every side (0.1 grows a side by 20%).
        square: make width == height around the same centre.

    Returns:
        (N, 4) float32 boxes, possibly crossing the image border.
    """
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    size = boxes[:, 2:] - boxes[:, :2]
    if square:
        size = np.repeat(size.max(axis=1, keepdims=True), 2, axis=1)
    half = size * (0.5 + margin)
    return np.concatenate([centre - half, centre + half], axis=1).astype(np.float32)


def crop(image: np.ndarray, box: np.ndarray, pad: bool = True) -> np.ndarray:
    """Cut ``box`` out of an (H, W, C) image.

    With ``pad`` the crop has the box's exact size and parts outside the image
    are black, so a face at the border stays centred; without it the box is
    clipped to the image.
    """
    height, width = image.shape[:2]
    x1, y1, x2, y2 = (round(float(v)) for v in box)
    x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)
    cx1, cy1, cx2, cy2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
    if cx2 <= cx1 or cy2 <= cy1:  # box entirely outside: nothing to see
        return np.zeros((y2 - y1, x2 - x1, *image.shape[2:]), image.dtype)
    inside = image[cy1:cy2, cx1:cx2]
    if not pad:
        return inside
    out = np.zeros((y2 - y1, x2 - x1, *image.shape[2:]), image.dtype)
    out[cy1 - y1 : cy2 - y1, cx1 - x1 : cx2 - x1] = inside
    return out
