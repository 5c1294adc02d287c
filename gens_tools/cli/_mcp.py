"""The ``gens-tools mcp`` command: serve gens-tools to MCP clients (Claude Desktop, IDE agents, agent SDKs).

::

    gens-tools mcp --allow ~/videos                                  # stdio (what desktop clients start)
    gens-tools mcp --allow ~/videos --allow https://cdn.example.com/v/ --sampler gens-3b --max-k 32
    gens-tools mcp --allow ~/videos --assistant gpt-4o               # adds ask_video (the multi-step agent)
    gens-tools mcp --allow ~/videos --http --port 8765               # streamable HTTP on 127.0.0.1

Nothing can be opened without ``--allow``; the caps (``--max-k``, ``--max-duration``) bound every call. Logs and
errors go to stderr (stdout is the protocol's, over stdio).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gens_tools.errors import GensToolsError


def register(subparsers: Any) -> None:
    """Add the ``mcp`` subcommand to the CLI's subparsers (sets ``func=run``)."""
    from gens_tools.cli._main import add_sampler_options, add_sampling_options

    p = subparsers.add_parser(
        "mcp",
        help="serve video_frames, video_info (and ask_video) to MCP clients",
        description="Serve gens-tools over the Model Context Protocol: video_frames (the frames most relevant to a "
        "question, as images beside their timestamps), video_info and, with --assistant, ask_video (a vision model "
        "answers, looking more closely where unsure). Stdio by default; --http serves streamable HTTP on 127.0.0.1.",
    )
    access = p.add_argument_group("access (nothing can be opened without --allow)")
    access.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="PATH_OR_URL_PREFIX",
        help="a folder whose videos may be opened, or an http(s) URL prefix (repeatable)",
    )
    access.add_argument("--max-k", type=int, default=32, help="most frames per call (default: 32)")
    access.add_argument(
        "--max-duration",
        type=float,
        metavar="SECONDS",
        help="longest stretch of video one call may search (default: no limit)",
    )
    access.add_argument("--video", help="bind the tools to this one video (the model then names none)")
    tools = p.add_argument_group("video_frames")
    tools.add_argument("--default-k", type=int, help="frames when the model gives no k (default: 8)")
    tools.add_argument(
        "--image-side",
        type=int,
        default=768,
        metavar="PX",
        help="longer side of the frames sent as images (default: 768)",
    )
    add_sampling_options(p)
    add_sampler_options(p)
    ask = p.add_argument_group("ask_video (offered when --assistant is given)")
    ask.add_argument("--assistant", help="model that answers: gpt-4o, gemini-2.5-flash, PROVIDER:NAME…")
    ask.add_argument("--assistant-base-url", metavar="URL", help="another endpoint for the assistant")
    ask.add_argument("--api-key-env", metavar="NAME", help="environment variable holding the assistant's API key")
    ask.add_argument(
        "--ask-k",
        type=int,
        metavar="N",
        help="frames of the agent's first look (default: what the assistant's planner suggests)",
    )
    ask.add_argument("--max-steps", type=int, default=3, help="most looks per question (default: 3)")
    ask.add_argument(
        "--min-confidence", type=float, default=0.8, help="confidence (0-1) at which the agent answers (default: 0.8)"
    )
    serve = p.add_argument_group("transport")
    serve.add_argument("--http", action="store_true", help="serve streamable HTTP on 127.0.0.1 instead of stdio")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default: 8000; 0 picks a free one)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``mcp``; configuration errors are printed as one line on stderr with exit status 1."""
    try:
        tools = build_tools(args)
    except GensToolsError as exc:
        print(f"gens-tools mcp: error: {exc}", file=sys.stderr)
        return 1
    import anyio

    from gens_tools.mcp import serve_http, serve_stdio

    if not args.allow:
        print("gens-tools mcp: no --allow given: every video will be refused", file=sys.stderr, flush=True)
    try:
        if args.http:
            anyio.run(lambda: serve_http(tools, port=args.port))
        else:
            anyio.run(serve_stdio, tools)
    except KeyboardInterrupt:
        pass
    finally:
        tools.frames.close()
        if tools.agent is not None:
            tools.agent.assistant.close()
    return 0


def _policy(args: argparse.Namespace) -> Any:
    from gens_tools._sources import is_url
    from gens_tools.agent import AccessPolicy
    from gens_tools.errors import InvalidArgumentError

    roots = [a for a in args.allow if not is_url(a)]
    prefixes = [a for a in args.allow if is_url(a)]
    if args.max_duration is not None and not args.max_duration > 0:
        raise InvalidArgumentError(f"--max-duration must be a positive number of seconds, got {args.max_duration}")
    return AccessPolicy.allow(roots, prefixes, max_duration=args.max_duration, max_k=args.max_k)


def build_tools(args: argparse.Namespace) -> Any:
    """The :class:`~gens_tools.mcp.VideoTools` the flags ask for (the SDK is not imported yet)."""
    from gens_tools.agent import VideoAgent, VideoFramesTool
    from gens_tools.cli._main import options_from_args, sampler_from_args
    from gens_tools.mcp import VideoTools

    policy = _policy(args)
    sampler = sampler_from_args(args)
    options = options_from_args(args)
    frames = VideoFramesTool(
        sampler, options=options, policy=policy, default_k=args.default_k, video=args.video, shows_images=True
    )
    agent = None
    if args.assistant:
        from gens_tools.assistants import make_assistant

        settings = {"base_url": args.assistant_base_url, "api_key_env": args.api_key_env}
        assistant = make_assistant(args.assistant, **{k: v for k, v in settings.items() if v is not None})
        agent = VideoAgent(
            assistant,
            frames.sampler,
            options=options,
            policy=policy,
            budget={"max_steps": args.max_steps},
            min_confidence=args.min_confidence,
            k=args.ask_k,
        )
    return VideoTools(frames, agent=agent, image_max_side=args.image_side)
