"""Shared fixtures: real licensed images and one Studio per test session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer_demo.config import Settings
from fer_demo.workflow.studio import Studio
from tests.support.paths import EXAMPLES


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

