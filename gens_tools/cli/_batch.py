"""The ``gens-tools batch`` command: frame selections (and answers) for every row of a manifest.

::

    gens-tools batch manifest.jsonl --out results.jsonl --sampler uniform -k 16
    gens-tools batch manifest.jsonl --out results.jsonl --sampler remote:base_url=http://gens:8000/v1,model=gens \\
        --assistant gpt-4o --ray auto

The manifest is JSON lines (``video``, ``question``, optional ``id``, ``k``, ``start``, ``end``, ``options``,
``meta``); results are appended as JSON lines, so running the same command again resumes. Locally it uses a
process pool sized to the machine (one worker for samplers that load a model); ``--ray [ADDRESS]`` runs on a
Ray cluster (the ``ray`` extra).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``batch`` subcommand to the CLI's subparsers (sets ``func=run``)."""
    from gens_tools.cli._main import add_sampling_options

    p = subparsers.add_parser(
        "batch",
        help="choose frames (and answer) for every row of a JSON-lines manifest, locally or on Ray",
        description="Run each manifest row (video + question + per-row options) through a sampler and, with "
        "--assistant, an assistant; append one JSON line per row to --out (resumable).",
    )
    p.add_argument("manifest", help="JSON lines: video, question, and optional id, k, start, end, options, meta")
    p.add_argument("--out", required=True, metavar="FILE", help="results file (JSON lines, appended)")
    p.add_argument(
        "--sampler", default="uniform", metavar="SPEC", help="sampler, NAME or NAME:key=value,… (default: uniform)"
    )
    p.add_argument("--assistant", metavar="SPEC", help="assistant model that answers each question (default: none)")
    p.add_argument("-k", type=int, default=16, help="frames per row unless the row says (default: 16)")
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes or Ray actors (default: the machine's CPUs; 1 for in-process models)",
    )
    p.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="run on Ray: the cluster ADDRESS (auto, ray://host:10001…), or a local instance when no address is given",
    )
    p.add_argument("--cpus-per-worker", type=float, default=1.0, help="Ray CPUs per actor (default: 1)")
    p.add_argument(
        "--gpus-per-worker",
        type=float,
        default=0.0,
        help="Ray GPUs per actor, for samplers that run a model in-process (default: 0)",
    )
    p.add_argument("--retry-errors", action="store_true", help="run again the rows that failed before")
    p.add_argument("--rag-out", metavar="FILE", help="also append each selection to FILE as a GenS rag file")
    add_sampling_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--progress", action="store_true", help="progress bar even when stderr is not a terminal")
    p.add_argument("--json", action="store_true", help="print the run's report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the ``batch`` command."""
    from gens_tools.batch import BatchJob, Spec, run_batch
    from gens_tools.cli._main import options_from_args, progress_bars

    options = {k: v for k, v in options_from_args(args).to_dict().items()}
    job = BatchJob(
        sampler=Spec.parse(args.sampler),
        assistant=None if args.assistant in (None, "none") else Spec.parse(args.assistant),
        k=args.k,
        options=options,
    )
    bars = progress_bars(args.quiet, force=args.progress)
    try:
        report = run_batch(
            args.manifest,
            args.out,
            job,
            workers=args.workers,
            ray=args.ray is not None,
            ray_address=args.ray or None,
            cpus_per_worker=args.cpus_per_worker,
            gpus_per_worker=args.gpus_per_worker,
            retry_errors=args.retry_errors,
            rag_out=args.rag_out,
            progress=bars,
        )
    finally:
        bars.close()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(
            f"{report.ok} rows done, {report.errors} failed, {report.skipped} already done, in {report.seconds:.1f}s "
            f"({report.rows_per_second:.2f} rows/s, {report.executor}) -> {report.results}"
        )
    if report.errors:
        shown = ", ".join(report.error_ids[:5]) + (" …" if len(report.error_ids) > 5 else "")
        print(
            f"gens-tools: warning: {report.errors} row(s) failed ({shown}); see their 'error' in {report.results}",
            file=sys.stderr,
        )
    return 0
