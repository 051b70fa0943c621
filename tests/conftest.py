"""Shared fixtures: real licensed images and one Studio per test session."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer_demo.config import Settings
from fer_demo.studio import Studio

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """Eileen Collins smiling (NASA, public domain), RGB uint8 512x512."""
    return np.asarray(Image.open(EXAMPLES / "astronaut.jpg").convert("RGB"))


@pytest.fixture(scope="session")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Studio:
    return Studio(Settings(weights_dir=tmp_path_factory.mktemp("weights")))


@pytest.fixture
def write_image(tmp_path: Path):
    """Save a PIL image to a temp file and return its path."""

    def write(image: Image.Image, name: str = "image.png", **save_args) -> Path:
        path = tmp_path / name
        image.save(path, **save_args)
        return path

    return write


def free_port() -> int:
    """A TCP port nobody listens on, for an app launched by a test."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
