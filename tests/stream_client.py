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
        with httpx.stream(
            "GET", self.url + f"gradio_api/queue/data?session_hash={self.session_hash}", timeout=120
        ) as response:
            for line in response.iter_lines():
                if line.startswith("data:"):
                    self.messages.put(json.loads(line[5:]))

    def _next(self, event_id: str, kinds: tuple[str, ...], timeout: float = 60) -> dict:
        while True:
            message = self.messages.get(timeout=timeout)
            if message.get("event_id") == event_id and message["msg"] in kinds:
                return message

    def stream(self, api_name: str, frames: list[np.ndarray], *inputs: Any) -> list[list[Any]]:
        """Send frames one by one, each after the previous answer; returns each answer's outputs."""
        payload = [jpeg_data_url(frames[0]), *inputs, None]  # None: the hidden gr.State
        event_id = self._join(api_name, payload)
        answers = []
        for frame in [*frames[1:], None]:
            message = self._next(event_id, ("process_streaming", "process_completed"))
            if not message["success"]:
                raise AssertionError(f"stream failed: {message}")
            answers.append(message["output"]["data"])
            if frame is not None:
                body = {"data": [jpeg_data_url(frame), *inputs, None], "session_hash": self.session_hash,
                        "fn_index": self.dependencies[api_name]["id"], "event_id": event_id}  # fmt: skip
                self.http.post(self.url + f"gradio_api/stream/{event_id}", json=body)
        self.http.post(self.url + f"gradio_api/stream/{event_id}/close")
        return answers

    def first_answer(self, api_name: str, first_input: Any, *inputs: Any) -> dict:
        """Start a stream with any first input (not only a frame) and return the first message about it."""
        event_id = self._join(api_name, [first_input, *inputs, None])
        message = self._next(event_id, ("process_streaming", "process_completed"))
        self.http.post(self.url + f"gradio_api/stream/{event_id}/close")
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
