"""Per-frame, per-face records of a video or webcam session, and their summaries.

A record is one flat dict per (frame, face): the CSV row users download.
Everything here is plain data so the UI, the CLI and the tests share it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from fer_demo.analysis.labels import CANONICAL_LABELS, canonical_order
from fer_demo.analysis.pipeline import FaceResult
from fer_demo.models.specs import get_spec


def record_columns(model_name: str, video: bool = False) -> list[str]:
    """Columns of the per-frame CSV; probability columns in canonical order.

    A video's rows also say their ``shot`` and ``person`` (the tracks of one
    person linked across cuts); ``face_id`` is the track.
    """
    spec = get_spec(model_name)
    columns = ["frame", "time", *(["shot", "person"] if video else []), "face_id"]
    columns += ["x1", "y1", "x2", "y2", "score"]
    columns += canonical_order(spec.labels)
    columns += ["valence", "arousal", "top_label", "top_probability"]
    return [*columns, *(["agreement"] if spec.ensemble_branches else []), "model"]


def with_persons(records: Sequence[dict], persons: Mapping[int, int]) -> list[dict]:
    """The records with each one's ``person`` (None for a track in no person: a brief one).
    New records: a list others hold is never changed under them."""
    return [{**record, "person": persons.get(record["face_id"])} for record in records]


def frame_records(
    frame: int, time: float, faces: Sequence[FaceResult], model_name: str, shot: int | None = None
) -> list[dict]:
    """One record per face of one frame; ``face.face`` is the track id; ``shot`` when cuts are found."""
    records = []
    for face in faces:
        x1, y1, x2, y2 = face.box
        record = {
            "frame": frame,
            "time": round(time, 4),
            **({"shot": shot} if shot is not None else {}),
            "face_id": face.face,
            "x1": x1,
            "y1": y1,
            "x2": x2,
            "y2": y2,
            "score": face.score,
        }
        record.update(face.probabilities)
        record.update(
            {
                "valence": face.valence,
                "arousal": face.arousal,
                "top_label": face.top_label,
                "top_probability": face.top_probability,
                **({"agreement": face.agreement} if face.agreement is not None else {}),
                "model": model_name,
            }
        )
        records.append(record)
    return records


def by_face(records: Iterable[dict], key: str = "face_id") -> dict[int, list[dict]]:
    """Records grouped by face id (or by ``key``: "person"), in time order within each group."""
    groups: dict[int, list[dict]] = defaultdict(list)
    for record in records:
        groups[record[key]].append(record)
    return dict(sorted(groups.items()))


# A track shorter than this is a glimpse, a detector's mistake or a face crossing the frame's
# edge: it stays in the per-frame records but is not reported as a face.
MIN_TRACK_SECONDS = 0.3


def brief_faces(
    records: Iterable[dict], frame_period: float, min_seconds: float = MIN_TRACK_SECONDS
) -> set[int]:
    """Ids of the faces on screen for less than ``min_seconds`` (frames x ``frame_period``)."""
    return {face_id for face_id, rows in by_face(records).items() if len(rows) * frame_period < min_seconds}


def face_summary(
    records: Sequence[dict], frame_period: float, min_seconds: float = 0.0, key: str = "face_id"
) -> list[dict]:
    """Per face (or person, ``key``) on screen for ``min_seconds`` or more: time on screen,
    dominant emotion (highest mean probability), mean V/A; a person's row lists its tracks."""
    summary = []
    brief = brief_faces(records, frame_period, min_seconds) if key == "face_id" else set()
    for face_id, rows in by_face(records, key).items():
        if face_id in brief:
            continue
        labels = [label for label in CANONICAL_LABELS if label in rows[0]]
        means = {label: float(np.mean([row[label] for row in rows])) for label in labels}
        dominant = max(means, key=means.get)
        valence = [row["valence"] for row in rows if row.get("valence") is not None]
        arousal = [row["arousal"] for row in rows if row.get("arousal") is not None]
        agreement = [row["agreement"] for row in rows if row.get("agreement") is not None]
        summary.append({
            key: face_id,
            **({"tracks": sorted({row["face_id"] for row in rows})} if key == "person" else {}),
            "first_seen_s": rows[0]["time"],
            "last_seen_s": rows[-1]["time"],
            "time_on_screen_s": round(len(rows) * frame_period, 2),
            "frames": len(rows),
            "dominant_emotion": dominant,
            "dominant_mean_probability": round(means[dominant], 4),
            "mean_valence": round(float(np.mean(valence)), 4) if valence else None,
            "mean_arousal": round(float(np.mean(arousal)), 4) if arousal else None,
            **({"mean_agreement": round(float(np.mean(agreement)), 4)} if agreement else {}),
        })  # fmt: skip
    return summary
