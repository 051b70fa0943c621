"""Endpoints for programs: structured JSON instead of widgets."""

from __future__ import annotations

import gradio as gr

from fer_demo.errors import InputError
from fer_demo.models.specs import MODEL_SPECS
from fer_demo.ui.common import QUICK, user_errors
from fer_demo.ui.request_guard import payload_path, received_file
from fer_demo.ui.values import detection_options
from fer_demo.workflow.studio import Studio


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

    @user_errors
    def explain(
        image: gr.FileData,
        model: str = default,
        target: str = "",
        arrays: bool = False,
        min_confidence: float = detection.min_confidence,
        min_face_size: int = detection.min_face_size,
    ) -> dict:
        """Where the model looked on each face (Grad-CAM, the first 8 faces), for one class or each
        face's top label.

        Args:
            image: the photo.
            model: a model name from /models.
            target: a class the model has ("Happiness"), or "" for each face's top label.
            arrays: also return each heatmap as numbers (at most 112 px a side, values 0 to 1).
            min_confidence: the face detector's score a face needs (0 to 1).
            min_face_size: the shorter side a face box needs, in pixels of the image.

        Returns:
            {"model", "method", "layer", "faces": [{"face", "target", "crop_box", "seconds",
            "overlay_png" (a data URI), "map" and, for an ensemble, "member_maps" (with arrays)}]};
            crop_box (x1, y1, x2, y2) is the part of the photo the model saw, which the maps cover.
        """
        from fer_demo.analysis.saliency import saliency_document  # torch and Grad-CAM: on first use

        options = detection_options(min_confidence, min_face_size)
        decoded, analysis = studio.analyze_file(received_file(payload_path(image)), model, None, options)
        try:
            saliencies = studio.explain(decoded.pixels, analysis, str(target) if target else None)
        except ValueError as error:  # a class this model does not have
            raise InputError(str(error)) from None
        layer = MODEL_SPECS[model].saliency_layer
        return saliency_document(saliencies, model, layer, image=decoded.pixels, arrays=bool(arrays))

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
                "reason": status.visitor or status.reason,
            }
        return result

    gr.api(analyze, api_name="analyze", **QUICK)
    gr.api(explain, api_name="explain", **QUICK)
    gr.api(models, api_name="models")
