"""What the live page is told: file addresses, the detector's settings and the model's spec.

A model's preprocessing reaches the page as JSON made from ``models/specs.py``
itself (:func:`model_json`), so the browser prepares a face exactly as the
server does and no size, mean or label order is typed twice.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fer_demo.analysis.labels import canonical_label, canonical_order
from fer_demo.browser.assets import Asset, AssetServer
from fer_demo.browser.runtime import runtime_assets
from fer_demo.browser.summary import MAX_FACES
from fer_demo.config import DetectionOptions, Settings, WebcamSettings
from fer_demo.models.specs import ModelSpec

log = logging.getLogger(__name__)

JS_DIR = Path(__file__).resolve().parent / "js"
SCRIPTS = ["live.js", "pipeline.js", "onnx-worker.js"]
DETECTOR = Path(__file__).resolve().parents[1] / "assets" / "blazeface" / "face_detection_short_range.onnx"


DETECTOR_NAME = "BlazeFace (MediaPipe's short-range face detector)"


@dataclass(frozen=True)
class LiveSettings:
    """How the page analyses: the detector's thresholds, the classification rate, tracking, smoothing."""

    # The page's own detector and its score scale (BlazeFace's, not MTCNN's); the webcam tab's
    # live-mode sliders start here and the page applies what they say.
    detector_threshold: float = 0.5  # MediaPipe's own default for this model
    detector_overlap: float = 0.3  # boxes overlapping more are merged (MediaPipe's weighted NMS)
    min_face: int = 24  # pixels of the camera frame, as the server's default (DetectionOptions)
    # BlazeFace's box is tighter than MTCNN's, which the models were measured with: its centre
    # moves by (dx, dy) of its size and its sides scale by (sw, sh). Fitted by
    # tools/fit_blazeface_boxes.py on 32 faces (the example photos at 4 sizes, mirrored): the
    # fitted box lands within 1% (x), 3% (y) and 5% (sides) of MTCNN's, median; raw, 3/12/5/16%.
    box_fit: dict = field(default_factory=lambda: {"dx": -0.026, "dy": -0.108, "sw": 0.941, "sh": 1.191})
    classify_rate: float = 10.0  # per face per second at most
    smoothing: float = WebcamSettings().stream.smoothing  # seconds, as the server-side stream
    min_hits: int = 2  # frames before a face is numbered
    memory: float = 1.0  # seconds a lost face keeps its id
    summary_every: float = 1.0  # seconds between summaries sent to the server
    camera_side: int = Settings.webcam_side  # the resolution asked of the camera (FER_DEMO_WEBCAM_SIDE)


def model_json(spec: ModelSpec) -> dict:
    """A model's spec as the page reads it: labels in output order and canonical, preprocessing, crop."""
    return {
        "name": spec.name,
        "display_name": spec.display_name,
        "labels": list(spec.labels),
        "canonical_labels": [canonical_label(label) for label in spec.labels],
        "canonical_order": canonical_order(spec.labels),
        "has_valence_arousal": spec.has_valence_arousal,
        "preprocessing": asdict(spec.preprocessing),
        "crop": asdict(spec.crop),
    }


class LivePage:
    """The app's live-mode files (served once) and the per-model configuration of the page."""

    def __init__(
        self, server: AssetServer, ort_dir: Path | None, settings: LiveSettings | None = None
    ) -> None:
        self.server = server
        self.settings = settings or LiveSettings()
        self.scripts = server.add_folder(JS_DIR, SCRIPTS)
        self.detector = server.add(DETECTOR)
        self.problem: str | None = None  # why the live mode cannot run at all
        try:
            self.runtime: dict[str, Asset] = runtime_assets(server, ort_dir)
        except ValueError as error:
            log.error("live mode unavailable: %s", error)
            self.runtime, self.problem = {}, f"The in-browser runtime is not available: {error}"

    def model_entry(self, spec: ModelSpec, model_file: Path | None) -> dict:
        """A model as the page reads it: its spec and, once it is loaded, where to fetch its file."""
        return {**model_json(spec), **(self.server.add(model_file).as_json() if model_file else {})}

    @property
    def detection(self) -> DetectionOptions:
        """The page's default detection settings (BlazeFace's score, frame pixels)."""
        return DetectionOptions(self.settings.detector_threshold, self.settings.min_face)

    def config(
        self,
        spec: ModelSpec,
        model_file: Path | None,
        problem: str | None = None,
        detection: DetectionOptions | None = None,
    ) -> dict:
        """The page's configuration for ``spec`` whose ONNX file is ``model_file`` (None: ``problem``);
        ``detection`` is what the visitor set for the page's detector (None: the defaults)."""
        live = self.settings
        detection = detection or self.detection
        return {
            "scripts": {name: asset.as_json() for name, asset in self.scripts.items()},
            "runtime": {role: asset.as_json() for role, asset in self.runtime.items()},
            "detector": {
                **self.detector.as_json(),
                "name": DETECTOR_NAME,
                "threshold": detection.min_confidence,
                "overlap": live.detector_overlap,
                "min_face": detection.min_face_size,
                "box_fit": live.box_fit,
            },
            "model": self.model_entry(spec, model_file),
            "problem": self.problem or problem,
            "classify_rate": live.classify_rate,
            "smoothing": live.smoothing,
            "min_hits": live.min_hits,
            "memory": live.memory,
            "summary_every": live.summary_every,
            "max_faces": MAX_FACES,
            "camera_side": live.camera_side,
        }
