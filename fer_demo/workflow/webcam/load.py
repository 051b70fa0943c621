"""How many live sessions share the server's cores, and how much each should slow down."""

from __future__ import annotations

import threading


class LiveLoad:
    """How many live sessions sent a frame lately, and how much each should slow its analysis.

    Every session's detections and classifications are stretched by ``pace`` (active
    sessions per core, at least 1), so four webcams on two cores each keep a live picture
    instead of all falling behind; boxes are still tracked on every frame.
    """

    def __init__(self, cores: int, window: float = 2.0) -> None:
        self.cores = max(1, cores)
        self.window = window
        self._seen: dict[int, float] = {}
        self._lock = threading.Lock()

    def pace(self, session: object, now: float) -> float:
        """Record a frame of ``session`` at ``now``; the pace every session should keep now."""
        with self._lock:
            self._seen[id(session)] = now
            self._seen = {key: t for key, t in self._seen.items() if now - t <= self.window}
            return max(1.0, len(self._seen) / self.cores)
