"""Lazily cached results of the example files.

A Space's visitors click the same examples with the same settings again and
again. The first click runs the analysis; later clicks with identical settings
get its result at once. Gradio's own example cache cannot do this here: it
keys on the example row, so it would have to reset the model and every slider
to the row's values. This cache keys on the file's content and on every
setting instead, and it only ever holds results of the app's own example
files, never a visitor's upload.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path

from fer_demo.models.weights import sha256_file

REUSED_NOTE = "This example was analysed earlier with the same settings; its result is shown again at once."


class ExampleCache:
    """Results keyed by (example content, settings); an entry whose download files are gone is dropped."""

    def __init__(self, examples: Iterable[str | Path], max_entries: int = 64) -> None:
        sizes = {Path(p): Path(p).stat().st_size for p in examples if Path(p).is_file()}
        self._sizes = set(sizes.values())  # a cheap first test before hashing a file
        self._digests = {sha256_file(p) for p in sizes}
        self._entries: OrderedDict[tuple, tuple[tuple, tuple[str, ...]]] = OrderedDict()
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def key(self, path: str | Path, *settings: Hashable) -> tuple | None:
        """The cache key of an input, or None when the file is not one of the examples."""
        try:
            if Path(path).stat().st_size not in self._sizes:
                return None
            digest = sha256_file(Path(path))
        except OSError:
            return None
        return (digest, *settings) if digest in self._digests else None

    def get(self, key: tuple | None) -> tuple | None:
        """The stored result, if every file it offers for download still exists."""
        if key is None:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            result, files = entry
            if not all(Path(f).is_file() for f in files):  # the export folder was purged
                del self._entries[key]
                return None
            for file in files:
                Path(file).touch()  # a download folder in use is not purged as stale
            self._entries.move_to_end(key)
            return result

    def put(self, key: tuple | None, result: tuple, files: Sequence[str | None] = ()) -> None:
        """Keep ``result``; ``files`` are the paths it offers for download."""
        if key is None:
            return
        with self._lock:
            self._entries[key] = (result, tuple(str(f) for f in files if f))
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
