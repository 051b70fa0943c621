"""One label vocabulary for every model.

Each model family names and orders its classes its own way (HSEmotion is
alphabetical, FER2013 says "angry"). Charts, tables and comparisons use the
canonical order below; a model without a class leaves it absent, not zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CANONICAL_LABELS: tuple[str, ...] = (
    "Neutral",
    "Happiness",
    "Sadness",
    "Surprise",
    "Fear",
    "Disgust",
    "Anger",
    "Contempt",
)

_ALIASES = {
    "neutral": "Neutral",
    "happy": "Happiness",
    "happiness": "Happiness",
    "sad": "Sadness",
    "sadness": "Sadness",
    "surprise": "Surprise",
    "surprised": "Surprise",
    "fear": "Fear",
    "afraid": "Fear",
    "disgust": "Disgust",
    "disgusted": "Disgust",
    "anger": "Anger",
    "angry": "Anger",
    "contempt": "Contempt",
}


def canonical_label(name: str) -> str:
    """The canonical name of a model's class name ("angry" -> "Anger")."""
    try:
        return _ALIASES[name.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown expression label {name!r}") from None


def canonical_order(labels: Sequence[str]) -> list[str]:
    """The canonical labels a model has, in canonical order."""
    present = {canonical_label(label) for label in labels}
    return [label for label in CANONICAL_LABELS if label in present]


def to_canonical(probabilities: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
    """Map one row of probabilities in a model's own order to {canonical label: p}.

    The dict is ordered canonically and holds only the labels the model has.
    """
    if len(probabilities) != len(labels):
        raise ValueError(f"{len(probabilities)} probabilities for {len(labels)} labels")
    by_name = {canonical_label(label): float(p) for label, p in zip(labels, probabilities, strict=True)}
    return {label: by_name[label] for label in CANONICAL_LABELS if label in by_name}
