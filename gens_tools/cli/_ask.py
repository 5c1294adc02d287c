"""The ``gens-tools ask`` command: sample frames of a video and have GPT-4o or Gemini answer from them.

::

    gens-tools ask lecture.mp4 "When are the results shown?" --assistant gpt-4o
    gens-tools ask lecture.mp4 "…" --assistant gemini-2.5-flash --sampler gens-3b --json

Prints the answer, the timestamps it cites, and the planner's token estimate next to the provider's
reported usage (``--json``: all of it as one JSON object). Keys come from ``OPENAI_API_KEY`` or
``GOOGLE_API_KEY``/``GEMINI_API_KEY`` (or ``--api-key-env NAME``) and are never printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from gens_tools.errors import GensToolsError, InvalidArgumentError


def register(subparsers: Any) -> None:
    """Add the ``ask`` subcommand to the CLI's subparsers (sets ``func=run``)."""
    from gens_tools.cli._main import add_sampler_options, add_selection_options

    p = subparsers.add_parser(
        "ask",
        help="answer a question about a video with GPT-4o or Gemini, from the chosen frames",
        description="Sample the frames most relevant to QUESTION, send them (timestamped) to an assistant "
        "within its context limits, and print its answer with the timestamps it cites.",
    )
    add_selection_options(p, default_k=None)
    add_sampler_options(p)
    g = p.add_argument_group("assistant")
    g.add_argument(
        "--assistant",
        default="gpt-4o",
        help="model that answers: gpt-4o (default), gpt-4.1, gemini-2.5-flash, gemini (current Flash), "
        "or openai:NAME / gemini:NAME for any other model",
    )
    g.add_argument("--api", choices=["chat", "responses"], default=None,
                   help="OpenAI API to use (default: chat completions)")
    g.add_argument("--assistant-base-url", metavar="URL",
                   help="another endpoint for the assistant (Azure/OpenAI-compatible server, proxy)")
    g.add_argument("--api-key-env", metavar="NAME",
                   help="environment variable holding the API key (default: OPENAI_API_KEY, or "
                   "GOOGLE_API_KEY/GEMINI_API_KEY for Gemini)")
    g.add_argument("--detail", choices=["low", "high", "auto"], help="OpenAI image detail (default: planner)")
    g.add_argument("--media-resolution", choices=["low", "medium", "high", "ultra_high"],
                   help="Gemini 3 image resolution level (default: planner)")
    g.add_argument("--image-side", type=int, metavar="PX", help="longest side of the images sent")
    g.add_argument("--max-frames", type=int, help="most frames sent to the assistant")
    g.add_argument("--context-window", type=int, help="override the model's context window (tokens)")
    g.add_argument("--max-output-tokens", type=int, help="cap on the answer's length")
    g.add_argument("--timeout", type=float, help="seconds per request attempt (default: 120)")
    g.add_argument("--max-retries", type=int, help="retries of rate limits/server errors (default: 3)")
    p.add_argument("--json", action="store_true", help="print the answer and its figures as JSON")
    p.set_defaults(func=run)


def _assistant_options(args: argparse.Namespace, provider: str) -> dict[str, Any]:
    options: dict[str, Any] = {
        "base_url": args.assistant_base_url,
        "api_key_env": args.api_key_env,
        "max_side": args.image_side,
        "max_frames": args.max_frames,
        "max_output_tokens": args.max_output_tokens,
        "timeout": args.timeout,
        "max_retries": args.max_retries,
        "media_resolution": args.media_resolution,
    }
    if args.context_window is not None:
        options["budget"] = {"context_window": args.context_window}
    if provider == "openai":
        options["api"] = args.api
        options["detail"] = args.detail
    else:
        if args.detail:
            raise InvalidArgumentError("--detail applies to OpenAI models; use --media-resolution for Gemini")
        if args.api:
            raise InvalidArgumentError("--api applies to OpenAI models")
    return options


def _fmt(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def format_answer(answer: Any) -> str:
    """The human-readable report: answer, citations, frames sent, tokens estimated vs used."""
    lines = [answer.text, ""]
    if answer.citations:
        lines.append("cited: " + ", ".join(answer.cited_labels))
    else:
        lines.append("cited: (no timestamps)")
    unmatched = answer.unmatched_citations
    if unmatched:
        from gens_tools.frames import format_timestamp

        labels = ", ".join(format_timestamp(t, decimals=0) for t in unmatched)
        lines.append(f"note: the answer cites {labels}, which was not among the frames sent")
    frames = answer.frames
    est = answer.estimate
    setting = ", ".join(
        str(v) for v in (
            f"detail={est.get('detail')}" if est.get("detail") else None,
            f"media_resolution={est.get('media_resolution')}" if est.get("media_resolution") else None,
            f"≤{est.get('max_side')}px" if est.get("max_side") else None,
        ) if v
    )
    span = f" from {frames[0].label} to {frames[-1].label}" if frames else ""
    lines.append(f"frames sent: {len(frames)}{span}" + (f" ({setting})" if setting else ""))
    usage = answer.usage
    lines.append(
        f"tokens: estimated {_fmt(est.get('input_tokens'))} in; actual {_fmt(usage.input_tokens)} in / "
        f"{_fmt(usage.output_tokens)} out ({answer.provider} {answer.model})"
    )
    for note in est.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run ``ask``; errors are printed as one line on stderr with exit status 1."""
    try:
        return _run(args)
    except GensToolsError as exc:
        print(f"gens-tools ask: error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from gens_tools.assistants import make_assistant, provider_for
    from gens_tools.cli._main import check_video, options_from_args, progress_bars, sampler_from_args
    from gens_tools.qa import VideoQA

    check_video(args)
    provider, _ = provider_for(args.assistant)
    assistant = make_assistant(args.assistant, **_assistant_options(args, provider))
    try:
        sampler = sampler_from_args(args)
    except BaseException:
        assistant.close()
        raise
    bars = progress_bars(args.quiet or args.json, force=args.progress)
    qa = VideoQA(
        sampler,
        assistant,
        k=args.k,
        options=options_from_args(args),
    )
    try:
        answer = qa.ask(args.video, args.question, start=args.start, end=args.end, progress=bars)
    finally:
        bars.close()
        qa.close()
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_answer(answer))
    return 0
