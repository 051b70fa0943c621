"""Several models on the same faces: side-by-side numbers and agreement."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from fer_demo.faces import DetectionOptions, FaceDetector
from fer_demo.labels import CANONICAL_LABELS
from fer_demo.models.base import EmotionModel
from fer_demo.pipeline import ImageAnalysis, classify_faces


def compare_models(
    image: np.ndarray,
    models: Sequence[EmotionModel],
    detector: FaceDetector,
    options: DetectionOptions | None = None,
) -> list[ImageAnalysis]:
    """Detect once, then let every model classify the same faces."""
    detections = detector.detect(image, options)
    return [classify_faces(image, detections, model) for model in models]


def agreement(analyses: Sequence[ImageAnalysis]) -> list[tuple[str, int, int]]:
    """Per face: (most common top label, how many models chose it, how many models)."""
    if not analyses:
        return []
    result = []
    for i in range(len(analyses[0].faces)):
        votes = Counter(analysis.faces[i].top_label for analysis in analyses)
        label, count = votes.most_common(1)[0]
        result.append((label, count, len(analyses)))
    return result


def comparison_rows(analyses: Sequence[ImageAnalysis]) -> tuple[list[str], list[dict]]:
    """One row per (face, model) with every canonical label; absent labels are empty."""
    columns = ["face", "model", "top_label", "top_probability", *CANONICAL_LABELS, "valence", "arousal"]
    rows = []
    for i in range(len(analyses[0].faces) if analyses else 0):
        for analysis in analyses:
            face = analysis.faces[i]
            row = {
                "face": face.face,
                "model": analysis.model,
                "top_label": face.top_label,
                "top_probability": face.top_probability,
                "valence": face.valence,
                "arousal": face.arousal,
            }
            row.update({label: face.probabilities.get(label) for label in CANONICAL_LABELS})
            rows.append(row)
    return columns, rows
