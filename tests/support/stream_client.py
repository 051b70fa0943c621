"""Push webcam frames to a running app the way Gradio's browser client does.

``gradio_client`` cannot feed a streaming input, so this speaks the queue
protocol: join the queue with the first frame, read the server-sent events,
post each further frame to ``/gradio_api/stream/{event_id}``, then close.
"""

from __future__ import annotations

import base64
import io
import json
import queue
import threading
import time
import uuid
from typing import Any

import httpx
import numpy as np
from PIL import Image


def jpeg_data_url(frame: np.ndarray) -> dict:
    """A frame as the webcam component sends it: a JPEG data URL in a FileData payload."""
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, "JPEG", quality=90)
    url = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
    return {"url": url, "path": None, "orig_name": "frame.jpeg", "meta": {"_type": "gradio.FileData"}}


class AppSession:
    """One browser session (one session hash) talking to the app at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/") + "/"
        self.session_hash = uuid.uuid4().hex[:11]
        self.http = httpx.Client(timeout=60)
        config = self.http.get(self.url + "config").json()
        self.dependencies = {d["api_name"]: d for d in config["dependencies"] if d.get("api_name")}
        self.messages: queue.Queue[dict] = queue.Queue()

    def _join(self, api_name: str, data: list[Any]) -> str:
        dependency = self.dependencies[api_name]
        body = {"data": data, "fn_index": dependency["id"], "session_hash": self.session_hash}
        event_id = self.http.post(self.url + "gradio_api/queue/join", json=body).json()["event_id"]
        threading.Thread(target=self._listen, daemon=True).start()
        return event_id

    def _listen(self) -> None:
        url = self.url + f"gradio_api/queue/data?session_hash={self.session_hash}"
        try:
            with httpx.stream("GET", url, timeout=120) as response:
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        self.messages.put(json.loads(line[5:]))
        except httpx.HTTPError:  # the server went away: waiting callers time out with a clear error
            return

    def _next(self, event_id: str, kinds: tuple[str, ...], timeout: float = 60) -> dict:
        while True:
            message = self.messages.get(timeout=timeout)
            if message.get("event_id") == event_id and message["msg"] in kinds:
                return message

    def open_stream(self, api_name: str, first: Any, *inputs: Any) -> str:
        """Start a stream with its first input; returns its event id."""
        return self._join(api_name, [first, *inputs, None])  # None: the hidden gr.State

    def post(self, api_name: str, event_id: str, payload: Any, *inputs: Any) -> None:
        """Offer the next input of an open stream (the server keeps only the newest)."""
        body = {"data": [payload, *inputs, None], "session_hash": self.session_hash,
                "fn_index": self.dependencies[api_name]["id"], "event_id": event_id}  # fmt: skip
        self.http.post(self.url + f"gradio_api/stream/{event_id}", json=body)

    def answer(self, event_id: str, timeout: float = 60) -> dict:
        """The next message with outputs of the stream ``event_id``."""
        return self._next(event_id, ("process_streaming", "process_completed"), timeout)

    def close_stream(self, event_id: str) -> None:
        self.http.post(self.url + f"gradio_api/stream/{event_id}/close")

    def stream(
        self, api_name: str, frames: list[np.ndarray], *inputs: Any, interval: float = 0.0
    ) -> list[list[Any]]:
        """Send frames one by one, each after the previous answer and at least ``interval`` s after
        the previous frame (a camera's pace); returns each answer's outputs."""
        event_id = self.open_stream(api_name, jpeg_data_url(frames[0]), *inputs)
        answers = []
        sent = time.monotonic()
        for frame in [*frames[1:], None]:
            message = self.answer(event_id)
            if not message["success"]:
                raise AssertionError(f"stream failed: {message}")
            answers.append(message["output"]["data"])
            if frame is not None:
                time.sleep(max(0.0, sent + interval - time.monotonic()))
                sent = time.monotonic()
                self.post(api_name, event_id, jpeg_data_url(frame), *inputs)
        self.close_stream(event_id)
        return answers

    def first_answer(self, api_name: str, first_input: Any, *inputs: Any) -> dict:
        """Start a stream with any first input (not only a frame) and return the first message about it."""
        event_id = self.open_stream(api_name, first_input, *inputs)
        message = self.answer(event_id)
        self.close_stream(event_id)
        return message

    def call(self, api_name: str, *inputs: Any) -> list[Any]:
        """Run a plain event in this session (so it sees the session's state); returns its outputs."""
        event_id = self._join(api_name, [*inputs, None])
        message = self._next(event_id, ("process_completed",))
        if not message["success"]:
            raise AssertionError(message.get("output", {}).get("error") or message)
        return message["output"]["data"]

    def fetch(self, file_data: dict) -> bytes:
        return self.http.get(file_data["url"]).content

    def close(self) -> None:
        self.http.close()
