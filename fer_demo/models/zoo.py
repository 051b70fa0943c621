"""Build and cache models by name: the only place that turns a spec into a network.

Models load lazily on first use and stay cached, so app start-up loads none.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from fer_demo.errors import ModelUnavailableError
from fer_demo.models.base import EmotionModel
from fer_demo.models.mini_xception import MiniXception
from fer_demo.models.specs import ModelSpec, get_spec
from fer_demo.models.weights import availability, local_path

log = logging.getLogger(__name__)


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
        raise ModelUnavailableError(f"{source} does not fit the architecture: " + "; ".join(problems))
    network.load_state_dict(state, strict=True)
    return network


def _build_mini_xception(spec: ModelSpec, paths: list[Path]) -> nn.Module:
    return load_strict(MiniXception(len(spec.labels)), load_file(str(paths[0])), paths[0].name)


BUILDERS: dict[str, Callable[[ModelSpec, list[Path]], nn.Module]] = {
    "mini_xception": _build_mini_xception,
}


class ModelZoo:
    """Thread-safe lazy cache of loaded models for one weights folder."""

    def __init__(self, weights_dir: Path) -> None:
        self.weights_dir = Path(weights_dir)
        self._models: dict[str, EmotionModel] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> EmotionModel:
        """The loaded model ``name``; raises ModelUnavailableError with the fix if it cannot be."""
        with self._lock:  # one load at a time: two users asking at once share the result
            if name not in self._models:
                self._models[name] = self._load(get_spec(name))
            return self._models[name]

    def is_loaded(self, name: str) -> bool:
        return name in self._models

    def _load(self, spec: ModelSpec) -> EmotionModel:
        status = availability(spec, self.weights_dir)
        if not status.available:
            raise ModelUnavailableError(
                f"{spec.display_name} is unavailable: {status.reason}. To use it, {status.fix}."
            )
        paths = [local_path(w, self.weights_dir) for w in spec.weights]
        log.info("loading %s from %s", spec.name, ", ".join(map(str, paths)))
        return EmotionModel(spec, BUILDERS[spec.architecture](spec, paths))
