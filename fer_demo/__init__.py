"""fer-demo: facial expression recognition on images, video and webcam.

The Python API (see :mod:`fer_demo.api`)::

    from fer_demo import Analyzer
    photo = Analyzer().photo("group.jpg")

Importing the package is instant: the API loads when one of its names is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = ["Analyzer", "Comparison", "ModelInfo", "Person", "PhotoResult", "Shot", "VideoAnalysis", "compare",
           "list_models"]  # fmt: skip

if TYPE_CHECKING:
    from fer_demo.api import (
        Analyzer,
        Comparison,
        ModelInfo,
        Person,
        PhotoResult,
        Shot,
        VideoAnalysis,
        compare,
        list_models,
    )


def __getattr__(name: str) -> object:
    if name in __all__:
        from fer_demo import api

        return getattr(api, name)
    raise AttributeError(f"module 'fer_demo' has no attribute {name!r}")
