"""Where the repository's files are, and a free port for an app a test starts."""

from __future__ import annotations

import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
ARTIFACTS = ROOT / "test-artifacts" / "browser"  # browser tests' screenshots and failing servers' logs


def free_port() -> int:
    """A TCP port nobody listens on, for an app launched by a test."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
