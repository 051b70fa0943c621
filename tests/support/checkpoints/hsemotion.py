"""Fake HSEmotion checkpoints in the published container: ``torch.save(model)`` of a whole timm model.

The published files were pickled by old timm versions, whose classes lived elsewhere
(``timm.models.efficientnet_blocks``, ``timm.models.layers.*``). ``write_whole_model_pickle``
pickles a current timm model under those old names, so the loader is tested against the
layout it meets in the wild. ``write_malicious_pickle`` writes torch checkpoints that run a
command when loaded the usual (unsafe) way.
"""

from __future__ import annotations

import builtins
import os
import pickle
import subprocess
import types
from pathlib import Path
from typing import Any

import timm
import torch
from torch import nn


def old_timm_module(module: str) -> str:
    """Where timm 0.4.x kept what current timm has in ``module``."""
    if module.startswith("timm.layers."):
        return "timm.models.layers." + module.removeprefix("timm.layers.")
    if module.startswith("timm.models._"):  # timm.models._efficientnet_blocks -> efficientnet_blocks
        return "timm.models." + module.removeprefix("timm.models._")
    return module


class OldTimmPickler(pickle._Pickler):
    """Pure-Python pickler that writes timm classes under their old (0.4.x) module paths."""

    def save_global(self, obj: Any, name: str | None = None) -> None:
        module = getattr(obj, "__module__", None) or ""
        old = old_timm_module(module)
        if old == module or self.proto >= 4:
            super().save_global(obj, name)
            return
        qualname = name or obj.__qualname__
        self.write(pickle.GLOBAL + f"{old}\n{qualname}\n".encode())
        self.memoize(obj)


OLD_TIMM_PICKLE = types.ModuleType("old_timm_pickle")  # torch.save wants a module with .Pickler
OLD_TIMM_PICKLE.Pickler = OldTimmPickler


def make_hsemotion_model(
    backbone: str = "tf_efficientnet_b0",
    num_classes: int = 8,
    sequential_classifier: bool = False,
    seed: int = 0,
) -> nn.Module:
    """A current timm model with seeded random weights and BN statistics, in eval mode."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = timm.create_model(backbone, pretrained=False, num_classes=num_classes)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):  # timm's BatchNormAct2d included
                n = module.num_features
                module.weight.copy_(1.0 + 0.1 * torch.randn(n, generator=gen))
                module.bias.copy_(0.1 * torch.randn(n, generator=gen))
                module.running_mean.copy_(0.1 * torch.randn(n, generator=gen))
                module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                module.num_batches_tracked.fill_(int(torch.randint(1, 10_000, (), generator=gen)))
        model.classifier.bias.copy_(0.1 * torch.randn(num_classes, generator=gen))
    if sequential_classifier:
        model.classifier = nn.Sequential(model.classifier)
    return model.eval()


def save_whole_model_pickle(model: nn.Module, path: Path, old_timm_names: bool = True) -> Path:
    """``torch.save(model, path)``, optionally naming timm classes as timm 0.4.x did."""
    path = Path(path)
    if old_timm_names:
        torch.save(model, path, pickle_module=OLD_TIMM_PICKLE)
    else:
        torch.save(model, path)
    return path


def write_whole_model_pickle(
    path: Path,
    backbone: str = "tf_efficientnet_b0",
    num_classes: int = 8,
    old_timm_names: bool = True,
    sequential_classifier: bool = False,
    seed: int = 0,
) -> Path:
    """Write a random whole-model HSEmotion checkpoint as published (``torch.save(model)``)."""
    model = make_hsemotion_model(backbone, num_classes, sequential_classifier, seed)
    return save_whole_model_pickle(model, path, old_timm_names)


class _Payload:
    """Creates ``sentinel`` when unpickled, through the chosen callable."""

    def __init__(self, payload: str, sentinel: Path) -> None:
        self.payload, self.sentinel = payload, str(sentinel)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        if self.payload == "os.system":
            return os.system, (f"touch '{self.sentinel}'",)
        if self.payload == "subprocess":
            return subprocess.call, (["touch", self.sentinel],)
        if self.payload == "exec":
            return builtins.exec, (f"open({self.sentinel!r}, 'w').close()",)
        raise ValueError(f"unknown payload {self.payload!r}")


MALICIOUS_GLOBALS = {"os.system": "posix.system", "subprocess": "subprocess.call", "exec": "builtins.exec"}


def write_malicious_pickle(path: Path, payload: str, sentinel: Path) -> Path:
    """A torch-zip whole-model checkpoint that creates ``sentinel`` if loaded with full unpickling.

    The payload hides in an attribute of an otherwise ordinary module, as a trojaned model would.
    """
    if payload not in MALICIOUS_GLOBALS:
        raise ValueError(f"payload must be one of {sorted(MALICIOUS_GLOBALS)}")
    model = nn.Sequential(nn.Linear(4, 2))
    model.hook = _Payload(payload, sentinel)
    path = Path(path)
    torch.save(model, path)
    return path
