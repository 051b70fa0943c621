"""Which files a corpus run analyses: files, folders (recursively) and glob patterns, photos and videos."""

from __future__ import annotations

import glob
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi", ".mpg", ".mpeg", ".wmv"})


@dataclass(frozen=True)
class MediaFile:
    """One input: its absolute path and whether it is read as a photo or a video."""

    path: Path
    kind: str  # "photo" or "video"


def media_kind(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return "photo" if suffix in PHOTO_SUFFIXES else "video" if suffix in VIDEO_SUFFIXES else None


def visible(path: Path, folder: Path) -> bool:
    """A file (not a folder) with no hidden part (``.name``) below ``folder``."""
    return path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts)


def find_media(
    inputs: Iterable[str | Path], exclude: Path | None = None
) -> tuple[list[MediaFile], list[str]]:
    """The media files named by ``inputs`` (sorted, each once), and the inputs that named none.

    A folder is searched recursively; a pattern with ``*``, ``?`` or ``[`` is expanded
    (``**`` included) unless a file or folder of that very name exists; a file is
    taken whatever its suffix if named directly, so a video without one is not silently
    skipped (an unreadable file fails on its own). Hidden files and folders (``.name``)
    inside a folder are left out, and so is everything under ``exclude`` (the run's own
    results, should they sit inside an input folder).
    """
    found: dict[Path, MediaFile] = {}
    unmatched = []
    for item in inputs:
        text = str(item)
        pattern = any(char in text for char in "*?[") and not Path(text).exists()
        named = 0
        for candidate in map(Path, glob.glob(text, recursive=True) if pattern else [text]):
            if candidate.is_dir():
                files = [p for p in sorted(candidate.rglob("*")) if media_kind(p) and visible(p, candidate)]
            elif candidate.is_file() and (media_kind(candidate) or not pattern):
                files = [candidate]
            else:
                files = []
            named += len(files)
            for path in files:
                resolved = path.resolve()
                if exclude is not None and resolved.is_relative_to(exclude.resolve()):
                    continue
                found.setdefault(resolved, MediaFile(resolved, media_kind(path) or "video"))
        if not named:
            unmatched.append(text)
    return sorted(found.values(), key=lambda media: str(media.path)), unmatched
