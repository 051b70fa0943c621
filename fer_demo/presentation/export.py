"""Results as rows, CSV and JSON: the numbers users take away."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pandas as pd

from fer_demo.analysis.labels import CANONICAL_LABELS, canonical_order
from fer_demo.analysis.pipeline import ImageAnalysis
from fer_demo.models.specs import get_spec


def face_columns(model_name: str) -> list[str]:
    """Column names of the per-face table: what a reader wants first (face, verdict), then the
    probabilities in canonical order, valence/arousal, and the box last."""
    spec = get_spec(model_name)
    columns = ["face", "top_label", "top_probability", *(["agreement"] if spec.ensemble_branches else [])]
    columns += canonical_order(spec.labels)
    if spec.has_valence_arousal:
        columns += ["valence", "arousal"]
    return [*columns, "score", "x1", "y1", "x2", "y2", "model"]


# Decimals per column in CSV files and tables: pixels to a tenth, the rest to 1e-4 (probabilities,
# scores, valence/arousal), never scientific notation (8e-05 reads badly and sorts as text).
PIXEL_COLUMNS = frozenset({"x1", "y1", "x2", "y2"})
TIME_COLUMNS = frozenset({"time", "first_seen_s", "last_seen_s", "time_on_screen_s"})


def decimals(column: str) -> int:
    return 1 if column in PIXEL_COLUMNS else 3 if column in TIME_COLUMNS else 4


def fixed(column: str, value: object) -> object:
    """``value`` as CSV text with the column's fixed decimals; non-floats unchanged, None empty."""
    if value is None:
        return ""
    if not isinstance(value, float):
        return value
    return f"{value:.{decimals(column)}f}"


# What the on-screen tables call the CSV's columns (the CSV keeps its names: code reads them);
# a column not listed (an expression, "model") keeps its name, capitalised.
HEADERS = {
    "face": "Face", "person": "Person", "tracks": "Tracks", "top_label": "Top expression",
    "top_probability": "Its probability", "agreement": "Members agreeing", "valence": "Valence",
    "arousal": "Arousal", "score": "Detector score", "x1": "Box left (px)", "y1": "Box top (px)",
    "x2": "Box right (px)", "y2": "Box bottom (px)", "first_seen_s": "First seen (s)",
    "last_seen_s": "Last seen (s)", "time_on_screen_s": "On screen (s)",
    "dominant_emotion": "Dominant expression", "dominant_mean_probability": "Its mean probability",
    "mean_valence": "Mean valence", "mean_arousal": "Mean arousal", "shared_vote": "Vote (shared labels)",
    "consensus_label": "Consensus", "models_agreeing": "Models agreeing",
    "ensemble_agreement": "Ensemble members agreeing",
}  # fmt: skip


def header(column: str) -> str:
    """The on-screen name of a CSV column."""
    return HEADERS.get(column, column[:1].upper() + column[1:])


def table_frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """Rows as the on-screen table: numbers rounded to the CSV's decimals (still numbers, so a
    column sorts by value), None shown empty, columns named for people (:data:`HEADERS`)."""
    frame = pd.DataFrame(rows, columns=columns)
    frame = frame.round({column: decimals(column) for column in columns})
    return frame.rename(columns={column: header(column) for column in columns})


def download_name(source: str | Path | None, model_name: str, suffix: str) -> str:
    """A download's file name saying what it holds: ``<source stem>-<model>.<suffix>``.

    The stem keeps letters, digits, dot, dash and underscore (at most 40), so
    a name sent by a client can never leave the export folder.
    """
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(str(source or "")).stem).strip(".-")[:40] or "faces"
    return f"{stem}-{model_name}.{suffix}"


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
            "agreement": face.agreement,
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
        writer.writerows({k: fixed(k, row.get(k)) for k in columns} for row in rows)
    return path


def write_json(payload: dict, path: Path) -> Path:
    """Write a JSON document, indented for people."""
    path = Path(path)
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return path


def _cell(value: object, form) -> object:
    if value is None:
        return ""
    return form(value) if isinstance(value, float) else value


class CsvLog:
    """A CSV file that grows row by row, so a long live session costs disk, not memory."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path = Path(path)
        self.columns = list(columns)
        self._handle = self.path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._handle)
        self._writer.writerow(self.columns)
        # Each column's float format, found once: a live crowd writes hundreds of rows a second.
        self._cells = [(column, f"{{:.{decimals(column)}f}}".format) for column in self.columns]

    def write(self, rows: list[dict]) -> None:
        """Rows as :func:`fixed` writes them (fixed decimals, None empty); unknown keys are ignored."""
        self._writer.writerows([_cell(row.get(column), form) for column, form in self._cells] for row in rows)

    def flush(self) -> None:
        self._handle.flush()

    def truncate(self) -> None:
        """Drop every row, keep the header."""
        self._handle.seek(0)
        self._handle.truncate()
        self._writer.writerow(self.columns)

    def delete(self) -> None:
        self._handle.close()
        self.path.unlink(missing_ok=True)
