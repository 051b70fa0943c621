"""Face crops -> network input, exactly as each model's authors prepared theirs."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
from PIL import Image

from fer_demo.models.specs import Preprocessing


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) -> gray uint8 (H, W, 1) with OpenCV's fixed-point ITU-R 601 luma, as fer did."""
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)[..., None]


def resize(pixels: np.ndarray, size: int, method: str) -> np.ndarray:
    """Resize an (H, W, C) uint8 array to (size, size, C) float32 with a model's method.

    Each method is the library call the model's authors made, not an imitation of it:
    OpenCV's INTER_LINEAR works in fixed point and rounds to uint8, which a float
    bilinear resize misses by up to 0.1 in EmoNet's outputs.
    """
    channels = pixels.shape[2]
    if method == "cv2_linear":
        out = cv2.resize(np.ascontiguousarray(pixels), (size, size), interpolation=cv2.INTER_LINEAR)
        return out.reshape(size, size, channels).astype(np.float32)
    resample = {"pil_bilinear": Image.BILINEAR, "pil_nearest": Image.NEAREST}[method]
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
