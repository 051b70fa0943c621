"""A self-cleaning folder for the files users download (CSV, JSON, videos).

Faces are biometric data: exports live in the system temp folder, each in a
folder of its own, and a folder where nothing changed for ``max_age`` seconds
is deleted the next time an export is written (a live session's growing CSV
keeps its folder alive).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(tempfile.gettempdir()) / "fer-demo-exports"


def new_export_dir(max_age: float = 1800.0, root: Path = ROOT) -> Path:
    """A fresh folder for one request's downloads, after purging stale ones."""
    root.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - max_age
    for old in root.iterdir():
        try:
            if _last_change(old) < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:  # another request purged it first
            pass
    folder = root / uuid.uuid4().hex
    folder.mkdir()
    return folder


def _last_change(folder: Path) -> float:
    """When the folder or any file in it last changed."""
    return max([folder.stat().st_mtime, *(f.stat().st_mtime for f in folder.iterdir())])
