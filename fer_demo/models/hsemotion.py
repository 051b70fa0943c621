"""HSEmotion (Savchenko) EfficientNets: read the published whole-model pickles safely.

The published ``.pt`` files are ``torch.save(model)`` of a whole timm EfficientNet,
pickled by old timm versions (0.4.5 for ``enet_b0_7``). Loading them the usual way
(``torch.load`` with full unpickling) would run whatever code the pickle names and
needs the class layout of the timm version that saved them. Instead we:

1. list every global the pickle names and refuse the file unless each one is a
   ``timm.*`` or ``torch.nn.modules.*`` class (or a known inert activation function);
2. let torch's hardened ``weights_only`` unpickler build the object tree, with each of
   those names bound to an inert :class:`PickledRecord` that only stores its ``__dict__``
   (no import, no ``__init__``, no ``__setstate__`` of the real class is ever run);
3. walk the records' ``_parameters``/``_buffers``/``_modules`` into a state dict, the way
   ``nn.Module.state_dict`` would;
4. rebuild the network with the installed timm and load that state dict strictly.

So nothing in the file executes, and the result does not depend on the timm version
that pickled the model, only on the tensor names (which timm has kept stable).
"""

from __future__ import annotations

import _compat_pickle
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import timm
import torch
from torch import nn

from fer_demo.models.checkpoints import load_strict

BACKBONES = ("tf_efficientnet_b0", "tf_efficientnet_b2")

# Globals that may name a class or function of the pickled model. They are never
# imported: each is replaced by an inert record class, so the list only decides which
# files look like a model at all.
SAFE_GLOBAL_PREFIXES = ("timm.", "torch.nn.modules.")
SAFE_GLOBAL_NAMES = frozenset(
    {
        # activation functions stored as attributes by old timm blocks (e.g. SE gate_fn)
        "torch.sigmoid",
        "torch.tanh",
        "torch.relu",
        "torch.nn.functional.relu",
        "torch.nn.functional.relu6",
        "torch.nn.functional.silu",
        "torch.nn.functional.hardsigmoid",
        "torch.nn.functional.hardswish",
        "torch.nn.functional.gelu",
        "torch.nn.functional.sigmoid",
    }
)

_MAX_DEPTH = 64  # an EfficientNet nests 5 deep; anything far deeper is not a real model


class UnsafePickleError(ValueError):
    """The checkpoint names a global that is not an inert model class, or cannot be read safely."""


class PickledRecord:
    """Inert stand-in for a pickled class: keeps the pickled state, runs no code of its own."""

    qualified_name = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> PickledRecord:
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        slots = None
        if isinstance(state, tuple) and len(state) == 2:
            state, slots = state
        for part in (state, slots):
            if isinstance(part, dict):
                self.__dict__.update({k: v for k, v in part.items() if isinstance(k, str)})

    def __repr__(self) -> str:
        return f"<pickled {self.qualified_name}>"


def is_safe_global(name: str) -> bool:
    """True if ``name`` (``module.QualName``) may be replaced by an inert record."""
    return name in SAFE_GLOBAL_NAMES or name.startswith(SAFE_GLOBAL_PREFIXES)


def describe_global(name: str) -> str:
    """``name`` as written in the pickle, plus what a full unpickler would resolve it to if different.

    Protocol-2 pickles spell some modules the Python 2 way (``subprocess.call`` is written
    ``commands.call``); naming both keeps refusals readable.
    """
    module, _, attr = name.rpartition(".")
    if (module, attr) in _compat_pickle.NAME_MAPPING:
        module, attr = _compat_pickle.NAME_MAPPING[(module, attr)]
    else:
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    resolved = f"{module}.{attr}"
    return name if resolved == name else f"{name} (= {resolved})"


def _record_class(name: str) -> type[PickledRecord]:
    return type(name.rsplit(".", 1)[-1], (PickledRecord,), {"qualified_name": name, "__module__": __name__})


def _reason(error: Exception) -> str:
    """The informative line of a torch ``weights_only`` error, without its advice to unpickle unsafely."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    useful = [line for line in lines if "weights_only" not in line and not line.startswith("Check the doc")]
    return " ".join(useful) or (lines[0] if lines else type(error).__name__)


def _unsafe_globals(path: Path) -> list[str]:
    try:
        return sorted(torch.serialization.get_unsafe_globals_in_checkpoint(str(path)))
    except pickle.UnpicklingError as error:
        raise UnsafePickleError(f"{path.name}: the pickle cannot be inspected safely ({error})") from error
    except (ValueError, RuntimeError, EOFError, KeyError) as error:
        raise ValueError(f"{path.name}: not a readable torch checkpoint ({error})") from error


def _module_state(record: PickledRecord, prefix: str, out: dict[str, torch.Tensor], path: list[int]) -> None:
    """Add ``record``'s tensors to ``out`` like ``nn.Module.state_dict`` (persistent only, no None)."""
    if id(record) in path or len(path) > _MAX_DEPTH:
        raise ValueError(f"module tree at {prefix or '<root>'!r} is cyclic or too deep")
    state = record.__dict__
    params, buffers = state.get("_parameters"), state.get("_buffers", {})
    children = state.get("_modules", {})
    non_persistent = state.get("_non_persistent_buffers_set")
    if not isinstance(non_persistent, set | frozenset):
        non_persistent = set()
    if (
        not isinstance(params, Mapping)
        or not isinstance(buffers, Mapping)
        or not isinstance(children, Mapping)
    ):
        raise ValueError(f"{prefix or '<root>'} ({record.qualified_name}) is not a pickled torch module")
    for name, value in params.items():
        if value is not None:
            out[prefix + name] = _as_tensor(value, prefix + name)
    for name, value in buffers.items():
        if value is not None and name not in non_persistent:
            out[prefix + name] = _as_tensor(value, prefix + name)
    for name, child in children.items():
        if child is None:
            continue
        if not isinstance(child, PickledRecord):
            raise ValueError(f"{prefix}{name} is a {type(child).__name__}, not a pickled module")
        _module_state(child, f"{prefix}{name}.", out, [*path, id(record)])


def _as_tensor(value: Any, name: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{name} is a {type(value).__name__}, not a tensor")
    return value.detach()


def read_pickled_model_state(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a ``torch.save(model)`` file, keyed like ``model.state_dict()``, without running its code.

    A checkpoint that already is a plain state dict is returned as it is.
    Raises :class:`UnsafePickleError` if the pickle names any global other than inert
    model classes, ``ValueError`` if the file is not such a checkpoint at all.
    """
    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path.name}: not a torch.save zip checkpoint")
    names = _unsafe_globals(path)
    refused = [name for name in names if not is_safe_global(name)]
    if refused:
        raise UnsafePickleError(
            f"{path.name} refers to {', '.join(map(describe_global, refused))}, "
            "which a model file never needs: refusing to load it (it could run code)"
        )
    stubs = [(_record_class(name), name) for name in names]
    try:
        with torch.serialization.safe_globals(stubs):
            obj = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as error:
        raise UnsafePickleError(f"{path.name}: refused by the safe unpickler ({_reason(error)})") from error
    except (RuntimeError, EOFError, KeyError) as error:
        raise ValueError(f"{path.name}: not a readable torch checkpoint ({error})") from error

    if isinstance(obj, Mapping) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return {str(k): v.detach() for k, v in obj.items()}
    if not isinstance(obj, PickledRecord):
        raise ValueError(f"{path.name} holds a {type(obj).__name__}, neither a whole model nor a state dict")
    state: dict[str, torch.Tensor] = {}
    _module_state(obj, "", state, [])
    if not state:
        raise ValueError(f"{path.name}: the pickled {obj.qualified_name} holds no tensors")
    return state


def normalise_classifier_keys(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map a ``Sequential(Linear)`` head (``classifier.0.*``) to timm's ``classifier.*``."""
    return {
        ("classifier." + key.removeprefix("classifier.0.") if key.startswith("classifier.0.") else key): value
        for key, value in state.items()
    }


def build_hsemotion(backbone: str, num_classes: int) -> nn.Module:
    """An untrained timm ``tf_efficientnet_b0``/``b2`` with ``num_classes`` outputs, in eval mode."""
    if backbone not in BACKBONES:
        raise ValueError(f"unknown HSEmotion backbone {backbone!r}; expected one of {', '.join(BACKBONES)}")
    return timm.create_model(backbone, pretrained=False, num_classes=num_classes).eval()


def load_hsemotion(path: Path, backbone: str, num_classes: int) -> nn.Module:
    """Rebuild an HSEmotion model from its published pickle, safely and strictly; eval mode.

    Raises ``ValueError`` (:class:`UnsafePickleError` for refused pickles) naming the
    first missing, unexpected or wrong-shape tensors when the file does not fit.
    """
    path = Path(path)
    state = normalise_classifier_keys(read_pickled_model_state(path))
    source = f"{path.name} ({backbone}, {num_classes} classes)"
    return load_strict(build_hsemotion(backbone, num_classes), state, source)
