"""Invariants every registered model must keep; adding a model adds its checks."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from fer_demo.analysis.labels import canonical_label
from fer_demo.config import Settings
from fer_demo.models.loading import ARCHITECTURES, STATE_READERS
from fer_demo.models.specs import MODEL_SPECS, PREFERRED_MODELS, TEMPORAL_SPECS, get_spec
from fer_demo.models.weights import WeightStore
from fer_demo.workflow.studio import Studio
from tests.support.checkpoints.emo_affectnet import write_static_checkpoint

SPECS = sorted(MODEL_SPECS.values(), key=lambda spec: spec.name)
MISSION_MODELS = {
    "mini_xception", "emonet_8", "emonet_5", "emo_affectnet_resnet50", "enet_b0_7", "enet_b2_7",
    "enet_b0_8_best_afew", "enet_b0_8_best_vgaf", "enet_b2_8", "enet_b0_8_va_mtl", "esr_9",
}  # fmt: skip


def test_every_mission_model_is_registered():
    assert set(MODEL_SPECS) == MISSION_MODELS
    assert len(TEMPORAL_SPECS) == 6
    assert set(get_spec("emo_affectnet_resnet50").temporal_models) == set(TEMPORAL_SPECS)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_spec_is_complete(spec):
    assert spec.architecture in ARCHITECTURES and spec.architecture in STATE_READERS
    canonical = [canonical_label(label) for label in spec.labels]
    assert len(set(canonical)) == len(canonical), "two outputs map to one label"
    channels = 1 if spec.preprocessing.color == "gray" else 3
    assert len(spec.preprocessing.mean) == len(spec.preprocessing.std) == channels
    assert spec.preprocessing.size > 0 and spec.preprocessing.scale > 0
    assert spec.display_name and spec.license and spec.citation and spec.reported_accuracy
    assert spec.paper_url.startswith("https://")
    assert len(spec.weights) == (1 + spec.ensemble_branches if spec.ensemble_branches else 1)
    assert len({weight.filename for weight in spec.weights}) == len(spec.weights)
    for weight in spec.weights:
        assert weight.embedded or weight.url or weight.hub_repo, "no way to obtain the weights"
        if weight.url:
            assert weight.git_sha1 and len(weight.git_sha1) == 40, "downloads from URLs need a pinned hash"
            assert weight.url.endswith("/" + weight.filename.rsplit("/", 1)[-1])


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_architecture_outputs_match_the_labels(spec):
    network = ARCHITECTURES[spec.architecture](spec).eval()
    channels = 1 if spec.preprocessing.color == "gray" else 3
    size = spec.preprocessing.size
    with torch.inference_mode():
        out = network(torch.zeros(1, channels, size, size))
    assert tuple(out.shape) == (1, spec.num_outputs)


def test_with_no_weights_here_the_app_opens_on_the_embedded_model_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_DEMO_OFFLINE", "1")
    studio = Studio(Settings(weights_dir=tmp_path))
    spec = get_spec(studio.default_model())
    assert spec.name == "mini_xception" and PREFERRED_MODELS[-1] == spec.name
    status = WeightStore(tmp_path).availability(spec.weights)
    assert status.available and not status.needs_download


def test_the_app_opens_on_the_best_model_whose_weights_are_here_unless_told(tmp_path, monkeypatch):
    """A Space with preloaded weights must not open on the FER2013 model (issue: laughing audience
    labelled Anger); FER_DEMO_MODEL still decides when set."""
    write_static_checkpoint(tmp_path / "FER_static_ResNet50_AffectNet.pt")
    assert Studio(Settings(weights_dir=tmp_path)).default_model() == "emo_affectnet_resnet50"
    monkeypatch.setenv("FER_DEMO_MODEL", "mini_xception")
    settings = replace(Settings.from_env(), weights_dir=tmp_path)
    assert Studio(settings).default_model() == "mini_xception"
    assert set(PREFERRED_MODELS) == set(MODEL_SPECS)  # every model has its place


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(KeyError, match="mini_xception"):
        get_spec("no_such_model")
