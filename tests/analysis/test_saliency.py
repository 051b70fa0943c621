"""Saliency maps: Grad-CAM (pytorch-grad-cam) at each family's declared layer, over each face crop."""

from __future__ import annotations

import numpy as np
import pytest

from fer_demo.analysis.pipeline import FaceResult
from fer_demo.analysis.saliency import MAX_FACES, SaliencyExplainer, overlay
from fer_demo.config import Settings
from fer_demo.models.base import EmotionModel
from fer_demo.models.loading import ARCHITECTURES
from fer_demo.models.specs import MODEL_SPECS
from fer_demo.workflow.studio import Studio
from tests.support.paths import EXAMPLES


@pytest.fixture(scope="module")
def astronaut_run(tmp_path_factory):
    studio = Studio(Settings(weights_dir=tmp_path_factory.mktemp("weights")))
    image, analysis = studio.analyze_file(EXAMPLES / "astronaut.jpg", "mini_xception")
    return image.pixels, analysis.faces, SaliencyExplainer(studio.zoo.get("mini_xception"))


def heat_inside_and_around(heatmap: np.ndarray, crop_box, face_box) -> tuple[float, float]:
    """Mean heat inside the detector's face box, and in the crop's margin around it."""
    scale_x = heatmap.shape[1] / (crop_box[2] - crop_box[0])
    scale_y = heatmap.shape[0] / (crop_box[3] - crop_box[1])
    x1, x2 = (round((v - crop_box[0]) * scale_x) for v in (face_box[0], face_box[2]))
    y1, y2 = (round((v - crop_box[1]) * scale_y) for v in (face_box[1], face_box[3]))
    inside = np.zeros(heatmap.shape, bool)
    inside[y1:y2, x1:x2] = True
    return float(heatmap[inside].mean()), float(heatmap[~inside].mean())


def test_a_map_covers_the_crop_and_peaks_at_one(astronaut_run):
    image, faces, explainer = astronaut_run
    (saliency,) = explainer.explain(image, faces)
    x1, y1, x2, y2 = saliency.crop_box
    assert saliency.heatmap.shape == (round(y2) - round(y1), round(x2) - round(x1))
    assert saliency.heatmap.dtype == np.float32
    assert saliency.heatmap.min() >= 0 and saliency.heatmap.max() == pytest.approx(1.0, abs=0.02)
    assert saliency.target == "Happiness" and saliency.seconds > 0  # the face's own top label
    assert overlay(image, saliency).shape[2] == 3 and max(overlay(image, saliency).shape[:2]) == 160


def test_the_astronauts_happiness_lives_in_her_face_not_the_margin(astronaut_run):
    image, faces, explainer = astronaut_run
    (saliency,) = explainer.explain(image, faces)
    inside, around = heat_inside_and_around(saliency.heatmap, saliency.crop_box, faces[0].box)
    assert inside > 2 * around, (inside, around)


def test_the_map_changes_with_the_class_asked_about(astronaut_run):
    image, faces, explainer = astronaut_run
    (happy,) = explainer.explain(image, faces, target="Happiness")
    (angry,) = explainer.explain(image, faces, target="Anger")
    assert angry.target == "Anger"
    assert float(np.abs(happy.heatmap - angry.heatmap).mean()) > 0.1
    with pytest.raises(ValueError, match="Contempt"):
        explainer.explain(image, faces, target="Contempt")  # FER2013 has no Contempt


def test_explaining_never_changes_what_the_model_predicts(astronaut_run):
    image, faces, explainer = astronaut_run
    crop = image[100:300, 150:350]
    model = EmotionModel(explainer.spec, ARCHITECTURES["mini_xception"](explainer.spec))
    model.network.load_state_dict(explainer.network.state_dict())
    before = model.predict([crop]).probabilities
    explainer.explain(image, faces)
    np.testing.assert_array_equal(model.predict([crop]).probabilities, before)
    assert not any(m._forward_hooks for m in explainer.network.modules())  # Grad-CAM's hooks removed


@pytest.mark.parametrize("name", sorted(MODEL_SPECS))
def test_every_family_declares_a_layer_grad_cam_can_read(name, astronaut_run):
    image, faces, _ = astronaut_run
    spec = MODEL_SPECS[name]
    model = EmotionModel(spec, ARCHITECTURES[spec.architecture](spec).eval())  # random weights
    face = FaceResult(**{**faces[0].__dict__, "top_label": "Happiness"})
    (saliency,) = SaliencyExplainer(model).explain(image, [face])
    assert saliency.heatmap.ndim == 2 and 0 <= saliency.heatmap.min() <= saliency.heatmap.max() <= 1
    if spec.ensemble_branches:  # one map per member, as the authors' demo, and their mean
        assert len(saliency.branch_heatmaps) == spec.ensemble_branches
        np.testing.assert_allclose(saliency.heatmap, np.mean(saliency.branch_heatmaps, axis=0), atol=1e-6)
    else:
        assert saliency.branch_heatmaps == ()


def test_a_crowd_is_explained_for_its_first_faces_only_a_few_at_a_time(astronaut_run):
    """Gradients cost memory per face: a hostile or crowded photo cannot take the server's memory."""
    image, faces, explainer = astronaut_run
    crowd = [FaceResult(**{**faces[0].__dict__, "face": i}) for i in range(1, 13)]
    saliencies = explainer.explain(image, crowd)
    assert [s.face for s in saliencies] == list(range(1, MAX_FACES + 1))
    np.testing.assert_allclose(saliencies[-1].heatmap, saliencies[0].heatmap, atol=1e-5)  # chunks agree
