"""Running rows on this machine: in this process (one worker) or in a pool of worker processes.

Worker processes are started with ``spawn`` (safe beside threads and GPU libraries; a script that calls
:func:`run_local` with several workers must guard its entry point with ``if __name__ == "__main__":``); each
builds the job's sampler and assistant once. At most two rows per worker are in flight, so memory stays
bounded however long the manifest is; results come back in completion order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from gens_tools._cores import available_cores
from gens_tools.batch._job import BatchJob, BatchWorker, Record
from gens_tools.batch._manifest import BadRow, Row
from gens_tools.errors import GensToolsError

#: Samplers that load no model in the worker: a pool of them may use every CPU. Others (GenS in-process…)
#: default to one worker, since each worker would load its own copy of the model.
LIGHT_SAMPLERS = frozenset({"uniform", "remote", "precomputed"})


def machine_workers() -> int:
    """The CPUs this process may use (its affinity within its container's CPU quota)."""
    return available_cores()


def default_workers(job: BatchJob) -> int:
    """Workers for a local run of ``job``: every CPU for model-free samplers, else one."""
    return machine_workers() if job.sampler.name in LIGHT_SAMPLERS else 1


_WORKER: BatchWorker | None = None


def _start_worker(job: BatchJob) -> None:
    global _WORKER
    _WORKER = job.worker()


def _run_row(row: Row | BadRow) -> Record:
    assert _WORKER is not None, "worker process not initialised"
    return _WORKER.run(row)


def run_local(rows: Iterable[Row | BadRow], job: BatchJob, workers: int = 1) -> Iterator[Record]:
    """Run ``rows`` with ``workers`` processes (1: in this process) and yield each row's record when done."""
    if workers <= 1:
        worker = job.worker()
        try:
            for row in rows:
                yield worker.run(row)
        finally:
            worker.close()
        return
    try:
        yield from _pool(rows, job, workers)
    except BrokenProcessPool as exc:
        raise GensToolsError(
            "a batch worker process died (out of memory, a crash, or a script that starts a pool without "
            "`if __name__ == '__main__':`)"
        ) from exc


def _pool(rows: Iterable[Row | BadRow], job: BatchJob, workers: int) -> Iterator[Record]:
    pending: set[Future[Record]] = set()
    source = iter(rows)
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=get_context("spawn"), initializer=_start_worker, initargs=(job,)
    ) as pool:
        try:
            for row in source:
                pending.add(pool.submit(_run_row, row))
                if len(pending) >= 2 * workers:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        yield future.result()
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()
