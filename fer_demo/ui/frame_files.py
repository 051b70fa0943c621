"""Annotated webcam frames as JPEG files in Gradio's cache, only the last few kept.

Gradio serves an output image from a file: left to itself it saves every frame
a stream returns into a new cache folder, about 9,000 files for a 10-minute
stream. Writing the frames ourselves inside the cache (so Gradio serves them
without another copy) lets a session delete frames the browser has already
shown.
"""

from __future__ import annotations

import shutil
import uuid
from collections import deque
from pathlib import Path

import numpy as np
from PIL import Image


class FrameFiles:
    """A per-session ring of JPEG files under ``cache_dir``."""

    def __init__(self, cache_dir: str | Path, keep: int = 4, quality: int = 80) -> None:
        self.folder = Path(cache_dir) / "fer-demo-webcam" / uuid.uuid4().hex
        self.folder.mkdir(parents=True)
        self.quality = quality
        self._written: deque[Path] = deque()
        self._keep = keep  # the browser may still be fetching the newest few
        self._count = 0

    def write(self, image: np.ndarray) -> str:
        """Save an RGB uint8 frame; returns its path and deletes frames older than the last ``keep``."""
        path = self.folder / f"{self._count:06d}.jpeg"  # a new name per frame: browsers cache by URL
        self._count += 1
        Image.fromarray(image).save(path, quality=self.quality)
        self._written.append(path)
        while len(self._written) > self._keep:
            self._written.popleft().unlink(missing_ok=True)
        return str(path)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self._written.clear()
