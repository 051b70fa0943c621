"""How a spec and its files become a network: the only module that builds models.

Every checkpoint is read without executing code from it (safetensors, or
torch's ``weights_only`` unpickler) and loaded strictly: a missing,
unexpected or wrongly shaped tensor is an error naming the first mismatches.
This module imports torch and every family's code, so :mod:`fer_demo.models.zoo`
imports it only when a model is first loaded: start-up stays light.
"""

from __future__ import annotations

import logging
import os
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
from fer_demo.models.esr9 import ESR9, read_ensemble_state
from fer_demo.models.hsemotion import build_hsemotion, normalise_classifier_keys, read_pickled_model_state
from fer_demo.models.mini_xception import MiniXception
from fer_demo.models.onnx_backend import onnx_runner_for
from fer_demo.models.specs import ModelSpec

log = logging.getLogger(__name__)

# A family's published files (in spec order) and the safetensors cache folder -> one state dict.
StateReader = Callable[[list[Path], Path], dict[str, torch.Tensor]]


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
    "esr_9": lambda spec: ESR9(spec.ensemble_branches),
}

# How each family's published container becomes a state dict (path, safetensors cache folder).
STATE_READERS: dict[str, StateReader] = {
    "mini_xception": lambda paths, cache: load_file(str(paths[0])),
    "emonet": lambda paths, cache: strip_module_prefix(read_state_dict(paths[0])),
    "emo_affectnet": lambda paths, cache: read_state_dict(paths[0]),
    "tf_efficientnet_b0": lambda paths, cache: cached_pickle_state(paths[0], cache),
    "tf_efficientnet_b2": lambda paths, cache: cached_pickle_state(paths[0], cache),
    "esr_9": lambda paths, cache: read_ensemble_state(paths),
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


def build_model(spec: ModelSpec, paths: list[Path], cache: Path) -> EmotionModel:
    """The network of ``spec`` with the weights of ``paths`` (its files in spec order), loaded strictly."""
    state = STATE_READERS[spec.architecture](paths, cache)
    source = paths[0].name if len(paths) == 1 else f"{spec.display_name}'s {len(paths)} files"
    return EmotionModel(spec, load_strict(ARCHITECTURES[spec.architecture](spec), state, source))


def build_lstm(path: Path) -> nn.Module:
    """An EMO-AffectNet LSTM with the weights of ``path``, loaded strictly."""
    return load_strict(EmotionLSTM(), read_state_dict(path), path.name)
