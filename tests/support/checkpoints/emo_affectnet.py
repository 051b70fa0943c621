"""Fake EMO-AffectNet checkpoints in the published container.

The published ``FER_static_ResNet50_AffectNet.pt`` and ``FER_dinamic_LSTM_<corpus>.pt`` are plain
``torch.save(state_dict)`` files without any prefix.
"""

from __future__ import annotations

from pathlib import Path

from .manifest_state import MANIFESTS, load_manifest, random_state, save

__all__ = [
    "LSTM_MANIFEST",
    "STATIC_MANIFEST",
    "load_manifest",
    "write_lstm_checkpoint",
    "write_static_checkpoint",
]

STATIC_MANIFEST = MANIFESTS / "FER_static_ResNet50_AffectNet.json"
LSTM_MANIFEST = MANIFESTS / "FER_dinamic_LSTM.json"
# Keeps 50 eval-mode layers finite and the logits moderate even on 0-255 scale inputs.
WEIGHT_GAIN = 0.7


def write_static_checkpoint(path: Path, seed: int = 0) -> Path:
    """Write a random ``FER_static_ResNet50_AffectNet.pt`` look-alike (322 tensors)."""
    return save(random_state(load_manifest(STATIC_MANIFEST), WEIGHT_GAIN, 0.05, seed), path)


def write_lstm_checkpoint(path: Path, seed: int = 0) -> Path:
    """Write a random ``FER_dinamic_LSTM_<corpus>.pt`` look-alike (10 tensors)."""
    return save(random_state(load_manifest(LSTM_MANIFEST), WEIGHT_GAIN, 0.05, seed), path)
