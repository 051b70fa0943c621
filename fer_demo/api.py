"""The Python API: analyse a photo or a video in three lines, get typed results.

    from fer_demo import Analyzer

    fer = Analyzer()                       # the best model ready here, or Analyzer("enet_b0")
    photo = fer.photo("group.jpg")         # a path, the file's bytes or an RGB array
    photo.faces[0].top_label, photo.to_pandas()
    video = fer.video("clip.mp4", on_progress=print)
    video.persons, video.shots, video.to_pandas(), video.to_json()
    fer.explain("group.jpg", "Happiness")  # Grad-CAM: where the model looked, per face
    fer_demo.compare("group.jpg").agreement  # every ready model on the same faces

The app, the CLI and the corpus mode run the same code (:class:`fer_demo.workflow.studio.Studio`,
:mod:`fer_demo.workflow.video_job`). Probabilities are keyed by the canonical labels
(:data:`fer_demo.analysis.labels.CANONICAL_LABELS`) whatever the model's own order. Creating an
:class:`Analyzer` is cheap; the model loads (and downloads, where allowed) on first use.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fer_demo.analysis.pipeline import FaceResult, ImageAnalysis
from fer_demo.config import DetectionOptions, Settings, StreamSettings
from fer_demo.errors import InputError
from fer_demo.models.specs import MODEL_SPECS
from fer_demo.workflow.studio import Studio
from fer_demo.workflow.video import VideoProgress, VideoResult
from fer_demo.workflow.video_job import VideoJob, prepare, run

if TYPE_CHECKING:
    import pandas as pd

    from fer_demo.analysis.compare import FaceAgreement
    from fer_demo.analysis.saliency import FaceSaliency

PhotoSource = str | Path | bytes | np.ndarray


@dataclass(frozen=True)
class ModelInfo:
    """A model this installation knows, and whether it can run now."""

    name: str  # what :class:`Analyzer` takes
    display_name: str
    labels: tuple[str, ...]  # canonical names, in the model's output order
    valence_arousal: bool
    available: bool  # can run here (perhaps after a download)
    needs_download: bool  # its weights are fetched on first use
    why_unavailable: str = ""  # and how to fix it, when not ``available``


@dataclass(frozen=True)
class PhotoResult:
    """Every face of one photo according to one model."""

    model: str
    width: int  # pixels of the analysed image (upright, after EXIF rotation)
    height: int
    faces: list[FaceResult]  # left to right; ``face`` is the number drawn on the image
    too_small: list[tuple[float, float, float, float]] = field(default_factory=list)  # boxes, not analysed
    notes: tuple[str, ...] = ()  # how the file was read (frames, rescaled values)

    def analysis(self) -> ImageAnalysis:
        """The same faces as the pipeline's record (what the presentation functions take)."""
        return ImageAnalysis(self.model, MODEL_SPECS[self.model].display_name, self.width, self.height,
                             self.faces, self.too_small)  # fmt: skip

    @classmethod
    def from_analysis(cls, analysis: ImageAnalysis, notes: tuple[str, ...] = ()) -> PhotoResult:
        return cls(analysis.model, analysis.width, analysis.height, analysis.faces, analysis.too_small, notes)

    def rows(self) -> list[dict]:
        """One flat row per face: the columns of the app's per-face CSV."""
        from fer_demo.presentation.export import face_rows  # pandas: imported when a table is asked for

        return face_rows(self.analysis())

    def to_pandas(self) -> pd.DataFrame:
        """One row per face: verdict, probabilities (canonical labels), valence/arousal, box."""
        import pandas as pd

        from fer_demo.presentation.export import face_columns

        return pd.DataFrame(self.rows(), columns=face_columns(self.model))

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)


@dataclass(frozen=True)
class Comparison:
    """Several models on the same faces of one photo, and how far they agree on each face."""

    results: tuple[PhotoResult, ...]  # one per model, faces in the same order
    agreement: tuple[FaceAgreement, ...]  # per face: the most common vote among the labels all share

    def to_pandas(self) -> pd.DataFrame:
        """One row per face and model: its verdict, its vote and the face's consensus."""
        import pandas as pd

        from fer_demo.analysis.compare import comparison_rows

        columns, rows = comparison_rows([result.analysis() for result in self.results])
        return pd.DataFrame(rows, columns=columns)

    def to_json(self, indent: int | None = None) -> str:
        document = {"agreement": [face.to_dict() for face in self.agreement],
                    "models": [result.to_dict() for result in self.results]}  # fmt: skip
        return json.dumps(document, indent=indent)


@dataclass(frozen=True)
class Shot:
    """A stretch of video between two hard cuts."""

    number: int  # 1-based
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Person:
    """One person of a video: their tracks (linked by face, or one track), time on screen and mood."""

    person: int  # 1-based, as "Person N" in the app
    tracks: tuple[int, ...]  # the face ids (tracks) drawn on the video that are this person
    first_seen_s: float
    last_seen_s: float
    time_on_screen_s: float
    frames: int
    dominant_emotion: str  # highest mean probability over their frames (canonical label)
    dominant_mean_probability: float
    mean_valence: float | None = None
    mean_arousal: float | None = None
    mean_agreement: float | None = None  # an ensemble's (ESR-9) share of members voting with it


@dataclass(frozen=True)
class VideoAnalysis:
    """A video's analysis: persons, shots, per-frame records, and the annotated video if asked for."""

    model: str
    duration_s: float  # the video's length, from its header
    analysed_s: float  # video time covered: all of it unless cancelled or stopped at a limit
    frames: int  # frames analysed
    speed: float  # analysis speed as a multiple of real time
    cancelled: bool
    persons_linked: bool  # persons come from face re-identification (else each track is a person)
    persons: list[Person]
    shots: list[Shot]
    notes: tuple[str, ...]  # what the user should know: resampling, limits, glimpses, no re-identification
    output: Path | None  # the annotated H.264 MP4, when ``output`` was given
    result: VideoResult = field(repr=False)  # everything, as the app holds it

    @classmethod
    def from_result(cls, result: VideoResult, notes: tuple[str, ...] = ()) -> VideoAnalysis:
        persons = [Person(**{**row, "tracks": tuple(row["tracks"])}) for row in result.summary]
        shots = [Shot(shot["shot"], shot["start_s"], shot["end_s"]) for shot in result.shots()]
        return cls(
            model=result.model, duration_s=result.info.duration, analysed_s=result.analysed_seconds,
            frames=result.frames, speed=result.speed, cancelled=result.cancelled,
            persons_linked=result.linked, persons=persons, shots=shots, notes=(*notes, *result.notes),
            output=result.output, result=result,
        )  # fmt: skip

    def to_pandas(self) -> pd.DataFrame:
        """One row per frame and face (the app's CSV): time, shot, person, track, box, probabilities."""
        import pandas as pd

        return pd.DataFrame(self.result.records, columns=self.result.columns())

    def to_dict(self) -> dict:
        """The app's JSON export: shots, persons, summary and every record (brief tracks flagged)."""
        return {**self.result.document(), "notes": list(self.notes)}

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)


class Analyzer:
    """Facial expression analysis of photos and videos with one model.

    Thread-safe: one instance may serve several threads (the app does).

    Args:
        model: a name from :func:`list_models` (``None``: ``FER_DEMO_MODEL``, else the best ready here).
        min_confidence: face detector score a face needs, 0-1 (``None``: the server's default).
        min_face_size: shorter side a face box needs, in image pixels (``None``: the default).
        settings: limits, folders and defaults (``None``: from the ``FER_DEMO_*`` environment).

    Raises:
        InputError: an unknown model name.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        min_confidence: float | None = None,
        min_face_size: int | None = None,
        settings: Settings | None = None,
    ) -> None:
        if model is not None and model not in MODEL_SPECS:
            raise InputError(f"Unknown model {model!r}; known: {', '.join(MODEL_SPECS)}.")
        self.studio = Studio(settings or Settings.from_env())
        defaults = self.studio.settings.detection
        self.detection = DetectionOptions(
            defaults.min_confidence if min_confidence is None else min_confidence,
            defaults.min_face_size if min_face_size is None else min_face_size,
        )
        self._model = model

    @property
    def model(self) -> str:
        """The model's name (resolved on first use when none was given)."""
        if self._model is None:
            self._model = self.studio.default_model()
        return self._model

    def photo(self, source: PhotoSource) -> PhotoResult:
        """Find and classify every face of a photo: a file path, the file's bytes, or an array
        (H x W x 3 RGB uint8, H x W gray, or RGBA).

        Raises:
            InputError: not an image, damaged, too large or too small (the message says which).
            ModelUnavailableError: the model cannot run here (the message says how to fix it).
        """
        image, analysis = self.studio.analyze_file(source, self.model, options=self.detection)
        return PhotoResult.from_analysis(analysis, image.notes)

    def explain(self, source: PhotoSource, target: str | None = None) -> list[FaceSaliency]:
        """Where the model looked on each face of a photo (Grad-CAM, the app's "Why?"): a heatmap
        over each face's crop for ``target`` (a canonical label the model has; ``None``: each
        face's own top label).

        Raises:
            InputError: as :meth:`photo`, or a ``target`` the model does not have.
        """
        from fer_demo.analysis.labels import canonical_label

        labels = [canonical_label(label) for label in MODEL_SPECS[self.model].labels]
        if target is not None and target not in labels:
            raise InputError(f"{MODEL_SPECS[self.model].display_name} has no class {target!r}; it has "
                             f"{', '.join(labels)}.")  # fmt: skip
        image, analysis = self.studio.analyze_file(source, self.model, options=self.detection)
        return self.studio.explain(image.pixels, analysis, target)

    def video(
        self,
        path: str | Path,
        *,
        output: str | Path | None = None,
        on_progress: Callable[[VideoProgress], None] | None = None,
        stop: threading.Event | None = None,
        stream: StreamSettings | None = None,
        link_persons: bool = True,
        link_threshold: float | None = None,
        detect_side: int | None = None,
    ) -> VideoAnalysis:
        """Analyse a video file: track faces, classify them, link one person's tracks across cuts.

        Args:
            output: write the annotated H.264 MP4 here (``None``: no video, a third faster).
            on_progress: called about twice a second with frames done, total and speed.
            stop: set it (from another thread, or from ``on_progress``) to end the job at the next
                frame; the result then holds what was done, with ``cancelled`` true.
            stream: detection interval, smoothing, LSTM and the other knobs of the app's video tab.
            link_persons: link tracks into persons with the face-recognition network, if it is here.
            link_threshold: cosine distance under which two tracks are one person (``None``: the
                network's own, measured by ``benchmarks/bench_persons.py``).

        Raises:
            InputError: not a video, damaged, longer or larger than the limits.
            ModelUnavailableError: the model (or the LSTM) cannot run here.
        """
        stream = stream or StreamSettings()
        if stream.detection is None:
            stream = replace(stream, detection=self.detection)
        job = VideoJob(self.model, stream, detect_side, link_persons, link_threshold)
        prepared = prepare(self.studio, job)
        notes = (prepared.persons_detail,) if prepared.persons_detail else ()
        target = Path(output) if output is not None else None
        for event in run(prepared, path, target, self.studio.settings.video_limits, stop):
            if isinstance(event, VideoProgress):
                if on_progress is not None:
                    on_progress(event)
                continue
            result = event
        return VideoAnalysis.from_result(result, notes)


def compare(
    source: PhotoSource,
    models: list[str] | None = None,
    *,
    min_confidence: float | None = None,
    min_face_size: int | None = None,
    settings: Settings | None = None,
) -> Comparison:
    """Several models on the same faces of one photo (the app's "Compare all available models"):
    faces are found once, then each model classifies them.

    Args:
        models: names from :func:`list_models` (``None``: every model ready here, no download).

    Raises:
        InputError: not an image (as :meth:`Analyzer.photo`), or an unknown model.
        ModelUnavailableError: a named model cannot run here.
    """
    from fer_demo.analysis.compare import agreement

    for name in models or ():
        if name not in MODEL_SPECS:
            raise InputError(f"Unknown model {name!r}; known: {', '.join(MODEL_SPECS)}.")
    analyzer = Analyzer(min_confidence=min_confidence, min_face_size=min_face_size, settings=settings)
    image, analyses = analyzer.studio.compare_file(source, analyzer.detection, models)
    results = tuple(PhotoResult.from_analysis(analysis, image.notes) for analysis in analyses)
    return Comparison(results, tuple(agreement(analyses)))


def list_models(settings: Settings | None = None) -> list[ModelInfo]:
    """Every model this installation knows, with whether it can run here and why not."""
    from fer_demo.analysis.labels import canonical_label

    studio = Studio(settings or Settings.from_env())
    infos = []
    for name, spec in MODEL_SPECS.items():
        status = studio.availability(name)
        why = "" if status.available else f"{status.reason}. To use it, {status.fix}."
        labels = tuple(canonical_label(label) for label in spec.labels)
        infos.append(ModelInfo(name, spec.display_name, labels, spec.has_valence_arousal, status.available,
                               status.needs_download, why))  # fmt: skip
    return infos
