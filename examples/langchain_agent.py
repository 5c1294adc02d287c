"""A LangChain agent that watches a video through GenS: it asks for relevant frames, zooms in, and answers.

    pip install gens-tools "langchain-gens[agents,openai]"
    export OPENAI_API_KEY=...
    python examples/langchain_agent.py talk.mp4 "When does the speaker show the revenue chart?"

With no video argument a 3-minute demo video is generated (four captioned scenes; a red ball bounces from
0:45 to 1:21). ``--model`` takes any ``init_chat_model`` name, e.g. ``openai:gpt-4o``,
``google_genai:gemini-2.5-flash`` (``pip install langchain-google-genai``, ``GOOGLE_API_KEY``) or
``anthropic:claude-sonnet-4-5``. ``--sampler gens-3b`` runs GenS itself (``pip install 'gens-tools[local]'``);
the default ``uniform`` needs no model and just spreads frames evenly. A folder of frame images whose names do
not state times (``frame_0000.jpg…``) works too with ``--frame-rate``.

Without an API key the script says what is missing and runs the tool once on its own, printing what the
chat model would have read. ``OPENAI_BASE_URL`` points the OpenAI SDK at another endpoint; when the model cannot
be reached (no network, a bad key) the script says so in one line.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

if importlib.util.find_spec("langchain_gens") is None:  # running from a source checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integrations" / "langchain"))

SYSTEM_PROMPT = (
    "You answer questions about videos. Use the video_frames tool to look at a video: it returns the "
    "frames most relevant to your question with their timestamps and relevance scores, and the frames "
    "themselves follow as images. If the first look is not enough, call it again with start and end "
    "(seconds) around the most relevant span. Cite timestamps (mm:ss) in your answer."
)

#: Environment variables that hold the key for each provider prefix of --model.
KEYS = {
    "openai": ("OPENAI_API_KEY",),
    "google_genai": ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
    "anthropic": ("ANTHROPIC_API_KEY",),
}
PACKAGES = {"openai": "langchain-openai", "google_genai": "langchain-google-genai", "anthropic": "langchain-anthropic"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", help="a video file (default: a generated demo video)")
    parser.add_argument("question", nargs="?", default="When does the red ball appear, and what does it do?")
    parser.add_argument("--model", default="openai:gpt-4o", help="init_chat_model name (provider:model)")
    parser.add_argument("--sampler", default="uniform", help="gens-tools sampler: uniform, gens-3b, remote…")
    parser.add_argument("--k", type=int, default=8, help="frames per tool call unless the model asks otherwise")
    parser.add_argument("--max-side", type=int, default=512, help="longer side of frames sent to the model")
    parser.add_argument(
        "--frame-rate",
        type=float,
        default=None,
        help="frames per second of a folder of frame images named frame_0000.jpg…",
    )
    return parser.parse_args()


def missing_requirements(model: str) -> list[str]:
    """What keeps the real agent from running: the provider's key, its LangChain package, ``langchain``."""
    provider = model.split(":", 1)[0] if ":" in model else "openai"
    problems = []
    keys = KEYS.get(provider, ())
    if keys and not any(os.environ.get(k) for k in keys):
        problems.append(f"no API key: set {' or '.join(keys)}")
    package = PACKAGES.get(provider)
    if package and importlib.util.find_spec(package.replace("-", "_")) is None:
        problems.append(f"{package} is not installed: pip install {package}")
    if importlib.util.find_spec("langchain") is None:
        problems.append("langchain is not installed: pip install 'langchain-gens[agents]'")
    return problems


def main() -> int:
    args = parse_args()
    from langchain_gens import GenSVideoFramesTool

    from gens_tools import GensToolsError
    from gens_tools.synthetic import make_demo_video

    with tempfile.TemporaryDirectory() as tmp:
        if args.video:
            video = Path(args.video).expanduser().resolve()
        else:
            video = make_demo_video(Path(tmp) / "demo.mp4", size=(320, 180))
            print(f"Generated a demo video: {video}")
        try:
            tool = GenSVideoFramesTool(
                sampler=args.sampler,
                allowed_roots=[video.parent],
                default_k=args.k,
                max_k=max(32, args.k),
                image_max_side=args.max_side,
                frame_rate=args.frame_rate,
            )
        except (GensToolsError, ValueError) as exc:
            print(f"Cannot set up the frame tool: {exc}", file=sys.stderr)
            return 2

        problems = missing_requirements(args.model)
        if problems:
            print(f"The agent with {args.model} cannot run here:")
            for p in problems:
                print(f"  - {p}")
            print("\nThis is what the model would read from its first tool call:\n")
            message = tool.invoke(
                {
                    "type": "tool_call",
                    "id": "offline",
                    "name": tool.name,
                    "args": {"video": video.name, "question": args.question},
                }
            )
            print(message.content)
            if message.artifact is not None:
                print(f"\n…followed by {len(message.artifact.frames)} frames as images in a user message.")
            return 0

        from langchain.agents import create_agent
        from langchain_gens import GenSFramesMiddleware

        agent = create_agent(
            args.model, [tool], system_prompt=SYSTEM_PROMPT, middleware=[GenSFramesMiddleware(max_side=args.max_side)]
        )
        request = {"messages": [{"role": "user", "content": f"{args.question}\nVideo: {video.name}"}]}
        try:
            for update in agent.stream(request, stream_mode="updates"):
                for step in update.values():
                    for msg in (step or {}).get("messages", []):
                        for call in getattr(msg, "tool_calls", None) or []:
                            print(f"→ {call['name']}({call['args']})")
                        if msg.type == "tool":
                            text = msg.content.splitlines()[0] if isinstance(msg.content, str) else msg.content
                            print(f"← {text}")
                        elif msg.type == "ai" and msg.content:
                            print(f"\n{msg.content}")
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


if __name__ == "__main__":
    sys.exit(main())
