"""Results as rows, CSV and JSON: the numbers users take away."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from fer_demo.labels import CANONICAL_LABELS, canonical_order
from fer_demo.models.specs import get_spec
from fer_demo.pipeline import ImageAnalysis


def face_columns(model_name: str) -> list[str]:
    """Column names of the per-face table; probability columns in canonical order."""
    spec = get_spec(model_name)
    columns = ["face", "x1", "y1", "x2", "y2", "score", "top_label", "top_probability"]
    columns += canonical_order(spec.labels)
    if spec.has_valence_arousal:
        columns += ["valence", "arousal"]
    return [*columns, "model"]


def face_rows(analysis: ImageAnalysis) -> list[dict]:
    """One flat row per face, keys as :func:`face_columns`."""
    columns = face_columns(analysis.model)
    rows = []
    for face in analysis.faces:
        x1, y1, x2, y2 = face.box
        row = {
            "face": face.face,
            "x1": x1,
            "y1": y1,
            "x2": x2,
            "y2": y2,
            "score": face.score,
            "top_label": face.top_label,
            "top_probability": face.top_probability,
            "valence": face.valence,
            "arousal": face.arousal,
            "model": analysis.model,
        }
        row.update({k: v for k, v in face.probabilities.items() if k in CANONICAL_LABELS})
        rows.append({column: row[column] for column in columns})
    return rows


def write_csv(rows: list[dict], columns: list[str], path: Path) -> Path:
    """Write rows as CSV with a header even when there are no rows; None becomes empty."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows({k: ("" if row.get(k) is None else row[k]) for k in columns} for row in rows)
    return path


def write_json(payload: dict, path: Path) -> Path:
    """Write a JSON document, indented for people."""
    path = Path(path)
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return path


class CsvLog:
    """A CSV file that grows row by row, so a long live session costs disk, not memory."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path = Path(path)
        self._handle = self.path.open("w", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._handle, fieldnames=columns, extrasaction="ignore")
        self._writer.writeheader()

    def write(self, rows: list[dict]) -> None:
        self._writer.writerows(rows)

    def flush(self) -> None:
        self._handle.flush()

    def truncate(self) -> None:
        """Drop every row, keep the header."""
        self._handle.seek(0)
        self._handle.truncate()
        self._writer.writeheader()

    def delete(self) -> None:
        self._handle.close()
        self.path.unlink(missing_ok=True)
