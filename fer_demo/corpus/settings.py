"""What a corpus run does to each file, and the fingerprint that says a result is still valid."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from fer_demo import __version__

FORMATS = ("csv", "parquet")


@dataclass(frozen=True)
class CorpusSettings:
    """Every choice that changes a file's results (plus the table format).

    ``model`` None means the best ready model, resolved once per run (see
    :func:`fer_demo.corpus.run.resolve`), so every file of a run uses the same.
    """

    model: str | None = None
    temporal: str | None = None  # an EMO-AffectNet LSTM instead of smoothing
    detect_every: int = 10
    detect_side: int | None = None  # None: the app's FER_DEMO_DETECT_MAX_SIDE, resolved per run
    smoothing: float = 0.3
    min_confidence: float = 0.93
    min_face_size: int = 24
    persons: bool = True  # link one person's tracks by face (FaceNet), when its weights are here
    link_threshold: float | None = None  # None: the face-recognition network's own
    max_fps: float = 30.0  # frames per second of video analysed at most
    annotated_video: bool = False  # also write the annotated MP4 (corpora want data)
    format: str = "csv"

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, got {self.format!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def fingerprint(content_sha256: str, settings: CorpusSettings, model_identity: dict) -> str:
    """The hash a finished file's summary carries: the input's bytes, the settings and the weights.

    A re-run skips a file whose summary has the same fingerprint; any change in the file,
    a setting (as resolved: the detection size actually used), a weight file or the app's
    version makes it run again.
    """
    payload = json.dumps(
        {
            "input": content_sha256,
            "settings": settings.to_dict(),
            "model": model_identity,
            "code": __version__,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()
