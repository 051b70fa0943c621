"""Invariants every registered model must keep; adding a model adds its checks."""

from __future__ import annotations

import pytest
import torch

from fer_demo.config import Settings
from fer_demo.labels import canonical_label
from fer_demo.models.specs import MODEL_SPECS, TEMPORAL_SPECS, get_spec
from fer_demo.models.weights import WeightStore
from fer_demo.models.zoo import ARCHITECTURES, STATE_READERS

SPECS = sorted(MODEL_SPECS.values(), key=lambda spec: spec.name)
MISSION_MODELS = {
    "mini_xception", "emonet_8", "emonet_5", "emo_affectnet_resnet50", "enet_b0_7", "enet_b2_7",
    "enet_b0_8_best_afew", "enet_b0_8_best_vgaf", "enet_b2_8", "enet_b0_8_va_mtl",
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
    (weight,) = spec.weights
    assert weight.embedded or weight.url or weight.hub_repo, "no way to obtain the weights"
    if weight.url:
        assert weight.git_sha1 and len(weight.git_sha1) == 40, "downloads from URLs need a pinned hash"
        assert weight.url.endswith("/" + weight.filename)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_architecture_outputs_match_the_labels(spec):
    network = ARCHITECTURES[spec.architecture](spec).eval()
    channels = 1 if spec.preprocessing.color == "gray" else 3
    size = spec.preprocessing.size
    with torch.inference_mode():
        out = network(torch.zeros(1, channels, size, size))
    assert tuple(out.shape) == (1, spec.num_outputs)


def test_default_model_is_registered_and_works_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_DEMO_OFFLINE", "1")
    spec = get_spec(Settings().default_model)
    status = WeightStore(tmp_path).availability(spec.weights)
    assert status.available and not status.needs_download


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(KeyError, match="mini_xception"):
        get_spec("no_such_model")
