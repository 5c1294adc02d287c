"""Measuring frame samplers on multiple-choice long-video benchmarks.

- Benchmarks in their published formats (:func:`load_benchmark`: LongVideoBench, MLVU, Video-MME, and
  gens-tools' own JSON lines, which the synthetic benchmark of :mod:`gens_tools.synthetic` writes), each
  question an :class:`EvalItem`. Each reader's module docstring lists the fields it reads.
- :func:`run_eval`: a grid of samplers × assistants × K over the items, one record per cell appended to a
  JSON-lines file (an interrupted run resumes), with the letter read from each answer (:func:`parse_choice`),
  correctness, frame recall / precision against annotated spans, tokens sent and seconds.
- :func:`summarize`, :func:`markdown_table`, :func:`plot_summary` (matplotlib, the ``report`` extra),
  :func:`write_summary`.
- Interop with the GenS authors' evaluation code: selections written as their "rag file" (``rag_dir=`` of
  :func:`run_eval`, :func:`gens_tools.samplers.precomputed.write_rag_file`) and replayed with the
  ``precomputed`` sampler (:class:`gens_tools.samplers.precomputed.PrecomputedSampler`).

Example::

    from gens_tools.eval import load_benchmark, run_eval, write_summary

    items = load_benchmark("longvideobench", "LongVideoBench/lvb_val.json")
    records = run_eval(items, samplers=["uniform"], assistants=["gpt-4o"], ks=[30], results="out/results.jsonl")
    write_summary(records, "out")
"""

from __future__ import annotations

from gens_tools.eval._benchmarks import BENCHMARKS, load_benchmark
from gens_tools.eval._choice import parse_choice
from gens_tools.eval._harness import record_key, run_eval, sampler_query
from gens_tools.eval._items import ANSWER_INSTRUCTION, LETTERS, EvalItem, read_items, write_items
from gens_tools.eval._longvideobench import read_longvideobench
from gens_tools.eval._metrics import frame_precision, frame_recall
from gens_tools.eval._mlvu import duration_bucket, read_mlvu
from gens_tools.eval._summary import markdown_table, plot_summary, summarize, write_summary
from gens_tools.eval._videomme import read_videomme

__all__ = [
    "ANSWER_INSTRUCTION",
    "BENCHMARKS",
    "LETTERS",
    "EvalItem",
    "duration_bucket",
    "frame_precision",
    "frame_recall",
    "load_benchmark",
    "markdown_table",
    "parse_choice",
    "plot_summary",
    "read_items",
    "read_longvideobench",
    "read_mlvu",
    "read_videomme",
    "record_key",
    "run_eval",
    "sampler_query",
    "summarize",
    "write_items",
    "write_summary",
]
