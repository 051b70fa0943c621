"""Command line: ``python -m fer_demo weights list|download``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from fer_demo.config import Settings
from fer_demo.errors import UserFacingError
from fer_demo.models.specs import MODEL_SPECS, TEMPORAL_SPECS, WeightFile
from fer_demo.models.weights import WeightStore, hash_matches


def all_weight_files() -> dict[str, WeightFile]:
    """Every downloadable or embedded file by model name (LSTMs under their own names)."""
    files = {name: spec.weights[0] for name, spec in MODEL_SPECS.items()}
    files.update({name: spec.weights for name, spec in TEMPORAL_SPECS.items()})
    return files


def list_weights(store: WeightStore) -> int:
    print(f"weights folder: {store.folder}")
    print(f"{'model':<24} {'status':<12} {'MB':>7}  {'hash':<20} path")
    for name, weight in all_weight_files().items():
        path = store.locate(weight)
        if path is None:
            print(f"{name:<24} {'missing':<12} {'':>7}  {'':<20} {weight.filename}")
            continue
        status = "embedded" if weight.embedded else "present"
        match = hash_matches(weight, path)
        verdict = {True: "matches published", False: "DIFFERS", None: "not pinned"}[match]
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
        weight = files[name]

        def progress(done: int, total: int | None, name: str = name) -> None:
            shown = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
            print(f"\r{name}: {shown}", end="", file=sys.stderr, flush=True)

        try:
            path = store.fetch(weight, progress)
            print(f"\r{name}: {path}", file=sys.stderr)
        except UserFacingError as error:
            print(f"\r{name}: FAILED: {error}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fer_demo", description="FER studio command line")
    commands = parser.add_subparsers(dest="command", required=True)
    weights = commands.add_parser("weights", help="list or download model weights")
    actions = weights.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="status, path, size and hash check of every weight file")
    fetch = actions.add_parser("download", help="download weights (for a Space build or offline use)")
    fetch.add_argument("names", nargs="*", help="model names (see `weights list`)")
    fetch.add_argument("--all", action="store_true", help="every model and temporal model")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    store = WeightStore(Settings.from_env().weights_dir)
    if args.action == "list":
        return list_weights(store)
    names = list(all_weight_files()) if args.all else args.names
    if not names:
        print("name at least one model, or --all", file=sys.stderr)
        return 2
    return download_weights(store, names)
