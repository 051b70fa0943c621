"""The session's record: every analysed frame in the CSV, the last minute in memory for the plots."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from fer_demo.analysis.labels import CANONICAL_LABELS
from fer_demo.analysis.pipeline import FaceResult
from fer_demo.analysis.timeline import frame_records
from fer_demo.presentation.export import CsvLog

# The session CSV holds every canonical label, so switching model mid-session keeps one file.
SESSION_COLUMNS = ["frame", "time", "face_id", "x1", "y1", "x2", "y2", "score", *CANONICAL_LABELS,
                   "valence", "arousal", "top_label", "top_probability", "model"]  # fmt: skip


class SessionRecording:
    """Rows of every frame analysed this session (the CSV, one row even without a face), the
    records of the last ``history_seconds`` (the live plots) and the frame rate of the last
    ``rate_window`` seconds. Times are session seconds."""

    def __init__(self, log_path: Path, history_seconds: float, rate_window: float) -> None:
        self.log = CsvLog(log_path, SESSION_COLUMNS)
        self.history: deque[dict] = deque()
        self.frames = 0  # frames analysed this session (the CSV's frame column)
        self.history_seconds = history_seconds
        self.rate_window = rate_window
        self._recent: deque[float] = deque()  # times of the frames of the last ``rate_window`` seconds

    def add(self, time: float, faces: Sequence[FaceResult], model_name: str | None) -> None:
        """One analysed frame into the CSV, the history and the rate."""
        records = frame_records(self.frames, time, faces, model_name)
        self.log.write(records or [no_face_record(self.frames, time, model_name)])
        self.frames += 1
        self.history.extend(records)
        while self.history and self.history[0]["time"] < time - self.history_seconds:
            self.history.popleft()
        self._recent.append(time)
        while self._recent[0] < time - self.rate_window:
            self._recent.popleft()

    def since(self, time: float) -> list[dict]:
        """The history's records from session time ``time`` on, oldest first."""
        newest_first = itertools.takewhile(lambda record: record["time"] >= time, reversed(self.history))
        return list(newest_first)[::-1]

    def frame_rate(self, time: float) -> float:
        """Frames analysed per second over the last ``rate_window`` seconds (or since the start)."""
        span = min(self.rate_window, time)
        return (len(self._recent) - 1) / span if len(self._recent) > 1 and span > 0 else 0.0

    def new_timeline(self) -> None:
        """Forget the plotted history and the rate (a new clock); the CSV keeps every row."""
        self.history.clear()
        self._recent.clear()

    def reset(self) -> None:
        """Start over: an empty CSV, frame 0."""
        self.new_timeline()
        self.log.truncate()
        self.frames = 0

    def export(self) -> Path:
        self.log.flush()
        return self.log.path

    def close(self) -> None:
        """The CSV is deleted: faces are biometric data."""
        self.log.delete()
        self.history.clear()


def no_face_record(frame: int, time: float, model_name: str | None) -> dict:
    """The session CSV's row for a frame analysed without a face: every analysed frame has a row."""
    return {"frame": frame, "time": round(time, 4), "model": model_name}
