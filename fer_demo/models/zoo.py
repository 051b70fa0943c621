"""Build and cache models by name: the only place that turns a spec into a network.

Models load lazily on first use and stay cached, so app start-up loads none.
Every checkpoint is read without executing code from it (safetensors, or
torch's ``weights_only`` unpickler) and loaded strictly: a missing,
unexpected or wrongly shaped tensor is an error naming the first mismatches.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from fer_demo.errors import ModelUnavailableError
from fer_demo.models.base import EmotionModel
from fer_demo.models.checkpoints import load_strict, read_state_dict
from fer_demo.models.emo_affectnet import EmotionLSTM, ResNet50Affect
from fer_demo.models.emonet import EmoNet, strip_module_prefix
from fer_demo.models.hsemotion import build_hsemotion, normalise_classifier_keys, read_pickled_model_state
from fer_demo.models.mini_xception import MiniXception
from fer_demo.models.onnx_backend import onnx_runner_for
from fer_demo.models.specs import TEMPORAL_SPECS, ModelSpec, get_spec
from fer_demo.models.weights import Availability, Progress, WeightStore

log = logging.getLogger(__name__)

StateReader = Callable[[Path, Path], dict[str, torch.Tensor]]


def cached_pickle_state(source: Path, cache: Path) -> dict[str, torch.Tensor]:
    """The state dict of a whole-model pickle, converted once to safetensors.

    The restricted unpickling is slow-ish and never needs doing twice; the
    cache is keyed by the source's size and modification time.
    """
    stat = source.stat()
    stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
    converted = cache / f"{source.stem}.safetensors"
    if converted.is_file():
        from safetensors import safe_open

        with safe_open(str(converted), "pt") as handle:
            if (handle.metadata() or {}).get("source_stamp") == stamp:
                return load_file(str(converted))
    try:
        state = normalise_classifier_keys(read_pickled_model_state(source))
    except ValueError as error:
        raise ModelUnavailableError(f"{source.name} was refused: {error}") from error
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.contiguous() for k, v in state.items()}
        save_file(tensors, str(converted), metadata={"source": source.name, "source_stamp": stamp})
    except OSError as error:  # a read-only weights folder only costs speed
        log.warning("could not cache %s as safetensors: %s", source.name, error)
    return state


ARCHITECTURES: dict[str, Callable[[ModelSpec], nn.Module]] = {
    "mini_xception": lambda spec: MiniXception(len(spec.labels)),
    "emonet": lambda spec: EmoNet(len(spec.labels)),
    "emo_affectnet": lambda spec: ResNet50Affect(),
    "tf_efficientnet_b0": lambda spec: build_hsemotion("tf_efficientnet_b0", spec.num_outputs),
    "tf_efficientnet_b2": lambda spec: build_hsemotion("tf_efficientnet_b2", spec.num_outputs),
}

# How each family's published container becomes a state dict (path, safetensors cache folder).
STATE_READERS: dict[str, StateReader] = {
    "mini_xception": lambda path, cache: load_file(str(path)),
    "emonet": lambda path, cache: strip_module_prefix(read_state_dict(path)),
    "emo_affectnet": lambda path, cache: read_state_dict(path),
    "tf_efficientnet_b0": cached_pickle_state,
    "tf_efficientnet_b2": cached_pickle_state,
}


def with_fast_backend(model: EmotionModel, cache: Path, key: str) -> EmotionModel:
    """The same model running on ONNX Runtime (about 2x faster on CPU), or as it was.

    ``FER_DEMO_BACKEND=pytorch`` keeps PyTorch. Any export or runtime problem
    is logged and PyTorch is kept: the backend is an optimisation, never a
    reason for a model to be unavailable. Networks with a feature output for
    temporal models keep their PyTorch module for that path.
    """
    if os.environ.get("FER_DEMO_BACKEND", "onnxruntime").strip().lower() == "pytorch":
        return model
    pre = model.spec.preprocessing
    channels = 1 if pre.color == "gray" else 3
    try:
        runner = onnx_runner_for(model.network, (channels, pre.size, pre.size), cache, key)
    except Exception as error:  # any failure means: stay on PyTorch
        log.warning("ONNX Runtime unavailable for %s, using PyTorch: %s", model.spec.name, error)
        return model
    return EmotionModel(model.spec, model.network, runner=runner, backend="onnxruntime")


def build_model(spec: ModelSpec, path: Path, cache: Path) -> EmotionModel:
    """The network of ``spec`` with the weights of ``path``, loaded strictly."""
    state = STATE_READERS[spec.architecture](path, cache)
    return EmotionModel(spec, load_strict(ARCHITECTURES[spec.architecture](spec), state, path.name))


class ModelZoo:
    """Thread-safe lazy cache of loaded models for one weights folder."""

    def __init__(self, weights_dir: Path) -> None:
        self.store = WeightStore(weights_dir)
        self._models: dict[str, EmotionModel] = {}
        self._temporal: dict[str, nn.Module] = {}
        self._lock = threading.Lock()

    @property
    def cache_dir(self) -> Path:
        return self.store.folder / "safetensors-cache"

    def availability(self, name: str) -> Availability:
        return self.store.availability(get_spec(name).weights)

    def is_loaded(self, name: str) -> bool:
        return name in self._models

    def get(self, name: str, progress: Progress | None = None) -> EmotionModel:
        """The loaded model ``name``, downloading its weights first if needed.

        Raises:
            ModelUnavailableError: weights missing, refused or not fitting, with the fix.
        """
        spec = get_spec(name)
        with self._lock:  # two users asking at once share one load
            if name not in self._models:
                self._models[name] = self._load(spec, progress)
            return self._models[name]

    def _load(self, spec: ModelSpec, progress: Progress | None) -> EmotionModel:
        status = self.availability(spec.name)
        if not status.available:
            raise ModelUnavailableError(
                f"{spec.display_name} is unavailable: {status.reason}. To use it, {status.fix}."
            )
        try:
            path = self.store.fetch(spec.weights[0], progress)
        except ModelUnavailableError as error:
            fix = self.availability(spec.name).fix
            raise ModelUnavailableError(
                f"{spec.display_name} is unavailable: {error}. To use it, {fix}."
            ) from error
        log.info("loading %s from %s", spec.name, path)
        stat = path.stat()
        model = build_model(spec, path, self.cache_dir)
        return with_fast_backend(
            model, self.cache_dir / "onnx", f"{spec.name}-{stat.st_size}-{stat.st_mtime_ns}"
        )

    def get_temporal(self, name: str, progress: Progress | None = None) -> nn.Module:
        """An EMO-AffectNet LSTM by name (see ``TEMPORAL_SPECS``), loaded once."""
        spec = TEMPORAL_SPECS[name]
        with self._lock:
            if name not in self._temporal:
                path = self.store.fetch(spec.weights, progress)
                self._temporal[name] = load_strict(EmotionLSTM(), read_state_dict(path), path.name)
            return self._temporal[name]
