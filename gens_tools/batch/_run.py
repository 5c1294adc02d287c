"""``run_batch``: every manifest row through a sampler (and an assistant), results appended as JSON lines.

The results file holds one record per row (``id``, ``status`` ``ok``/``error``, ``error``, ``video``,
``question``, ``k``, ``meta``, ``selection`` — the :meth:`~gens_tools.FrameSelection.to_dict` form without
images — ``answer`` when an assistant answered, ``seconds``), in completion order. A run over an existing
results file skips the rows already there (and, with ``retry_errors``, runs the failed ones again), so an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gens_tools.batch._job import BatchJob, Record
from gens_tools.batch._jsonl import ResultLog
from gens_tools.batch._local import LIGHT_SAMPLERS, default_workers, run_local
from gens_tools.batch._manifest import BadRow, Row, count_rows, read_manifest
from gens_tools.errors import GensToolsError, InvalidArgumentError
from gens_tools.options import SamplingOptions
from gens_tools.progress import ProgressCallback, emit


@dataclass(slots=True)
class BatchReport:
    """What a batch run did: rows written (``ok`` and ``error``), rows skipped as done before, and seconds."""

    results: Path
    ok: int = 0
    errors: int = 0
    skipped: int = 0
    seconds: float = 0.0
    executor: str = "local"
    workers: int = 1
    error_ids: list[str] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        """Rows run (not skipped) per second of wall time."""
        return (self.ok + self.errors) / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "results": str(self.results),
            "ok": self.ok,
            "errors": self.errors,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second, 3),
            "executor": self.executor,
            "workers": self.workers,
            "error_ids": self.error_ids[:20],
        }


def _check_job(job: BatchJob) -> None:
    """Fail before starting workers when the job cannot run anywhere (unknown sampler, missing key…)."""
    from gens_tools.samplers._registry import sampler_class

    sampler_class(job.sampler.name)
    if job.sampler.name in LIGHT_SAMPLERS:
        job.sampler.build_sampler().close()
    if job.assistant is not None:
        assistant = job.assistant.build_assistant()
        if assistant is not None:
            assistant.close()
    SamplingOptions.build(None, **job.options)


def run_batch(
    manifest: str | os.PathLike[str],
    results: str | os.PathLike[str],
    job: BatchJob,
    *,
    workers: int | None = None,
    ray: bool = False,
    ray_address: str | None = None,
    cpus_per_worker: float = 1.0,
    gpus_per_worker: float = 0.0,
    retry_errors: bool = False,
    rag_out: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
) -> BatchReport:
    """Run every row of ``manifest`` (see :mod:`gens_tools.batch._manifest`) and append its record to
    ``results``.

    Args:
        manifest: JSON lines, one row each.
        results: the JSON-lines results file; rows already in it are skipped.
        job: the sampler, assistant, default K and sampling options.
        workers: worker processes (local) or actors (Ray); default: every CPU for model-free samplers, one
            for in-process models (local), as many as the cluster allows (Ray).
        ray: run on Ray (the ``ray`` extra) instead of local processes.
        ray_address: the cluster to join (default: the one this process started, else a new local one).
        cpus_per_worker, gpus_per_worker: Ray resources per actor.
        retry_errors: run again the rows whose earlier record is an error.
        rag_out: also append each selection to this file in the GenS authors' rag format.
        progress: called with ``write`` events (rows done of all rows) after each row.

    Raises:
        InvalidArgumentError: a bad manifest path or job.
        BackendUnavailableError: ``ray=True`` without ray installed.
    """
    if workers is not None and workers < 1:
        raise InvalidArgumentError(f"workers must be at least 1, got {workers}")
    _check_job(job)
    total = count_rows(manifest)
    report = BatchReport(results=Path(results), executor="ray" if ray else "local")
    t0 = time.perf_counter()
    with ResultLog(results, lambda r: str(r["id"])) as log:

        def todo() -> Iterator[Row | BadRow]:
            for row in read_manifest(manifest, SamplingOptions.build(None, **job.options)):
                old = log.done.get(row.id)
                if old is not None and not (retry_errors and old.get("status") == "error"):
                    report.skipped += 1
                    emit(progress, "write", report.skipped + report.ok + report.errors, total, row.id)
                    continue
                yield row

        if ray:
            from gens_tools.batch._ray import run_ray

            records = run_ray(
                todo(),
                job,
                address=ray_address,
                workers=workers,
                cpus_per_worker=cpus_per_worker,
                gpus_per_worker=gpus_per_worker,
            )
            report.workers = workers or 0
        else:
            report.workers = workers or default_workers(job)
            records = run_local(todo(), job, report.workers)
        for record in records:
            if rag_out is not None and record.get("selection"):
                _append_rag(rag_out, record)
            log.append(record)
            if record.get("status") == "ok":
                report.ok += 1
            else:
                report.errors += 1
                report.error_ids.append(str(record["id"]))
            emit(progress, "write", report.skipped + report.ok + report.errors, total, str(record["id"]))
    report.seconds = time.perf_counter() - t0
    return report


def _append_rag(path: str | os.PathLike[str], record: Record) -> None:
    from gens_tools.frames import FrameSelection
    from gens_tools.samplers.precomputed import rag_record

    try:
        selection = FrameSelection.from_dict(record["selection"])
    except GensToolsError:
        return
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as f:
        f.write(json.dumps(rag_record(selection), ensure_ascii=False) + "\n")
