"""Running rows on a Ray cluster (the ``ray`` extra; imported only here, only when asked for).

A pool of Ray actors each holds a :class:`~gens_tools.batch._job.BatchWorker` (its own sampler and assistant,
built once): CPU actors decode the videos and call the assistant, and the sampler runs where the job says:
against a served GenS endpoint (the ``remote`` sampler: the actors need no GPU) or in-process on a GPU
(``gpus_per_worker=1``, one model per actor). Rows are handed out one per actor as actors free up, so the
driver holds at most one row per actor in flight and memory stays bounded however long the manifest is;
results stream back to the driver, which writes them.

The workers must be able to import gens-tools and read the videos (shared storage or URLs).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from gens_tools.batch._job import BatchJob, BatchWorker, Record
from gens_tools.batch._manifest import BadRow, Row
from gens_tools.errors import BackendUnavailableError, InvalidArgumentError


def import_ray() -> Any:
    """The ``ray`` module, or a clear error naming the extra to install."""
    try:
        import ray
    except ImportError as exc:
        raise BackendUnavailableError("running on Ray needs ray: pip install 'gens-tools[ray]'") from exc
    return ray


class _Actor:
    """The Ray actor: one :class:`BatchWorker` for its whole life."""

    def __init__(self, job: BatchJob) -> None:
        self.worker = BatchWorker(job)

    def run(self, row: Row | BadRow) -> Record:
        return self.worker.run(row)


def ray_workers(ray: Any, cpus_per_worker: float, gpus_per_worker: float) -> int:
    """How many actors the cluster can hold at once with these resources each."""
    resources = ray.cluster_resources()
    if gpus_per_worker > 0:
        return max(1, int(resources.get("GPU", 0) // gpus_per_worker))
    return max(1, int(resources.get("CPU", 1) // max(cpus_per_worker, 1e-9)))


def run_ray(
    rows: Iterable[Row | BadRow],
    job: BatchJob,
    *,
    address: str | None = None,
    workers: int | None = None,
    cpus_per_worker: float = 1.0,
    gpus_per_worker: float = 0.0,
) -> Iterator[Record]:
    """Run ``rows`` on Ray and yield each row's record when it is done (completion order).

    Args:
        rows: the manifest's rows (read lazily).
        job: what to do with each row.
        address: the cluster to join (``"auto"``, ``"ray://host:10001"`` …); ``None`` joins the instance this
            process already started with ``ray.init``, else starts a local one (stopped again at the end).
        workers: actors to start (default: as many as the cluster's CPUs or GPUs allow).
        cpus_per_worker, gpus_per_worker: Ray resources each actor reserves.
    """
    if cpus_per_worker <= 0 or gpus_per_worker < 0:
        raise InvalidArgumentError("cpus_per_worker must be positive and gpus_per_worker >= 0")
    if workers is not None and workers < 1:
        raise InvalidArgumentError(f"workers must be at least 1, got {workers}")
    ray = import_ray()
    from ray.util import ActorPool

    started = False
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
        started = True
    actors: list[Any] = []
    try:
        count = workers or ray_workers(ray, cpus_per_worker, gpus_per_worker)
        remote_actor = ray.remote(num_cpus=cpus_per_worker, num_gpus=gpus_per_worker)(_Actor)
        actors = [remote_actor.remote(job) for _ in range(count)]
        pool: Any = ActorPool(actors)
        for row in rows:
            while not pool.has_free():
                yield pool.get_next_unordered()
            pool.submit(lambda actor, r: actor.run.remote(r), row)
        while pool.has_next():
            yield pool.get_next_unordered()
    finally:
        for actor in actors:
            ray.kill(actor)
        if started:
            ray.shutdown()
