"""A LlamaIndex agent that watches a video through gens-tools: it asks for the relevant frames, looks at them,
zooms in, and answers with timestamps.

The agent (gpt-4o by default) is a ``GenSFunctionAgent`` — a ``FunctionAgent`` that moves the frames a tool
returns into a user message after the tool result, because OpenAI Chat Completions drops images from tool
messages — with the ``video_frames`` tool of ``GenSToolSpec``: the frames relevant to its question (GenS, or
evenly spaced frames with ``--sampler uniform``), each shown beside its timestamp and relevance score. It asks
two questions about the same video; for the second it passes a time range (``start``/``end``).

Run::

    pip install -e . -e 'integrations/llama-index[openai]'
    export OPENAI_API_KEY=...
    python examples/llamaindex_agent.py                      # generates a 3-minute demo video
    python examples/llamaindex_agent.py --video talk.mp4 --sampler gens-3b \\
        --question "What is the talk about?" --question "What is on the slide between 12:00 and 13:30?"

``OPENAI_BASE_URL`` points it at another endpoint (an OpenAI-compatible server). Without a key (or without
``llama-index-llms-openai``) it explains what it would do and runs ``video_frames`` once on its own, printing
what the agent would read. A folder of frame images named ``frame_0000.jpg…`` works with ``--frame-rate``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

if importlib.util.find_spec("llama_index.tools.gens") is None:  # running from a source checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integrations" / "llama-index"))

DEMO_QUESTIONS = [
    "What different scenes does the video show, and at what times does each begin?",
    "Look only between 0:45 and 1:21 (pass start and end): what moves there, and how?",
]
SYSTEM_PROMPT = (
    "You answer questions about one video with the video_frames tool: it returns the frames most relevant to "
    "your question with their timestamps and relevance scores, and the frames themselves follow as images. "
    "When the user names a part of the video, pass it as start and end; to look closer at a moment, call it "
    "again with start and end around it. Cite timestamps (mm:ss) in your answers."
)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package is missing
        return False


def _explain(reason: str, args: argparse.Namespace, video: Path) -> int:
    from llama_index.tools.gens import GenSToolSpec

    from gens_tools import AccessPolicy, GensToolsError

    print(f"Not running the agent: {reason}.")
    print("It would give a GenSFunctionAgent the video_frames tool; this is what the tool returns on its own:\n")
    question = (args.question or DEMO_QUESTIONS)[0]
    try:
        spec = GenSToolSpec(
            AccessPolicy.allow([video.parent]),
            sampler=args.sampler,
            video=video,
            include_images=False,
            frame_rate=args.frame_rate,
        )
    except GensToolsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    (tool,) = spec.to_tool_list()
    print(f"--- {tool.metadata.name}(question={question!r})")
    print(tool.call(question=question).content)
    return 0


async def _run(args: argparse.Namespace, video: Path) -> int:
    from llama_index.core.agent.workflow import ToolCallResult
    from llama_index.core.workflow import Context
    from llama_index.llms.openai import OpenAI
    from llama_index.tools.gens import GenSFunctionAgent, GenSToolSpec

    from gens_tools import AccessPolicy, GensToolsError

    try:
        spec = GenSToolSpec(
            AccessPolicy.allow([video.parent], max_k=32),
            sampler=args.sampler,
            video=video,
            default_k=args.k,
            model=args.model,
            frame_rate=args.frame_rate,
        )
    except GensToolsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    # llama-index reads OPENAI_API_BASE, the openai SDK OPENAI_BASE_URL: honour the SDK's name too.
    llm = OpenAI(model=args.model, api_base=os.environ.get("OPENAI_BASE_URL") or None, max_retries=1)
    agent = GenSFunctionAgent(tools=spec.to_tool_list(["video_frames"]), llm=llm, system_prompt=SYSTEM_PROMPT)
    ctx = Context(agent)  # one conversation: the second question can build on the first
    for question in args.question or DEMO_QUESTIONS:
        print(f"\n=== {question}")
        try:
            handler = agent.run(user_msg=question, ctx=ctx)
            async for event in handler.stream_events():
                if isinstance(event, ToolCallResult):
                    flag = " (error)" if event.tool_output.is_error else ""
                    print(f"--- {event.tool_name}({event.tool_kwargs}){flag}")
                    print("    " + event.tool_output.content.splitlines()[0])
            print(f">>> {await handler}")
        except Exception as exc:  # the provider's errors (no network, a bad key…): one line, not a traceback
            print(f"error: the agent stopped: {one_line(exc)}", file=sys.stderr)
            return 1
    return 0


def one_line(exc: BaseException) -> str:
    """An error as one line: its type and the first line of its message (and of its cause's, if any)."""
    text = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}".rstrip(": ")
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause).strip() and str(cause).strip() not in text:
        text += f" ({type(cause).__name__}: {str(cause).strip().splitlines()[0]})"
    return text


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, check for a key and run the agent."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", help="video file (default: a generated 3-minute demo video)")
    parser.add_argument("--question", action="append", help="a question (repeat for more; default: two demo questions)")
    parser.add_argument("--model", default="gpt-4o", help="OpenAI model of the agent")
    parser.add_argument("--sampler", default="uniform", help="gens-tools sampler: uniform, gens-3b, gens, remote")
    parser.add_argument("-k", type=int, default=8, help="frames per tool call unless the model asks otherwise")
    parser.add_argument("--frame-rate", type=float, default=None, help="frames per second of a folder of frame images")
    args = parser.parse_args(argv)

    from gens_tools.synthetic import make_demo_video

    with tempfile.TemporaryDirectory() as tmp:
        if args.video:
            video = Path(args.video).expanduser().resolve()
        else:
            video = make_demo_video(Path(tmp) / "demo.mp4", size=(320, 180))
            print(f"Generated a demo video: {video}")
        if not os.environ.get("OPENAI_API_KEY", "").strip():
            return _explain("OPENAI_API_KEY is not set", args, video)
        if not _importable("llama_index.llms.openai"):
            return _explain(
                "llama-index-llms-openai is not installed (pip install llama-index-llms-openai)", args, video
            )
        return asyncio.run(_run(args, video))


if __name__ == "__main__":
    raise SystemExit(main())
