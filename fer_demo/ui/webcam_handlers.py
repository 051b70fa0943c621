"""What the webcam tab does, as plain functions of a :class:`LiveSession`: a frame or a live
page's summary in, a :class:`LiveView` out.

Nothing here knows Gradio: ``webcam_tab.py`` lays out the widgets, keeps a session per
browser session in a ``gr.State`` and shows each view; the tests call these directly.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fer_demo.config import WebcamSettings
from fer_demo.errors import InputError
from fer_demo.ui.downloads import new_export_dir
from fer_demo.ui.frame_files import FrameFiles
from fer_demo.ui.values import chosen_lstm, detection_options
from fer_demo.workflow.studio import Studio
from fer_demo.workflow.webcam import LiveLoad, WebcamSession, WebcamUpdate

log = logging.getLogger(__name__)

FRAME_FAILED = "**This frame could not be analysed.** The stream goes on; reload if this persists."
RESET = "Session reset: new faces, new timeline, empty CSV."
NOTHING_RECORDED = "Nothing recorded yet: start the camera first."


@dataclass(frozen=True)
class LiveView:
    """What one webcam event changes on screen; ``None`` keeps what is shown."""

    image: str | None = None  # the annotated frame's file
    status: str | None = None  # Markdown
    timeline: str | None = None  # Plotly JSON
    circumplex: str | None = None  # Plotly JSON
    has_valence_arousal: bool = False  # without, the circumplex is hidden when it is redrawn

    @classmethod
    def of(cls, update: WebcamUpdate, image: str | None = None) -> LiveView:
        return cls(image, update.status, update.timeline, update.circumplex, update.has_valence_arousal)


class LiveSession:
    """What one browser session keeps between frames: the analysis and its frame files."""

    def __init__(self, studio: Studio, cache_dir: str | Path, settings: WebcamSettings | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        detect_side = studio.settings.webcam_detect_max_side
        make_analyzer = functools.partial(studio.stream_analyzer, detect_max_side=detect_side)
        self.analysis = WebcamSession(make_analyzer, new_export_dir() / "webcam-session.csv", settings)
        self.clock = clock  # when each frame arrives, in seconds
        self.frames = FrameFiles(cache_dir)
        self.lock = threading.Lock()  # the stream, Reset and Download run in different threads
        self.shown: np.ndarray | None = None  # the last frame written, to not write it twice
        self.errors = 0
        self.logged: set[str] = set()  # the kinds of failure already logged with a traceback

    def analyse(self, frame: np.ndarray | None, model_name: str, temporal: str | None, threshold: Any,
                min_face: Any, load: LiveLoad) -> LiveView:  # fmt: skip
        """One camera frame (server mode). A frame that fails is said, and the stream goes on."""
        detection = None
        if threshold is not None and min_face is not None:
            try:
                detection = detection_options(threshold, min_face)
            except InputError as error:
                return LiveView(status=f"**{error}**")
        with self.lock:
            try:
                now = self.clock()
                pace = load.pace(self, now)
                update = self.analysis.step(frame, model_name, now, chosen_lstm(temporal), detection, pace)
            except Exception as error:  # one bad frame must not end a live demo: report, keep streaming
                self.errors += 1
                kind = f"{type(error).__name__}: {error}"[:200]
                if kind not in self.logged:  # each kind of failure once per session, with its traceback
                    self.logged.add(kind)
                    log.exception("webcam frame failed (%d failures in this session so far)", self.errors)
                return LiveView(status=FRAME_FAILED)
            image = None
            if update.image is not None and update.image is not self.shown:
                image = self.frames.write(update.image)
                self.shown = update.image
        return LiveView.of(update, image)

    def record_summary(self, model_name: str, frames: list, threshold: Any, min_face: Any) -> LiveView:
        """A live page's summary (frames it analysed itself, already checked) into the session."""
        try:
            detection = detection_options(threshold, min_face) if threshold is not None else None
        except InputError as error:
            return LiveView(status=f"**{error}**")
        with self.lock:
            return LiveView.of(self.analysis.add_browser_frames(frames, model_name, detection))

    def reset(self) -> str:
        with self.lock:
            self.analysis.reset()
        return RESET

    def export(self) -> Path:
        """The session's CSV so far; an InputError when nothing was recorded."""
        with self.lock:
            if self.analysis.frames == 0:
                raise InputError(NOTHING_RECORDED)
            return self.analysis.export_csv()

    def close(self) -> None:
        with self.lock:
            self.analysis.close()
            self.frames.close()
