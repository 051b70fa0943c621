"""face-api.js's FaceRecognitionNet in PyTorch: 150x150 RGB face in, a 128-D descriptor out.

The network is a ResNet-34-like port of dlib's face recognition model (dlib reports
99.38% on LFW, same person under a Euclidean distance of 0.6). Its weights ship with
this package (``assets/face_recognition_dlib.safetensors``, 6.4 MB): the uint8 tensors
of npm ``@vladmandic/face-api@1.7.15`` (MIT) as published, each with its scale and
minimum (value = q x scale + min), written by ``tools/convert_face_recognition.py``.

The layer order follows ``src/faceRecognitionNet/`` of that package: a 7x7 stride-2
convolution, a 3x3 max-pool, residual blocks at 32, 64, 128 and 256 channels (a
"down" block halves the picture; its shortcut is a 2x2 average pool with the new
channels zero), a global average and a 256x128 matrix. Every convolution adds its bias,
then an affine "scale" layer (dlib's batch-norm folded), then a ReLU except the second
of a block. TensorFlow's "valid" and "same" paddings are written out, so the shapes match
the original's at every layer (tests/models/test_face_recognition.py compares the
descriptors with face-api.js run in Node).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn
from torch.nn import functional

if TYPE_CHECKING:
    from fer_demo.models.specs import EmbedderSpec

log = logging.getLogger(__name__)

INPUT_SIZE = 150  # pixels of the square face picture
MEAN_RGB = (122.782, 117.001, 104.298)  # subtracted before dividing by 255, as face-api.js does
DESCRIPTOR_SIZE = 128
SAME_PERSON_DISTANCE = 0.6  # dlib's Euclidean threshold on LFW
ASSET = Path(__file__).resolve().parents[1] / "assets" / "face_recognition_dlib.safetensors"

# (name, channels in, channels out, halves the picture): the residual blocks in order.
BLOCKS = [
    ("conv32_1", 32, 32, False), ("conv32_2", 32, 32, False), ("conv32_3", 32, 32, False),
    ("conv64_down", 32, 64, True), ("conv64_1", 64, 64, False), ("conv64_2", 64, 64, False),
    ("conv64_3", 64, 64, False),
    ("conv128_down", 64, 128, True), ("conv128_1", 128, 128, False), ("conv128_2", 128, 128, False),
    ("conv256_down", 128, 256, True), ("conv256_1", 256, 256, False), ("conv256_2", 256, 256, False),
    ("conv256_down_out", 256, 256, True),
]  # fmt: skip


class ScaledConv(nn.Module):
    """A convolution with its bias, then the per-channel affine layer (a folded batch-norm)."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels_in, channels_out, kernel, stride)  # padding applied in forward
        self.scale = nn.Parameter(torch.ones(channels_out))
        self.shift = nn.Parameter(torch.zeros(channels_out))
        self.same = stride == 1  # TensorFlow's "same" for stride 1, "valid" for the strided ones

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.same:
            pad = self.conv.kernel_size[0] // 2
            x = functional.pad(x, (pad, pad, pad, pad))
        out = self.conv(x)
        return out * self.scale.view(1, -1, 1, 1) + self.shift.view(1, -1, 1, 1)


class Residual(nn.Module):
    def __init__(self, channels_in: int, channels_out: int, down: bool) -> None:
        super().__init__()
        self.conv1 = ScaledConv(channels_in, channels_out, 3, 2 if down else 1)
        self.conv2 = ScaledConv(channels_out, channels_out, 3, 1)
        self.down = down

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(functional.relu(self.conv1(x)))
        if not self.down:
            return functional.relu(out + x)
        shortcut = functional.avg_pool2d(x, 2, 2)
        # A "valid" strided convolution of an odd side is one short of the pool: zeros at the end.
        out = functional.pad(out, (0, shortcut.shape[3] - out.shape[3], 0, shortcut.shape[2] - out.shape[2]))
        if shortcut.shape[1] != out.shape[1]:  # the new channels of the shortcut are zero
            shortcut = torch.cat([shortcut, torch.zeros_like(shortcut)], dim=1)
        return functional.relu(shortcut + out)


class FaceRecognitionNet(nn.Module):
    """(N, 3, 150, 150) normalised RGB -> (N, 128) descriptors (not unit length, as dlib's)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = ScaledConv(3, 32, 7, 2)
        self.blocks = nn.Sequential(*(Residual(c_in, c_out, down) for _, c_in, c_out, down in BLOCKS))
        self.fc = nn.Linear(256, DESCRIPTOR_SIZE, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = functional.max_pool2d(functional.relu(self.stem(x)), 3, 2)
        out = self.blocks(out)
        return self.fc(out.mean(dim=(2, 3)))


def dequantize(values: np.ndarray, scale: float, minimum: float) -> np.ndarray:
    """TF.js's uint8 weight quantization undone: q x scale + min."""
    return (values.astype(np.float32) * np.float32(scale) + np.float32(minimum)).astype(np.float32)


def torch_state(weights: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """face-api.js's named tensors (NHWC filters ``[kh, kw, in, out]``) as this module's state dict."""

    def conv(prefix: str, target: str) -> dict[str, torch.Tensor]:
        filters = np.ascontiguousarray(weights[f"{prefix}/conv/filters"].transpose(3, 2, 0, 1))
        return {
            f"{target}.conv.weight": torch.from_numpy(filters),
            f"{target}.conv.bias": torch.from_numpy(weights[f"{prefix}/conv/bias"]),
            f"{target}.scale": torch.from_numpy(weights[f"{prefix}/scale/weights"]),
            f"{target}.shift": torch.from_numpy(weights[f"{prefix}/scale/biases"]),
        }

    state = conv("conv32_down", "stem")
    for index, (name, *_) in enumerate(BLOCKS):
        for layer in ("conv1", "conv2"):
            state |= conv(f"{name}/{layer}", f"blocks.{index}.{layer}")
    state["fc.weight"] = torch.from_numpy(np.ascontiguousarray(weights["fc"].T))
    return state


def read_asset(path: Path = ASSET) -> dict[str, np.ndarray]:
    """The shipped tensors, dequantized, by face-api.js's names (safetensors: no code runs)."""
    from safetensors.numpy import load_file

    stored = load_file(str(path))
    names = {key.rsplit(".", 1)[0] for key in stored}
    out = {}
    for name in names:
        if f"{name}.q" in stored:
            scale, minimum = stored[f"{name}.scale"], stored[f"{name}.min"]
            out[name] = dequantize(stored[f"{name}.q"], float(scale[0]), float(minimum[0]))
        else:
            out[name] = stored[f"{name}.f"].astype(np.float32)
    return out


def load_network(path: Path = ASSET) -> FaceRecognitionNet:
    network = FaceRecognitionNet()
    network.load_state_dict(torch_state(read_asset(path)), strict=True)
    return network.eval()


def prepare_faces(faces: Sequence[np.ndarray]) -> torch.Tensor:
    """150x150 RGB uint8 faces -> the network's input: (x - mean RGB) / 255, channels first."""
    batch = (np.stack(faces).astype(np.float32) - np.array(MEAN_RGB, np.float32)) / 255.0
    return torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))


def describe(run: Callable[[torch.Tensor], torch.Tensor], faces: Sequence[np.ndarray],
             batch: int = 16) -> np.ndarray:  # fmt: skip
    """(N, 128) float32 descriptors of aligned 150x150 RGB uint8 faces; ``run`` is the network
    or its ONNX Runtime runner."""
    if not faces:
        return np.zeros((0, DESCRIPTOR_SIZE), np.float32)
    out = []
    with torch.inference_mode():
        for start in range(0, len(faces), batch):
            out.append(run(prepare_faces(faces[start : start + batch])))
    return torch.cat(out).numpy().astype(np.float32)


class FaceRecognizer:
    """Aligned 150x150 faces -> unit vectors (the descriptors' directions): what persons link.

    Runs on ONNX Runtime when the export checks out against PyTorch (about 6 ms a face on one
    core), else on PyTorch; ``spec.aligned`` tells the caller to hand it dlib-style chips.
    """

    def __init__(self, network: FaceRecognitionNet, spec: EmbedderSpec, runner=None, batch: int = 16) -> None:
        self.network = network.eval()
        self.spec = spec
        self.runner = runner
        self.batch = batch

    def embed(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        """(N, 128) float32 unit vectors, one per aligned 150x150 RGB uint8 face."""
        vectors = describe(self.runner or self.network, faces, self.batch)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def load_embedder(spec: EmbedderSpec, path: Path, onnx_cache: Path | None = None) -> FaceRecognizer:
    """The shipped network, on ONNX Runtime when it can (any failure: PyTorch, logged)."""
    network = load_network(path)
    runner = None
    if onnx_cache is not None:
        from fer_demo.models.onnx_backend import onnx_runner_for

        stat = path.stat()
        try:
            runner = onnx_runner_for(network, (3, INPUT_SIZE, INPUT_SIZE), onnx_cache,
                                     f"{spec.name}-{stat.st_size}-{stat.st_mtime_ns}")  # fmt: skip
        except Exception as error:  # an optimisation, never a reason to go without persons
            log.warning("ONNX Runtime unavailable for %s, using PyTorch: %s", spec.name, error)
    return FaceRecognizer(network, spec, runner)
