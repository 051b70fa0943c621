"""Loading: lazy, cached, strict, and explicit about missing weights."""

from __future__ import annotations

import httpx
import pytest
import torch
from torch import nn

from fer_demo.errors import ModelUnavailableError
from fer_demo.models.checkpoints import load_strict
from fer_demo.models.zoo import ModelZoo


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


def test_offline_missing_weights_say_which_file_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    zoo = ModelZoo(tmp_path)
    status = zoo.availability("emonet_8")
    assert not status.available and "emonet_8.pth" in status.reason and "offline" in status.reason
    with pytest.raises(ModelUnavailableError) as info:
        zoo.get("emonet_8")
    message = str(info.value)
    assert "EmoNet 8-class (valence/arousal) is unavailable" in message
    assert str(tmp_path) in message and "FER_DEMO_WEIGHTS_DIR" in message
    assert "python -m fer_demo weights download" in message
    assert not zoo.is_loaded("emonet_8")


def test_a_failed_download_says_why_and_how_to_fix_it(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("FER_DEMO_OFFLINE", raising=False)
    zoo = ModelZoo(tmp_path)
    monkeypatch.setattr(zoo.store, "retries", 1)
    monkeypatch.setattr(
        "fer_demo.models.weights.httpx.stream",
        lambda *a, **k: (_ for _ in ()).throw(httpx.ConnectError("no route to host")),
    )
    with pytest.raises(ModelUnavailableError) as info:
        zoo.get("enet_b0_8_best_afew")
    message = str(info.value)
    assert "could not download enet_b0_8_best_afew.pt" in message and "no route to host" in message
    assert "To use it, put enet_b0_8_best_afew.pt into" in message
    assert not zoo.availability("enet_b0_8_best_afew").available  # remembered, not retried per click


def test_online_missing_weights_are_downloadable_not_ready(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("FER_DEMO_OFFLINE", raising=False)
    status = ModelZoo(tmp_path).availability("enet_b0_8_best_afew")
    assert status.available and status.needs_download


def test_models_load_once_and_lazily(tmp_path):
    zoo = ModelZoo(tmp_path)
    assert not zoo.is_loaded("mini_xception")
    first = zoo.get("mini_xception")
    assert zoo.get("mini_xception") is first
