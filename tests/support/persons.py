"""A stand-in face recogniser for multi-shot clips made of pasted photos."""

from __future__ import annotations

import numpy as np


def toy_embed(crops):
    """A stand-in for FaceNet that only works on pasted photos: the crop's 8x8 grey pattern."""
    from PIL import Image

    vectors = []
    for face in crops:
        grey = np.asarray(Image.fromarray(face).convert("L").resize((8, 8), Image.BILINEAR), np.float64)
        grey = grey.ravel() - grey.mean()
        vectors.append(grey / max(np.linalg.norm(grey), 1e-9))
    return np.array(vectors)
