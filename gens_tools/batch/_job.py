"""What a batch worker does with one manifest row: choose its frames, and answer when there is an assistant.

A :class:`BatchJob` is plain picklable data (specs, not live objects), so it can be shipped to worker
processes and Ray actors; each worker turns it into a :class:`BatchWorker` that builds its own sampler and
assistant once and reuses them for every row it runs.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gens_tools.batch._manifest import BadRow, Row
from gens_tools.batch._specs import Spec
from gens_tools.errors import GensToolsError
from gens_tools.options import SamplingOptions

if TYPE_CHECKING:
    from gens_tools.assistants._base import Assistant
    from gens_tools.samplers._base import FrameSampler

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class BatchJob:
    """How every row is run.

    Attributes:
        sampler: the sampler (a :class:`Spec`: name and constructor options).
        assistant: the assistant, or ``None`` for selections only.
        k: frames per row, unless the row says otherwise.
        options: the run's sampling options (:class:`~gens_tools.SamplingOptions` fields); a row's own
            ``options`` override them.
    """

    sampler: Spec
    assistant: Spec | None = None
    k: int = 16
    options: dict[str, Any] = field(default_factory=dict)

    def worker(self) -> BatchWorker:
        """A worker that runs rows with this job's sampler and assistant (built now)."""
        return BatchWorker(self)


def error_record(row: Row | BadRow, message: str, seconds: float = 0.0) -> Record:
    """The result of a row that failed."""
    base: Record = {"id": row.id, "line": row.line, "status": "error", "error": message}
    if isinstance(row, Row):
        base.update(video=row.video, question=row.question, meta=row.meta)
    base["seconds"] = round(seconds, 4)
    return base


class BatchWorker:
    """Runs rows for one :class:`BatchJob` with a sampler and an assistant built once."""

    def __init__(self, job: BatchJob) -> None:
        self.job = job
        self.sampler: FrameSampler = job.sampler.build_sampler()
        self.assistant: Assistant | None = None
        try:
            self.assistant = None if job.assistant is None else job.assistant.build_assistant()
        except BaseException:
            self.sampler.close()
            raise

    def run(self, row: Row | BadRow) -> Record:
        """The result record of one row (never raises for a row's own failure: the record says it)."""
        if isinstance(row, BadRow):
            return error_record(row, row.error)
        t0 = time.perf_counter()
        try:
            return self._run(row, t0)
        except (GensToolsError, OSError) as exc:
            return error_record(row, f"{type(exc).__name__}: {' '.join(str(exc).split())}", time.perf_counter() - t0)

    def _run(self, row: Row, t0: float) -> Record:
        from gens_tools.pipeline._sample import sample_frames
        from gens_tools.samplers.precomputed import PrecomputedSampler

        sampler = self.sampler
        if isinstance(sampler, PrecomputedSampler):
            sampler = sampler.for_video(row.video)
        options = SamplingOptions.build(SamplingOptions.build(None, **self.job.options), **row.options)
        k = row.k or self.job.k
        selection = sample_frames(
            row.video, row.question, sampler=sampler, k=k, start=row.start, end=row.end, options=options
        )
        record: Record = {
            "id": row.id,
            "line": row.line,
            "status": "ok",
            "error": None,
            "video": row.video,
            "question": row.question,
            "k": k,
            "meta": row.meta,
            "selection": selection.to_dict(images="none"),
        }
        if self.assistant is not None:
            try:
                record["answer"] = self.assistant.answer(row.question, selection).to_dict()
            except GensToolsError as exc:
                record.update(status="error", error=f"{type(exc).__name__}: {' '.join(str(exc).split())}")
        record["seconds"] = round(time.perf_counter() - t0, 4)
        record["worker"] = os.getpid()
        return record

    def close(self) -> None:
        """Release the sampler and the assistant."""
        self.sampler.close()
        if self.assistant is not None:
            self.assistant.close()
