"""The frames reach a gpt-4o agent behind OpenAI Chat Completions: the real ``FunctionAgent`` machinery and the
real ``llama_index.llms.openai.OpenAI`` class (streaming, as agents use it) against the local fake OpenAI server,
which checks every request as the API does (tool messages answer the calls before them; images only in user
messages) and reads the time painted into each image it receives."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gens_tools import AccessPolicy
from gens_tools.synthetic import read_time_code
from gens_tools.testing import FakeOpenAI, Recorded, ToolCall
from llama_index.core.agent.workflow import FunctionAgent
from PIL import Image

from llama_index.tools.gens import FRAMES_NOTE, GenSFunctionAgent, GenSToolSpec

pytest.importorskip("llama_index.llms.openai")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect")

KEY = "sk-llama-test-0123456789"


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI(api_key=KEY, check_time_codes=True)
    yield fake
    fake.stop()


def _images(rec: Recorded) -> list[tuple[str, float]]:
    """(caption before it, painted time) for every image of the request, in order."""
    out = []
    for message in rec.body["messages"]:
        content = message.get("content")
        if not isinstance(content, list):
            continue
        caption = ""
        for part in content:
            if part["type"] == "text":
                caption = part["text"]
            elif part["type"] == "image_url":
                data = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
                with Image.open(io.BytesIO(data)) as img:
                    out.append((caption, read_time_code(img.convert("RGB"))))
    return out


def _answer_from_frames(rec: Recorded) -> str:
    seen = _images(rec)
    return "I saw " + ", ".join(f"{t:.0f}s" for _, t in seen) if seen else "I saw no frames."


async def _run(agent: Any, question: str) -> str:
    handler = agent.run(user_msg=question)
    return str(await handler)


def _agent(cls: type[FunctionAgent], server: FakeOpenAI, video: Path, sampler: Any) -> FunctionAgent:
    from llama_index.llms.openai import OpenAI

    llm = OpenAI(model="gpt-4o", api_key=KEY, api_base=server.base_url, max_retries=0)
    spec = GenSToolSpec(AccessPolicy.allow([video.parent], max_k=8), sampler=sampler, cache=False)
    return cls(tools=spec.to_tool_list(), llm=llm, system_prompt="You look at videos with video_frames.")


async def test_frames_reach_chat_completions_in_a_user_message(server: FakeOpenAI, video: Path, sampler: Any) -> None:
    server.script(
        ToolCall("video_frames", {"video": str(video), "question": "When does the ball bounce?", "k": 4}),
        _answer_from_frames,
    )
    answer = await _run(_agent(GenSFunctionAgent, server, video, sampler), "When does the ball bounce in clock.mp4?")

    assert server.violations == []
    first, second = server.requests
    assert first.body["stream"] is True
    assert first.body["tools"][0]["function"]["name"] == "video_frames"
    messages = second.body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "user"]
    tool = messages[3]
    assert isinstance(tool["content"], str)
    assert tool["content"].startswith("Frames of ")
    assert "- 4.0s [00:00:04.0] score 5" in tool["content"]
    assert tool["content"].endswith(FRAMES_NOTE)
    frames = _images(second)
    assert [c for c, _ in frames] == [
        "Frame at 4.0s [00:00:04.0] score 5",
        "Frame at 5.0s [00:00:05.0] score 5",
        "Frame at 12.0s [00:00:12.0] score 3",
        "Frame at 13.0s [00:00:13.0] score 4",
    ]
    for caption, painted in frames:
        assert painted == pytest.approx(float(re.match(r"Frame at ([\d.]+)s", caption).group(1)), abs=1e-3)  # type: ignore[union-attr]
    assert messages[4]["content"][0] == {"type": "text", "text": "Frames returned by video_frames:"}
    assert answer == "I saw 4s, 5s, 12s, 13s"


async def test_a_plain_function_agent_loses_the_frames(server: FakeOpenAI, video: Path, sampler: Any) -> None:
    """The gap GenSFunctionAgent closes: llama-index's OpenAI class sends only the text of a tool message."""
    server.script(ToolCall("video_frames", {"video": str(video), "question": "When?", "k": 4}), _answer_from_frames)
    answer = await _run(_agent(FunctionAgent, server, video, sampler), "When?")
    assert answer == "I saw no frames."
    assert [m["role"] for m in server.requests[1].body["messages"]] == ["system", "user", "assistant", "tool"]


async def test_a_refused_call_stays_text_and_the_agent_goes_on(server: FakeOpenAI, video: Path, sampler: Any) -> None:
    def after_refusal(rec: Recorded) -> Any:
        tool = rec.body["messages"][-1]
        assert tool["role"] == "tool"
        assert tool["content"].startswith("Access denied:")
        return ToolCall("video_frames", {"video": "clock.mp4", "question": "When?", "k": 2})

    server.script(
        ToolCall("video_frames", {"video": "/etc/hostname", "question": "When?"}), after_refusal, _answer_from_frames
    )
    answer = await _run(_agent(GenSFunctionAgent, server, video, sampler), "When?")
    assert server.violations == []
    assert answer == "I saw 4s, 5s"
    roles = [m["role"] for m in server.requests[2].body["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "tool", "user"]
