"""The ``gens-tools eval`` command: a grid of samplers × assistants × K over a benchmark.

::

    gens-tools eval longvideobench LongVideoBench/lvb_val.json --sampler uniform \\
        --sampler remote:base_url=http://127.0.0.1:8000/v1,model=gens --assistant gpt-4o -k 30 --out runs/lvb
    gens-tools eval jsonl needles/items.jsonl --sampler uniform --assistant none -k 8 -k 32 --out runs/needles

Writes ``results.jsonl`` (one record per item and cell, appended as made: run the same command again to
resume), ``summary.json``, ``summary.md`` and ``summary.png`` (matplotlib, the ``report`` extra) into
``--out``, and prints the markdown table. ``--rag`` also writes every selection as the GenS authors' rag
files (``rag/<sampler>-k<K>.jsonl``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gens_tools.errors import BackendUnavailableError


def register(subparsers: Any) -> None:
    """Add the ``eval`` subcommand to the CLI's subparsers (sets ``func=run``)."""
    from gens_tools.cli._main import add_sampling_options
    from gens_tools.eval._benchmarks import BENCHMARKS

    p = subparsers.add_parser(
        "eval",
        help="measure samplers × assistants × K on a multiple-choice video benchmark",
        description="Run every question of a benchmark through each sampler, K and assistant; write one "
        "result per question and cell (resumable), then a summary (JSON, markdown, plot).",
    )
    p.add_argument("benchmark", choices=sorted(BENCHMARKS), help="the annotation file's format")
    p.add_argument("annotations", help="the annotation file (lvb_val.json, MLVU/json, videomme/test-….parquet, …)")
    p.add_argument("--videos", metavar="DIR", help="the benchmark's video folder (default: its published layout)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for results.jsonl and the summary")
    p.add_argument(
        "--sampler",
        action="append",
        metavar="SPEC",
        help="a sampler, NAME or NAME:key=value,… (repeatable; default: uniform), e.g. "
        "remote:base_url=http://127.0.0.1:8000/v1,model=gens or precomputed:path=rag.jsonl",
    )
    p.add_argument(
        "--assistant",
        action="append",
        metavar="SPEC",
        help="an assistant model, NAME or NAME:key=value,… (repeatable; default: none = frame "
        "selection only, no API calls), e.g. gpt-4o or gpt-4o:base_url=http://…/v1",
    )
    p.add_argument("-k", action="append", type=int, metavar="K", help="frames per question (repeatable; default 32)")
    p.add_argument(
        "--category",
        action="append",
        metavar="NAME",
        help="only questions of this category (repeatable), e.g. a LongVideoBench question_category",
    )
    p.add_argument("--limit", type=int, metavar="N", help="only the first N questions (after --category)")
    p.add_argument(
        "--query",
        choices=["question+options", "question"],
        default="question+options",
        help="what the sampler is asked (default: the question and its options)",
    )
    p.add_argument("--rag", action="store_true", help="also write each selection as the GenS authors' rag file")
    p.add_argument("--retry-errors", action="store_true", help="run again the cells that failed before")
    p.add_argument("--summary-only", action="store_true", help="summarise --out/results.jsonl without running")
    p.add_argument("--no-plot", action="store_true", help="skip summary.png")
    add_sampling_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--progress", action="store_true", help="progress bar even when stderr is not a terminal")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the ``eval`` command."""
    from gens_tools.batch._jsonl import read_records
    from gens_tools.cli._main import options_from_args
    from gens_tools.eval import load_benchmark, markdown_table, run_eval, summarize, write_summary

    out = Path(args.out)
    results = out / "results.jsonl"
    if args.summary_only:
        records = list(read_records(results))
        if not records:
            print(f"gens-tools: error: no results in {results}", file=sys.stderr)
            return 1
    else:
        items = load_benchmark(args.benchmark, args.annotations, video_root=args.videos)
        if args.category:
            items = [i for i in items if i.category in set(args.category)]
        if args.limit is not None:
            items = items[: max(0, args.limit)]
        bar = _bar(len(items), args)
        try:
            records = run_eval(
                items,
                samplers=args.sampler or ["uniform"],
                assistants=args.assistant or ["none"],
                ks=args.k or [32],
                results=results,
                options=options_from_args(args),
                query=args.query,
                rag_dir=out / "rag" if args.rag else None,
                retry_errors=args.retry_errors,
                progress=bar,
            )
        finally:
            bar.close()
    try:
        paths = write_summary(records, out, plot=not args.no_plot)
    except BackendUnavailableError as exc:
        print(f"gens-tools: warning: {exc}; wrote summary.json and summary.md only", file=sys.stderr)
        paths = {"json": out / "summary.json", "markdown": out / "summary.md"}
    print(markdown_table(summarize(records)), end="")
    print(f"wrote {', '.join(str(p) for p in paths.values())}", file=sys.stderr)
    return 0


class _Bar:
    """A tqdm bar over the grid's records (stderr, only when it is a terminal or asked for)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc="evaluating", unit="answer", file=sys.stderr, dynamic_ncols=True)
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _bar(n_items: int, args: argparse.Namespace) -> _Bar:
    return _Bar(enabled=n_items > 0 and not args.quiet and (args.progress or sys.stderr.isatty()))
