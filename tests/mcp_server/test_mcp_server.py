"""``gens-tools mcp`` driven by the official SDK's own client, over stdio and over streamable HTTP: the tools it
lists, frames that are the real frames at the timestamps beside them, video facts, the multi-step ask with a
fake OpenAI, and refusals that come back as tool errors."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from gens_tools.synthetic import read_time_code
from gens_tools.testing import FakeOpenAI
from tests.mcp_server.conftest import server_command, server_env

from mcp import ClientSession, StdioServerParameters, stdio_client  # isort: skip
from mcp.client.streamable_http import streamable_http_client  # isort: skip

KEY = "sk-mcp-test-0123456789"
_CAPTION = re.compile(r"^Frame at ([\d.]+)s \[(\d\d:\d\d:\d\d\.\d)\] (score \S+|unscored)$")


@contextlib.asynccontextmanager
async def stdio_session(*args: str, **env: str) -> AsyncIterator[ClientSession]:
    command, argv = server_command(*args)
    params = StdioServerParameters(command=command, args=argv, env=server_env(**env))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def _texts(result: Any) -> list[str]:
    return [block.text for block in result.content if block.type == "text"]


def check_frames(result: Any) -> list[float]:
    """Each image is the frame at the time in the caption just before it; returns those times."""
    assert not result.is_error, _texts(result)
    blocks = result.content
    assert blocks[0].type == "text"
    times = []
    for caption, image in zip(blocks[1::2], blocks[2::2], strict=True):
        assert caption.type == "text"
        assert image.type == "image"
        assert image.mime_type == "image/jpeg"
        m = _CAPTION.match(caption.text)
        assert m, caption.text
        with Image.open(io.BytesIO(base64.b64decode(image.data))) as picture:
            painted = read_time_code(picture.convert("RGB"))
        assert painted == pytest.approx(float(m.group(1)), abs=0.051)
        times.append(float(m.group(1)))
    return times


async def test_stdio_lists_the_tools_and_returns_real_frames(video: Path) -> None:
    async with stdio_session("--allow", str(video.parent), "--max-k", "8", "--max-duration", "60") as session:
        listed = await session.list_tools()
        tools = {tool.name: tool for tool in listed.tools}
        assert list(tools) == ["video_frames", "video_info"]  # no assistant: no ask_video
        schema = tools["video_frames"].input_schema
        assert schema["required"] == ["video", "question"]
        assert list(schema["properties"]) == ["video", "question", "k", "start", "end"]
        assert "additionalProperties" not in json.dumps(schema)
        assert "The frames' images are included in the result." in (tools["video_frames"].description or "")

        result = await session.call_tool("video_frames", {"video": "clock.mp4", "question": "What time is it?", "k": 4})
        times = check_frames(result)
        assert len(times) == 4
        text = result.content[0].text
        assert text.startswith('Frames of clock.mp4 for "What time is it?" (sampler: uniform).')
        assert str(video.parent) not in text  # the server's paths are not shown

        zoom = await session.call_tool(
            "video_frames", {"video": str(video), "question": "Closer", "k": 3, "start": "0:10", "end": 12}
        )
        assert all(10.0 <= t < 12.0 for t in check_frames(zoom))

        info = await session.call_tool("video_info", {"video": "clock.mp4"})
        assert not info.is_error
        assert _texts(info) == ["clock.mp4: 20.0 s long (00:00:20.0), 10 frames per second, 160×90, h264."]
        assert info.structured_content["duration"] == pytest.approx(20.0)


async def test_refusals_come_back_as_tool_errors(video: Path) -> None:
    secret = video.parent.parent / "secret" / "private.mp4"
    async with stdio_session("--allow", str(video.parent), "--max-k", "8") as session:
        outside = await session.call_tool("video_frames", {"video": str(secret), "question": "q"})
        assert outside.is_error
        assert _texts(outside)[0].startswith(f"Access denied: {str(secret)!r} is outside the allowed folders")
        climbing = await session.call_tool("video_info", {"video": "../secret/private.mp4"})
        assert climbing.is_error
        assert _texts(climbing)[0].startswith("Access denied:")
        too_many = await session.call_tool("video_frames", {"video": "clock.mp4", "question": "q", "k": 50})
        assert too_many.is_error
        assert "k=50 is more than this tool allows (8)" in _texts(too_many)[0]
        reversed_range = await session.call_tool(
            "video_frames", {"video": "clock.mp4", "question": "q", "start": 9, "end": 3}
        )
        assert reversed_range.is_error
        unknown = await session.call_tool("ask_video", {"video": "clock.mp4", "question": "q"})
        assert unknown.is_error
        assert _texts(unknown) == ["Unknown tool 'ask_video'; the tools are: video_frames, video_info."]


async def test_without_allow_nothing_opens(video: Path) -> None:
    async with stdio_session() as session:
        result = await session.call_tool("video_frames", {"video": str(video), "question": "q"})
        assert result.is_error
        assert "opening local files is not allowed" in _texts(result)[0]


async def test_ask_video_runs_the_agent_on_the_configured_assistant(video: Path) -> None:
    server = FakeOpenAI(api_key=KEY, check_time_codes=True)
    server.script(
        json.dumps(
            {"answer": "Around [00:00:10].", "confidence": 0.4, "look_next": {"question": "", "start": 8, "end": 12}}
        ),
        json.dumps({"answer": "At [00:00:10.5].", "confidence": 0.9, "look_next": None}),
    )
    try:
        async with stdio_session(
            "--allow",
            str(video.parent),
            "--assistant",
            "gpt-4o",
            "--assistant-base-url",
            server.base_url,
            "--ask-k",
            "4",
            OPENAI_API_KEY=KEY,
        ) as session:
            listed = await session.list_tools()
            assert [t.name for t in listed.tools] == ["video_frames", "video_info", "ask_video"]
            result = await session.call_tool("ask_video", {"video": "clock.mp4", "question": "When is 10 s?"})
    finally:
        server.stop()
    assert not result.is_error, _texts(result)
    assert _texts(result) == [
        "At [00:00:10.5].\nFrames the answer was based on: 10.5s [00:00:10.5]\n"
        "Look 1: the whole video at 1 fps, 4 frames, confidence 0.4.\n"
        "Look 2: 8.0-12.0s at 2 fps, 4 frames, confidence 0.9."
    ]
    assert result.structured_content["stopped"] == "confident"
    assert server.violations == []
    assert len(server.requests) == 2


async def test_streamable_http_on_localhost(video: Path) -> None:
    command, argv = server_command("--allow", str(video.parent), "--http", "--port", "0")
    proc = subprocess.Popen([command, *argv], env=server_env(), stderr=subprocess.PIPE, text=True)
    try:
        url = _wait_for_url(proc)
        assert url.startswith("http://127.0.0.1:")
        async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            listed = await session.list_tools()
            assert [t.name for t in listed.tools] == ["video_frames", "video_info"]
            result = await session.call_tool("video_frames", {"video": "clock.mp4", "question": "q", "k": 2})
            assert len(check_frames(result)) == 2
            refused = await session.call_tool("video_frames", {"video": "/etc/hostname", "question": "q"})
            assert refused.is_error
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_for_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}")
        m = re.search(r"serving MCP over streamable HTTP at (\S+)", line)
        if m:
            return m.group(1)
    raise AssertionError("the server did not report its URL in time")


def test_a_bad_configuration_is_one_line(video: Path) -> None:
    command, argv = server_command("--allow", "ftp://example.com/x")
    proc = subprocess.run(
        [command, *argv],
        env=server_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "gens-tools mcp: error: URL prefix 'ftp://example.com/x' must be an http(s) URL with a host, e.g. "
        "'https://host/path/'"
    ]
