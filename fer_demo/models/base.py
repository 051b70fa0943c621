"""A loaded network with its spec: face crops in, probabilities (and V/A) out."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from fer_demo.models.predictions import Predictions
from fer_demo.models.preprocess import prepare_batch
from fer_demo.models.specs import ModelSpec

# Runs a prepared (N, C, S, S) float32 batch and returns the raw (N, outputs) float32 tensor.
Runner = Callable[[torch.Tensor], torch.Tensor]


class EmotionModel:
    """Wraps a network whose forward returns raw outputs: K logits, then valence, arousal.

    ``runner`` replaces the PyTorch forward with another backend (ONNX
    Runtime) computing the same function; ``backend`` names it.
    """

    def __init__(
        self, spec: ModelSpec, network: nn.Module, runner: Runner | None = None, backend: str = "pytorch"
    ) -> None:
        self.spec = spec
        self.network = network.eval()
        self.runner = runner
        self.backend = backend if runner else "pytorch"

    def predict(self, crops: Sequence[np.ndarray]) -> Predictions:
        """Classify RGB uint8 face crops (any size) in one batch."""
        return self.predict_batch(prepare_batch(crops, self.spec.preprocessing))

    @property
    def has_features(self) -> bool:
        """Whether the network exposes per-face features for a temporal model (EMO-AffectNet)."""
        return hasattr(self.network, "forward_with_features")

    def predict_with_features(self, crops: Sequence[np.ndarray]) -> tuple[Predictions, np.ndarray]:
        """Like :meth:`predict`, plus the (N, D) features a temporal model reads, from one pass."""
        batch = prepare_batch(crops, self.spec.preprocessing)
        with torch.inference_mode():
            logits, features = self.network.forward_with_features(batch)
        probabilities = torch.softmax(logits.float(), dim=1).numpy()
        return Predictions(probabilities), features.float().numpy()

    def predict_batch(self, batch: torch.Tensor) -> Predictions:
        """Classify an already prepared (N, C, size, size) input batch."""
        k, members = len(self.spec.labels), self.spec.ensemble_branches
        branches = np.zeros((0, members, k), np.float32) if members else None
        if len(batch) == 0:
            va = np.zeros(0, np.float32) if self.spec.has_valence_arousal else None
            return Predictions(np.zeros((0, k), np.float32), va, va, branches)
        with torch.inference_mode():
            outputs = (self.runner or self.network)(batch).float()
        probabilities = torch.softmax(outputs[:, :k], dim=1).numpy()
        after = k + (2 if self.spec.has_valence_arousal else 0)
        if members:
            branches = outputs[:, after : after + members * k].reshape(-1, members, k).numpy().copy()
        if not self.spec.has_valence_arousal:
            return Predictions(probabilities, branch_probabilities=branches)
        va = outputs[:, k : k + 2].clamp(-1, 1).numpy()
        return Predictions(probabilities, va[:, 0].copy(), va[:, 1].copy(), branches)
