"""An MCP client using gens-tools' MCP server: it starts ``gens-tools mcp`` over stdio (as Claude Desktop or an
IDE agent would), lists its tools, asks ``video_info`` and ``video_frames`` about a video and writes the frames it
gets back — each beside its timestamp — to a folder. No model or key is needed for that.

    pip install 'gens-tools[mcp]'
    python examples/mcp_client.py                                   # a generated 3-minute demo video
    python examples/mcp_client.py --video ~/videos/talk.mp4 --question "When is the chart shown?" --out frames/
    OPENAI_API_KEY=... python examples/mcp_client.py --assistant gpt-4o   # also calls ask_video

With ``--assistant`` the server also offers ``ask_video`` (the multi-step agent: a vision model answers, looking
more closely where unsure) and the client calls it; ``OPENAI_BASE_URL`` (or ``--assistant-base-url``) points the
assistant at another endpoint. A server or model that cannot be reached is reported in one line.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sys
import tempfile
from pathlib import Path
from typing import Any


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", help="a video file (default: a generated 3-minute demo video)")
    parser.add_argument("--question", default="When does the red ball appear?")
    parser.add_argument("-k", type=int, default=4, help="frames to ask for")
    parser.add_argument("--out", help="write the frames here (default: a temporary folder)")
    parser.add_argument("--sampler", default="uniform", help="the server's sampler: uniform, gens-3b, remote…")
    parser.add_argument("--assistant", help="let the server answer with this model (ask_video), e.g. gpt-4o")
    parser.add_argument("--assistant-base-url", help="another endpoint for the assistant")
    return parser.parse_args(argv)


def _text(result: Any) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


async def run(args: argparse.Namespace, video: Path, out: Path) -> int:
    from mcp import ClientSession, StdioServerParameters, stdio_client
    from mcp.client.stdio import get_default_environment

    command = [sys.executable, "-m", "gens_tools", "mcp", "--allow", str(video.parent), "--sampler", args.sampler]
    if args.assistant:
        command += ["--assistant", args.assistant, "--ask-k", str(args.k)]
        if args.assistant_base_url:
            command += ["--assistant-base-url", args.assistant_base_url]
    # The server gets the default environment plus what the assistant needs (its key, an endpoint).
    env = get_default_environment()
    env.update({k: v for k, v in os.environ.items() if k.endswith(("_API_KEY", "_BASE_URL")) or k.startswith("XDG_")})
    params = StdioServerParameters(command=command[0], args=command[1:], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        print("tools:", ", ".join(tool.name for tool in tools.tools))

        info = await session.call_tool("video_info", {"video": video.name})
        print(f"\n--- video_info\n{_text(info)}")

        frames = await session.call_tool("video_frames", {"video": video.name, "question": args.question, "k": args.k})
        if frames.is_error:
            print(f"error: video_frames refused: {_text(frames)}", file=sys.stderr)
            return 1
        print(f"\n--- video_frames\n{frames.content[0].text}\n")
        out.mkdir(parents=True, exist_ok=True)
        caption = ""
        for n, block in enumerate(frames.content[1:]):
            if block.type == "text":
                caption = block.text
            elif block.type == "image":
                path = out / f"frame_{n // 2:02d}.jpg"
                path.write_bytes(base64.b64decode(block.data))
                print(f"{caption} -> {path}")

        if args.assistant:
            answer = await session.call_tool("ask_video", {"video": video.name, "question": args.question})
            if answer.is_error:
                print(f"error: ask_video: {_text(answer)}", file=sys.stderr)
                return 1
            print(f"\n--- ask_video\n{_text(answer)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import importlib.util

    if importlib.util.find_spec("mcp") is None:
        print("error: the MCP client needs the mcp package: pip install 'gens-tools[mcp]'", file=sys.stderr)
        return 1
    from gens_tools.synthetic import make_demo_video

    with tempfile.TemporaryDirectory() as tmp:
        video = (
            Path(args.video).expanduser().resolve()
            if args.video
            else make_demo_video(Path(tmp) / "demo.mp4", size=(320, 180))
        )
        out = Path(args.out) if args.out else Path(tmp) / "frames"
        try:
            return asyncio.run(run(args, video, out))
        except Exception as exc:  # the server could not start, or the connection broke: one line
            print(f"error: the MCP session failed: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
