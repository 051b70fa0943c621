"""Endpoints for programs: structured JSON instead of widgets."""

from __future__ import annotations

import gradio as gr

from fer_demo.models.specs import MODEL_SPECS
from fer_demo.studio import Studio
from fer_demo.ui.common import user_errors


def register_api(studio: Studio) -> None:
    default = studio.settings.default_model

    @user_errors
    def analyze(image: gr.FileData, model: str = default) -> dict:
        """Find every face in an image and classify its expression.

        Args:
            image: the photo (JPEG, PNG, WebP, ...).
            model: a model name from /models, e.g. "mini_xception".

        Returns:
            {"model", "model_display_name", "width", "height", "faces": [{"face", "box",
            "score", "landmarks", "probabilities", "top_label", "top_probability",
            "valence", "arousal"}]}; box is (x1, y1, x2, y2) in pixels.
        """
        path = image.get("path") if isinstance(image, dict) else getattr(image, "path", None)
        if not path:
            raise gr.Error("Please send an image file.", print_exception=False)
        return studio.analyze_file(path, model)[1].to_dict()

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

    gr.api(analyze, api_name="analyze")
    gr.api(models, api_name="models")
