"""Each browser session's video job, so Cancel stops it (in the UI and over the API).

Gradio's own ``cancels=`` is carried out by the browser, so an API client's
cancel did nothing, and it kills the job without its partial results. Here
the job checks a flag at every frame and finishes with what it has done.
"""

from __future__ import annotations

import threading


class VideoJobs:
    """Stop flags by session hash: armed when Analyse is clicked, taken by the job, set by Cancel."""

    def __init__(self) -> None:
        self._stops: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def arm(self, session: str) -> None:
        """A job was asked for and may wait in the queue: Cancel from now on reaches it."""
        with self._lock:
            self._stops[session] = threading.Event()

    def take(self, session: str) -> threading.Event:
        """The flag of the job starting now (armed by its click, or new for an API call)."""
        with self._lock:
            return self._stops.setdefault(session, threading.Event())

    def finish(self, session: str, stop: threading.Event) -> None:
        with self._lock:
            if self._stops.get(session) is stop:
                del self._stops[session]

    def cancel(self, session: str) -> bool:
        """Ask the session's job to stop at its next frame; False when it has none."""
        with self._lock:
            stop = self._stops.get(session)
        if stop is None:
            return False
        stop.set()
        return True
