"""The app's HTTP API spoken by hand, as a hostile client would: any JSON, no gradio_client.

``gradio_client`` uploads every file before a call and fills in defaults; an
attacker does neither. :class:`RawApi` sends exactly the payload it is given.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


@dataclass(frozen=True)
class Answer:
    """How a call ended: ``ok`` with the outputs, or an error message (None when Gradio sent none)."""

    ok: bool
    data: list[Any] | None
    message: str | None


class RawApi:
    def __init__(self, url: str, timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(timeout=timeout)

    def upload(self, path: Path) -> dict:
        """Upload a file the way the browser does; returns the FileData payload naming it."""
        with path.open("rb") as handle:
            response = self.http.post(f"{self.url}/gradio_api/upload", files={"files": (path.name, handle)})
        response.raise_for_status()
        (server_path,) = response.json()
        return {"path": server_path, "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}

    def call(
        self, api_name: str, data: list[Any], session_hash: str | None = None, deadline: float = 90.0
    ) -> Answer:
        """POST /gradio_api/call/<api_name>, then read its event stream to the end.

        Gradio's heartbeats keep the stream alive however long the server takes,
        so a call still running after ``deadline`` seconds ends as a "timed out" answer.
        """
        started = time.monotonic()
        body = {"data": data, **({"session_hash": session_hash} if session_hash else {})}
        response = self.http.post(f"{self.url}/gradio_api/call/{api_name}", json=body)
        if response.status_code != 200:
            return Answer(False, None, f"HTTP {response.status_code}: {response.text[:300]}")
        event_id = response.json()["event_id"]
        kind, payload = None, None
        with self.http.stream("GET", f"{self.url}/gradio_api/call/{api_name}/{event_id}") as events:
            for line in events.iter_lines():
                if time.monotonic() - started > deadline:
                    return Answer(False, None, f"timed out after {deadline:.0f} s")
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:") and kind in ("complete", "error"):
                    payload = json.loads(line[5:])
        if kind == "complete":
            return Answer(True, payload, None)
        message = payload.get("error") if isinstance(payload, dict) else payload
        return Answer(False, None, message)

    def close(self) -> None:
        self.http.close()
