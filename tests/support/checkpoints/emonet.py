"""Fake EmoNet checkpoints in the published container.

The published ``emonet_{5,8}.pth`` files are ``torch.save(state_dict)`` of a plain dict whose keys
carry a ``module.`` prefix (saved from DataParallel).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from .manifest_state import load_manifest, random_state, save

# Below 1, so ~100 un-normalised residual layers and the heatmap-sum mask keep outputs near O(0.1-1).
WEIGHT_GAIN = 0.5


def emonet_manifest(n_expression: int = 8) -> dict[str, tuple[list[int], str]]:
    """Tensor name -> (shape, dtype name) of the published checkpoint, in checkpoint order."""
    return load_manifest(f"emonet_{n_expression}")


def write_emonet_checkpoint(
    path: Path, n_expression: int = 8, module_prefix: bool = True, seed: int = 0
) -> Path:
    """Write a random ``torch.save(state_dict)`` checkpoint with the manifest's keys, shapes and dtypes."""
    state = random_state(emonet_manifest(n_expression), WEIGHT_GAIN, norm_spread=0.1, seed=seed)
    prefix = "module." if module_prefix else ""
    return save(OrderedDict((prefix + key, value) for key, value in state.items()), path)
