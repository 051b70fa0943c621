"""The files the live page fetches, served with gzip and year-long browser caching.

Gradio's own file route sends no ``Cache-Control`` and no compression, which
would make every visit download the 14 MB WebAssembly runtime and a 16 MB
model again. Here each file gets an address that contains its content hash,
so it can be cached for good (a changed file gets a new address), and is sent
gzipped when the browser accepts it (the runtime shrinks to 3.7 MB).

Only files registered by the app are served: a request names a registered
address or gets a 404, so no path from a request ever reaches the filesystem.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import anyio
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

PREFIX = "live-assets/"
MEDIA_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm"}
CACHE_CONTROL = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    """A file as the page sees it: where to fetch it, its hash for integrity checks, its size."""

    url: str  # relative to the app's root
    integrity: str  # Subresource Integrity: "sha384-<base64>"
    size: int

    def as_json(self) -> dict:
        return {"url": self.url, "integrity": self.integrity, "bytes": self.size}


def integrity_of(path: Path) -> str:
    """The SRI hash of a file (sha384, the algorithm the browsers recommend)."""
    digest = hashlib.sha384()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return "sha384-" + base64.b64encode(digest.digest()).decode()


def _tag(integrity: str) -> str:
    """A URL-safe piece of the hash, for addresses and ETags."""
    return hashlib.sha256(integrity.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class _Entry:
    path: Path
    tag: str  # the file's own hash: its ETag and the name of its gzip copy


class AssetServer:
    """Registered files by address, and the ASGI middleware that serves them."""

    def __init__(self, gzip_dir: Path) -> None:
        self.gzip_dir = gzip_dir
        self._entries: dict[str, _Entry] = {}  # "live-assets/<tag>/<name>" -> file
        self._hashes: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> integrity
        self._lock = threading.Lock()
        self._gzip_locks: dict[str, threading.Lock] = {}

    def add(self, path: Path) -> Asset:
        """Serve ``path`` at an address of its own."""
        return self.add_folder(path.parent, [path.name])[path.name]

    def add_folder(self, folder: Path, names: list[str]) -> dict[str, Asset]:
        """Serve files of ``folder`` under one address, so relative imports between them work."""
        hashes = {name: self._integrity(folder / name) for name in names}
        tag = _tag("".join(sorted(integrity for integrity, _ in hashes.values())))
        assets = {}
        with self._lock:
            for name, (integrity, size) in hashes.items():
                address = f"{PREFIX}{tag}/{name}"
                self._entries[address] = _Entry(folder / name, _tag(integrity))
                assets[name] = Asset(address, integrity, size)
        return assets

    def _integrity(self, path: Path) -> tuple[str, int]:
        """A file's SRI hash and size, hashed once per version of the file."""
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            known = self._hashes.get(key)
        if known is None:
            known = integrity_of(path)
            with self._lock:
                self._hashes[key] = known
        return known, stat.st_size

    # ---- serving --------------------------------------------------------------------------------
    def middleware(self, app: ASGIApp) -> AssetMiddleware:
        return AssetMiddleware(app, self)

    async def respond(self, scope: Scope) -> Response:
        path = scope["path"]
        address = path[path.find(PREFIX) :]
        with self._lock:
            entry = self._entries.get(address)
        if entry is None:
            return PlainTextResponse("Not found", status_code=404)
        if scope["method"] not in ("GET", "HEAD"):
            return PlainTextResponse("Method not allowed", status_code=405, headers={"Allow": "GET, HEAD"})
        headers = {"Cache-Control": CACHE_CONTROL, "ETag": f'"{entry.tag}"', "Vary": "Accept-Encoding"}
        request_headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if request_headers.get("if-none-match", "").strip() == headers["ETag"]:
            return Response(status_code=304, headers=headers)
        media_type = MEDIA_TYPES.get(entry.path.suffix, "application/octet-stream")
        if "gzip" in request_headers.get("accept-encoding", ""):
            packed = await anyio.to_thread.run_sync(self._gzipped, entry)
            headers["Content-Encoding"] = "gzip"
            return FileResponse(packed, media_type=media_type, headers=headers)
        return FileResponse(entry.path, media_type=media_type, headers=headers)

    def _gzipped(self, entry: _Entry) -> Path:
        """The gzip copy of a file, made once (atomically) and kept beside the model cache."""
        packed = self.gzip_dir / f"{entry.tag}-{entry.path.name}.gz"
        with self._lock:
            lock = self._gzip_locks.setdefault(str(packed), threading.Lock())
        with lock:
            if not packed.exists():
                self.gzip_dir.mkdir(parents=True, exist_ok=True)
                handle, temporary = tempfile.mkstemp(dir=self.gzip_dir, suffix=".part")
                with (
                    entry.path.open("rb") as source,
                    os.fdopen(handle, "wb") as raw,
                    gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out,
                ):
                    shutil.copyfileobj(source, out, 1 << 20)
                os.replace(temporary, packed)
        return packed


class AssetMiddleware:
    """Answers ``/live-assets/...`` itself and hands every other request to the app."""

    def __init__(self, app: ASGIApp, server: AssetServer) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and f"/{PREFIX}" in scope["path"]:
            response = await self.server.respond(scope)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
