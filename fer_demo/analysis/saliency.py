"""Why a model decided: Grad-CAM heatmaps over each face, computed by pytorch-grad-cam.

Each family declares the layer to read in its spec (``saliency_layer``): the last
convolutional features before the classifier, as the ESR-9 authors' demo does for
each of its branches. An ensemble gets one map per member and their mean.

Grad-CAM hooks see every forward pass through a network, so each model is
explained on a private copy of its PyTorch network, one face batch at a time;
the copy is made on first use and never runs a prediction for anyone.
"""

from __future__ import annotations

import base64
import copy
import io
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
from PIL import Image
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.image import show_cam_on_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from fer_demo.analysis.faces import crop, expand_boxes
from fer_demo.analysis.labels import canonical_label, canonical_order
from fer_demo.analysis.pipeline import FaceResult
from fer_demo.models.base import EmotionModel
from fer_demo.models.preprocess import prepare_batch

OVERLAY_SIDE = 160  # pixels, the longest side of a face's heatmap picture
# Gradients cost memory (about 215 MB a face for EfficientNet-B2): a request explains at most
# MAX_FACES faces (the first, as numbered), CHUNK at a time.
MAX_FACES = 8
CHUNK = 2


@dataclass(frozen=True)
class FaceSaliency:
    """Where one model looked on one face to score ``target``.

    ``heatmap`` covers the crop the model saw (``crop_box`` in image pixels), at the
    crop's own size, in [0, 1]: Grad-CAM scales each map so its peak is 1 (all zero
    when nothing in the face raised the score). An ensemble's map is the mean of its
    members' maps, which are in ``branch_heatmaps``.
    """

    face: int
    target: str
    crop_box: tuple[float, float, float, float]
    heatmap: np.ndarray
    branch_heatmaps: tuple[np.ndarray, ...] = field(default=())
    seconds: float = 0.0  # compute time for this face


class _MemberHead(nn.Module):
    """One ensemble member as a classifier: the shared base, then this branch's logits."""

    def __init__(self, base: nn.Module, branch: nn.Module) -> None:
        super().__init__()
        self.base, self.branch = base, branch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.branch(self.base(x))[0]


class SaliencyExplainer:
    """Grad-CAM for one loaded model, on a private copy of its network (serialised)."""

    def __init__(self, model: EmotionModel) -> None:
        spec = model.spec
        if not spec.saliency_layer:
            raise ValueError(f"{spec.name} declares no saliency layer")
        self.spec = spec
        self.network = copy.deepcopy(model.network).eval()
        self.labels = [canonical_label(label) for label in spec.labels]
        self._lock = threading.Lock()

    def _heads(self) -> list[tuple[nn.Module, nn.Module]]:
        """(classifier, layer to read) pairs: the whole network, or each ensemble member."""
        layer = self.spec.saliency_layer
        if not self.spec.ensemble_branches:
            return [(self.network, self.network.get_submodule(layer))]
        return [
            (_MemberHead(self.network.base, branch), self.network.get_submodule(layer.format(branch=i)))
            for i, branch in enumerate(self.network.branches)
        ]

    def explain(
        self,
        image: np.ndarray,
        faces: list[FaceResult],
        target: str | None = None,
        slots: AbstractContextManager | None = None,
    ) -> list[FaceSaliency]:
        """Maps for the first MAX_FACES ``faces`` of an RGB uint8 image, for ``target`` (a canonical
        label the model has) or, when None, each face's own top label. ``slots`` (the app's CPU
        slots) is entered only once this explainer is free, so a queue for it holds no slot."""
        if target is not None and target not in self.labels:
            known = ", ".join(canonical_order(self.spec.labels))
            raise ValueError(f"{self.spec.display_name} has no class {target[:40]!r}; it has {known}")
        faces = faces[:MAX_FACES]
        if not faces:
            return []
        policy = self.spec.crop
        boxes = expand_boxes(np.array([f.box for f in faces], np.float32), policy.margin, policy.square)
        crops = [crop(image, box, pad=policy.pad) for box in boxes]
        if not policy.pad:  # a clipped crop: its box is the part inside the image
            height, width = image.shape[:2]
            boxes = np.clip(boxes, 0, [width, height, width, height])
        batch = prepare_batch(crops, self.spec.preprocessing)
        targets = [target or face.top_label for face in faces]
        classes = [ClassifierOutputTarget(self.labels.index(label)) for label in targets]
        started = time.perf_counter()
        with self._lock, slots or nullcontext(), torch.enable_grad():
            maps = []
            for head, layer in self._heads():
                with GradCAM(model=head, target_layers=[layer]) as cam:
                    parts = [cam(input_tensor=batch[i : i + CHUNK].clone(), targets=classes[i : i + CHUNK])
                             for i in range(0, len(faces), CHUNK)]  # fmt: skip
                    maps.append(np.concatenate(parts))
        seconds = (time.perf_counter() - started) / len(faces)
        results = []
        for i, face in enumerate(faces):
            size = (crops[i].shape[1], crops[i].shape[0])
            members = tuple(_to_crop(m[i], size) for m in maps)
            heatmap = np.mean(members, axis=0).astype(np.float32) if len(members) > 1 else members[0]
            results.append(
                FaceSaliency(
                    face=face.face,
                    target=targets[i],
                    crop_box=tuple(round(float(v), 1) for v in boxes[i]),
                    heatmap=heatmap,
                    branch_heatmaps=members if len(members) > 1 else (),
                    seconds=seconds,
                )
            )
        return results


def _to_crop(heatmap: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A map over the model's square input, back over the crop's own width and height."""
    return np.clip(cv2.resize(heatmap.astype(np.float32), size, interpolation=cv2.INTER_LINEAR), 0.0, 1.0)


def overlay(image: np.ndarray, saliency: FaceSaliency, heatmap: np.ndarray | None = None) -> np.ndarray:
    """The face crop with its heatmap blended over it (JET colours), longest side OVERLAY_SIDE."""
    picture = crop(image, np.array(saliency.crop_box))
    heat = saliency.heatmap if heatmap is None else heatmap
    height, width = picture.shape[:2]
    scale = OVERLAY_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    picture = np.asarray(Image.fromarray(picture).resize(size, Image.BILINEAR), np.float32) / 255
    heat = cv2.resize(heat, size, interpolation=cv2.INTER_LINEAR)
    return show_cam_on_image(picture, heat, use_rgb=True, image_weight=0.55)


def gallery_items(image: np.ndarray, saliencies: list[FaceSaliency], asked: str | None) -> list[tuple]:
    """(picture, caption) per map: each face's map, and for an ensemble each member's after it."""
    items = []
    for s in saliencies:
        why = f"#{s.face} {s.target}" if asked is None else f"#{s.face} for {s.target}"
        if not s.branch_heatmaps:
            items.append((overlay(image, s), why))
            continue
        items.append((overlay(image, s), f"{why}, mean"))
        members = enumerate(s.branch_heatmaps, 1)
        items += [(overlay(image, s, heat), f"#{s.face} member {i}") for i, heat in members]
    return items


def png_data_uri(pixels: np.ndarray) -> str:
    """An RGB uint8 picture as an inline PNG (for JSON answers)."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def saliency_document(
    saliencies: list[FaceSaliency],
    model_name: str,
    layer: str,
    image: np.ndarray | None = None,
    arrays: bool = False,
    max_side: int = 112,
) -> dict:
    """The maps as JSON: per face its target, crop and time; with ``image``, each overlay as an
    inline PNG; with ``arrays``, the heatmaps themselves (shrunk to at most ``max_side`` pixels,
    3 decimals; ``crop_box`` maps them back onto the photo)."""

    def values(heatmap: np.ndarray) -> list[list[float]]:
        height, width = heatmap.shape
        scale = min(1.0, max_side / max(height, width))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        return np.round(cv2.resize(heatmap, size, interpolation=cv2.INTER_AREA), 3).tolist()

    faces = []
    for s in saliencies:
        face = {
            "face": s.face,
            "target": s.target,
            "crop_box": list(s.crop_box),
            "seconds": round(s.seconds, 4),
        }
        if image is not None:
            face["overlay_png"] = png_data_uri(overlay(image, s))
        if arrays:
            face["map"] = values(s.heatmap)
            if s.branch_heatmaps:
                face["member_maps"] = [values(h) for h in s.branch_heatmaps]
        faces.append(face)
    return {"model": model_name, "method": "Grad-CAM (pytorch-grad-cam)", "layer": layer,
            "faces_explained_at_most": MAX_FACES, "faces": faces}  # fmt: skip
