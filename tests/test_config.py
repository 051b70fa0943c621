"""Settings from the environment, as a Space or a user sets them."""

from __future__ import annotations

from pathlib import Path

import pytest

from fer_demo.config import Settings

ENV = ["FER_DEMO_HOST", "GRADIO_SERVER_NAME", "SYSTEM", "FER_DEMO_PORT", "GRADIO_SERVER_PORT"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def test_a_laptop_listens_on_loopback_only():
    settings = Settings.from_env()
    assert (settings.host, settings.port) == ("127.0.0.1", 7860)


def test_a_space_listens_on_every_interface(monkeypatch):
    monkeypatch.setenv("SYSTEM", "spaces")
    assert Settings.from_env().host == "0.0.0.0"


def test_gradio_variables_are_honoured_and_ours_win(monkeypatch):
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7861")
    assert (Settings.from_env().host, Settings.from_env().port) == ("0.0.0.0", 7861)
    monkeypatch.setenv("FER_DEMO_HOST", "10.0.0.5")
    monkeypatch.setenv("FER_DEMO_PORT", "8000")
    assert (Settings.from_env().host, Settings.from_env().port) == ("10.0.0.5", 8000)


def test_webcam_and_weights_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FER_DEMO_WEBCAM_SESSIONS", "2")
    monkeypatch.setenv("FER_DEMO_WEIGHTS_DIR", str(tmp_path))
    settings = Settings.from_env()
    assert settings.webcam_sessions == 2 and settings.weights_dir == Path(tmp_path)


def test_a_malformed_number_names_the_variable(monkeypatch):
    monkeypatch.setenv("FER_DEMO_WEBCAM_SESSIONS", "four")
    with pytest.raises(ValueError, match="FER_DEMO_WEBCAM_SESSIONS must be a whole number"):
        Settings.from_env()
