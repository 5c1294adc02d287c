"""The core multi-step video agent, with no agent framework: it looks at a video, answers with a confidence and,
when unsure, looks again more closely where the assistant says, until it is confident or out of budget.

    pip install 'gens-tools[openai]'          # or [gemini] for --assistant gemini-2.5-flash
    export OPENAI_API_KEY=...
    python examples/video_agent.py                                   # a generated 3-minute demo video
    python examples/video_agent.py --video talk.mp4 --sampler gens-3b \\
        --question "What is the total on the last slide?" --max-steps 4

Each step is printed as it ends: the range looked at and its grid, the frames (time and relevance score), the
answer with its confidence, and what the assistant wants to look at next. ``OPENAI_BASE_URL`` points the
OpenAI SDK at another endpoint (an OpenAI-compatible server). Without a key the script says what is missing and
shows the first look's frames, which needs no model.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

KEYS = {"openai": ("OPENAI_API_KEY",), "gemini": ("GOOGLE_API_KEY", "GEMINI_API_KEY")}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", help="a video file (default: a generated 3-minute demo video)")
    parser.add_argument("--question", default="When does the red ball appear, and what does it do?")
    parser.add_argument("--assistant", default="gpt-4o", help="gpt-4o, gpt-4.1, gemini-2.5-flash…")
    parser.add_argument("--sampler", default="uniform", help="gens-tools sampler: uniform, gens-3b, remote…")
    parser.add_argument("-k", type=int, default=8, help="frames of the first look")
    parser.add_argument("--max-steps", type=int, default=3, help="most looks")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from gens_tools import GensToolsError, sample_frames
    from gens_tools.agent import VideoAgent
    from gens_tools.assistants import make_assistant, provider_for
    from gens_tools.synthetic import make_demo_video

    with tempfile.TemporaryDirectory() as tmp:
        video = (
            Path(args.video).expanduser() if args.video else make_demo_video(Path(tmp) / "demo.mp4", size=(320, 180))
        )
        try:
            provider, _ = provider_for(args.assistant)
        except GensToolsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        keys = KEYS.get(provider, ())
        if keys and not any(os.environ.get(k, "").strip() for k in keys):
            print(f"Not running the agent: no API key ({' or '.join(keys)} is not set).")
            print("Its first look would show the assistant these frames:")
            try:
                selection = sample_frames(video, args.question, sampler=args.sampler, k=args.k)
            except GensToolsError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            for frame in selection.frames:
                score = "unscored" if frame.score is None else f"score {frame.score:g}"
                print(f"  {frame.label} ({score})")
            return 0

        def show(step: object) -> None:
            from gens_tools.agent import AgentStep

            assert isinstance(step, AgentStep)
            times = ", ".join(f.label for f in step.frames)
            confidence = "unknown" if step.confidence is None else f"{step.confidence:g}"
            print(f"step {step.index}: {step.range_text()} at {step.fps:g} fps, frames {times}")
            print(f"  answer (confidence {confidence}): {step.answer}")
            if step.look_next is not None:
                nxt = step.look_next
                print(f"  wants to look at: {nxt.question or '(same question)'} {nxt.start}-{nxt.end}s")

        try:
            with VideoAgent(
                make_assistant(args.assistant, max_retries=1),
                args.sampler,
                k=args.k,
                budget={"max_steps": args.max_steps},
            ) as agent:
                result = agent.ask(video, args.question, on_step=show)
        except GensToolsError as exc:  # a missing key, a provider down or unreachable, a refused answer…
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"\n{result.text}")
        print(f"cited: {', '.join(result.cited_labels) or '(none)'}; {result.stop_message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
