"""Several models on the same faces: side-by-side numbers and agreement."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from fer_demo.analysis.faces import FaceDetector
from fer_demo.analysis.labels import CANONICAL_LABELS
from fer_demo.analysis.pipeline import ImageAnalysis, classify_faces
from fer_demo.config import DetectionOptions

if TYPE_CHECKING:
    from fer_demo.models.base import EmotionModel


def compare_models(
    image: np.ndarray,
    models: Sequence[EmotionModel],
    detector: FaceDetector,
    options: DetectionOptions | None = None,
) -> list[ImageAnalysis]:
    """Detect once, then let every model classify the same faces."""
    detections = detector.detect(image, options)
    return [classify_faces(image, detections, model) for model in models]


@dataclass(frozen=True)
class FaceAgreement:
    """How far the compared models agree on one face, judged on the labels all of them have.

    Models have different classes (FER2013 has no Contempt, EmoNet-5 no Fear): a model that says
    Contempt is not disagreeing with one that cannot. So each model's vote is its most probable
    label among ``shared_labels``; ``label`` is the most common vote, ``agreeing`` its count.
    """

    face: int
    label: str
    agreeing: int
    models: int
    shared_labels: tuple[str, ...]

    @property
    def share(self) -> float:
        return self.agreeing / self.models

    def to_dict(self) -> dict:
        return {
            "face": self.face,
            "label": self.label,
            "models_agreeing": self.agreeing,
            "models": self.models,
            "share": round(self.share, 4),
            "shared_labels": list(self.shared_labels),
        }


def shared_labels(analyses: Sequence[ImageAnalysis]) -> tuple[str, ...]:
    """The canonical labels every compared model outputs, in canonical order."""
    sets = [set(analysis.faces[0].probabilities) for analysis in analyses if analysis.faces]
    common = set.intersection(*sets) if sets else set()
    return tuple(label for label in CANONICAL_LABELS if label in common)


def shared_vote(probabilities: dict[str, float], labels: Sequence[str]) -> str:
    """A model's most probable label among ``labels``."""
    return max(labels, key=lambda label: probabilities[label])


def agreement(analyses: Sequence[ImageAnalysis]) -> list[FaceAgreement]:
    """Per face: the label most models choose among the labels they share, and how many do."""
    if not analyses or not analyses[0].faces:
        return []
    labels = shared_labels(analyses)
    result = []
    for i, first in enumerate(analyses[0].faces):
        votes = Counter(shared_vote(analysis.faces[i].probabilities, labels) for analysis in analyses)
        label, count = votes.most_common(1)[0]
        result.append(FaceAgreement(first.face, label, count, len(analyses), labels))
    return result


def compared_labels(analyses: Sequence[ImageAnalysis]) -> list[str]:
    """The canonical labels at least one of the compared models outputs, in canonical order."""
    present = {label for analysis in analyses for face in analysis.faces for label in face.probabilities}
    return [label for label in CANONICAL_LABELS if label in present]


def comparison_rows(analyses: Sequence[ImageAnalysis]) -> tuple[list[str], list[dict]]:
    """One row per (face, model): its verdict, its vote on the shared labels and the face's
    consensus, the labels some compared model has (canonical order; empty for a model without
    one), valence/arousal and an ensemble's own agreement only when some model gives them."""
    labels = compared_labels(analyses)
    has_va = any(face.valence is not None for analysis in analyses for face in analysis.faces)
    has_ensemble = any(face.agreement is not None for analysis in analyses for face in analysis.faces)
    columns = ["face", "model", "top_label", "top_probability", "shared_vote", "consensus_label",
               "models_agreeing", *labels, *(["valence", "arousal"] * has_va),
               *(["ensemble_agreement"] * has_ensemble)]  # fmt: skip
    rows = []
    for i, consensus in enumerate(agreement(analyses)):
        for analysis in analyses:
            face = analysis.faces[i]
            row = {
                "face": face.face,
                "model": analysis.model,
                "top_label": face.top_label,
                "top_probability": face.top_probability,
                "shared_vote": shared_vote(face.probabilities, consensus.shared_labels),
                "consensus_label": consensus.label,
                "models_agreeing": f"{consensus.agreeing}/{consensus.models}",
                "valence": face.valence,
                "arousal": face.arousal,
                "ensemble_agreement": face.agreement,
            }
            row.update({label: face.probabilities.get(label) for label in labels})
            rows.append(row)
    return columns, rows
