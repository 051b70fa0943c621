"""How many cores a run may use, and each worker's share of them (the backends' common ground)."""

from __future__ import annotations

import contextlib
import os


def available_cores() -> int:
    """The cores this process may use (its CPU affinity), not the machine's count."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def limit_threads(threads: int) -> None:
    """Each worker's share of the cores, so N workers do not each start a thread per core."""
    import torch

    os.environ["OMP_NUM_THREADS"] = str(max(1, threads))
    torch.set_num_threads(max(1, threads))
    with contextlib.suppress(RuntimeError):  # torch allows it once per process, before parallel work
        torch.set_num_interop_threads(1)
