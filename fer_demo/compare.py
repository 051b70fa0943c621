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


def compared_labels(analyses: Sequence[ImageAnalysis]) -> list[str]:
    """The canonical labels at least one of the compared models outputs, in canonical order."""
    present = {label for analysis in analyses for face in analysis.faces for label in face.probabilities}
    return [label for label in CANONICAL_LABELS if label in present]


def comparison_rows(analyses: Sequence[ImageAnalysis]) -> tuple[list[str], list[dict]]:
    """One row per (face, model): the labels some compared model has (canonical order; empty for a
    model without one), and valence/arousal only when some model gives them."""
    labels = compared_labels(analyses)
    has_va = any(face.valence is not None for analysis in analyses for face in analysis.faces)
    columns = ["face", "model", "top_label", "top_probability", *labels, *(["valence", "arousal"] * has_va)]
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
            row.update({label: face.probabilities.get(label) for label in labels})
            rows.append(row)
    return columns, rows
