"""One file of a corpus: analysed, written atomically, or skipped when its result is still valid.

Each input gets ``files/<name>.csv`` (or ``.parquet``): the video tab's per-frame
columns plus ``source`` (a photo is one frame: frame 0, shot 1, each face its own
person), and ``files/<name>.json``: a summary without the per-frame rows. The
summary is written last and carries the fingerprint, so a file is finished
exactly when its summary exists with the run's fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from fer_demo.analysis.pipeline import analyze_image
from fer_demo.analysis.timeline import face_summary, frame_records, record_columns, with_persons
from fer_demo.config import DetectionOptions, StreamSettings, VideoLimits
from fer_demo.corpus.inputs import MediaFile
from fer_demo.corpus.settings import CorpusSettings, fingerprint
from fer_demo.errors import UserFacingError
from fer_demo.media.images import decode_image
from fer_demo.models.weights import sha256_file
from fer_demo.presentation.export import write_csv
from fer_demo.workflow import video_job
from fer_demo.workflow.studio import Studio
from fer_demo.workflow.video import VideoProgress, VideoResult

log = logging.getLogger(__name__)

# Corpora hold hour-long recordings: no upload limits, only the analysis rate.
CORPUS_LIMITS = VideoLimits(max_seconds=float("inf"), max_side=8192, max_frames=2**62)

Progress = Callable[[float], None]  # the share of this file analysed so far, 0 to 1


@dataclass(frozen=True)
class RunPlan:
    """What every worker needs to process any file of a run: resolved settings, weights, output."""

    settings: CorpusSettings  # with the model resolved
    model_identity: dict  # model name and the SHA-256 of each weight file
    out: Path
    force: bool = False


@dataclass(frozen=True)
class FileResult:
    """How one input went. ``status``: "done", "skipped" (finished before, unchanged) or "failed"."""

    source: str
    kind: str
    status: str
    table: str | None = None
    summary: str | None = None
    video_seconds: float = 0.0
    frames: int = 0
    faces: int = 0  # persons (or faces) reported
    elapsed: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def worker_died(media: MediaFile, detail: str = "") -> FileResult:
    """The result of a file whose worker stopped under it (killed, out of memory, lost node)."""
    why = "The worker analysing it stopped (killed, out of memory or lost); re-run to retry it."
    return FileResult(str(media.path), media.kind, "failed", error=f"{why} {detail}".strip())


def output_name(path: Path) -> str:
    """A readable, collision-free name: the file's stem and a hash of its full path."""
    tag = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    stem = "".join(c if c.isalnum() or c in "._-" else "-" for c in path.stem)[:60]
    return f"{stem}-{tag}"


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """``write`` to a hidden temporary beside ``path``, then rename it: a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def write_table(rows: list[dict], columns: list[str], path: Path, format: str) -> Path:
    """Rows as CSV (fixed decimals, as every download of the app) or Parquet (typed columns)."""
    if format == "csv":
        return atomic_write(path, lambda target: write_csv(rows, columns, target))
    frame = pd.DataFrame(rows, columns=columns)
    return atomic_write(path, lambda target: frame.to_parquet(target, index=False))


def process_file(
    media: MediaFile, plan: RunPlan, studio: Studio, progress: Progress | None = None
) -> FileResult:
    """Analyse one input and write its table and summary, unless its summary is already valid.

    Never raises for a bad file: a failure is a result with its message.
    """
    settings = plan.settings
    name = output_name(media.path)
    table = plan.out / "files" / f"{name}.{settings.format}"
    summary_path = plan.out / "files" / f"{name}.json"
    started = time.perf_counter()
    base = {"source": str(media.path), "kind": media.kind}
    try:
        stamp = fingerprint(sha256_file(media.path), settings, plan.model_identity)
        finished = _finished(summary_path, table, stamp)
        if finished is not None and not plan.force:
            return _result(
                base, "skipped", table, summary_path, finished, finished.get("elapsed_seconds", 0.0)
            )
        analyse = _analyse_photo if media.kind == "photo" else _analyse_video
        rows, columns, summary = analyse(
            media, settings, studio, plan.out / "videos" / f"{name}.mp4", progress
        )
        rows = [{"source": str(media.path), **row} for row in rows]
        summary_path.unlink(missing_ok=True)  # no old summary may vouch for the new table
        write_table(rows, ["source", *columns], table, settings.format)
        elapsed = time.perf_counter() - started
        document = {**base, **summary, "fingerprint": stamp, "settings": settings.to_dict(),
                    "model_identity": plan.model_identity, "elapsed_seconds": round(elapsed, 3)}  # fmt: skip
        atomic_write(summary_path, lambda target: target.write_text(json.dumps(document, indent=1)))
    except (UserFacingError, OSError, ValueError) as error:  # the file's own problem, said plainly
        return FileResult(**base, status="failed", elapsed=time.perf_counter() - started, error=str(error))
    except Exception as error:  # a bug or a library's failure on this file: logged, and the run goes on
        log.exception("analysing %s failed", media.path)
        why = f"Unexpected {type(error).__name__}: {error}"
        return FileResult(**base, status="failed", elapsed=time.perf_counter() - started, error=why)
    return _result(base, "done", table, summary_path, document, elapsed)


def _result(
    base: dict, status: str, table: Path, summary_path: Path, summary: dict, elapsed: float
) -> FileResult:
    return FileResult(**base, status=status, table=str(table), summary=str(summary_path), elapsed=elapsed,
                      video_seconds=summary.get("video_seconds", 0.0), frames=summary.get("frames", 0),
                      faces=len(summary.get("summary", [])))  # fmt: skip


def _finished(summary_path: Path, table: Path, stamp: str) -> dict | None:
    """The earlier summary when it has this fingerprint and its table is there; else None."""
    try:
        summary = json.loads(summary_path.read_text())
    except (OSError, ValueError):
        return None
    return summary if summary.get("fingerprint") == stamp and table.is_file() else None


def _options(settings: CorpusSettings) -> DetectionOptions:
    return DetectionOptions(settings.min_confidence, settings.min_face_size)


def _analyse_photo(media: MediaFile, settings: CorpusSettings, studio: Studio, video: Path, progress):
    """A photo as one frame: the same columns as a video's, each face its own person, found at
    the run's detection size."""
    model = studio.zoo.get(settings.model)
    with studio.analysis_slots:
        image = decode_image(media.path, studio.settings.max_image_pixels)
        detector = studio.detector_for(settings.detect_side or studio.settings.detect_max_side)
        analysis = analyze_image(image.pixels, model, detector, _options(settings))
    faces = frame_records(0, 0.0, analysis.faces, settings.model, shot=1)
    rows = with_persons(faces, {face.face: face.face for face in analysis.faces})  # each face a person
    summary = face_summary(rows, 1.0, key="person") if rows else []
    facts = {"model": settings.model, "width": analysis.width, "height": analysis.height,
             "video_seconds": 0.0, "frames": 1, "summary": summary, "notes": []}  # fmt: skip
    return rows, record_columns(settings.model, video=True), facts


def _analyse_video(media: MediaFile, settings: CorpusSettings, studio: Studio, video: Path, progress):
    stream = StreamSettings(detect_every=settings.detect_every, smoothing=settings.smoothing,
                            temporal_model=settings.temporal, detection=_options(settings))  # fmt: skip
    job = video_job.VideoJob(settings.model, stream, settings.detect_side, settings.persons,
                             settings.link_threshold)  # fmt: skip
    prepared = video_job.prepare(studio, job)
    notes = [prepared.persons_detail] if prepared.persons_detail else []
    limits = replace(CORPUS_LIMITS, max_fps=settings.max_fps)
    output = video if settings.annotated_video else None
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
    result: VideoResult | None = None
    for event in video_job.run(prepared, media.path, output, limits):
        if isinstance(event, VideoProgress):
            if progress is not None:
                progress(min(1.0, event.frames_done / max(1, event.frames_total)))
            continue
        result = event
    document = result.document()
    document.pop("records", None)
    facts = {**document, "video_seconds": result.analysed_seconds, "frames": result.frames,
             "notes": [*notes, *result.notes], "annotated_video": output and str(output)}  # fmt: skip
    return result.records, result.columns(), facts
