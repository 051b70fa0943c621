"""Keep the server's memory flat under many concurrent requests.

glibc gives each thread that meets contention its own malloc arena and rarely
returns freed arena memory to the system. A Gradio server runs requests on
dozens of threads, so RSS crept up by about 100 MB every 2 minutes under load
(benchmarks/bench_load.py) with no Python object leaking; with two arenas it
stays flat. Elsewhere than glibc (macOS, musl) there is nothing to tune.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)


def limit_malloc_arenas(count: int = 2) -> bool:
    """Cap glibc's malloc arenas (unless MALLOC_ARENA_MAX is set); call before threads start."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False  # the operator chose: glibc already read it
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        done = bool(libc.mallopt(M_ARENA_MAX, count))
    except (OSError, AttributeError):
        return False
    if done:
        log.info("malloc arenas capped at %d", count)
    return done
