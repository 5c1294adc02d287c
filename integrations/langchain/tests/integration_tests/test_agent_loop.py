"""A multi-step agent run offline: ``langchain.agents.create_agent`` with GenSVideoFramesTool and the frames
middleware, driven by a scripted tool-calling chat model that reads what it is sent.

The script does what a real model would: it asks for frames of the whole video, reads the best span from the
tool's text, asks again for a narrower range around it, then answers from the timestamps next to the images
it was shown. The tests check what reached the model: each frame as an image block in a user message right
after the tool results, labelled with the time that the picture itself encodes.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from gens_tools import FrameSelection
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from langchain_gens import GenSFramesMiddleware, GenSVideoFramesTool

QUESTION = "When is the event on screen?"
SPAN = re.compile(r"^- ([\d.]+)-([\d.]+)s \[[^\]]+\] score (\d+)$", re.M)
FRAME_LABEL = re.compile(r"^Frame at ([\d.]+)s \[")


def _image_pairs(message: BaseMessage) -> list[tuple[float, dict[str, Any]]]:
    """(labelled time, image block) for each image of a message, in order."""
    blocks = message.content
    assert isinstance(blocks, list)
    pairs = []
    for prev, block in itertools.pairwise(blocks):
        if isinstance(block, dict) and block.get("type") == "image":
            match = FRAME_LABEL.match(prev["text"])
            assert match, prev
            pairs.append((float(match.group(1)), block))
    return pairs


def _call(call_id: str, **args: Any) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": "video_frames", "args": args, "id": call_id}])


def zoom_script(video: str) -> Any:
    """Call the tool on the whole video, zoom into the best span, then answer."""

    def script(messages: list[BaseMessage]) -> AIMessage:
        results = [m for m in messages if isinstance(m, ToolMessage)]
        if not results:
            return _call("call_1", video=video, question=QUESTION)
        if len(results) == 1:
            start, end, _ = SPAN.findall(str(results[0].content))[0]  # best span first
            return _call(
                "call_2", video=video, question=QUESTION, start=float(start) - 1, end=float(end) + 1, k=3
            )
        shown = [m for m in messages if isinstance(m, HumanMessage) and isinstance(m.content, list)]
        times = [t for t, _ in _image_pairs(shown[-1])]
        return AIMessage("The event is on screen at " + ", ".join(f"{t:.1f}s" for t in times) + ".")

    return script


def _agent(tool: GenSVideoFramesTool, model: Any, **kwargs: Any) -> Any:
    from langchain.agents import create_agent

    return create_agent(model, [tool], middleware=[GenSFramesMiddleware()], **kwargs)


@pytest.fixture
def tool(video_root: Path, helpers: Any) -> GenSVideoFramesTool:
    return GenSVideoFramesTool(
        sampler=helpers.EventSampler(), allowed_roots=[video_root], max_k=8, default_k=5
    )


@pytest.mark.parametrize("use_async", [False, True], ids=["invoke", "ainvoke"])
async def test_two_tool_calls_then_an_answer(
    tool: GenSVideoFramesTool, helpers: Any, use_async: bool
) -> None:
    model = helpers.ScriptedChatModel(script=zoom_script("clip.mp4"))
    agent = _agent(tool, model)
    request = {"messages": [HumanMessage(f"{QUESTION} The video is clip.mp4.")]}
    state = await agent.ainvoke(request) if use_async else agent.invoke(request)

    # The model saw the tool with its schema, and was called three times.
    assert [t["function"]["name"] for t in model.bound_tools] == ["video_frames"]
    assert len(model.received) == 3

    # Second call: the model zoomed in around the best span it read in the first result (8-11 s).
    calls = [m for m in state["messages"] if isinstance(m, AIMessage) and m.tool_calls]
    assert calls[1].tool_calls[0]["args"] == {
        "video": "clip.mp4",
        "question": QUESTION,
        "start": 7.0,
        "end": 12.0,
        "k": 3,
    }
    results = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert [r.status for r in results] == ["success", "success"]
    assert all(isinstance(r.content, str) for r in results)  # tool messages stay text (OpenAI-safe)
    assert all(isinstance(r.artifact, FrameSelection) for r in results)
    assert (results[1].artifact.start, results[1].artifact.end) == (7.0, 12.0)

    # What reached the model on its last call: each tool result followed by a user message of its frames.
    last = model.received[-1]
    kinds = [type(m).__name__ for m in last]
    assert kinds == [
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "HumanMessage",
    ]
    first_frames, zoom_frames = _image_pairs(last[3]), _image_pairs(last[6])
    assert len(first_frames) == 5
    assert [t for t, _ in zoom_frames] == pytest.approx([8.0, 9.0, 10.0])
    assert [t for t, _ in first_frames] == pytest.approx(results[0].artifact.timestamps)
    for t, block in first_frames + zoom_frames:
        # The label beside each image is the time the picture itself shows.
        assert helpers.read_time_code(helpers.decode_image_block(block)) == pytest.approx(t, abs=1e-3)
    # The second model call already had the first frames; the state itself holds no image messages.
    assert len(_image_pairs(model.received[1][3])) == 5
    assert not any(isinstance(m, HumanMessage) and isinstance(m.content, list) for m in state["messages"])

    answer = state["messages"][-1]
    assert isinstance(answer, AIMessage)
    assert answer.content == "The event is on screen at 8.0s, 9.0s, 10.0s."


def refusing_script(video: str) -> Any:
    """Ask for a video, then report the tool's answer."""

    def script(messages: list[BaseMessage]) -> AIMessage:
        results = [m for m in messages if isinstance(m, ToolMessage)]
        if not results:
            return _call("call_1", video=video, question=QUESTION)
        return AIMessage(f"I could not look at it: {results[0].content}")

    return script


@pytest.mark.parametrize("where", ["absolute", "dotdot", "url"])
def test_refused_video_is_reported_to_the_model(
    tool: GenSVideoFramesTool, helpers: Any, video_root: Path, outside_video: Path, where: str
) -> None:
    import os

    video = {
        "absolute": str(outside_video),
        "dotdot": os.path.relpath(outside_video, video_root),
        "url": "https://attacker.example.com/v.mp4",
    }[where]
    model = helpers.ScriptedChatModel(script=refusing_script(video))
    state = _agent(tool, model).invoke({"messages": [HumanMessage(f"Look at {video}")]})

    assert len(model.received) == 2
    result = model.received[1][-1]
    assert isinstance(result, ToolMessage)
    assert result.status == "error"
    assert result.content.startswith("Access denied: ")
    assert result.artifact is None
    assert not any(isinstance(m, HumanMessage) and isinstance(m.content, list) for m in model.received[1])
    assert tool.frame_sampler.seen == []  # nothing was decoded or scored
    assert state["messages"][-1].content.startswith("I could not look at it: Access denied: ")


def test_frames_survive_a_checkpointed_conversation(video_root: Path, helpers: Any) -> None:
    """With a checkpointer (a persisted, multi-turn chat) and the JSON artifact, a later turn still shows
    the model the frames found earlier."""
    from langgraph.checkpoint.memory import InMemorySaver

    tool = GenSVideoFramesTool(
        sampler=helpers.EventSampler(), allowed_roots=[video_root], default_k=5, artifact_format="json"
    )
    model = helpers.ScriptedChatModel(script=zoom_script("clip.mp4"))
    agent = _agent(tool, model, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}}
    agent.invoke({"messages": [HumanMessage(QUESTION)]}, config)
    model.script = lambda messages: AIMessage("Still 8-11 s.")
    state = agent.invoke({"messages": [HumanMessage("Are you sure?")]}, config)

    stored = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert [type(m.artifact) for m in stored] == [dict, dict]  # plain JSON in the checkpoint
    final_request = model.received[-1]
    kinds = [type(m).__name__ for m in final_request]
    assert kinds[-3:] == ["HumanMessage", "AIMessage", "HumanMessage"]
    zoom = _image_pairs(final_request[6])
    assert [t for t, _ in zoom] == pytest.approx([8.0, 9.0, 10.0])
    for t, block in zoom + _image_pairs(final_request[3]):
        assert helpers.read_time_code(helpers.decode_image_block(block)) == pytest.approx(t, abs=1e-3)
