"""Command line: ``python -m fer_demo weights|video|images ...``."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from fer_demo.config import DetectionOptions, Settings, StreamSettings
from fer_demo.errors import UserFacingError
from fer_demo.models.specs import EMBEDDERS, FACE_EMBEDDER, MODEL_SPECS, TEMPORAL_SPECS, WeightFile
from fer_demo.models.weights import WeightStore, hash_matches


def all_weight_files() -> dict[str, tuple[WeightFile, ...]]:
    """Every downloadable or embedded file by model name (an ensemble has several; LSTMs and the
    face-recognition network are under their own names)."""
    files = {name: spec.weights for name, spec in MODEL_SPECS.items()}
    files.update({name: (spec.weights,) for name, spec in TEMPORAL_SPECS.items()})
    files.update({name: (spec.weights,) for name, spec in EMBEDDERS.items()})
    return files


def list_weights(store: WeightStore) -> int:
    print(f"weights folder: {store.folder}")
    print(f"{'model':<24} {'status':<12} {'MB':>7}  {'hash':<20} path")
    rows = [
        (name if len(weights) == 1 else f"{name} {i}/{len(weights)}", weight)
        for name, weights in all_weight_files().items()
        for i, weight in enumerate(weights, 1)
    ]
    for name, weight in rows:
        path = store.locate(weight)
        if path is None:
            print(f"{name:<24} {'missing':<12} {'':>7}  {'':<20} {weight.filename}")
            continue
        status = "embedded" if weight.embedded else "present"
        match = hash_matches(weight, path)
        reference = "first use" if weight.pinned_on_first_use else "published"
        verdict = {True: f"matches {reference}", False: "DIFFERS", None: "not pinned"}[match]
        print(f"{name:<24} {status:<12} {path.stat().st_size / 1e6:>7.1f}  {verdict:<20} {path}")
    return 0


def download_weights(store: WeightStore, names: Sequence[str]) -> int:
    files = all_weight_files()
    unknown = [name for name in names if name not in files]
    if unknown:
        print(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(files)}", file=sys.stderr)
        return 2
    failed = 0
    for name in names:
        weight = files[name]  # every file of the model: an ensemble's come all or none

        def progress(done: int, total: int | None, name: str = name) -> None:
            shown = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
            print(f"\r{name}: {shown}", end="", file=sys.stderr, flush=True)

        try:
            paths = store.fetch_all(weight, progress)
            print(f"\r{name}: {', '.join(map(str, paths))}", file=sys.stderr)
        except UserFacingError as error:
            print(f"\r{name}: FAILED: {error}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def analyse_video_file(args: argparse.Namespace) -> int:
    """Analyse one video with a progress bar; write the annotated MP4, CSV and JSON."""
    from tqdm import tqdm

    from fer_demo.presentation.export import write_csv, write_json
    from fer_demo.workflow import video_job
    from fer_demo.workflow.studio import Studio
    from fer_demo.workflow.video import VideoProgress

    studio = Studio(Settings.from_env())
    job = video_job.VideoJob(
        model=args.model or studio.default_model(),
        stream=StreamSettings(
            detect_every=args.detect_every,
            smoothing=args.smoothing,
            temporal_model=args.temporal,
            detection=DetectionOptions(args.min_confidence, args.min_face_size),
        ),
        detect_side=args.detect_side,
        link_persons=not args.no_persons,
        link_threshold=args.link_threshold,
    )
    prepared = video_job.prepare(studio, job)
    if prepared.persons_detail:
        print(f"note: {prepared.persons_detail}", file=sys.stderr)
    events = video_job.run(prepared, args.input, Path(args.out), studio.settings.video_limits)
    with tqdm(unit="frame", desc=Path(args.input).name) as bar:
        for event in events:
            if isinstance(event, VideoProgress):
                bar.total = event.frames_total
                bar.update(event.frames_done - bar.n)
                continue
            bar.update(event.frames - bar.n)
    if args.csv:
        write_csv(event.records, event.columns(), Path(args.csv))
    if args.json:
        write_json(event.document(), Path(args.json))
    for note in event.notes:
        print(f"note: {note}", file=sys.stderr)
    found = f"{len(event.summary)} {'persons' if event.linked else 'faces'}"
    print(f"{event.frames} frames, {found}, {event.speed:.2f}x real time -> {args.out}")
    return 0


def analyse_image_folder(args: argparse.Namespace) -> int:
    """Analyse every image of a folder into one CSV (one row per face)."""
    from fer_demo.corpus.inputs import PHOTO_SUFFIXES
    from fer_demo.presentation.export import face_columns, face_rows, write_csv
    from fer_demo.workflow.studio import Studio

    studio = Studio(Settings.from_env())
    args.model = args.model or studio.default_model()
    options = DetectionOptions(args.min_confidence, args.min_face_size)  # a bad flag fails once, here
    paths = sorted(p for p in Path(args.folder).iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    rows, failed = [], 0
    for path in paths:
        try:
            _, analysis = studio.analyze_file(path, args.model, None, options)
        except UserFacingError as error:
            print(f"{path.name}: {error}", file=sys.stderr)
            failed += 1
            continue
        rows += [{"file": path.name, **row} for row in face_rows(analysis)]
    write_csv(rows, ["file", *face_columns(args.model)], Path(args.csv))
    print(
        f"{len(paths) - failed} images, {len(rows)} faces -> {args.csv}"
        + (f" ({failed} failed)" if failed else "")
    )
    return 1 if failed and failed == len(paths) else 0


def video_seconds(item) -> float:
    """A video's duration from its header (0 for a photo or an unreadable file: it fails later)."""
    from fer_demo.media.video_io import probe

    if item.kind != "video":
        return 0.0
    try:
        return probe(item.path).duration
    except UserFacingError:
        return 0.0


def analyse_corpus(args: argparse.Namespace) -> int:
    """Files, folders and patterns into per-file tables and summaries, a manifest and one combined
    table; progress over files and over video seconds, then what was done, skipped and failed."""
    from tqdm import tqdm

    from fer_demo.corpus import CorpusSettings, analyze_corpus, find_media
    from fer_demo.corpus.cores import available_cores
    from fer_demo.corpus.run import RunSummary

    settings = CorpusSettings(
        model=args.model, temporal=args.temporal, detect_every=args.detect_every,
        detect_side=args.detect_side, smoothing=args.smoothing, min_confidence=args.min_confidence,
        min_face_size=args.min_face_size,
        persons=not args.no_persons, link_threshold=args.link_threshold, max_fps=args.max_fps,
        annotated_video=args.annotated_video, format=args.format,
    )  # fmt: skip
    media, unmatched = find_media(args.inputs)
    if unmatched:
        print(f"error: no photo or video found for: {', '.join(unmatched)}", file=sys.stderr)
        return 2
    durations = {item.path: video_seconds(item) for item in media}  # from each header: cheap
    summary = RunSummary()
    files = tqdm(total=len(media), unit="file", desc="files", position=0)
    total_seconds = round(sum(durations.values()), 1)
    # Over video seconds too when there is video: a photo-only run shows no empty "video" bar.
    seconds = tqdm(total=total_seconds, unit="s", desc="video", position=1) if total_seconds else None
    completed = {"seconds": 0.0}

    def show(done: float) -> None:
        if seconds is not None:
            seconds.n = round(min(done, seconds.total), 1)
            seconds.refresh()

    def advance(item, share: float) -> None:  # within a file, when the run is in this process
        show(completed["seconds"] + share * durations.get(item.path, 0.0))

    started = time.perf_counter()
    # One worker per two cores: one worker keeps 2 cores 85% busy, and on this 2-core machine a
    # second gave 0.97-1.02x (README, bench_batch.py). Each worker gets cores/N threads.
    workers = args.workers or (0 if args.ray else min(max(1, available_cores() // 2), len(media)))
    for result in analyze_corpus(args.inputs, settings, args.out, workers=workers, ray_address=args.ray,
                                 force=args.force, progress=advance):  # fmt: skip
        summary.results.append(result)
        completed["seconds"] += durations.get(Path(result.source), 0.0)
        show(completed["seconds"])
        files.update(1)
        if result.status == "failed":
            tqdm.write(f"failed: {result.source}: {result.error}")
    summary.wall_seconds = time.perf_counter() - started
    files.close()
    if seconds is not None:
        seconds.close()
    print(summary.line())
    print(f"results: {Path(args.out) / 'manifest.json'}")
    return 1 if summary.count("failed") else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fer_demo", description="FER studio command line")
    commands = parser.add_subparsers(dest="command", required=True)
    weights = commands.add_parser("weights", help="list or download model weights")
    actions = weights.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="status, path, size and hash check of every weight file")
    fetch = actions.add_parser("download", help="download weights (for a Space build or offline use)")
    fetch.add_argument("names", nargs="*", help="model names (see `weights list`)")
    fetch.add_argument("--all", action="store_true", help="every model and temporal model")

    video = commands.add_parser("video", help="analyse a video into an annotated MP4, CSV and JSON")
    video.add_argument("input", help="video file (mp4, mov, webm, avi, mkv)")
    video.add_argument(
        "--model", choices=list(MODEL_SPECS), help="default: FER_DEMO_MODEL, else the best ready"
    )
    video.add_argument(
        "--temporal",
        default=None,
        choices=list(TEMPORAL_SPECS),
        help="EMO-AffectNet LSTM to use instead of smoothing",
    )
    video.add_argument("--out", required=True, help="annotated H.264 MP4 to write")
    video.add_argument("--csv", help="one row per frame and face")
    video.add_argument("--json", help="summary and records")

    batch = commands.add_parser(
        "batch", help="analyse files, folders and patterns of videos and photos, resumably (corpus mode)"
    )
    batch.add_argument("inputs", nargs="+", help="files, folders (searched recursively) and glob patterns")
    batch.add_argument(
        "--out", required=True, help="folder for the tables, summaries, manifest and combined table"
    )
    batch.add_argument(
        "--model", choices=list(MODEL_SPECS), help="default: FER_DEMO_MODEL, else the best ready"
    )
    batch.add_argument(
        "--temporal", choices=list(TEMPORAL_SPECS), help="EMO-AffectNet LSTM instead of smoothing"
    )
    batch.add_argument(
        "--format", choices=["csv", "parquet"], default="csv", help="table format (default csv)"
    )
    batch.add_argument(
        "--annotated-video", action="store_true", help="also write each annotated MP4 (off: faster)"
    )
    batch.add_argument(
        "--max-fps", type=float, default=30.0, help="frames per second of video analysed at most"
    )
    batch.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes, each with its own models (default: one per 2 cores)",
    )
    batch.add_argument("--ray", metavar="ADDRESS", help='Ray: "auto" (the cluster), "local" (start one here)')
    batch.add_argument("--force", action="store_true", help="redo files already finished with these settings")

    images = commands.add_parser("images", help="analyse every image of a folder into one CSV")
    images.add_argument("folder")
    images.add_argument(
        "--model", choices=list(MODEL_SPECS), help="default: FER_DEMO_MODEL, else the best ready"
    )
    images.add_argument("--csv", required=True)
    for command in (video, images, batch):
        add_detection_flags(command)
    for command in (video, batch):
        add_tracking_flags(command)
    return parser


def add_tracking_flags(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--detect-every",
        type=int,
        default=StreamSettings().detect_every,
        help="frames between face detections",
    )
    command.add_argument("--detect-side", type=int, default=None, help="detection resolution (px)")
    command.add_argument("--smoothing", type=float, default=0.3, help="smoothing time constant (s), 0 = off")
    command.add_argument(
        "--no-persons", action="store_true", help="report each track as a face (no re-identification)"
    )
    command.add_argument(
        "--link-threshold",
        type=float,
        default=None,
        help="cosine distance under which two tracks are one person (default: the face-recognition "
        f"network's own, {FACE_EMBEDDER.link_threshold} for {FACE_EMBEDDER.display_name})",
    )


def add_detection_flags(command: argparse.ArgumentParser) -> None:
    defaults = Settings.from_env().detection
    command.add_argument(
        "--min-confidence",
        type=float,
        default=defaults.min_confidence,
        help=f"face detector score a face needs, 0-1 (default {defaults.min_confidence})",
    )
    command.add_argument(
        "--min-face-size",
        type=int,
        default=defaults.min_face_size,
        help=f"shorter side a face box needs, in image pixels (default {defaults.min_face_size})",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "video":
            return analyse_video_file(args)
        if args.command == "images":
            return analyse_image_folder(args)
        if args.command == "batch":
            return analyse_corpus(args)
    except UserFacingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    store = WeightStore(Settings.from_env().weights_dir)
    if args.action == "list":
        return list_weights(store)
    names = list(all_weight_files()) if args.all else args.names
    if not names:
        print("name at least one model, or --all", file=sys.stderr)
        return 2
    return download_weights(store, names)
