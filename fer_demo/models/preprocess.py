"""Face crops -> network input, exactly as each model's authors prepared theirs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from fer_demo.models.specs import Preprocessing

# ITU-R 601 luma, the weights of both cv2.COLOR_RGB2GRAY and PIL's "L" mode.
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) -> gray uint8 (H, W, 1), rounded like OpenCV."""
    return np.rint(rgb.astype(np.float32) @ _LUMA).clip(0, 255).astype(np.uint8)[..., None]


def resize(pixels: np.ndarray, size: int, method: str) -> np.ndarray:
    """Resize an (H, W, C) uint8 array to (size, size, C) float32 with a model's method."""
    if method == "linear":  # OpenCV INTER_LINEAR: half-pixel centres, no antialiasing
        tensor = torch.from_numpy(np.array(pixels)).permute(2, 0, 1)[None].float()  # a writable copy
        out = F.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=False)
        return out[0].permute(1, 2, 0).numpy()
    resample = {"pil_bilinear": Image.BILINEAR, "pil_nearest": Image.NEAREST}[method]
    channels = pixels.shape[2]
    image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels)
    out = np.asarray(image.resize((size, size), resample), dtype=np.float32)
    return out.reshape(size, size, channels)


def prepare(crop: np.ndarray, spec: Preprocessing) -> np.ndarray:
    """One RGB uint8 face crop -> float32 (C, size, size) input."""
    if spec.color == "gray":
        pixels = resize(to_gray(crop), spec.size, spec.resize)
    else:
        pixels = resize(crop, spec.size, spec.resize)
        if spec.color == "bgr":
            pixels = pixels[..., ::-1]
    mean = np.asarray(spec.mean, np.float32)
    std = np.asarray(spec.std, np.float32)
    pixels = (pixels * np.float32(spec.scale) - mean) / std
    return np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32)


def prepare_batch(crops: Sequence[np.ndarray], spec: Preprocessing) -> torch.Tensor:
    """Face crops (each RGB uint8 (H, W, 3), any size) -> (N, C, size, size) float32."""
    channels = 1 if spec.color == "gray" else 3
    if not crops:
        return torch.zeros((0, channels, spec.size, spec.size))
    return torch.from_numpy(np.stack([prepare(crop, spec) for crop in crops]))
