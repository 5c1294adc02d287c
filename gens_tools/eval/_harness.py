"""The evaluation harness: every item through a grid of samplers × assistants × K, one result record each.

For each item and sampler the window scores are computed once (:class:`~gens_tools.eval._memo.ScoreMemo`) and
the frames chosen at every K from them; each assistant then answers from each K's frames. A record holds the
chosen frames, the letter read from the answer (:func:`~gens_tools.eval.parse_choice`), whether it is
correct, frame recall / precision against annotated spans, tokens sent and seconds. Records are appended to a
JSON-lines file as they are made; a second run over the same file skips every (item, sampler, assistant, K)
already there, so an interrupted evaluation resumes.

Time per question counts the sampler's scoring in full for every K, as if each K had run alone.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from gens_tools.batch._jsonl import Record, ResultLog
from gens_tools.batch._specs import NO_ASSISTANT, Spec
from gens_tools.errors import GensToolsError, InvalidArgumentError
from gens_tools.eval._choice import parse_choice
from gens_tools.eval._items import EvalItem, check_unique_ids
from gens_tools.eval._memo import ScoreMemo
from gens_tools.eval._metrics import frame_precision, frame_recall
from gens_tools.options import SamplingOptions
from gens_tools.samplers._base import FrameSampler
from gens_tools.samplers.precomputed import PrecomputedSampler, rag_record

if TYPE_CHECKING:
    from gens_tools.assistants._base import Assistant
    from gens_tools.frames import FrameSelection

Query = Literal["question", "question+options"]
SamplerArg = FrameSampler | Spec | str
#: Called after each record with (records written or skipped so far, grid size).
GridProgress = Callable[[int, int], None]


def record_key(record: Mapping[str, Any]) -> Hashable:
    """What identifies a result: (item, sampler, assistant, K)."""
    return (record["item"], record["sampler"], record["assistant"], int(record["k"]))


def sampler_query(item: EvalItem, query: Query) -> str:
    """What the sampler is asked: the question alone, or the question then its options on one line each."""
    if query == "question":
        return item.question
    options = "\n".join(f"{letter}. {text}" for letter, text in zip(item.letters, item.options, strict=True))
    return f"{item.question}\n{options}"


@dataclass(slots=True)
class _Named:
    label: str
    value: Any
    owned: bool = False  # built here from a spec, so closed here


def _samplers(samplers: Sequence[SamplerArg] | Mapping[str, SamplerArg]) -> list[_Named]:
    pairs = list(samplers.items()) if isinstance(samplers, Mapping) else [(None, s) for s in samplers]
    out = []
    for label, s in pairs:
        spec = Spec.parse(s) if isinstance(s, str) else s
        if isinstance(spec, Spec):
            out.append(_Named(label or spec.label, spec.build_sampler(), owned=True))
        elif isinstance(spec, FrameSampler):
            out.append(_Named(label or spec.name, spec))
        else:
            raise InvalidArgumentError(f"a sampler must be a FrameSampler, a Spec or a name, got {s!r}")
    return _unique(out, "sampler")


def _assistants(assistants: Sequence[Any] | Mapping[str, Any]) -> list[_Named]:
    from gens_tools.assistants._base import Assistant

    pairs = list(assistants.items()) if isinstance(assistants, Mapping) else [(None, a) for a in assistants]
    out = []
    for label, a in pairs:
        spec = Spec.parse(a) if isinstance(a, str) else a
        if spec is None:
            out.append(_Named(label or NO_ASSISTANT, None))
        elif isinstance(spec, Spec):
            out.append(_Named(label or spec.label, spec.build_assistant(), owned=True))
        elif isinstance(spec, Assistant):
            out.append(_Named(label or spec.model, spec))
        else:
            raise InvalidArgumentError(f"an assistant must be an Assistant, a Spec, a name or None, got {a!r}")
    return _unique(out, "assistant")


def _unique(named: list[_Named], what: str) -> list[_Named]:
    labels = [n.label for n in named]
    if not named:
        raise InvalidArgumentError(f"name at least one {what}")
    if len(set(labels)) != len(labels):
        raise InvalidArgumentError(f"two {what}s have the same label; give them distinct labels")
    return named


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _safe_name(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_") or "sampler"


class _RagFiles:
    """One rag file per (sampler, K) under a folder, appended to as selections are made."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def add(self, sampler: str, k: int, selection: FrameSelection) -> None:
        if self.folder is None:
            return
        import json

        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / f"{_safe_name(sampler)}-k{k}.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(rag_record(selection), ensure_ascii=False) + "\n")


def _base_record(item: EvalItem, sampler: str, assistant: str, k: int) -> Record:
    return {
        "item": item.id,
        "benchmark": item.benchmark,
        "sampler": sampler,
        "assistant": assistant,
        "k": k,
        "category": item.category,
        "duration_bucket": item.duration_bucket,
        "answer": item.answer,
    }


def _selection_fields(item: EvalItem, selection: FrameSelection, sample_seconds: float) -> Record:
    times = selection.timestamps
    step = 1.0 / selection.fps
    return {
        "frames": [round(t, 3) for t in times],
        "scores": [f.score for f in selection.frames],
        "frame_recall": frame_recall(times, item.relevant_spans, step),
        "frame_precision": frame_precision(times, item.relevant_spans, step),
        "sample_seconds": round(sample_seconds, 4),
        "notices": list(selection.notices),
    }


def _answer_fields(item: EvalItem, assistant: Assistant, selection: FrameSelection) -> Record:
    t0 = time.perf_counter()
    answer = assistant.answer(item.prompt(), selection)
    seconds = time.perf_counter() - t0
    predicted = parse_choice(answer.text, item.options)
    return {
        "response": answer.text,
        "predicted": predicted,
        "correct": None if item.answer is None else predicted == item.answer,
        "input_tokens": answer.usage.input_tokens,
        "output_tokens": answer.usage.output_tokens,
        "estimated_input_tokens": answer.estimate.get("input_tokens"),
        "frames_sent": len(answer.frames),
        "answer_seconds": round(seconds, 4),
    }


def run_eval(
    items: Sequence[EvalItem],
    *,
    samplers: Sequence[SamplerArg] | Mapping[str, SamplerArg],
    assistants: Sequence[Any] | Mapping[str, Any] = (NO_ASSISTANT,),
    ks: Sequence[int] = (32,),
    results: str | os.PathLike[str],
    options: SamplingOptions | None = None,
    query: Query = "question+options",
    rag_dir: str | os.PathLike[str] | None = None,
    retry_errors: bool = False,
    progress: GridProgress | None = None,
) -> list[Record]:
    """Run ``items`` through every sampler × assistant × K and append one record each to ``results``.

    Args:
        items: the questions (from :func:`~gens_tools.eval.load_benchmark` or the synthetic benchmark).
        samplers: :class:`~gens_tools.FrameSampler` s, :class:`~gens_tools.batch.Spec` s or spec strings
            (``"uniform"``, ``"precomputed:path=rag.jsonl"``), as a list or a mapping label → sampler.
        assistants: assistants, specs or model names (``"gpt-4o"``); ``"none"`` (or ``None``) records the
            frame selection only, which costs no API call.
        ks: frame counts to try.
        results: the JSON-lines results file (appended to; records already there are skipped).
        options: how to sample (:class:`~gens_tools.SamplingOptions`).
        query: what the sampler is asked: ``"question+options"`` (default: the options tell a sampler what
            to look for) or ``"question"``.
        rag_dir: when given, every selection is also written there as the GenS authors' rag file, one file per
            sampler and K (``<sampler>-k<K>.jsonl``).
        retry_errors: run again the cells whose earlier record holds an error.
        progress: called with (records done, grid size) after each record.

    Returns every record of the grid (earlier ones read back from ``results``), in grid order.

    Raises:
        InvalidArgumentError: an empty grid, a bad K, two items with the same id, or two samplers /
            assistants with the same label.
    """
    if query not in ("question", "question+options"):
        raise InvalidArgumentError(f"query must be 'question' or 'question+options', got {query!r}")
    check_unique_ids(items, "items")
    k_values = sorted({int(k) for k in ks})
    if not k_values or any(k <= 0 for k in k_values):
        raise InvalidArgumentError(f"ks must hold positive frame counts, got {list(ks)!r}")
    sampler_list = _samplers(samplers)
    try:
        assistant_list = _assistants(assistants)
    except BaseException:
        _close(sampler_list)
        raise
    try:
        return _run_grid(
            items, sampler_list, assistant_list, k_values, results, options, query, rag_dir, retry_errors, progress
        )
    finally:
        _close(sampler_list + assistant_list)


def _close(named: list[_Named]) -> None:
    for n in named:
        if n.owned and n.value is not None:
            n.value.close()


def _run_grid(
    items: Sequence[EvalItem],
    sampler_list: list[_Named],
    assistant_list: list[_Named],
    k_values: list[int],
    results: str | os.PathLike[str],
    options: SamplingOptions | None,
    query: Query,
    rag_dir: str | os.PathLike[str] | None,
    retry_errors: bool,
    progress: GridProgress | None,
) -> list[Record]:
    opts = SamplingOptions.build(options)
    rag = _RagFiles(None if rag_dir is None else Path(rag_dir))
    total = len(items) * len(sampler_list) * len(assistant_list) * len(k_values)
    done = 0
    keys: list[Hashable] = []
    with ResultLog(results, record_key) as log:

        def pending(item: EvalItem, s: str, a: str, k: int) -> bool:
            old = log.done.get((item.id, s, a, k))
            return old is None or (retry_errors and bool(old.get("error")))

        for item in items:
            for named in sampler_list:
                cells = [(k, a) for k in k_values for a in assistant_list if pending(item, named.label, a.label, k)]
                for k in k_values:
                    keys += [(item.id, named.label, a.label, k) for a in assistant_list]
                done += len(k_values) * len(assistant_list) - len(cells)
                if not cells:
                    continue
                for record in _run_item(item, named, cells, opts, query, rag):
                    log.append(record)
                    done += 1
                    if progress is not None:
                        progress(done, total)
        return [log.done[key] for key in keys if key in log.done]


def _run_item(
    item: EvalItem,
    sampler: _Named,
    cells: list[tuple[int, _Named]],
    options: SamplingOptions,
    query: Query,
    rag: _RagFiles,
) -> Iterator[Record]:
    """The records of one item and one sampler, for the (K, assistant) cells still to do, as each is made."""
    from gens_tools.pipeline._sample import sample_frames

    inner: FrameSampler = sampler.value
    if isinstance(inner, PrecomputedSampler):
        inner = inner.for_video(item.video)
    memo = ScoreMemo(inner)
    first_score_seconds = 0.0
    for k in sorted({k for k, _ in cells}):
        wanted = [a for kk, a in cells if kk == k]
        t0 = time.perf_counter()
        try:
            selection = sample_frames(item.video, sampler_query(item, query), sampler=memo, k=k, options=options)
        except (GensToolsError, OSError) as exc:
            message = _error_text(exc)
            for a in wanted:
                yield {**_base_record(item, sampler.label, a.label, k), "error": message}
            continue
        seconds = time.perf_counter() - t0
        if memo.reused:
            seconds += first_score_seconds
        else:
            first_score_seconds = selection.timings.get("score", 0.0)
        rag.add(sampler.label, k, selection)
        shared = _selection_fields(item, selection, seconds)
        for a in wanted:
            record = {**_base_record(item, sampler.label, a.label, k), **shared, "error": None}
            if a.value is not None:
                try:
                    record.update(_answer_fields(item, a.value, selection))
                except (GensToolsError, OSError) as exc:
                    record["error"] = _error_text(exc)
            record["seconds"] = round(record["sample_seconds"] + record.get("answer_seconds", 0.0), 4)
            yield record
