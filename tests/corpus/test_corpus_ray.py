"""Corpus mode on Ray: a local instance started inside the test (2 CPUs, this machine only).

The same outputs as the local run, a file that fails, an actor killed mid-run, and a run
interrupted then resumed.
"""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from fer_demo.corpus import analyze_corpus

from .test_corpus import SETTINGS, run
from .test_corpus import app_settings as app_settings
from .test_corpus import corpus as corpus

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_gives_the_local_runs_tables_and_keeps_a_failure_to_its_file(
    local_ray, corpus, tmp_path, app_settings
):
    run(corpus, tmp_path / "local", app_settings)
    results = run(corpus, tmp_path / "ray", app_settings, ray_address="auto")
    failed = [r for r in results if r.status == "failed"]
    assert len(results) == 5 and [r.source.rsplit("/", 1)[-1] for r in failed] == ["broken.mp4"]
    assert "not a video" in failed[0].error
    local = pd.read_csv(tmp_path / "local" / "combined.csv")
    on_ray = pd.read_csv(tmp_path / "ray" / "combined.csv")
    pd.testing.assert_frame_equal(local, on_ray, atol=2e-3, check_exact=False)


def test_an_actor_killed_mid_run_is_restarted_and_its_file_retried(local_ray, corpus, tmp_path, app_settings):
    results, first = [], threading.Event()

    def consume() -> None:
        for result in analyze_corpus(
            [corpus], SETTINGS, tmp_path, ray_address="auto", app_settings=app_settings
        ):
            results.append(result)
            first.set()

    worker = threading.Thread(target=consume)
    worker.start()
    assert first.wait(120)
    names = [name for name in ray.util.list_named_actors() if name.startswith("fer-corpus-")]
    ray.kill(ray.get_actor(names[0]), no_restart=False)  # as a node or an OOM killer would
    worker.join(300)
    assert sorted(r.status for r in results) == ["done"] * 4 + ["failed"]


def test_an_interrupted_run_resumes_where_it_stopped(local_ray, corpus, tmp_path, app_settings):
    finished = None
    for result in analyze_corpus([corpus], SETTINGS, tmp_path, ray_address="auto", app_settings=app_settings):
        if result.status == "done":
            finished = result.source
            break  # Ctrl-C after the first finished file
    statuses = {r.source: r.status for r in run(corpus, tmp_path, app_settings, ray_address="auto")}
    assert statuses.pop(finished) == "skipped"
    assert sorted(statuses.values()) == ["done"] * 3 + ["failed"]
