"""Endpoints for programs: structured JSON instead of widgets."""

from __future__ import annotations

import gradio as gr

from fer_demo.models.specs import MODEL_SPECS
from fer_demo.studio import Studio
from fer_demo.ui.common import QUICK, detection_options, user_errors
from fer_demo.ui.request_guard import payload_path, received_file


def register_api(studio: Studio) -> None:
    default = studio.default_model()
    detection = studio.settings.detection

    @user_errors
    def analyze(
        image: gr.FileData,
        model: str = default,
        min_confidence: float = detection.min_confidence,
        min_face_size: int = detection.min_face_size,
    ) -> dict:
        """Find every face in an image and classify its expression.

        Args:
            image: the photo (JPEG, PNG, WebP, ...).
            model: a model name from /models, e.g. "mini_xception".
            min_confidence: the face detector's score a face needs (0 to 1).
            min_face_size: the shorter side a face box needs, in pixels of the image.

        Returns:
            {"model", "model_display_name", "width", "height", "faces": [{"face", "box",
            "score", "landmarks", "probabilities", "top_label", "top_probability",
            "valence", "arousal"}], "frames", "notes"}; box is (x1, y1, x2, y2) in pixels;
            notes say how the file was read (only the first of several frames, float values rescaled).
        """
        options = detection_options(min_confidence, min_face_size)
        decoded, analysis = studio.analyze_file(received_file(payload_path(image)), model, None, options)
        return {**analysis.to_dict(), "frames": decoded.frames, "notes": list(decoded.notes)}

    def models() -> dict:
        """Every registered model with its labels and whether it can run now.

        Returns:
            {name: {"display_name", "labels", "valence_arousal", "available", "needs_download", "reason"}}
        """
        result = {}
        for name, spec in MODEL_SPECS.items():
            status = studio.availability(name)
            result[name] = {
                "display_name": spec.display_name,
                "labels": list(spec.labels),
                "valence_arousal": spec.has_valence_arousal,
                "available": status.available,
                "needs_download": status.needs_download,
                "reason": status.reason,
            }
        return result

    gr.api(analyze, api_name="analyze", **QUICK)
    gr.api(models, api_name="models")
