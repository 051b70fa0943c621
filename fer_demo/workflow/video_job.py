"""One video workflow for the app, the CLI, the corpus mode and the Python API.

What to analyse a video with is one record, :class:`VideoJob`. :func:`prepare`
turns it into a stream analyzer and, when persons are to be linked, a
face-recognition sampler (with the same words everywhere when they cannot be);
:func:`run` then yields :func:`fer_demo.workflow.video.analyze_video`'s progress and result.
torch loads in :func:`prepare`, with the models, not when the module is imported.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from fer_demo.analysis.persons import TrackSamples
from fer_demo.config import StreamSettings, VideoLimits
from fer_demo.errors import ModelUnavailableError
from fer_demo.models.weights import Progress
from fer_demo.workflow.video import VideoProgress, VideoResult, analyze_video

if TYPE_CHECKING:
    from fer_demo.analysis.stream import StreamAnalyzer
    from fer_demo.workflow.studio import Studio

log = logging.getLogger(__name__)

NO_REID = ("Persons are not linked across cuts here: this server has no face-recognition weights, "
           "so each track is its own face, named as drawn on the video.")  # fmt: skip
PERSONS_OFF = "Linking tracks into persons is off: each track is reported as a face."


@dataclass(frozen=True)
class VideoJob:
    """How to analyse a video: the model, the stream's knobs and whether to link persons."""

    model: str
    stream: StreamSettings = field(default_factory=StreamSettings)
    detect_side: int | None = None  # longest side of the detector's copy, px; None: the server's
    link_persons: bool = True  # link one person's tracks by face (needs the face-recognition weights)
    # Cosine distance under which two tracks are one person; None: the network's own (prepare() sets it).
    link_threshold: float | None = None


@dataclass(frozen=True)
class PreparedJob:
    """A job with its models loaded: ready to :func:`run` on one video."""

    job: VideoJob
    analyzer: StreamAnalyzer
    samples: TrackSamples | None  # None: each track is reported as a person of its own
    persons_note: str = ""  # why persons are not linked this time, in words for a web visitor
    # Why linking was asked for and failed, with the cause and its fix: for the CLI and corpus notes.
    persons_detail: str = ""

    @property
    def links_persons(self) -> bool:
        return self.samples is not None


def prepare(studio: Studio, job: VideoJob, progress: Progress | None = None) -> PreparedJob:
    """Load the job's model (and LSTM, and face-recognition network), downloading if needed.

    A missing face-recognition network is no error: the job runs with a note.

    Raises:
        ModelUnavailableError: the emotion model or the LSTM cannot run here.
    """
    analyzer = studio.stream_analyzer(job.model, job.stream, job.detect_side, progress)
    if job.link_threshold is None:  # the network's own, measured for it
        job = replace(job, link_threshold=studio.zoo.embedder.link_threshold)
    if not job.link_persons:
        available = studio.zoo.embedder_availability().available
        return PreparedJob(job, analyzer, None, PERSONS_OFF if available else NO_REID)
    try:
        embedder = studio.zoo.get_embedder(progress)
        spec = embedder.spec
        samples = TrackSamples(embedder.embed, aligned=spec.aligned, min_face_px=spec.min_face_px)
        return PreparedJob(job, analyzer, samples)
    except ModelUnavailableError as error:
        log.info("re-identification unavailable: %s", error)
        return PreparedJob(job, analyzer, None, NO_REID, f"Each track is reported as a face: {error}")


def run(
    prepared: PreparedJob,
    path: str | Path,
    output: Path | None,
    limits: VideoLimits,
    stop: threading.Event | None = None,
) -> Iterator[VideoProgress | VideoResult]:
    """Analyse ``path`` with a prepared job: progress events, then the result (see ``analyze_video``)."""
    yield from analyze_video(path, prepared.analyzer, output, limits, stop=stop, samples=prepared.samples,
                             link_threshold=prepared.job.link_threshold)  # fmt: skip
