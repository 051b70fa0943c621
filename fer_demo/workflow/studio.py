"""The app's shared resources: settings, face detector and model cache.

One :class:`Studio` per process serves every tab, the API and the CLI; it
holds no per-user state. Creating one is cheap: torch and the networks are
imported when a model is first used (a corpus re-run with nothing to do never is).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fer_demo.analysis.faces import FaceDetector
from fer_demo.analysis.pipeline import ImageAnalysis, analyze_image
from fer_demo.config import DetectionOptions, Settings, StreamSettings
from fer_demo.errors import ModelUnavailableError
from fer_demo.media.images import decode_image
from fer_demo.models.specs import MODEL_SPECS, PREFERRED_MODELS, embedder_spec
from fer_demo.models.weights import Availability, Progress
from fer_demo.models.zoo import ModelZoo
from fer_demo.presentation.model_cards import short_status

if TYPE_CHECKING:
    from fer_demo.analysis.saliency import FaceSaliency, SaliencyExplainer
    from fer_demo.analysis.stream import StreamAnalyzer


class Studio:
    """Detector and models, created lazily and shared by all requests."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.zoo = ModelZoo(settings.weights_dir, embedder=embedder_spec(settings.face_embedder))
        self.detector = FaceDetector(settings.detect_max_side, settings.pyramid_min_px, settings.detection)
        self._detectors = {settings.detect_max_side: self.detector}
        # Decoding and analysing images is CPU work: at most this many at once, whatever number
        # of requests Gradio runs. A request waiting for a model to load holds no slot.
        self.analysis_slots = threading.BoundedSemaphore(settings.analysis_slots)
        self._explainers: dict[str, SaliencyExplainer] = {}
        self._explainers_lock = threading.Lock()

    def detector_for(self, max_side: int) -> FaceDetector:
        """A detector working on copies of at most ``max_side`` pixels (one per size, shared)."""
        if max_side not in self._detectors:
            self._detectors[max_side] = FaceDetector(
                max_side, self.settings.pyramid_min_px, self.settings.detection
            )
        return self._detectors[max_side]

    def stream_analyzer(
        self,
        model_name: str,
        settings: StreamSettings,
        detect_max_side: int | None = None,
        progress: Progress | None = None,
    ) -> StreamAnalyzer:
        """A fresh analyzer for one video or webcam session (its own tracker and history)."""
        from fer_demo.analysis.stream import StreamAnalyzer

        model = self.zoo.get(model_name, progress)
        lstm = self.zoo.get_temporal(settings.temporal_model, progress) if settings.temporal_model else None
        detector = self.detector_for(detect_max_side or self.settings.detect_max_side)
        return StreamAnalyzer(model, detector, settings, lstm)

    def availability(self, name: str) -> Availability:
        return self.zoo.availability(name)

    def browser_model_file(self, name: str, progress: Progress | None = None) -> Path:
        """The ONNX file of model ``name`` for the live page: the ONNX Runtime backend's own export.

        Raises:
            ModelUnavailableError: the model cannot load, or runs without an ONNX export here.
        """
        model = self.zoo.get(name, progress)
        path = getattr(model.runner, "path", None)
        if path is None:
            raise ModelUnavailableError(
                f"{model.spec.display_name} has no ONNX export on this server (FER_DEMO_BACKEND=pytorch, "
                "or the export failed: see the server log), so it cannot run in the browser."
            )
        return Path(path)

    def model_choices(self) -> list[tuple[str, str]]:
        """(label, name) for a model menu: ready models first, then those that download on first
        use, then the unavailable ones; each label says which (a failed download shows at once)."""
        order = ("ready", "downloads on first use", "unavailable")
        labelled = [(short_status(self.availability(name)), spec.display_name, name)
                    for name, spec in MODEL_SPECS.items()]  # fmt: skip
        labelled.sort(key=lambda entry: order.index(entry[0]))  # stable: spec order within a group
        return [(f"{display} ({status})", name) for status, display, name in labelled]

    def ready_models(self) -> list[str]:
        """Models whose weights are on disk: usable now, without a download."""
        return [name for name in MODEL_SPECS if self._ready(name)]

    def default_model(self) -> str:
        """The model the app opens on: ``FER_DEMO_MODEL``, else the first of ``PREFERRED_MODELS``
        whose weights are already here (the embedded one always is)."""
        if self.settings.default_model:
            return self.settings.default_model
        return next(name for name in PREFERRED_MODELS if self._ready(name))

    def skipped_models(self) -> dict[str, list[str]]:
        """The models Compare leaves out (display names), grouped by why, in words for users."""
        skipped: dict[str, list[str]] = {}
        for name, spec in MODEL_SPECS.items():
            status = self.availability(name)
            if status.available and not status.needs_download:
                continue
            why = (
                "weights not downloaded yet; Compare uses models already on this server, and choosing "
                "one in the Model menu downloads it"
                if status.available
                else f"unavailable: {status.visitor or status.reason}"
            )
            skipped.setdefault(why, []).append(spec.display_name)
        return skipped

    def _ready(self, name: str) -> bool:
        status = self.availability(name)
        return status.available and not status.needs_download

    def analyze_file(
        self,
        source: str | Path | bytes | np.ndarray,
        model_name: str,
        progress: Progress | None = None,
        options: DetectionOptions | None = None,
    ) -> tuple:
        """Decode an image (a path, its bytes or an array) and analyse it; returns (DecodedImage,
        ImageAnalysis)."""
        model = self.zoo.get(model_name, progress)
        with self.analysis_slots:
            image = decode_image(source, self.settings.max_image_pixels)
            return image, self.analyze(image.pixels, model_name, model, options)

    def compare_file(self, path: str | Path | bytes | np.ndarray, options: DetectionOptions | None = None,
                     names: Sequence[str] | None = None) -> tuple:  # fmt: skip
        """``names`` (default: every ready model) on the same faces; returns (DecodedImage,
        [ImageAnalysis])."""
        from fer_demo.analysis.compare import compare_models

        models = [self.zoo.get(name) for name in (self.ready_models() if names is None else names)]
        with self.analysis_slots:
            image = decode_image(path, self.settings.max_image_pixels)
            return image, compare_models(image.pixels, models, self.detector, options)

    def analyze(
        self, image, model_name: str, model=None, options: DetectionOptions | None = None
    ) -> ImageAnalysis:
        """Analyse an RGB uint8 array with the named model."""
        return analyze_image(image, model or self.zoo.get(model_name), self.detector, options)

    def explainer(self, model_name: str, progress: Progress | None = None) -> SaliencyExplainer:
        """Grad-CAM for a model: its own copy of the network, made on first use and kept."""
        from fer_demo.analysis.saliency import SaliencyExplainer

        model = self.zoo.get(model_name, progress)
        with self._explainers_lock:
            if model_name not in self._explainers:
                self._explainers[model_name] = SaliencyExplainer(model)
            return self._explainers[model_name]

    def explain(self, image, analysis: ImageAnalysis, target: str | None = None) -> list[FaceSaliency]:
        """Where the analysis's model looked on each of its faces, for ``target`` or each top label."""
        return self.explainer(analysis.model).explain(image, analysis.faces, target, self.analysis_slots)
