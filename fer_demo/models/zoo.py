"""Load models by name, once, in the background, and remember failures.

Models load lazily on first use and stay cached, so app start-up loads none
(nor imports torch: :mod:`fer_demo.models.loading` builds the networks).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fer_demo.errors import VISITOR_UNAVAILABLE, ModelUnavailableError
from fer_demo.models.specs import FACE_EMBEDDER, TEMPORAL_SPECS, EmbedderSpec, ModelSpec, get_spec
from fer_demo.models.weights import Availability, Progress, WeightStore

if TYPE_CHECKING:
    from torch import nn

    from fer_demo.models.base import EmotionModel
    from fer_demo.models.face_recognition import FaceRecognizer
    from fer_demo.models.facenet import FaceEmbedder

log = logging.getLogger(__name__)


def unavailable_for_visitor(display_name: str, status: Availability) -> str:
    """Why a model cannot run, for a web visitor: no server path, no command."""
    why = status.visitor or "its weights are not usable on this server"
    return f"{display_name} is unavailable here: {why}. Please choose another model."


class LoadJob:
    """One model loading in a background thread, which any number of requests may wait for.

    The load never runs in a request's thread, so a request that gives up (or
    a client that disconnects) leaves it going, and a slow download holds no
    worker that quick requests need.
    """

    def __init__(self, name: str, load: Callable[[Progress], object], finished: Callable) -> None:
        self.done = threading.Event()
        self.progress: tuple[int, int | None] | None = None  # bytes downloaded, total
        self.result: object = None
        self.error: Exception | None = None
        self._finished = finished
        threading.Thread(target=self._run, args=(load,), name=f"load-{name}", daemon=True).start()

    def _run(self, load: Callable[[Progress], object]) -> None:
        try:
            self.result = load(self._report)
        except Exception as error:
            self.error = error
        finally:
            self._finished(self)
            self.done.set()

    def _report(self, done: int, total: int | None) -> None:
        self.progress = (done, total)

    def wait(self, progress: Progress | None = None, poll: float = 0.2) -> object:
        """The loaded object, reporting download progress while waiting; re-raises the load's error."""
        while not self.done.wait(poll):
            if progress is not None and self.progress is not None:
                progress(*self.progress)
        if self.error is not None:
            raise self.error
        return self.result


@dataclass
class _Failure:
    when: float
    error: ModelUnavailableError
    count: int

    def retry_in(self, base: float, cap: float) -> float:
        """Seconds until the next try: the wait doubles with every failure, up to ``cap``."""
        return self.when + min(cap, base * 2 ** (self.count - 1)) - time.monotonic()


class ModelZoo:
    """Thread-safe lazy cache of loaded models for one weights folder.

    Loads run in background threads, one per model, so a request waiting for a
    download blocks no other request. A failed load is remembered: requests get
    its message at once until a backoff (30 s, doubling to 10 min) has passed.
    """

    def __init__(self, weights_dir: Path, retry_after: float = 30.0, max_retry_after: float = 600.0,
                 embedder: EmbedderSpec = FACE_EMBEDDER) -> None:  # fmt: skip
        self.store = WeightStore(weights_dir)
        self.embedder = embedder  # the face-recognition network that links tracks into persons
        self.retry_after = retry_after
        self.max_retry_after = max_retry_after
        self._loaded: dict[str, object] = {}  # "model:<name>" or "lstm:<name>" -> model
        self._jobs: dict[str, LoadJob] = {}
        self._failures: dict[str, _Failure] = {}
        self._lock = threading.Lock()  # guards the three dicts; never held while loading

    @property
    def cache_dir(self) -> Path:
        return self.store.folder / "safetensors-cache"

    def availability(self, name: str) -> Availability:
        return self.store.availability(get_spec(name).weights)

    def is_loaded(self, name: str) -> bool:
        return f"model:{name}" in self._loaded

    def get(self, name: str, progress: Progress | None = None) -> EmotionModel:
        """The loaded model ``name``, downloading and loading it in the background if needed.

        Raises:
            ModelUnavailableError: weights missing, refused or not fitting, with the fix.
        """
        spec = get_spec(name)
        loaded = self._loaded.get(f"model:{name}")
        if loaded is not None:
            return loaded
        status = self.availability(name)
        if not status.available:  # cheap to check, so checked every time: a file put in place works at once
            raise ModelUnavailableError(
                f"{spec.display_name} is unavailable: {status.reason}. To use it, {status.fix}.",
                visitor=unavailable_for_visitor(spec.display_name, status),
            )
        return self._wait(f"model:{name}", lambda report: self._load(spec, report), progress)

    def get_temporal(self, name: str, progress: Progress | None = None) -> nn.Module:
        """An EMO-AffectNet LSTM by name (see ``TEMPORAL_SPECS``), loaded once."""
        loaded = self._loaded.get(f"lstm:{name}")
        if loaded is not None:
            return loaded
        spec = TEMPORAL_SPECS[name]

        def load(report: Progress) -> nn.Module:
            from fer_demo.models.loading import build_lstm

            return build_lstm(self.store.fetch(spec.weights, report))

        return self._wait(f"lstm:{name}", load, progress)

    def embedder_availability(self) -> Availability:
        """Whether the face-recognition network (re-identification) can run, without loading it."""
        return self.store.availability([self.embedder.weights])

    def get_embedder(self, progress: Progress | None = None) -> FaceRecognizer | FaceEmbedder:
        """The face-recognition network that links one person's tracks, loaded once.

        Raises:
            ModelUnavailableError: its weights are missing, refused or changed since first use.
        """
        spec = self.embedder
        key = f"embedder:{spec.name}"
        loaded = self._loaded.get(key)
        if loaded is not None:
            return loaded
        status = self.embedder_availability()
        if not status.available:
            raise ModelUnavailableError(
                f"{spec.display_name} is unavailable: {status.reason}. To use it, {status.fix}.",
                visitor=unavailable_for_visitor(spec.display_name, status),
            )

        def load(report: Progress) -> FaceRecognizer | FaceEmbedder:
            try:
                path = self.store.fetch(spec.weights, report)
            except ModelUnavailableError as error:
                status = self.embedder_availability()
                raise ModelUnavailableError(
                    f"{spec.display_name} is unavailable: {error}. To use it, {status.fix}.",
                    visitor=unavailable_for_visitor(spec.display_name, status),
                ) from error
            if spec.aligned:
                from fer_demo.models.face_recognition import load_embedder as load_aligned

                return load_aligned(spec, path, self.cache_dir / "onnx")
            from fer_demo.models.facenet import load_embedder

            return load_embedder(spec, path)

        return self._wait(key, load, progress)

    def _wait(self, key: str, load: Callable[[Progress], object], progress: Progress | None) -> object:
        with self._lock:
            if key in self._loaded:
                return self._loaded[key]
            failure = self._failures.get(key)
            wait = failure.retry_in(self.retry_after, self.max_retry_after) if failure else 0.0
            if wait > 0:
                raise ModelUnavailableError(
                    f"{failure.error} (The next try is in {wait:.0f} s.)",
                    visitor=f"{getattr(failure.error, 'visitor', VISITOR_UNAVAILABLE)} "
                    f"(The next try is in {wait:.0f} s.)",
                )
            job = self._jobs.get(key)
            if job is None:  # the first request starts the load; later ones wait for the same job
                job = self._jobs[key] = LoadJob(key, load, lambda done: self._finish(key, done))
        return job.wait(progress)

    def _finish(self, key: str, job: LoadJob) -> None:
        with self._lock:
            self._jobs.pop(key, None)
            if job.error is None:
                self._loaded[key] = job.result
                self._failures.pop(key, None)
                return
            if not isinstance(job.error, ModelUnavailableError):
                log.error("loading %s failed", key, exc_info=job.error)
                job.error = ModelUnavailableError(f"{key.split(':', 1)[1]} could not be loaded: {job.error}")
            count = self._failures[key].count + 1 if key in self._failures else 1
            self._failures[key] = _Failure(time.monotonic(), job.error, count)

    def _load(self, spec: ModelSpec, progress: Progress | None) -> EmotionModel:
        try:
            paths = self.store.fetch_all(spec.weights, progress)
        except ModelUnavailableError as error:
            status = self.availability(spec.name)
            raise ModelUnavailableError(
                f"{spec.display_name} is unavailable: {error}. To use it, {status.fix}.",
                visitor=unavailable_for_visitor(spec.display_name, status),
            ) from error
        from fer_demo.models.loading import build_model, with_fast_backend

        log.info("loading %s from %s", spec.name, ", ".join(str(p) for p in paths))
        model = build_model(spec, paths, self.cache_dir)
        stamp = "-".join(f"{p.stat().st_size}-{p.stat().st_mtime_ns}" for p in paths)
        if len(paths) > 1:  # an ensemble's ten files: one short key for the exported file
            stamp = hashlib.sha1(stamp.encode()).hexdigest()[:16]
        key = f"{spec.name}-{stamp}"
        return with_fast_backend(model, self.cache_dir / "onnx", key)
