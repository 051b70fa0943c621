"""Fake ESR-9 files in the published container.

Upstream saved each part (the shared base, then nine branches) with ``torch.save(state_dict)``
from a GPU, in torch's legacy (pre-zip) format: each storage is tagged with its device,
``cuda:0``. These fakes are written the same way, the device tag included, so a loader that
forgets ``map_location="cpu"`` fails here as it would on the real files on a CPU machine.
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path

import torch

from .manifest_state import load_manifest, random_state

WEIGHT_GAIN = 1.0


@contextmanager
def storages_tagged_cuda():
    """torch.save records every storage's location as ``cuda:0``, as on the authors' GPU."""
    original = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: "cuda:0"
    try:
        yield
    finally:
        torch.serialization.location_tag = original


def module_versions(manifest: dict) -> OrderedDict[str, dict[str, int]]:
    """``state_dict()._metadata``: each module's version (BatchNorm is at 2, the others at 1)."""
    layers = dict.fromkeys(key.rsplit(".", 1)[0] for key in manifest)
    batch_norms = {key.rsplit(".", 1)[0] for key in manifest if key.endswith("running_var")}
    versions = OrderedDict([("", {"version": 1})])
    versions.update((layer, {"version": 2 if layer in batch_norms else 1}) for layer in layers)
    return versions


def write_esr9_files(folder: Path, filenames: list[str], seed: int = 0) -> list[Path]:
    """The base file and nine branch files (``filenames`` in that order), random values, legacy format."""
    paths = []
    for i, name in enumerate(filenames):
        manifest = load_manifest("esr9_base" if i == 0 else "esr9_branch")
        state = random_state(manifest, WEIGHT_GAIN, norm_spread=0.1, seed=seed + i)
        state._metadata = module_versions(manifest)  # what Module.state_dict() attaches
        path = Path(folder) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with storages_tagged_cuda():
            torch.save(state, path, _use_new_zipfile_serialization=False)
        paths.append(path)
    return paths
