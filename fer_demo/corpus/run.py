"""A corpus run: every file through :func:`process_file`, here, in worker processes, or on Ray.

The run writes, under ``out``: ``files/`` (a table and a summary per input),
``manifest.json`` (inputs, settings, model hashes, versions, each file's status
and error, rewritten every few seconds so a crash leaves it nearly current) and
``combined.csv`` or ``combined.parquet`` (every finished file's rows).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import platform
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from fer_demo.config import Settings
from fer_demo.corpus.cores import available_cores, limit_threads
from fer_demo.corpus.files import FileResult, Progress, RunPlan, atomic_write, process_file, worker_died
from fer_demo.corpus.inputs import MediaFile, find_media
from fer_demo.corpus.settings import CorpusSettings
from fer_demo.errors import InputError, ModelUnavailableError
from fer_demo.models.specs import TEMPORAL_SPECS, get_spec
from fer_demo.models.weights import sha256_file
from fer_demo.workflow.studio import Studio

log = logging.getLogger(__name__)

MANIFEST_EVERY = 5.0  # seconds between manifest rewrites during a run (and once at its end)


def resolve(settings: CorpusSettings, studio: Studio) -> tuple[CorpusSettings, dict]:
    """The run's settings as every worker will apply them, and the identity of the weights.

    The model (the best ready one when none was named) and the detection size are made
    explicit, so the fingerprint is what was used. Every weight file the run needs is
    fetched here, once: workers never download (several at once would share files).

    Raises:
        InputError: the model (or LSTM) cannot run here; the message says why and how to fix it.
    """
    name = settings.model or studio.default_model()
    spec = get_spec(name)
    needed = {weight: True for weight in spec.weights}
    if settings.temporal:
        needed[TEMPORAL_SPECS[settings.temporal].weights] = True
    if settings.persons:
        needed[studio.zoo.embedder.weights] = False  # optional: without it, tracks are reported as faces
    weights = {}
    for weight, required in needed.items():
        try:
            path = studio.zoo.store.fetch_all([weight])[0]
        except ModelUnavailableError as error:
            if required:
                fix = studio.availability(name).fix
                raise InputError(f"{spec.display_name} is unavailable: {error}. To use it, {fix}.") from None
            path = None
        weights[weight.filename] = sha256_file(path) if path is not None else None
    side = settings.detect_side or studio.settings.detect_max_side
    return replace(settings, model=name, detect_side=side), {"model": name, "weights_sha256": weights}


@dataclass
class RunSummary:
    """What a run did, for its last line and the manifest."""

    results: list[FileResult] = field(default_factory=list)
    wall_seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(result.status == status for result in self.results)

    @property
    def video_seconds_done(self) -> float:
        return sum(result.video_seconds for result in self.results if result.status == "done")

    @property
    def throughput(self) -> float:
        """Video seconds analysed per wall-clock second (files skipped cost nothing and count nothing)."""
        return self.video_seconds_done / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def line(self) -> str:
        """What the run did, in one line; video time and speed only when video was analysed."""
        counts = f"{self.count('done')} done, {self.count('skipped')} skipped, {self.count('failed')} failed"
        if not self.video_seconds_done:
            return f"{counts} in {self.wall_seconds:.1f} s"
        return (f"{counts}; {self.video_seconds_done:.1f} s of video in {self.wall_seconds:.1f} s "
                f"({self.throughput:.2f} video-seconds per second)")  # fmt: skip


def analyze_corpus(
    inputs: Iterable[str | Path],
    settings: CorpusSettings = CorpusSettings(),  # noqa: B008 (frozen)
    out: str | Path = "corpus-results",
    workers: int = 1,
    ray_address: str | None = None,
    force: bool = False,
    progress: Callable[[MediaFile, float], None] | None = None,
    app_settings: Settings | None = None,
) -> Iterator[FileResult]:
    """Analyse files, folders and glob patterns; yield each file's result as it finishes.

    A notebook iterates it; the CLI draws progress bars from it. Finished files whose
    input and settings are unchanged are skipped unless ``force``. ``workers`` > 1 runs
    that many processes, each with its own models and an equal share of the cores;
    ``ray_address`` ("auto" or "ray://host:port") sends the files to a Ray cluster
    instead. ``progress(file, share)`` reports a file's share done (in-process runs only
    report within files; the others report each file when it finishes).
    The manifest and the combined table are written when the iteration ends.
    """
    app_settings = app_settings or Settings.from_env()
    media, unmatched = find_media(inputs, exclude=Path(out))
    if unmatched:
        raise InputError(f"No photo or video found for: {', '.join(unmatched)}")
    studio = Studio(app_settings)
    settings, identity = resolve(settings, studio)
    plan = RunPlan(settings, identity, Path(out).resolve(), force)
    plan.out.mkdir(parents=True, exist_ok=True)
    summary = RunSummary()
    started = time.perf_counter()
    if ray_address is not None:
        from fer_demo.corpus.ray_backend import run_on_ray

        results = run_on_ray(media, plan, ray_address, workers, app_settings)
    elif workers > 1:
        results = _in_processes(media, plan, workers, app_settings)
    else:
        results = _here(media, plan, studio, progress)
    written = 0.0
    try:
        for result in results:
            summary.results.append(result)
            summary.wall_seconds = time.perf_counter() - started
            if summary.wall_seconds - written >= MANIFEST_EVERY:  # a crash leaves it nearly current
                write_manifest(plan, media, summary, workers, ray_address)
                written = summary.wall_seconds
            yield result
    finally:
        summary.wall_seconds = time.perf_counter() - started
        write_manifest(plan, media, summary, workers, ray_address)
        try:
            write_combined(plan, summary)
        except (
            OSError,
            ValueError,
        ) as error:  # the per-file tables are there: say so, keep the run's outcome
            log.error("the combined table could not be written: %s", error)


def _here(media: Sequence[MediaFile], plan: RunPlan, studio: Studio, progress) -> Iterator[FileResult]:
    for item in media:
        report: Progress | None = (lambda share, item=item: progress(item, share)) if progress else None
        yield process_file(item, plan, studio, report)


# One Studio per worker process, made by the pool's initializer.
_WORKER_STUDIO: Studio | None = None


def _start_worker(app_settings: Settings, threads: int) -> None:
    global _WORKER_STUDIO
    limit_threads(threads)
    os.environ["FER_DEMO_OFFLINE"] = "1"  # the run fetched every weight file before starting workers
    _WORKER_STUDIO = Studio(app_settings)


def _work(item: MediaFile, plan: RunPlan) -> FileResult:
    return process_file(item, plan, _WORKER_STUDIO)


def _in_processes(
    media: Sequence[MediaFile], plan: RunPlan, workers: int, app_settings: Settings
) -> Iterator[FileResult]:
    """Files spread over ``workers`` processes (spawned: no inherited threads or locks), one file
    in flight per worker.

    A worker that dies (killed, out of memory) takes the pool down with the files in flight:
    a new pool takes them once more and the rest; a file in flight at two breaks fails.
    """
    threads = max(1, available_cores() // workers)
    queue = deque(media)
    breaks: dict[Path, int] = {}  # pool breaks each file was in flight for
    context = multiprocessing.get_context("spawn")
    while queue:
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                 initargs=(app_settings, threads)) as pool:  # fmt: skip
            in_flight: dict[Future, MediaFile] = {}
            broken = False
            while (queue or in_flight) and not broken:
                while queue and len(in_flight) < workers:
                    item = queue.popleft()
                    in_flight[pool.submit(_work, item, plan)] = item
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    item = in_flight.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool:
                        broken = True
                        in_flight[future] = item  # counted with the others below
                    except Exception as error:  # the worker survived but could not send a result
                        yield worker_died(item, f"({type(error).__name__}: {error})")
            # The pool is gone with every file in it: each gets one more try in a new pool, so
            # only a file that breaks its worker twice fails (an innocent neighbour rarely does).
            for item in in_flight.values() if broken else ():
                breaks[item.path] = breaks.get(item.path, 0) + 1
                if breaks[item.path] < 2:
                    queue.appendleft(item)
                else:
                    yield worker_died(item)


def write_manifest(
    plan: RunPlan, media: Sequence[MediaFile], summary: RunSummary, workers: int, ray_address: str | None
) -> Path:
    """The run's record: what went in, how, with which weights and versions, and how each file went."""
    from importlib.metadata import version  # the installed torch's, without importing it (1.5 s)

    from fer_demo import __version__

    by_source = {result.source: result for result in summary.results}
    files = [
        by_source[str(item.path)].to_dict() if str(item.path) in by_source
        else {"source": str(item.path), "kind": item.kind, "status": "pending"}
        for item in media
    ]  # fmt: skip
    document = {
        "settings": plan.settings.to_dict(),
        "model_identity": plan.model_identity,
        "versions": {
            "fer_demo": __version__,
            "python": platform.python_version(),
            "torch": version("torch"),
        },
        "execution": {"workers": workers, "ray": ray_address, "force": plan.force},
        "totals": {
            "files": len(media),
            "done": summary.count("done"),
            "skipped": summary.count("skipped"),
            "failed": summary.count("failed"),
            "wall_seconds": round(summary.wall_seconds, 3),
            "video_seconds_done": round(summary.video_seconds_done, 3),
            "video_seconds_per_second": round(summary.throughput, 3),
        },
        "files": files,
    }
    path = plan.out / "manifest.json"
    return atomic_write(path, lambda target: target.write_text(json.dumps(document, indent=1)))


def write_combined(plan: RunPlan, summary: RunSummary) -> Path | None:
    """Every finished file's rows in one table, in input order."""
    finished = {
        r.source: Path(r.table) for r in summary.results if r.status in {"done", "skipped"} and r.table
    }
    tables = [finished[source] for source in sorted(finished)]  # input order: sorted paths
    if not tables:
        return None
    path = plan.out / f"combined.{plan.settings.format}"
    if plan.settings.format == "csv":
        frames = [pd.read_csv(table, dtype=str, keep_default_na=False) for table in tables]
        combined = pd.concat(frames, ignore_index=True)
        return atomic_write(path, lambda target: combined.to_csv(target, index=False))
    combined = pd.concat([pd.read_parquet(table) for table in tables], ignore_index=True)
    return atomic_write(path, lambda target: combined.to_parquet(target, index=False))
