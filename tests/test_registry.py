"""Invariants every registered model must keep; adding a model adds its checks."""

from __future__ import annotations

import pytest

from fer_demo.config import Settings
from fer_demo.labels import canonical_label
from fer_demo.models.specs import MODEL_SPECS, get_spec
from fer_demo.models.weights import availability
from fer_demo.models.zoo import BUILDERS

SPECS = sorted(MODEL_SPECS.values(), key=lambda spec: spec.name)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_spec_is_complete(spec):
    assert spec.architecture in BUILDERS
    canonical = [canonical_label(label) for label in spec.labels]
    assert len(set(canonical)) == len(canonical), "two outputs map to one label"
    channels = 1 if spec.preprocessing.color == "gray" else 3
    assert len(spec.preprocessing.mean) == len(spec.preprocessing.std) == channels
    assert spec.preprocessing.size > 0 and spec.preprocessing.scale > 0
    assert spec.display_name and spec.license and spec.citation and spec.reported_accuracy
    assert spec.paper_url.startswith("https://")
    assert spec.weights
    for weight in spec.weights:
        assert weight.embedded or weight.git_sha1 or weight.sha256, "downloaded files need a hash"


def test_default_model_is_registered_and_works_offline(tmp_path):
    default = Settings().default_model
    assert get_spec(default).weights[0].embedded
    assert availability(get_spec(default), tmp_path).available


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(KeyError, match="mini_xception"):
        get_spec("no_such_model")
