"""A LlamaIndex FunctionAgent that answers questions about a video through gens-tools.

The agent (gpt-4o by default) gets one tool of ``GenSToolSpec``, ``ask_video``: a query engine that picks the
frames relevant to a question (GenS, or evenly spaced frames with ``--sampler uniform``), shows them with their
timestamps to the vision model and returns its answer with the timestamps it used. The agent asks two
questions about the same video; for the second it passes a time range (``start``/``end``), so only that part of
the video is searched.

Run::

    pip install -e . -e integrations/llama-index llama-index-llms-openai
    export OPENAI_API_KEY=...
    python examples/llamaindex_agent.py                      # generates a 3-minute demo video
    python examples/llamaindex_agent.py --video talk.mp4 --sampler gens-3b \\
        --question "What is the talk about?" --question "What is on the slide between 12:00 and 13:30?"

Without a key (or without ``llama-index-llms-openai``) it explains what it would do, runs the spec's other
tool, ``video_frames``, once on its own and prints what an agent would read from it.

Why ``ask_video`` and not ``video_frames`` (which returns ImageBlocks)? OpenAI Chat Completions accepts images
only in user messages, not in tool results, so a gpt-4o agent must have the frames shown to the vision model in
a separate request — which is what the query engine behind ``ask_video`` does. Agents on models that read images
in tool results can take ``video_frames`` instead. A folder of frame images named ``frame_0000.jpg…`` works
with ``--frame-rate``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

DEMO_QUESTIONS = [
    "What different scenes does the video show, and at what times does each begin?",
    "Look only between 0:45 and 1:21 (pass start and end): what moves there, and how?",
]


def _explain(reason: str, args: argparse.Namespace) -> int:
    print(f"Not running the agent: {reason}.\n")
    print(__doc__)
    print("What it would do:")
    print("  1. open (or generate) the video and build GenSToolSpec(policy, sampler=…, video=…, llm=OpenAI(model))")
    print("  2. give a FunctionAgent its ask_video tool (arguments: question, start?, end?)")
    print("  3. run the agent on two questions, the second restricted to a time range, printing each tool call,")
    print("     the frames the vision model saw and the final answers.")
    if not _importable("llama_index.tools.gens"):
        return 0
    from llama_index.tools.gens import GenSToolSpec

    from gens_tools import AccessPolicy, GensToolsError

    video = Path(args.video).expanduser().resolve() if args.video else _demo_video()
    question = (args.question or DEMO_QUESTIONS)[0]
    try:
        spec = GenSToolSpec(AccessPolicy.allow([video.parent]), sampler=args.sampler, video=video,
                            include_images=False, frame_rate=args.frame_rate)
    except GensToolsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    (tool,) = spec.to_tool_list()
    print(f"\nMeanwhile, the {tool.metadata.name} tool run on its own, as an agent would call it:")
    print(f"--- {tool.metadata.name}(question={question!r})")
    print(tool.call(question=question).content)
    return 0


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package is missing
        return False


def _demo_video() -> Path:
    from gens_tools.synthetic import make_demo_video

    path = Path(tempfile.gettempdir()) / "gens-tools-demo" / "demo.mp4"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"Writing a 3-minute demo video to {path} …")
        make_demo_video(path)
    return path


async def _run(args: argparse.Namespace) -> int:
    from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
    from llama_index.core.workflow import Context
    from llama_index.llms.openai import OpenAI
    from llama_index.tools.gens import GenSToolSpec

    from gens_tools import AccessPolicy, GensToolsError

    video = Path(args.video).expanduser().resolve() if args.video else _demo_video()
    questions = args.question or DEMO_QUESTIONS
    policy = AccessPolicy.allow([video.parent], max_k=64)
    try:
        spec = GenSToolSpec(
            policy, sampler=args.sampler, video=video, llm=OpenAI(model=args.model), ask_k=args.k,
            frame_rate=args.frame_rate,
        )
    except GensToolsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    agent = FunctionAgent(
        tools=spec.to_tool_list(["ask_video"]),
        llm=OpenAI(model=args.model),
        system_prompt=(
            "You answer questions about one video with the ask_video tool. When the user names a part of the "
            "video, pass it as start and end. Cite the timestamps the tool reports."
        ),
    )
    ctx = Context(agent)  # one conversation: the second question can build on the first
    for question in questions:
        print(f"\n=== {question}")
        handler = agent.run(user_msg=question, ctx=ctx)
        async for event in handler.stream_events():
            if isinstance(event, ToolCallResult):
                flag = " (error)" if event.tool_output.is_error else ""
                print(f"--- tool {event.tool_name}({event.tool_kwargs}){flag}")
                print("    " + event.tool_output.content.replace("\n", "\n    "))
        print(f">>> {await handler}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, check for a key and run the agent."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", help="video file (default: a generated 3-minute demo video)")
    parser.add_argument("--question", action="append", help="a question (repeat for more; default: two demo questions)")
    parser.add_argument("--model", default="gpt-4o", help="OpenAI model for the agent and the vision model")
    parser.add_argument("--sampler", default="uniform", help="gens-tools sampler: uniform, gens-3b, gens, remote")
    parser.add_argument("-k", type=int, default=None, help="frames per question (default: what the model can take)")
    parser.add_argument("--frame-rate", type=float, default=None, help="frames per second of a folder of frame images")
    args = parser.parse_args(argv)

    if not os.environ.get("OPENAI_API_KEY", "").strip():
        return _explain("OPENAI_API_KEY is not set", args)
    if not _importable("llama_index.llms.openai"):
        return _explain("llama-index-llms-openai is not installed (pip install llama-index-llms-openai)", args)
    if not _importable("llama_index.tools.gens"):
        return _explain("the integration is not installed (pip install -e integrations/llama-index)", args)
    return asyncio.run(_run(args))


if __name__ == "__main__":
    raise SystemExit(main())
