"""Every model's labels map onto one canonical vocabulary and order."""

from __future__ import annotations

import numpy as np
import pytest

from fer_demo.analysis.labels import CANONICAL_LABELS, canonical_label, canonical_order, to_canonical
from fer_demo.models.specs import FER2013_LABELS


def test_aliases():
    assert canonical_label("angry") == "Anger"
    assert canonical_label("Happy") == "Happiness"
    assert canonical_label(" sad ") == "Sadness"
    with pytest.raises(ValueError, match="unknown expression label"):
        canonical_label("bored")


def test_fer2013_probabilities_are_reordered_canonically_and_contempt_is_absent():
    probabilities = np.array([0.1, 0.0, 0.05, 0.6, 0.05, 0.1, 0.1])  # angry .. neutral
    mapped = to_canonical(probabilities, FER2013_LABELS)
    assert list(mapped) == ["Neutral", "Happiness", "Sadness", "Surprise", "Fear", "Disgust", "Anger"]
    assert mapped["Happiness"] == pytest.approx(0.6) and mapped["Anger"] == pytest.approx(0.1)
    assert "Contempt" not in mapped


def test_alphabetical_hsemotion_order_maps_too():
    labels = ("Anger", "Contempt", "Disgust", "Fear", "Happiness", "Neutral", "Sadness", "Surprise")
    mapped = to_canonical(np.eye(8)[4], labels)
    assert list(mapped) == list(CANONICAL_LABELS)
    assert mapped["Happiness"] == 1.0 and sum(mapped.values()) == 1.0


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError):
        to_canonical(np.ones(3), FER2013_LABELS)


def test_canonical_order():
    assert canonical_order(["surprise", "neutral"]) == ["Neutral", "Surprise"]
