"""The app's shared resources: settings, face detector and model cache.

One :class:`Studio` per process serves every tab, the API and the CLI; it
holds no per-user state.
"""

from __future__ import annotations

from pathlib import Path

from fer_demo.config import Settings
from fer_demo.faces import FaceDetector
from fer_demo.images import load_image
from fer_demo.models.specs import MODEL_SPECS, get_spec
from fer_demo.models.weights import Availability, availability
from fer_demo.models.zoo import ModelZoo
from fer_demo.pipeline import ImageAnalysis, analyze_image


class Studio:
    """Detector and models, created lazily and shared by all requests."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.zoo = ModelZoo(settings.weights_dir)
        self.detector = FaceDetector(settings.detect_max_side, settings.min_face_size)

    def availability(self, name: str) -> Availability:
        return availability(get_spec(name), self.settings.weights_dir)

    def model_choices(self) -> list[tuple[str, str]]:
        """(label, name) for a dropdown: every registered model, unavailable ones marked."""
        choices = []
        for name, spec in MODEL_SPECS.items():
            label = spec.display_name
            if not self.availability(name).available:
                label += " (unavailable: weights missing)"
            choices.append((label, name))
        return choices

    def analyze_file(self, path: str | Path, model_name: str) -> tuple:
        """Load an image file and analyse it; returns (RGB image, ImageAnalysis)."""
        image = load_image(path, self.settings.max_image_pixels)
        model = self.zoo.get(model_name)
        return image, self.analyze(image, model_name, model)

    def analyze(self, image, model_name: str, model=None) -> ImageAnalysis:
        """Analyse an RGB uint8 array with the named model."""
        return analyze_image(image, model or self.zoo.get(model_name), self.detector)
