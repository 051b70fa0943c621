"""The same per-file work on a Ray cluster: one actor per CPU, each loading its models once.

Inputs and outputs must be paths every node sees (a shared filesystem), and so must
the weights folder (or each node downloads the weights itself). An actor that dies
is restarted and its file retried (twice); a file that still fails is recorded so.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections import deque
from collections.abc import Iterator, Sequence

from fer_demo.config import Settings
from fer_demo.corpus.cores import limit_threads
from fer_demo.corpus.files import FileResult, RunPlan, process_file, worker_died
from fer_demo.corpus.inputs import MediaFile


class CorpusActor:
    """A Studio of its own in a Ray worker process: models load on its first file and stay."""

    def __init__(self, app_settings: Settings, threads: int) -> None:
        from fer_demo.workflow.studio import Studio

        limit_threads(threads)
        os.environ["FER_DEMO_OFFLINE"] = "1"  # the driver fetched the weights; see the README's shared paths
        self.studio = Studio(app_settings)

    def process(self, media: MediaFile, plan: RunPlan) -> FileResult:
        return process_file(media, plan, self.studio)


def run_on_ray(
    media: Sequence[MediaFile], plan: RunPlan, address: str, workers: int, app_settings: Settings
) -> Iterator[FileResult]:
    """Yield each file's result as a Ray actor finishes it.

    Connects to ``address`` ("auto": the cluster this machine belongs to; "local": a new
    instance on this machine) unless Ray is already initialised in this process (a
    notebook, a test). ``workers`` > 1 sets the
    number of actors; otherwise one per CPU of the cluster.
    """
    import ray

    if not ray.is_initialized():  # "local": a Ray instance on this machine, for this run only
        local = address == "local"  # no dashboard for a one-run instance: it costs start-up time
        ray.init(
            address=None if local else address,
            log_to_driver=False,
            **({"include_dashboard": False} if local else {}),
        )
    count = workers if workers > 1 else max(1, int(ray.cluster_resources().get("CPU", 1)))
    remote = ray.remote(num_cpus=1, max_restarts=2, max_task_retries=2)(CorpusActor)
    run = uuid.uuid4().hex[:8]  # named, so the dashboard (and an operator) can tell the run's actors
    made = itertools.count()

    def new_actor():
        return remote.options(name=f"fer-corpus-{run}-{next(made)}").remote(app_settings, 1)

    idle = [new_actor() for _ in range(min(count, len(media)) or 1)]
    queue = deque(media)
    failures: dict = {}
    running: dict = {}
    try:
        while queue or running:
            while queue and idle:
                actor, item = idle.pop(), queue.popleft()
                running[actor.process.remote(item, plan)] = (actor, item)
            (ready,), _ = ray.wait(list(running), num_returns=1)
            actor, item = running.pop(ready)
            try:
                result = ray.get(ready)
            except ray.exceptions.RayError as error:
                # Ray already restarted the actor and retried: this handle is spent. A fresh
                # actor takes its place, and the file gets one more try on it.
                ray.kill(actor, no_restart=True)
                actor = new_actor()
                failures[item.path] = failures.get(item.path, 0) + 1
                if failures[item.path] < 2:
                    queue.appendleft(item)
                else:
                    yield worker_died(item, f"({type(error).__name__})")
            else:
                yield result
            idle.append(actor)
    finally:
        for actor in idle + [actor for actor, _ in running.values()]:
            ray.kill(actor)
