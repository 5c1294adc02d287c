"""Batch runs: frame selections (and answers) for every row of a manifest, locally or on a Ray cluster.

- :func:`run_batch`: a manifest (JSON lines of video + question + per-row options, see
  :mod:`gens_tools.batch._manifest`) through a :class:`BatchJob` (sampler, optional assistant, K, sampling
  options), results appended as JSON lines (resumable), on a local process pool or on Ray (``ray=True``, the
  ``ray`` extra, imported only then).
- :class:`Spec`: a sampler or assistant as ``NAME`` or ``NAME:key=value,…``, picklable for workers.
- :class:`ResultLog`, :func:`read_records`: the append-only JSON-lines results file.

Example::

    from gens_tools.batch import BatchJob, Spec, run_batch

    job = BatchJob(sampler=Spec.parse("uniform"), k=16)
    report = run_batch("manifest.jsonl", "results.jsonl", job, workers=4)
    print(report.ok, report.errors, report.rows_per_second)
"""

from __future__ import annotations

from gens_tools.batch._job import BatchJob, BatchWorker
from gens_tools.batch._jsonl import ResultLog, read_records
from gens_tools.batch._local import default_workers, machine_workers
from gens_tools.batch._manifest import ROW_KEYS, BadRow, Row, read_manifest
from gens_tools.batch._run import BatchReport, run_batch
from gens_tools.batch._specs import NO_ASSISTANT, Spec

__all__ = [
    "NO_ASSISTANT",
    "ROW_KEYS",
    "BadRow",
    "BatchJob",
    "BatchReport",
    "BatchWorker",
    "ResultLog",
    "Row",
    "Spec",
    "default_workers",
    "machine_workers",
    "read_manifest",
    "read_records",
    "run_batch",
]
