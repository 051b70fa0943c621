"""Reading checkpoints without running code from them, and loading them strictly."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from fer_demo.errors import ModelUnavailableError


class CheckpointMismatchError(ModelUnavailableError, ValueError):
    """A checkpoint's tensors do not fit the architecture (names or shapes)."""


def load_strict(network: nn.Module, state: dict[str, torch.Tensor], source: str) -> nn.Module:
    """Load a state dict requiring every key and shape to match; name the first mismatches."""
    expected = network.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or wrong:
        problems = []
        for title, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
            if items:
                more = f" (+{len(items) - 3} more)" if len(items) > 3 else ""
                problems.append(f"{len(items)} {title}: {', '.join(items[:3])}{more}")
        raise CheckpointMismatchError(f"{source} does not fit the architecture: " + "; ".join(problems))
    network.load_state_dict(state, strict=True)
    return network.eval()


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A ``torch.save(state_dict)`` file, read with the weights-only unpickler."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ModelUnavailableError(f"{path.name} could not be read as a weights file: {error}") from error
    if not isinstance(state, dict):
        raise ModelUnavailableError(f"{path.name} holds a {type(state).__name__}, not a state dict")
    return state
