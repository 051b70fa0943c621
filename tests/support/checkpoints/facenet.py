"""Fake facenet-pytorch VGGFace2 weights in the published container (``torch.save(state_dict)``)."""

from __future__ import annotations

from pathlib import Path

from .manifest_state import MANIFESTS, load_manifest, random_state, save

MANIFEST = MANIFESTS / "facenet_vggface2.json"


def write_facenet_checkpoint(path: Path, seed: int = 0, batch_counters: bool = True) -> Path:
    """A random ``20180402-114759-vggface2.pt`` look-alike (716 tensors; without the BatchNorm
    ``num_batches_tracked`` counters, as files saved by older PyTorch are, when ``batch_counters`` is off)."""
    state = random_state(load_manifest(MANIFEST), 0.7, 0.05, seed)
    if not batch_counters:
        state = type(state)((k, v) for k, v in state.items() if not k.endswith("num_batches_tracked"))
    return save(state, path)
