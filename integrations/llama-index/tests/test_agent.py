"""A real LlamaIndex FunctionAgent workflow, driven offline by MockFunctionCallingLLM: the scripted model reads
the tool results it gets back and decides its next call from them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from gens_tools import AccessPolicy
from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.base.llms.types import ChatMessage, ImageBlock, TextBlock, ToolCallBlock
from llama_index.core.llms.mock import MockFunctionCallingLLM

from llama_index.tools.gens import GenSAskVideoTool, GenSToolSpec, GenSVideoQueryEngine

# FunctionAgent's workflow engine walks the agent's attributes with inspect.getmembers, which trips pydantic's
# deprecation warnings for every agent (nothing of ours); keep the output readable.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect")

_FRAME_LINE = re.compile(r"^- ([\d.]+)s \[[^\]]+\] score (\d+)$", re.M)


def _call(name: str, **kwargs: Any) -> ChatMessage:
    return ChatMessage(
        role="assistant",
        blocks=[ToolCallBlock(tool_call_id=f"call-{len(kwargs)}-{name}", tool_name=name, tool_kwargs=kwargs)],
    )


def _tool_messages(messages: list[ChatMessage]) -> list[ChatMessage]:
    return [m for m in messages if m.role.value == "tool"]


async def _run(agent: FunctionAgent, question: str) -> tuple[str, list[ToolCallResult]]:
    handler = agent.run(user_msg=question)
    results = [ev async for ev in handler.stream_events() if isinstance(ev, ToolCallResult)]
    final = await handler
    return str(final), results


async def test_agent_looks_twice_zooming_into_the_best_moment(
    video: Path, policy: AccessPolicy, sampler: Any, fakes: Any
) -> None:
    seen: list[list[ChatMessage]] = []

    def model(messages: list[ChatMessage], **kwargs: Any) -> ChatMessage:
        seen.append(list(messages))
        tools = _tool_messages(messages)
        if not tools:
            return _call("video_frames", video=str(video), question="When does the ball bounce?", k=4)
        if len(tools) == 1:
            # read the scores the tool reported and zoom into the best-scored moment
            found = [(float(t), int(score)) for t, score in _FRAME_LINE.findall(tools[0].content or "")]
            best = max(found, key=lambda x: (x[1], -x[0]))[0]
            return _call(
                "video_frames",
                video=str(video),
                question="Show the bounce closely",
                start=f"0:{int(best):02d}",
                end=best + 3,
                k=2,
            )
        # final answer: the times painted in the pictures of the last tool result
        images = [b for b in tools[-1].blocks if isinstance(b, ImageBlock)]
        times = sorted(fakes.read_block_time(b) for b in images)
        return ChatMessage(role="assistant", content="The bounce is at " + ", ".join(f"{t:.0f}s" for t in times))

    agent = FunctionAgent(
        tools=GenSToolSpec(policy, sampler=sampler, cache=False).to_tool_list(),
        llm=MockFunctionCallingLLM(response_generator=model),
        system_prompt="You look at videos with the video_frames tool.",
    )
    answer, results = await _run(agent, "When does the ball bounce in clock.mp4?")

    assert [r.tool_name for r in results] == ["video_frames", "video_frames"]
    assert not any(r.tool_output.is_error for r in results)
    assert results[1].tool_kwargs["start"] == "0:04"
    assert results[1].tool_kwargs["end"] == 7.0
    # the second call's frames really lie in the narrowed range
    second = results[1].tool_output.raw_output.selection
    assert second.timestamps == [4.0, 5.0]
    assert second.start == 4.0
    assert second.end == 7.0
    assert answer == "The bounce is at 4s, 5s"
    # the model received the frames as image blocks in the tool messages, each after its timestamp
    last_tool = _tool_messages(seen[-1])[-1]
    kinds = [type(b).__name__ for b in last_tool.blocks]
    assert kinds == ["TextBlock", "TextBlock", "ImageBlock", "TextBlock", "ImageBlock"]
    assert [b.text for b in last_tool.blocks if isinstance(b, TextBlock)][1:] == [
        "Frame at 4.0s [00:00:04.0] score 5",
        "Frame at 5.0s [00:00:05.0] score 5",
    ]


async def test_refused_path_is_told_to_the_agent_which_recovers(
    video: Path, policy: AccessPolicy, sampler: Any
) -> None:
    def model(messages: list[ChatMessage], **kwargs: Any) -> ChatMessage:
        tools = _tool_messages(messages)
        if not tools:
            return _call("video_frames", video="/etc/passwd", question="what is in it?")
        if len(tools) == 1:
            if "Access denied" in (tools[0].content or ""):
                return _call("video_frames", video="clock.mp4", question="what is in it?", k=1)  # relative to the root
            return ChatMessage(role="assistant", content="unexpected: the refused call succeeded")
        return ChatMessage(role="assistant", content="Recovered: " + (tools[-1].content or "").splitlines()[0])

    agent = FunctionAgent(
        tools=GenSToolSpec(policy, sampler=sampler, cache=False).to_tool_list(),
        llm=MockFunctionCallingLLM(response_generator=model),
    )
    answer, results = await _run(agent, "Look at /etc/passwd")

    assert results[0].tool_output.is_error
    assert results[0].tool_output.content.startswith("Access denied: '/etc/passwd' is outside the allowed folders")
    assert not results[1].tool_output.is_error
    assert answer == 'Recovered: Frames of clock.mp4 for "what is in it?" (sampler: hotspots).'
    assert sampler.calls
    assert all(q == "what is in it?" for _, q in sampler.calls)


async def test_agent_with_the_query_engine_tool(video: Path, policy: AccessPolicy, sampler: Any, fakes: Any) -> None:
    vision = fakes.FrameReadingLLM()
    engine = GenSVideoQueryEngine.from_video(video, vision, sampler=sampler, k=2, policy=policy, cache=False)

    def model(messages: list[ChatMessage], **kwargs: Any) -> ChatMessage:
        tools = _tool_messages(messages)
        if not tools:
            return _call("ask_video", question="What happens first?")
        if len(tools) == 1:
            return _call("ask_video", question="And after ten seconds?", start=10, end=20)
        return ChatMessage(role="assistant", content=" | ".join((t.content or "").splitlines()[0] for t in tools))

    llm = MockFunctionCallingLLM(response_generator=model)
    agent = FunctionAgent(tools=[GenSAskVideoTool.from_engine(engine)], llm=llm)
    answer, results = await _run(agent, "Tell me about the video")

    assert [r.tool_kwargs for r in results] == [
        {"question": "What happens first?"},
        {"question": "And after ten seconds?", "start": 10, "end": 20},
    ]
    assert answer == "I looked at [00:00:04], [00:00:05] | I looked at [00:00:12], [00:00:13]"
    # the vision model got the frames in a user message (where every chat API accepts images)
    assert len(vision.requests) == 2
    assert all(r[-1].role.value == "user" for r in vision.requests)
