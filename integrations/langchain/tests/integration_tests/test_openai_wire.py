"""What OpenAI Chat Completions would actually receive: the real ``ChatOpenAI`` inside ``create_agent``,
talking to a fake HTTP endpoint (no network, no key).

Chat Completions takes images only in user messages, so the frames must arrive as ``image_url`` data-URL
parts of a ``user`` message after the ``tool`` message, and the ``tool`` message must be text.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from PIL import Image

from langchain_gens import GenSFramesMiddleware, GenSVideoFramesTool

pytest.importorskip("langchain_openai")
httpx = pytest.importorskip("httpx")


def _completion(message: dict[str, Any], finish: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class FakeOpenAI:
    """Answers Chat Completions requests like a model that calls the frame tool once, then answers."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []

    def __call__(self, request: Any) -> Any:
        body = json.loads(request.content)
        self.requests.append(body)
        self.paths.append(request.url.path)
        if not any(m["role"] == "tool" for m in body["messages"]):
            args = {"video": "clip.mp4", "question": "When is the event on screen?", "k": 3}
            call = {
                "id": "call_1",
                "type": "function",
                "function": {"name": "video_frames", "arguments": json.dumps(args)},
            }
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
            return httpx.Response(200, json=_completion(message, "tool_calls"))
        return httpx.Response(200, json=_completion({"role": "assistant", "content": "At 8-10 s."}, "stop"))


def test_frames_reach_chat_completions_as_user_image_parts(video_root: Path, helpers: Any) -> None:
    from langchain.agents import create_agent
    from langchain_openai import ChatOpenAI

    fake = FakeOpenAI()
    model = ChatOpenAI(
        model="gpt-4o",
        api_key="sk-test",
        base_url="http://fake-openai.test/v1",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(fake)),
    )
    tool = GenSVideoFramesTool(sampler=helpers.EventSampler(), allowed_roots=[video_root])
    agent = create_agent(model, [tool], middleware=[GenSFramesMiddleware()])
    state = agent.invoke({"messages": [HumanMessage("When is the event in clip.mp4?")]})

    assert state["messages"][-1].content == "At 8-10 s."
    assert fake.paths == ["/v1/chat/completions", "/v1/chat/completions"]
    assert fake.requests[0]["tools"][0]["function"]["name"] == "video_frames"
    sent = fake.requests[1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "user"]
    tool_msg, frames_msg = sent[2], sent[3]
    assert tool_msg["tool_call_id"] == "call_1"
    assert isinstance(tool_msg["content"], str)
    assert "- 8.0s [00:00:08.0] score 5" in tool_msg["content"]

    parts = frames_msg["content"]
    images = [
        (prev["text"], part["image_url"]["url"])
        for prev, part in itertools.pairwise(parts)
        if part["type"] == "image_url"
    ]
    assert len(images) == 3
    for text, url in images:
        t = float(re.match(r"Frame at ([\d.]+)s", text).group(1))  # type: ignore[union-attr]
        assert url.startswith("data:image/jpeg;base64,")
        picture = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
        assert helpers.read_time_code(picture) == pytest.approx(t, abs=1e-3)
    assert [t for t, _ in images] == [f"Frame at {t:.1f}s [00:00:{t:04.1f}] score 5" for t in (8, 9, 10)]
