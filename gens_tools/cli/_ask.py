"""The ``gens-tools ask`` command: sample frames of a video and have GPT-4o or Gemini answer from them.

::

    gens-tools ask lecture.mp4 "When are the results shown?" --assistant gpt-4o
    gens-tools ask lecture.mp4 "…" --assistant gemini-2.5-flash --sampler gens-3b --json

    gens-tools ask lecture.mp4 "…" --agent --max-steps 4          # look, then look closer where unsure

Prints the answer, the timestamps it cites, and the planner's token estimate next to the provider's
reported usage (``--json``: all of it as one JSON object). With ``--agent`` the multi-step
:class:`~gens_tools.agent.VideoAgent` answers: each step is printed as it ends (range, grid, frames, the
answer and its confidence, what it looks at next), then the final answer (``--json``: the whole trace). Keys
come from ``OPENAI_API_KEY`` or ``GOOGLE_API_KEY``/``GEMINI_API_KEY`` (or ``--api-key-env NAME``) and are never
printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from typing import Any

from gens_tools.assistants import ProviderOption
from gens_tools.errors import GensToolsError, InvalidArgumentError


def register(subparsers: Any) -> None:
    """Add the ``ask`` subcommand to the CLI's subparsers (sets ``func=run``)."""
    from gens_tools.cli._main import add_sampler_options, add_selection_options, report_arg

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
        "or PROVIDER:NAME (openai:NAME, gemini:NAME…) for any other model",
    )
    g.add_argument(
        "--assistant-base-url",
        metavar="URL",
        help="another endpoint for the assistant (Azure/OpenAI-compatible server, proxy)",
    )
    g.add_argument(
        "--api-key-env",
        metavar="NAME",
        help="environment variable holding the API key (default: OPENAI_API_KEY, or "
        "GOOGLE_API_KEY/GEMINI_API_KEY for Gemini)",
    )
    g.add_argument("--image-side", type=int, metavar="PX", help="longest side of the images sent")
    g.add_argument("--max-frames", type=int, help="most frames sent to the assistant")
    g.add_argument("--context-window", type=int, help="override the model's context window (tokens)")
    g.add_argument("--max-output-tokens", type=int, help="cap on the answer's length")
    g.add_argument("--timeout", type=float, help="seconds per request attempt (default: 120)")
    g.add_argument("--max-retries", type=int, help="retries of rate limits/server errors (default: 3)")
    _add_provider_options(p)
    _add_agent_options(p)
    p.add_argument(
        "--json",
        action="store_true",
        help="print the answer and its figures as JSON (with --agent: the trace of every step)",
    )
    p.add_argument(
        "--report",
        type=report_arg,
        metavar="FILE",
        help="write a visual report of the frames and the answer, its cited frames highlighted: FILE.html or "
        "FILE.png (needs the report extra)",
    )
    p.set_defaults(func=run)


#: The agent's flags: (flag, dest, type, metavar, help). Given without --agent they are refused.
_AGENT_FLAGS: tuple[tuple[str, str, Any, str, str], ...] = (
    ("--max-steps", "agent_max_steps", int, "N", "most looks at the video (default: 3)"),
    ("--max-total-frames", "agent_max_frames", int, "N", "most frames sent to the assistant over all steps"),
    ("--max-tokens", "agent_max_tokens", int, "N", "most tokens (input + output) over all steps"),
    ("--max-seconds", "agent_max_seconds", float, "S", "most seconds for the whole run"),
    ("--min-confidence", "agent_min_confidence", float, "X", "confidence (0-1) at which to answer (default: 0.8)"),
    ("--zoom-fps", "agent_zoom_fps", float, "FPS", "grid of a closer look at a short range (default: 2)"),
    ("--zoom-k", "agent_zoom_k", int, "N", "frames per closer look (default: k, at most 16)"),
)


def _add_agent_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group(
        "agent",
        "answer in steps: when the assistant is unsure it names what to look at next, and that range is "
        "sampled more closely, until it is confident or a budget is spent",
    )
    g.add_argument("--agent", action="store_true", help="answer with the multi-step video agent")
    for flag, dest, kind, metavar, text in _AGENT_FLAGS:
        g.add_argument(flag, dest=dest, type=kind, metavar=metavar, default=None, help=text)


@dataclass(frozen=True, slots=True)
class _ProviderFlag:
    """A provider option (as first declared, choices merged) and the providers that take it."""

    option: ProviderOption
    providers: tuple[str, ...]

    @property
    def dest(self) -> str:
        return "provider_option_" + self.option.name


def _provider_flags() -> list[_ProviderFlag]:
    """One flag per provider option name, over every registered provider (choices merged)."""
    from gens_tools.assistants import assistant_providers

    by_name: dict[str, tuple[ProviderOption, list[str]]] = {}
    for provider, cls in assistant_providers().items():
        for option in cls.provider_options:
            first, providers = by_name.setdefault(option.name, (option, []))
            providers.append(provider)
            if first.choices is not None and option.choices is not None:
                merged = (*first.choices, *[c for c in option.choices if c not in first.choices])
                by_name[option.name] = (replace(first, choices=merged), providers)
    return [_ProviderFlag(option, tuple(providers)) for option, providers in by_name.values()]


def _add_provider_options(parser: argparse.ArgumentParser) -> None:
    """The registered providers' own options, each as ``--NAME`` (``--PROVIDER-NAME`` when a flag of that name
    is taken), with the provider classes' help text."""
    g = parser.add_argument_group("provider options (each applies to the providers named in its help)")
    flags: dict[str, str] = {}
    for item in _provider_flags():
        option = item.option
        for flag in (option.flag, f"--{item.providers[0]}-{option.flag[2:]}"):
            try:
                g.add_argument(
                    flag,
                    dest=item.dest,
                    type=option.type,
                    choices=option.choices,
                    metavar=option.metavar,
                    default=None,
                    help=f"{option.help} [{', '.join(item.providers)}]",
                )
            except argparse.ArgumentError:
                continue  # the flag belongs to another option: try the provider-prefixed form
            flags[option.name] = flag
            break
    parser.set_defaults(provider_option_flags=flags)


def _assistant_options(args: argparse.Namespace, provider: str, model: str) -> dict[str, Any]:
    """The constructor options the flags ask for; a provider option given for a provider that does not take
    it is refused."""
    from gens_tools.assistants._registry import provider_class

    options: dict[str, Any] = {
        "base_url": args.assistant_base_url,
        "api_key_env": args.api_key_env,
        "max_side": args.image_side,
        "max_frames": args.max_frames,
        "max_output_tokens": args.max_output_tokens,
        "timeout": args.timeout,
        "max_retries": args.max_retries,
    }
    if args.context_window is not None:
        options["budget"] = {"context_window": args.context_window}
    own = {option.name for option in provider_class(provider).provider_options}
    flags: dict[str, str] = getattr(args, "provider_option_flags", {})
    for item in _provider_flags():
        value = getattr(args, item.dest, None)
        if value is None:
            continue
        if item.option.name not in own:
            theirs = [flag for name, flag in flags.items() if name in own]
            takes = f"; its own options: {', '.join(theirs)}" if theirs else ""
            raise InvalidArgumentError(
                f"{flags[item.option.name]} does not apply to the {provider} assistant ({model}); it is an option of "
                f"{', '.join(item.providers)}{takes}"
            )
        options[item.option.name] = value
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
    shown = [f"{name}={value}" for name, value in (est.get("image_settings") or {}).items()]
    if est.get("max_side"):
        shown.append(f"≤{est['max_side']}px")
    setting = ", ".join(shown)
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


def _agent_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The agent's settings the flags ask for; refused without ``--agent``."""
    given = {dest: getattr(args, dest) for _, dest, *_ in _AGENT_FLAGS if getattr(args, dest, None) is not None}
    if given and not args.agent:
        flags = [flag for flag, dest, *_ in _AGENT_FLAGS if dest in given]
        raise InvalidArgumentError(f"{', '.join(flags)} {'needs' if len(flags) == 1 else 'need'} --agent")
    budget = {
        key: given.pop(f"agent_{key}")
        for key in ("max_steps", "max_frames", "max_tokens", "max_seconds")
        if f"agent_{key}" in given
    }
    settings: dict[str, Any] = {"budget": budget}
    for key in ("min_confidence", "zoom_fps", "zoom_k"):
        if f"agent_{key}" in given:
            settings[key] = given[f"agent_{key}"]
    if args.agent:
        from gens_tools.agent import VideoAgent
        from gens_tools.cli._main import reworded

        try:  # before any model loads
            VideoAgent.check_settings(**settings)
        except InvalidArgumentError as exc:
            agent_flags = {dest.removeprefix("agent_"): flag for flag, dest, *_ in _AGENT_FLAGS}
            raise reworded(exc, agent_flags) from None
    return settings


#: The assistant's constructor arguments and the ``ask`` flags that set them, for error messages.
_ASSISTANT_FLAGS = {
    "base_url": "--assistant-base-url",
    "api_key_env": "--api-key-env",
    "max_side": "--image-side",
    "max_frames": "--max-frames",
    "max_output_tokens": "--max-output-tokens",
    "timeout": "--timeout",
    "max_retries": "--max-retries",
    "budget.context_window": "--context-window",
}


def _make_assistant(args: argparse.Namespace, provider: str, model: str) -> Any:
    """The assistant the flags ask for; a bad value is reported with its flag (``--image-side must be…``)."""
    from gens_tools.assistants import make_assistant

    try:
        return make_assistant(args.assistant, **_assistant_options(args, provider, model))
    except InvalidArgumentError as exc:
        from gens_tools.cli._main import reworded

        flags = {**_ASSISTANT_FLAGS, **getattr(args, "provider_option_flags", {})}
        raise reworded(exc, flags) from None


def _confidence(value: float | None) -> str:
    return "unknown" if value is None else f"{value:g}"


def format_step(step: Any) -> str:
    """One agent step as a few lines: what was looked at, the answer and confidence, what comes next."""
    where = step.range_text()
    asked = f' for "{step.question}"' if step.index > 1 else ""
    shown = ", ".join(
        f"{f.label}" + ("" if f.score is None else f" ({f.score:g})") + ("" if f.sent else " [not sent]")
        for f in step.frames
    )
    lines = [f"step {step.index}: {where} at {step.fps:g} fps{asked}: {len(step.frames)} frames: {shown}"]
    lines.append(f"  answer (confidence {_confidence(step.confidence)}): {step.answer}")
    if step.look_next is not None:
        nxt = step.look_next
        parts = []
        if nxt.question:
            parts.append(f'"{nxt.question}"')
        if nxt.start is not None or nxt.end is not None:
            start = "" if nxt.start is None else f"{nxt.start:g}"
            end = "" if nxt.end is None else f"{nxt.end:g}"
            parts.append(f"{start}-{end}s")
        lines.append(f"  wants to look at: {' in '.join(parts)}")
    lines.extend(f"  note: {note}" for note in step.notes)
    lines.append(f"  tokens: {step.tokens:,}; {step.seconds:.1f}s")
    return "\n".join(lines)


def format_agent_result(result: Any) -> str:
    """The agent's final answer, why it stopped, what it cites and what it cost."""
    lines = ["", result.answer, ""]
    lines.append(("" if result.confident else "NOT CONFIDENT: ") + result.stop_message)
    lines.append("cited: " + (", ".join(result.cited_labels) if result.cited else "(no timestamps)"))
    who = f" ({result.provider} {result.model})" if result.provider else ""
    lines.append(
        f"steps: {len(result.steps)}; frames sent: {result.frames_sent}; tokens: {result.tokens:,}{who}; "
        f"{result.seconds:.1f}s"
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run ``ask``; errors are printed as one line on stderr with exit status 1."""
    try:
        return _run(args)
    except GensToolsError as exc:
        print(f"gens-tools ask: error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from gens_tools.assistants import provider_for
    from gens_tools.cli._main import check_video, options_from_args, progress_bars, sampler_from_args, say_notices
    from gens_tools.qa import VideoQA

    agent_settings = _agent_settings(args)
    if args.report:
        from gens_tools.report import require_report_backend

        require_report_backend()  # a missing extra is reported before any request
    check_video(args)
    provider, model = provider_for(args.assistant)
    assistant = _make_assistant(args, provider, model)
    if args.agent:
        return _run_agent(args, assistant, agent_settings)
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
    say_notices(answer.notices)
    if args.report and answer.selection is not None:
        from gens_tools.report import save_report

        save_report(args.report, answer.selection, answer=answer)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_answer(answer))
        if args.report:
            print(f"wrote the report to {args.report}")
    return 0


def _run_agent(args: argparse.Namespace, assistant: Any, settings: dict[str, Any]) -> int:
    from gens_tools.agent import VideoAgent
    from gens_tools.cli._main import options_from_args, progress_bars, sampler_from_args, say_notices

    try:
        sampler = sampler_from_args(args)
    except BaseException:
        assistant.close()
        raise
    bars = progress_bars(args.quiet or args.json, force=args.progress)

    def show(step: Any) -> None:
        bars.close()  # finished bars off the screen before the step's lines
        print(format_step(step), flush=True)

    try:
        agent = VideoAgent(assistant, sampler, options=options_from_args(args), k=args.k, **settings)
        result = agent.ask(
            args.video,
            args.question,
            start=args.start,
            end=args.end,
            progress=bars,
            on_step=None if args.json else show,
        )
    finally:
        bars.close()
        sampler.close()
        assistant.close()
    first = result.steps[0].selection if result.steps else None
    say_notices(first.notices if first is not None else [])
    if args.report and first is not None:
        _agent_report(args.report, result)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_agent_result(result))
        if args.report:
            print(f"wrote the report to {args.report}")
    return 0


def _agent_report(path: str, result: Any) -> None:
    """The report of an agent's run: the range it started from, every frame any step chose, the steps as lanes,
    and the final answer with what it cites."""
    import dataclasses

    from gens_tools.report import save_report

    first = result.steps[0].selection
    seen: dict[float, Any] = {}
    for step in result.steps:
        for frame in step.selection.frames if step.selection is not None else ():
            seen.setdefault(round(frame.timestamp, 3), frame)
    merged = dataclasses.replace(first, frames=sorted(seen.values(), key=lambda f: f.timestamp))
    save_report(path, merged, answer=result, steps=result.steps)
