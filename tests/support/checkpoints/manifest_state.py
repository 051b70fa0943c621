"""Random state dicts with a published checkpoint's exact names, order, shapes and dtypes.

Built from the manifests only, never from ``fer_demo``, so a wrong model class
cannot make its own fixtures agree with it. Values keep deep eval-mode
networks finite: fan-in scaled matrices with a gain below 1, BatchNorm
weights near 1 and strictly positive running variances.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from pathlib import Path

import torch

MANIFESTS = Path(__file__).resolve().parents[1] / "manifests"


def load_manifest(name: str | Path) -> dict[str, tuple[list[int], str]]:
    """Tensor name -> (shape, dtype name) of a manifest file or ``manifests/<name>.json``, in order."""
    path = Path(name) if str(name).endswith(".json") else MANIFESTS / f"{name}.json"
    data = json.loads(path.read_text())
    return {key: (shape, dtype) for key, (shape, dtype) in data["tensors"].items()}


def random_state(
    manifest: dict[str, tuple[list[int], str]], gain: float, norm_spread: float, seed: int
) -> OrderedDict[str, torch.Tensor]:
    """Random tensors for every manifest entry; ``gain`` scales weight matrices."""
    norm_layers = {key.rsplit(".", 1)[0] for key in manifest if key.endswith(".running_var")}
    gen = torch.Generator().manual_seed(seed)
    state: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, (shape, dtype) in manifest.items():
        layer, suffix = key.rsplit(".", 1)
        if dtype == "int64":  # num_batches_tracked
            state[key] = torch.randint(1, 10_000, shape, generator=gen, dtype=torch.int64)
        elif dtype != "float32":
            raise ValueError(f"{key}: unexpected dtype {dtype}")
        elif layer in norm_layers and suffix == "running_var":
            state[key] = 0.5 + torch.rand(shape, generator=gen)
        elif layer in norm_layers and suffix == "weight":
            state[key] = 1.0 + norm_spread * torch.randn(shape, generator=gen)
        elif layer in norm_layers:  # bias, running_mean
            state[key] = norm_spread * torch.randn(shape, generator=gen)
        elif len(shape) >= 2:  # conv, linear and LSTM matrices
            state[key] = gain * torch.randn(shape, generator=gen) / math.sqrt(math.prod(shape[1:]))
        else:
            state[key] = 0.05 * torch.randn(shape, generator=gen)
    return state


def save(state: OrderedDict[str, torch.Tensor], path: Path) -> Path:
    """``torch.save(state_dict)``: the container EmoNet and EMO-AffectNet publish."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path
