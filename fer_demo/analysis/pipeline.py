"""One image through the whole chain: detect -> crop -> classify -> results.

The image tab, the API and the CLI all call :func:`analyze_image`; what they
get back is plain data that renders, plots and exports without a model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from fer_demo.analysis.faces import FaceDetections, FaceDetector, crop, expand_boxes
from fer_demo.analysis.labels import canonical_label, to_canonical
from fer_demo.config import DetectionOptions
from fer_demo.models.predictions import Predictions

if TYPE_CHECKING:
    from fer_demo.models.base import EmotionModel


@dataclass(frozen=True)
class FaceResult:
    """What one model says about one face. ``box`` is the detector's (x1, y1, x2, y2)."""

    face: int  # 1-based number shown on the image, left to right
    box: tuple[float, float, float, float]
    score: float
    landmarks: list[tuple[float, float]]
    probabilities: dict[str, float]  # canonical label -> p, canonical order
    top_label: str
    top_probability: float
    valence: float | None = None
    arousal: float | None = None
    # An ensemble's (ESR-9): the share of members voting for ``top_label``, and each member's vote.
    agreement: float | None = None
    branch_votes: list[str] | None = None


@dataclass(frozen=True)
class ImageAnalysis:
    """All faces of one image according to one model."""

    model: str
    model_display_name: str
    width: int
    height: int
    faces: list[FaceResult] = field(default_factory=list)
    # Faces the detector found as surely but under the minimum face size: boxes, not analysed.
    too_small: list[tuple[float, float, float, float]] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready form, the API's response."""
        return asdict(self)


def face_crops(image: np.ndarray, detections: FaceDetections, model: EmotionModel) -> list[np.ndarray]:
    """Cut every detected face out of ``image`` the way ``model`` expects it."""
    policy = model.spec.crop
    boxes = expand_boxes(detections.boxes, policy.margin, policy.square)
    return [crop(image, box, pad=policy.pad) for box in boxes]


def face_results(
    detections: FaceDetections, predictions: Predictions, model: EmotionModel
) -> list[FaceResult]:
    """Zip detections with predictions into per-face results in canonical label order.

    A face's number is its track id when a tracker assigned one, else its position.
    """
    results = []
    agreement = predictions.agreement
    labels = [canonical_label(label) for label in model.spec.labels]
    for i in range(len(detections)):
        track = int(detections.track_ids[i])
        probabilities = to_canonical(predictions.probabilities[i], model.spec.labels)
        top = max(probabilities, key=probabilities.get)
        votes = None
        if predictions.branch_probabilities is not None:
            votes = [labels[k] for k in predictions.branch_probabilities[i].argmax(axis=1)]
        results.append(
            FaceResult(
                face=track if track > 0 else i + 1,
                box=tuple(round(float(v), 1) for v in detections.boxes[i]),
                score=round(float(detections.scores[i]), 4),
                landmarks=[(round(float(x), 1), round(float(y), 1)) for x, y in detections.landmarks[i]],
                probabilities={k: round(v, 5) for k, v in probabilities.items()},
                top_label=top,
                top_probability=round(probabilities[top], 5),
                valence=None if predictions.valence is None else round(float(predictions.valence[i]), 4),
                arousal=None if predictions.arousal is None else round(float(predictions.arousal[i]), 4),
                agreement=None if agreement is None else round(float(agreement[i]), 4),
                branch_votes=votes,
            )
        )
    return results


def analyze_image(
    image: np.ndarray, model: EmotionModel, detector: FaceDetector, options: DetectionOptions | None = None
) -> ImageAnalysis:
    """Find every face in an RGB uint8 (H, W, 3) image and classify all of them in one batch."""
    return classify_faces(image, detector.detect(image, options), model)


def classify_faces(image: np.ndarray, detections: FaceDetections, model: EmotionModel) -> ImageAnalysis:
    """Classify already detected faces, so several models can share one detection."""
    predictions = model.predict(face_crops(image, detections, model))
    return ImageAnalysis(
        model=model.spec.name,
        model_display_name=model.spec.display_name,
        width=int(image.shape[1]),
        height=int(image.shape[0]),
        faces=face_results(detections, predictions, model),
        too_small=[tuple(round(float(v), 1) for v in box) for box in detections.too_small],
    )
