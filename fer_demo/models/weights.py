"""Find, download and verify model weight files.

Resolution order for a file:
1. shipped inside the package (``embedded``);
2. the local weights folder (``FER_DEMO_WEIGHTS_DIR``) under its published name;
3. the Hugging Face Hub cache, for Hub-hosted files (``HF_HUB_OFFLINE`` honoured);
4. a download: Hub files through ``huggingface_hub``; pinned GitHub URLs
   streamed to ``<file>.part`` (resumed and retried), checked against the
   git blob SHA-1 published for that commit, and only then renamed into the
   folder, so an interrupted or corrupt download never looks cached.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from fer_demo.errors import ModelUnavailableError
from fer_demo.models.specs import ASSETS, WeightFile

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]  # (bytes done, bytes total or None)
CHUNK = 1 << 20


class WeightsError(ModelUnavailableError):
    """A weight file could not be found, downloaded or verified."""


@dataclass(frozen=True)
class Availability:
    """Whether a model can run, in words for users.

    ``available`` with ``needs_download`` means the first use downloads the
    missing files; without ``available``, ``reason`` and ``fix`` say why not, for whoever runs
    the server (folders, commands), and ``visitor`` says it for a web visitor (no path, no command).
    """

    available: bool
    reason: str = ""
    fix: str = ""
    needs_download: bool = False
    visitor: str = ""


def git_blob_sha1(path: Path) -> str:
    """The hash git gives a file's content: SHA-1 of ``b"blob <size>\\0" + content``."""
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def hash_matches(weight: WeightFile, path: Path) -> bool | None:
    """True/False when ``weight`` publishes a hash (or had one recorded on first use), else None."""
    if weight.git_sha1:
        return git_blob_sha1(path) == weight.git_sha1
    if weight.sha256:
        return sha256_file(path) == weight.sha256
    if weight.pinned_on_first_use and pin_file(path).is_file():
        return sha256_file(path) == pin_file(path).read_text(encoding="utf-8").strip()
    return None


def pin_file(path: Path) -> Path:
    """Where the SHA-256 of a file pinned on first use is recorded: beside it."""
    return path.with_name(path.name + ".sha256")


def check_pinned(weight: WeightFile, path: Path) -> None:
    """Record the file's SHA-256 the first time it is used, and refuse it if it changed since.

    Raises:
        WeightsError: the file differs from the one first used here.
    """
    if not weight.pinned_on_first_use:
        return
    record = pin_file(path)
    actual = sha256_file(path)
    if not record.is_file():
        record.write_text(actual + "\n", encoding="utf-8")
        log.info("pinned %s on first use: SHA-256 %s", path.name, actual)
        return
    expected = record.read_text(encoding="utf-8").strip()
    if actual != expected:
        raise WeightsError(
            f"{path.name} is not the file first used here: its SHA-256 is {actual}, {record.name} "
            f"recorded {expected}. Delete both to accept the new file."
        )


def downloads_disabled() -> bool:
    """Offline mode: ``FER_DEMO_OFFLINE`` or ``HF_HUB_OFFLINE`` set to a true value."""
    return any(
        os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}
        for name in ("FER_DEMO_OFFLINE", "HF_HUB_OFFLINE")
    )


def download(
    url: str,
    dest: Path,
    weight: WeightFile,
    progress: Progress | None = None,
    timeout: float = 30.0,
    retries: int = 3,
) -> Path:
    """Stream ``url`` to ``dest`` through ``dest.part``, verify its hash, then rename it.

    A partial ``.part`` from an earlier attempt is resumed with an HTTP Range
    request. Network errors and 5xx answers are retried with backoff; 4xx
    answers are not. A hash mismatch deletes the ``.part`` and raises.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    error: Exception | None = None
    for attempt in range(retries):
        try:
            _stream(url, part, progress, timeout)
            break
        except httpx.HTTPStatusError as failure:
            if failure.response.status_code < 500:
                raise WeightsError(
                    f"downloading {dest.name} from {url} failed: HTTP {failure.response.status_code}"
                ) from failure
            error = failure
        except httpx.TransportError as failure:
            if _no_name_lookup(failure):  # no network here: trying again only makes the visitor wait
                raise WeightsError(
                    f"could not download {dest.name} from {url}: no network ({failure})"
                ) from failure
            error = failure
        log.warning("download of %s failed (attempt %d/%d): %s", url, attempt + 1, retries, error)
        time.sleep(min(2**attempt, 8) * 0.5)
    else:
        raise WeightsError(f"could not download {dest.name} from {url} after {retries} attempts: {error}")
    expected = weight.git_sha1 or weight.sha256
    actual = git_blob_sha1(part) if weight.git_sha1 else sha256_file(part) if weight.sha256 else None
    if expected and actual != expected:
        part.unlink(missing_ok=True)
        kind = "git blob SHA-1" if weight.git_sha1 else "SHA-256"
        raise WeightsError(
            f"{dest.name} downloaded from {url} failed its hash check: expected {kind} {expected}, "
            f"got {actual}. The download was deleted; nothing was loaded."
        )
    os.replace(part, dest)
    return dest


def _no_name_lookup(error: BaseException) -> bool:
    """Whether ``error`` comes from a failed host name lookup (an offline machine), not a flaky link."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, socket.gaierror):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def _stream(url: str, part: Path, progress: Progress | None, timeout: float) -> None:
    done = part.stat().st_size if part.exists() else 0
    headers = {"Accept-Encoding": "identity"}  # byte offsets must be the file's, for Range
    if done:
        headers["Range"] = f"bytes={done}-"
    with httpx.stream("GET", url, headers=headers, timeout=timeout, follow_redirects=True) as response:
        if response.status_code == 416:  # the .part is already complete
            return
        response.raise_for_status()
        if done and response.status_code != 206:  # the server ignored Range: start again
            done = 0
        length = response.headers.get("Content-Length")
        total = done + int(length) if length else None
        with part.open("ab" if done else "wb") as handle:
            for chunk in response.iter_bytes():  # as received, so a cut keeps every byte
                handle.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)


class WeightStore:
    """Weight files of one folder: where they are, and fetching the missing ones."""

    def __init__(
        self, folder: Path, timeout: float = 30.0, retries: int = 3, retry_after: float = 600.0
    ) -> None:
        self.folder = Path(folder)
        self.timeout = timeout
        self.retries = retries
        self.retry_after = retry_after  # seconds a failed download is reported before another try
        self._failures: dict[str, tuple[float, str]] = {}  # filename -> (when, why) it failed
        self._lock = threading.Lock()

    def locate(self, weight: WeightFile) -> Path | None:
        """The file on disk, following the resolution order; None when missing."""
        if weight.embedded:
            path = ASSETS / weight.filename
            return path if path.is_file() else None
        local = self.folder / weight.filename
        if local.is_file():
            return local
        if weight.hub_repo:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(weight.hub_repo, weight.filename)
            if isinstance(cached, str) and Path(cached).is_file():
                return Path(cached)
        return None

    def availability(self, files: Iterable[WeightFile]) -> Availability:
        """Check every file without loading or downloading anything."""
        missing = [w for w in files if self.locate(w) is None]
        if not missing:
            return Availability(True)
        names = ", ".join(w.filename for w in missing)
        fix = (
            f"put {names} into {self.folder} (or set FER_DEMO_WEIGHTS_DIR), "
            f"or run `python -m fer_demo weights download` on a machine with internet"
        )
        not_downloadable = [w.filename for w in missing if not (w.url or w.hub_repo)]
        if not_downloadable:
            reason = f"{', '.join(not_downloadable)} is not in {self.folder}"
            return Availability(False, reason, fix, visitor="its weights are not on this server")
        failures = [self._recent_failure(w.filename) for w in missing]
        if any(failures):
            visitor = "its weights could not be downloaded just now; the server tries again in a few minutes"
            return Availability(False, next(f for f in failures if f), fix, visitor=visitor)
        if downloads_disabled():
            reason = f"{names} is not in {self.folder} and downloads are off (offline mode)"
            visitor = "its weights are not on this server, which works offline"
            return Availability(False, reason, fix, visitor=visitor)
        return Availability(True, f"{names} will be downloaded on first use", fix, needs_download=True,
                            visitor="its weights download on first use")  # fmt: skip

    def fetch(self, weight: WeightFile, progress: Progress | None = None) -> Path:
        """The file's path, downloading it if needed; raises WeightsError with the fix."""
        path = self.locate(weight)
        if path is not None:
            check_pinned(weight, path)
            return path
        with self._lock:  # one download per file, however many users ask at once
            path = self.locate(weight)
            try:
                path = path or self._download(weight, progress)
                check_pinned(weight, path)
                return path
            except WeightsError as error:
                self._failures[weight.filename] = (time.monotonic(), str(error))
                raise

    def fetch_all(self, weights: Sequence[WeightFile], progress: Progress | None = None) -> list[Path]:
        """Every file of a model, in order; missing ones are downloaded all or none.

        An ensemble's parts are useless alone: new files are downloaded into a staging
        folder, each hash-checked, and moved into the weights folder only once all are
        there. A failure leaves the folder as it was (and keeps the verified parts in the
        staging folder, so the next try does not fetch them again).
        """
        if len(weights) == 1:
            return [self.fetch(weights[0], progress)]
        found = [self.locate(w) for w in weights]
        if all(found):
            for weight, path in zip(weights, found, strict=True):
                check_pinned(weight, path)
            return found
        with self._lock:
            staging = self.folder / ".incomplete"
            done = 0
            try:
                for weight in weights:
                    if self.locate(weight) is None:
                        self._stage(weight, staging, self._offset(progress, done))
                        done += (staging / weight.filename).stat().st_size
                for weight in weights:  # all verified: commit them together
                    staged = staging / weight.filename
                    if staged.is_file():
                        (self.folder / weight.filename).parent.mkdir(parents=True, exist_ok=True)
                        os.replace(staged, self.folder / weight.filename)
            except (WeightsError, OSError) as error:  # OSError: a full disk, a read-only folder
                for weight in weights:
                    self._failures[weight.filename] = (time.monotonic(), str(error))
                if isinstance(error, WeightsError):
                    raise
                raise WeightsError(f"the weights could not be stored in {self.folder}: {error}") from error
        return [self.fetch(w) for w in weights]

    def _stage(self, weight: WeightFile, staging: Path, progress: Progress | None) -> None:
        """Download one part into ``staging`` (kept from an earlier try when its hash still matches)."""
        staged = staging / weight.filename
        if not (staged.is_file() and hash_matches(weight, staged)):
            self._download(weight, progress, into=staging)

    @staticmethod
    def _offset(progress: Progress | None, done: int) -> Progress | None:
        """Progress of one part reported as bytes of the whole model so far."""
        if progress is None:
            return None
        return lambda part_done, part_total: progress(done + part_done, None)

    def _recent_failure(self, filename: str) -> str:
        when, why = self._failures.get(filename, (float("-inf"), ""))
        return why if time.monotonic() - when < self.retry_after else ""

    def _download(self, weight: WeightFile, progress: Progress | None, into: Path | None = None) -> Path:
        """Download ``weight`` into the weights folder (or ``into``, for URL files)."""
        if downloads_disabled():
            raise WeightsError(
                f"{weight.filename} is not in {self.folder} and downloads are off (offline mode)"
            )
        if weight.url:
            log.info("downloading %s", weight.url)
            dest = (into or self.folder) / weight.filename
            return download(weight.url, dest, weight, progress, self.timeout, self.retries)
        if weight.hub_repo:
            from huggingface_hub import hf_hub_download

            log.info("downloading %s from the Hugging Face Hub repo %s", weight.filename, weight.hub_repo)
            try:
                return Path(hf_hub_download(weight.hub_repo, weight.filename))
            except Exception as error:  # huggingface_hub raises many types for "no network"
                raise WeightsError(
                    f"could not download {weight.filename} from the Hugging Face Hub repo "
                    f"{weight.hub_repo}: {error}"
                ) from error
        raise WeightsError(f"{weight.filename} is not in {self.folder} and has no download source")
