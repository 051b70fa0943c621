"""The app as the benchmarks run it: ``python app.py`` in its own process, offline, on loopback.

Models load random weights written in their published formats (speed does
not depend on the values), so every family can be measured without downloads.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fer_demo.models.specs import MODEL_SPECS, TEMPORAL_SPECS  # noqa: E402
from tests.support.checkpoints.emo_affectnet import write_lstm_checkpoint, write_static_checkpoint  # noqa: E402
from tests.support.checkpoints.emonet import write_emonet_checkpoint  # noqa: E402
from tests.support.checkpoints.esr9 import write_esr9_files  # noqa: E402
from tests.support.checkpoints.hsemotion import write_whole_model_pickle  # noqa: E402
from tests.support.paths import free_port  # noqa: E402


def write_random_weights(folder: Path) -> None:
    """Random-valued checkpoints under their published names and containers."""
    write_whole_model_pickle(folder / MODEL_SPECS["enet_b0_8_best_afew"].weights[0].filename)
    write_static_checkpoint(folder / MODEL_SPECS["emo_affectnet_resnet50"].weights[0].filename)
    write_lstm_checkpoint(folder / TEMPORAL_SPECS["lstm_ravdess"].weights.filename)
    write_emonet_checkpoint(folder / MODEL_SPECS["emonet_8"].weights[0].filename)
    write_esr9_files(folder, [weight.filename for weight in MODEL_SPECS["esr_9"].weights])


def start_app(
    weights: Path, log_path: Path, env: dict[str, str] | None = None, cores: str | None = None
) -> tuple[subprocess.Popen, str]:
    """The app on a free port (pinned to ``cores`` with taskset if given); returns it once it answers."""
    port = free_port()
    environment = {**os.environ, **(env or {}), "FER_DEMO_WEIGHTS_DIR": str(weights), "FER_DEMO_OFFLINE": "1",
                   "FER_DEMO_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}  # fmt: skip
    command = [sys.executable, str(ROOT / "app.py")]
    if cores is not None:
        command = ["taskset", "-c", cores, *command]
    server = subprocess.Popen(command, env=environment, stdout=log_path.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "gradio_api/info", timeout=2).status_code == 200:
                return server, url
        except httpx.HTTPError:
            pass
        if server.poll() is not None:
            raise RuntimeError(f"the app exited: see {log_path}")
        time.sleep(0.5)
    server.kill()
    raise RuntimeError("the app did not start within 120 s")


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time the processes ``pids`` have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:  # gone
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def cap_cpu(cores: float, name: str = "fer-demo-bench") -> None:
    """Give this process, and all it starts from now on, ``cores`` CPUs of time in all (root only).

    A cgroup CPU quota: how the benchmarks stand in for a slower machine than the one they run on.
    """
    period = 20_000  # microseconds: short, so a capped process waits at most this long per turn
    quota = round(cores * period)
    v2 = Path("/sys/fs/cgroup/cgroup.controllers")
    group = Path("/sys/fs/cgroup" if v2.exists() else "/sys/fs/cgroup/cpu") / name
    group.mkdir(exist_ok=True)
    if v2.exists():
        (group / "cpu.max").write_text(f"{quota} {period}")
    else:
        (group / "cpu.cfs_period_us").write_text(str(period))
        (group / "cpu.cfs_quota_us").write_text(str(quota))
    (group / "cgroup.procs").write_text(str(os.getpid()))
