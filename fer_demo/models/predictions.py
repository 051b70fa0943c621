"""What a model says about N faces, as plain NumPy arrays (no torch: cheap to import)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Predictions:
    """Outputs for N faces.

    Attributes:
        probabilities: (N, K) float32 in the model's own label order, rows sum to 1.
        valence: (N,) float32 clipped to [-1, 1], or None when the model has none.
        arousal: (N,) float32 clipped to [-1, 1], or None.
        branch_probabilities: (N, B, K) float32, each member's softmax, for an ensemble of B; else None.
    """

    probabilities: np.ndarray
    valence: np.ndarray | None = None
    arousal: np.ndarray | None = None
    branch_probabilities: np.ndarray | None = None

    @property
    def agreement(self) -> np.ndarray | None:
        """(N,) share of an ensemble's members whose own top class is the ensemble's; None otherwise."""
        if self.branch_probabilities is None:
            return None
        return branch_agreement(self.probabilities, self.branch_probabilities)


def branch_agreement(probabilities: np.ndarray, branch_probabilities: np.ndarray) -> np.ndarray:
    """Votes for the top class over members: (N, K) and (N, B, K) -> (N,) in [1/B, 1] or 0 (no member)."""
    top = probabilities.argmax(axis=1)
    votes = branch_probabilities.argmax(axis=2) == top[:, None]
    return votes.mean(axis=1).astype(np.float32) if votes.shape[1] else np.zeros(len(top), np.float32)
