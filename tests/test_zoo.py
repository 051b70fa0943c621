"""Loading: lazy, cached, strict, and explicit about missing weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fer_demo.errors import ModelUnavailableError
from fer_demo.models import specs
from fer_demo.models.specs import MINI_XCEPTION, WeightFile
from fer_demo.models.zoo import ModelZoo, load_strict


def test_strict_load_names_the_first_mismatches():
    net = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    state = net.state_dict()
    state["0.weight"] = torch.zeros(5, 4)
    del state["1.bias"]
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(ModelUnavailableError) as info:
        load_strict(net, state, "broken.pt")
    message = str(info.value)
    assert "broken.pt" in message
    assert "1 missing: 1.bias" in message
    assert "1 unexpected: extra.weight" in message
    assert "0.weight (5, 4) != (3, 4)" in message


def test_missing_weights_say_which_file_where_and_how(tmp_path, monkeypatch):
    absent = specs.ModelSpec(
        **{
            **MINI_XCEPTION.__dict__,
            "name": "absent",
            "display_name": "Absent model",
            "weights": (WeightFile("absent.safetensors", sha256="0" * 64),),
        }
    )
    monkeypatch.setitem(specs.MODEL_SPECS, "absent", absent)
    zoo = ModelZoo(tmp_path)
    with pytest.raises(ModelUnavailableError) as info:
        zoo.get("absent")
    message = str(info.value)
    assert "Absent model is unavailable" in message
    assert "absent.safetensors" in message and str(tmp_path) in message
    assert "FER_DEMO_WEIGHTS_DIR" in message
    assert not zoo.is_loaded("absent")


def test_models_load_once_and_lazily(tmp_path):
    zoo = ModelZoo(tmp_path)
    assert not zoo.is_loaded("mini_xception")
    first = zoo.get("mini_xception")
    assert zoo.get("mini_xception") is first
