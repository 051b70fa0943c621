"""Settings read once from the environment, so a Space or a user can tune the app without code."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from fer_demo.errors import InputError


def _env_number(name: str, default: float, kind: type = int) -> float:
    """``name`` from the environment as ``kind`` (int or float), ``default`` when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError as error:
        what = "a whole number" if kind is int else "a number"
        raise ValueError(f"{name} must be {what}, got {raw!r}") from error


def _env_int(name: str, default: int) -> int:
    return _env_number(name, default, int)


def _env_float(name: str, default: float) -> float:
    return _env_number(name, default, float)


def _default_host() -> str:
    """Loopback on a laptop; every interface on a Hugging Face Space (which sets SYSTEM=spaces)."""
    return "0.0.0.0" if os.environ.get("SYSTEM") == "spaces" else "127.0.0.1"


def default_weights_dir() -> Path:
    """Where weights are looked for and downloaded to: ``FER_DEMO_WEIGHTS_DIR`` or a user cache."""
    configured = os.environ.get("FER_DEMO_WEIGHTS_DIR", "").strip()
    if configured:
        return Path(configured).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "fer-demo" / "weights"


@dataclass(frozen=True)
class DetectionOptions:
    """What counts as a face, as the user sets it.

    Attributes:
        min_confidence: MTCNN's final score a face needs; below it a box is neither drawn nor reported.
        min_face_size: the shorter side a face box needs, in pixels of the analysed image.
    """

    # Measured by tools/measure_detection_defaults.py (README): from 0.93 up no false face in 300
    # cluttered scenes; below 24 px the embedded model's label flips for most faces.
    min_confidence: float = 0.93
    min_face_size: int = 24

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_confidence <= 1.0:
            raise InputError(f"The detection threshold must be between 0 and 1; got {self.min_confidence:g}.")
        if not 0 <= self.min_face_size <= 10_000:
            raise InputError(f"The minimum face size must be 0 to 10000 pixels; got {self.min_face_size}.")


@dataclass(frozen=True)
class VideoLimits:
    """What one upload may ask of the server; defaults sized for a 2-vCPU Space."""

    max_seconds: float = 600.0  # FER_DEMO_VIDEO_MAX_SECONDS
    max_side: int = 4096  # FER_DEMO_VIDEO_MAX_SIDE: larger videos (or frames) are refused
    output_side: int = 1280  # frames are analysed and encoded at most this large
    max_fps: float = 30.0  # FER_DEMO_VIDEO_MAX_FPS: faster video is resampled by timestamp
    max_frames: int = 18_000  # FER_DEMO_VIDEO_MAX_FRAMES: analysis stops here, whatever the header says


@dataclass(frozen=True)
class Settings:
    """Every knob of the app. Environment variable names are given per field."""

    host: str = "127.0.0.1"  # FER_DEMO_HOST (use 0.0.0.0 in a container)
    port: int = 7860  # FER_DEMO_PORT
    # FER_DEMO_MODEL; None: the best model whose weights are here (Studio.default_model).
    default_model: str | None = None
    # FER_DEMO_FACE_EMBEDDER: the face-recognition network that links tracks into persons, by name
    # (models.specs.EMBEDDERS): the embedded dlib network, or FaceNet where its weights are fetched.
    face_embedder: str = "dlib_face_recognition"
    weights_dir: Path = Path("weights")  # FER_DEMO_WEIGHTS_DIR
    detect_max_side: int = 640  # FER_DEMO_DETECT_MAX_SIDE: faces are found on a copy this size
    pyramid_min_px: int = 20  # FER_DEMO_MIN_FACE: smallest face MTCNN looks for, in pixels of that copy
    face_threshold: float = DetectionOptions.min_confidence  # FER_DEMO_FACE_THRESHOLD: weaker are dropped
    face_min_size: int = DetectionOptions.min_face_size  # FER_DEMO_FACE_MIN_SIZE: in pixels of the image
    max_image_pixels: int = 50_000_000  # FER_DEMO_MAX_IMAGE_PIXELS: decompression-bomb guard
    max_upload_mb: int = 200  # FER_DEMO_MAX_UPLOAD_MB
    analysis_slots: int = 2  # FER_DEMO_ANALYSIS_SLOTS: images decoded and analysed at once (the cores)
    video_max_seconds: int = 600  # FER_DEMO_VIDEO_MAX_SECONDS: longer videos are refused
    video_max_side: int = 4096  # FER_DEMO_VIDEO_MAX_SIDE: larger videos are refused
    video_output_side: int = 1280  # FER_DEMO_VIDEO_OUTPUT_SIDE: frames are analysed at most this large
    video_max_fps: int = 30  # FER_DEMO_VIDEO_MAX_FPS: frames per second of video analysed at most
    video_max_frames: int = 18_000  # FER_DEMO_VIDEO_MAX_FRAMES: frames analysed per video at most
    webcam_sessions: int = 4  # FER_DEMO_WEBCAM_SESSIONS: live streams served at once; others queue
    webcam_time_limit: int = 120  # FER_DEMO_WEBCAM_TIME_LIMIT: seconds of streaming before re-queueing
    webcam_detect_max_side: int = 320  # FER_DEMO_WEBCAM_DETECT_SIDE: webcam faces are big; small is fast
    webcam_idle_seconds: int = 300  # FER_DEMO_WEBCAM_IDLE_SECONDS: a stopped session is freed after this
    # FER_DEMO_WEBCAM_FPS: frames per second the page sends. It sends them whether or not the last
    # was answered; above what the machine serves, the extra captures and posts only slow it down.
    webcam_fps: float = 10.0
    webcam_side: int = 640  # FER_DEMO_WEBCAM_SIDE: the camera resolution asked for (longest side)
    # FER_DEMO_ORT_DIR: serve onnxruntime-web's files from this folder instead of the CDN (offline)
    ort_dir: Path | None = None

    @property
    def detection(self) -> DetectionOptions:
        """The default threshold and minimum face size; every tab and the API can override them."""
        return DetectionOptions(self.face_threshold, self.face_min_size)

    @property
    def video_limits(self) -> VideoLimits:
        return VideoLimits(
            self.video_max_seconds,
            self.video_max_side,
            self.video_output_side,
            self.video_max_fps,
            self.video_max_frames,
        )

    @classmethod
    def from_env(cls) -> Settings:
        base = cls()
        return cls(
            host=os.environ.get("FER_DEMO_HOST") or os.environ.get("GRADIO_SERVER_NAME") or _default_host(),
            port=_env_int("FER_DEMO_PORT", _env_int("GRADIO_SERVER_PORT", base.port)),
            default_model=os.environ.get("FER_DEMO_MODEL") or base.default_model,
            face_embedder=os.environ.get("FER_DEMO_FACE_EMBEDDER") or base.face_embedder,
            weights_dir=default_weights_dir(),
            detect_max_side=_env_int("FER_DEMO_DETECT_MAX_SIDE", base.detect_max_side),
            pyramid_min_px=_env_int("FER_DEMO_MIN_FACE", base.pyramid_min_px),
            face_threshold=_env_float("FER_DEMO_FACE_THRESHOLD", base.face_threshold),
            face_min_size=_env_int("FER_DEMO_FACE_MIN_SIZE", base.face_min_size),
            max_image_pixels=_env_int("FER_DEMO_MAX_IMAGE_PIXELS", base.max_image_pixels),
            max_upload_mb=_env_int("FER_DEMO_MAX_UPLOAD_MB", base.max_upload_mb),
            analysis_slots=max(1, _env_int("FER_DEMO_ANALYSIS_SLOTS", base.analysis_slots)),
            video_max_seconds=_env_int("FER_DEMO_VIDEO_MAX_SECONDS", base.video_max_seconds),
            video_max_side=_env_int("FER_DEMO_VIDEO_MAX_SIDE", base.video_max_side),
            video_output_side=_env_int("FER_DEMO_VIDEO_OUTPUT_SIDE", base.video_output_side),
            video_max_fps=max(1, _env_int("FER_DEMO_VIDEO_MAX_FPS", base.video_max_fps)),
            video_max_frames=max(1, _env_int("FER_DEMO_VIDEO_MAX_FRAMES", base.video_max_frames)),
            webcam_sessions=_env_int("FER_DEMO_WEBCAM_SESSIONS", base.webcam_sessions),
            webcam_time_limit=_env_int("FER_DEMO_WEBCAM_TIME_LIMIT", base.webcam_time_limit),
            webcam_detect_max_side=_env_int("FER_DEMO_WEBCAM_DETECT_SIDE", base.webcam_detect_max_side),
            webcam_idle_seconds=_env_int("FER_DEMO_WEBCAM_IDLE_SECONDS", base.webcam_idle_seconds),
            webcam_fps=min(30.0, max(1.0, _env_float("FER_DEMO_WEBCAM_FPS", base.webcam_fps))),
            webcam_side=min(1920, max(160, _env_int("FER_DEMO_WEBCAM_SIDE", base.webcam_side))),
            ort_dir=Path(os.environ["FER_DEMO_ORT_DIR"]) if os.environ.get("FER_DEMO_ORT_DIR") else None,
        )


@dataclass(frozen=True)
class StreamSettings:
    """Speed/quality knobs of a stream; the defaults keep 720p30 real time on 2 cores."""

    detect_every: int = 10  # frames between detections (1/3 s at 30 fps); tracking fills the gaps
    # Seconds between detections instead, for streams whose frame rate varies (a webcam); 0: off.
    detect_interval: float = 0.0
    smoothing: float = 0.3  # seconds: time constant of per-face exponential smoothing, 0 = off
    temporal_model: str | None = None  # an EMO-AffectNet LSTM name (TEMPORAL_SPECS), replaces smoothing
    # Faces are classified at most this often (Hz; 0 = every frame) and keep their last output in
    # between: expressions change over tenths of a second, and the LSTM samples at 5 Hz anyway.
    classify_rate: float = 10.0
    detection: DetectionOptions | None = None  # threshold and minimum face size; None: the detector's
    min_hits: int = 1  # detections before a face is shown and numbered (FaceTracker)
    memory: float = 0.0  # seconds a lost face keeps its id (FaceTracker)
    # Live streams: detect in a background thread (a frame never waits for MTCNN; its result is
    # applied at the time of the frame it ran on) and classify at most this many known faces per
    # frame (faces never seen yet are always classified), so no frame is slow. 0: no limit.
    background_detection: bool = False
    max_crops: int = 0
    # Hard cuts (fer_demo.analysis.shots): PySceneDetect's content threshold (its default), 0 = off.
    # A cut ends every track and detection runs on the first frame of the new shot.
    cut_threshold: float = 27.0


@dataclass(frozen=True)
class WebcamSettings:
    """Knobs of a live session; the defaults suit a 2-core server and a 15-30 fps camera."""

    # Measured in Chromium and over HTTP (README: webcam benchmarks): detection once a second in a
    # background thread (a new face is confirmed by one more detection at once), one known face
    # classified per frame, each at most 4 times a second (smoothing spans 0.3 s), a face shown
    # once seen twice, and its id kept for 3 s after it was lost.
    stream: StreamSettings = field(
        default_factory=lambda: StreamSettings(
            detect_interval=1.0,
            classify_rate=4.0,
            min_hits=2,
            memory=3.0,
            background_detection=True,
            max_crops=1,
            cut_threshold=0.0,  # a camera does not cut
        )
    )
    history_seconds: float = 60.0  # what the live timeline shows
    # Seconds between status updates; the timeline and the circumplex take turns at them, so each is
    # redrawn every 2 s: a Plotly redraw costs the browser about 125 ms, time the live frame needs.
    refresh_every: float = 1.0
    trail_seconds: float = 5.0  # length of the valence/arousal trail on the circumplex
    gap_seconds: float = 2.0  # a longer wait for the next frame (camera stopped) restarts tracking
    rate_window: float = 3.0  # seconds the frames/s figure is averaged over
    frozen_seconds: float = 2.0  # an unchanged picture this long is reported as a frozen camera
    dark_level: float = 12.0  # mean grey level under which the picture is "black"
