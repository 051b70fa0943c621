"""FaceNet embeddings (facenet-pytorch's InceptionResnetV1): one vector per face, for re-identification.

The network is facenet-pytorch's own class, so the published VGGFace2 state
dict (with its 8631-identity classifier, unused here) loads strictly. The
embedding is the L2-normalised 512-d output; two crops of one person lie
close in cosine distance, two people far apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from facenet_pytorch import InceptionResnetV1
from PIL import Image
from torch import nn

from fer_demo.models.checkpoints import load_strict, read_state_dict
from fer_demo.models.specs import EmbedderSpec

VGGFACE2_IDENTITIES = 8631
EMBEDDING_SIZE = 512


def facenet_network() -> nn.Module:
    """InceptionResnetV1 shaped like the VGGFace2 release file (classifier included), untrained."""
    network = InceptionResnetV1(pretrained=None, classify=False)
    network.logits = nn.Linear(EMBEDDING_SIZE, VGGFACE2_IDENTITIES)
    return network


def prepare_faces(crops: Sequence[np.ndarray], size: int) -> torch.Tensor:
    """RGB uint8 crops -> (N, 3, size, size) float32, ``(x - 127.5) / 128`` (facenet-pytorch's
    ``fixed_image_standardization``), resized with PIL bilinear as its ``extract_face`` does."""
    arrays = [np.asarray(Image.fromarray(crop).resize((size, size), Image.BILINEAR)) for crop in crops]
    batch = (np.stack(arrays).astype(np.float32) - 127.5) / 128.0
    return torch.from_numpy(batch.transpose(0, 3, 1, 2).copy())


class FaceEmbedder:
    """Crops of faces -> unit vectors; ``distance`` of two is 1 - cosine similarity."""

    def __init__(self, network: nn.Module, spec: EmbedderSpec, batch: int = 16) -> None:
        self.network = network.eval()
        self.spec = spec
        self.batch = batch

    def embed(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(N, 512) float32 unit vectors, one per RGB uint8 crop (any size)."""
        if not crops:
            return np.zeros((0, EMBEDDING_SIZE), np.float32)
        out = []
        with torch.inference_mode():
            for start in range(0, len(crops), self.batch):
                out.append(
                    self.network(prepare_faces(crops[start : start + self.batch], self.spec.input_size))
                )
        return torch.cat(out).numpy().astype(np.float32)


def load_embedder(spec: EmbedderSpec, path: Path) -> FaceEmbedder:
    """The embedder from the release file, read weights-only and loaded strictly.

    A BatchNorm counter missing from the file (``num_batches_tracked``: files saved before
    PyTorch kept it) is set to 0, as PyTorch's own loader does for such files; it plays no
    part at inference. Any other missing, extra or misshapen tensor is refused.
    """
    network = facenet_network()
    state = read_state_dict(path)
    for name, tensor in network.state_dict().items():
        if name.endswith("num_batches_tracked") and name not in state:
            state[name] = torch.zeros_like(tensor)
    return FaceEmbedder(load_strict(network, state, path.name), spec)
