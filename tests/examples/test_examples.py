"""Every example runs as a user runs it (``python examples/NAME.py``), offline: with no key (it says what is
missing and shows what it can), against the local fake OpenAI server (the real SDKs and frameworks, a scripted
model that reads the frames it is sent), and with a key but no network (one clear line, no traceback)."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from gens_tools.synthetic import make_test_video, read_time_code
from gens_tools.testing import FakeOpenAI, Recorded, ToolCall

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
KEY = "sk-example-test-0123456789"
NO_NETWORK = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_video(tmp_path_factory.mktemp("examples") / "clock.mp4", duration=20.0, fps=10.0, size=(160, 90))


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI(api_key=KEY, check_time_codes=True)
    yield fake
    fake.stop()


def run_example(name: str, *args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL", "_API_BASE"))}
    clean.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", XDG_CACHE_HOME=str(tmp_path / "cache"), **env)
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        env=clean,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def painted_times(rec: Recorded) -> list[float]:
    """The times painted into every image of a Chat Completions request."""
    times = []
    for message in rec.body["messages"]:
        for part in message["content"] if isinstance(message.get("content"), list) else []:
            if part["type"] == "image_url":
                data = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
                with Image.open(io.BytesIO(data)) as img:
                    times.append(read_time_code(img.convert("RGB")))
    return times


def answer_from_frames(rec: Recorded) -> str:
    return "I saw " + ", ".join(f"{t:.0f}s" for t in painted_times(rec))


def assert_one_line_error(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")


# --- the core agent --------------------------------------------------------------------------------------------


def test_video_agent_without_a_key_shows_the_first_look(video: Path, tmp_path: Path) -> None:
    proc = run_example("video_agent.py", "--video", str(video), "-k", "3", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "Not running the agent: no API key (OPENAI_API_KEY is not set).",
        "Its first look would show the assistant these frames:",
        "  00:00:03.0 (unscored)",
        "  00:00:10.0 (unscored)",
        "  00:00:16.0 (unscored)",
    ]


def test_video_agent_on_the_fake_server(video: Path, tmp_path: Path, server: FakeOpenAI) -> None:
    import json

    server.script(
        json.dumps(
            {"answer": "Maybe [00:00:10].", "confidence": 0.3, "look_next": {"question": "", "start": 8, "end": 12}}
        ),
        json.dumps({"answer": "At [00:00:10.5].", "confidence": 0.9, "look_next": None}),
    )
    proc = run_example(
        "video_agent.py",
        "--video",
        str(video),
        "-k",
        "3",
        tmp_path=tmp_path,
        OPENAI_API_KEY=KEY,
        OPENAI_BASE_URL=server.base_url,
    )
    assert proc.returncode == 0, proc.stderr
    assert server.violations == []
    out = proc.stdout.splitlines()
    assert out[0] == "step 1: the whole video at 1 fps, frames 00:00:03.0, 00:00:10.0, 00:00:16.0"
    assert out[2] == "  wants to look at: (same question) 8.0-12.0s"
    assert out[3].startswith("step 2: 8.0-12.0s at 2 fps, frames ")
    assert out[-2:] == ["At [00:00:10.5].", "cited: 00:00:10.5; confident (0.9 >= 0.8) after 2 steps"]


def test_video_agent_with_a_key_but_no_network(video: Path, tmp_path: Path) -> None:
    proc = run_example(
        "video_agent.py", "--video", str(video), tmp_path=tmp_path, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=NO_NETWORK
    )
    assert_one_line_error(proc)
    assert "could not connect" in proc.stderr


# --- LangChain -------------------------------------------------------------------------------------------------


def test_langchain_agent_on_the_fake_server(video: Path, tmp_path: Path, server: FakeOpenAI) -> None:
    server.script(
        ToolCall("video_frames", {"video": "clock.mp4", "question": "When is 10 s shown?", "k": 3}), answer_from_frames
    )
    proc = run_example(
        "langchain_agent.py",
        str(video),
        "When is 10 s shown?",
        "--max-side",
        "160",
        tmp_path=tmp_path,
        OPENAI_API_KEY=KEY,
        OPENAI_BASE_URL=server.base_url,
    )
    assert proc.returncode == 0, proc.stderr
    assert server.violations == []
    assert "→ video_frames({'video': 'clock.mp4', 'question': 'When is 10 s shown?', 'k': 3})" in proc.stdout
    assert proc.stdout.rstrip().endswith("I saw 3s, 10s, 16s")


def test_langchain_agent_with_a_key_but_no_network(video: Path, tmp_path: Path) -> None:
    proc = run_example(
        "langchain_agent.py", str(video), tmp_path=tmp_path, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=NO_NETWORK
    )
    assert_one_line_error(proc)
    assert "ConnectionError: Connection error." in proc.stderr


# --- LlamaIndex ------------------------------------------------------------------------------------------------


def test_llamaindex_agent_without_a_key_runs_the_tool_alone(video: Path, tmp_path: Path) -> None:
    proc = run_example(
        "llamaindex_agent.py", "--video", str(video), "--question", "What is shown?", "-k", "2", tmp_path=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Not running the agent: OPENAI_API_KEY is not set.")
    assert 'Frames of clock.mp4 for "What is shown?"' in proc.stdout


def test_llamaindex_agent_on_the_fake_server(video: Path, tmp_path: Path, server: FakeOpenAI) -> None:
    server.script(ToolCall("video_frames", {"question": "What is shown?", "k": 3}), answer_from_frames)
    proc = run_example(
        "llamaindex_agent.py",
        "--video",
        str(video),
        "--question",
        "What is shown?",
        tmp_path=tmp_path,
        OPENAI_API_KEY=KEY,
        OPENAI_BASE_URL=server.base_url,
    )
    assert proc.returncode == 0, proc.stderr
    assert server.violations == []
    assert "--- video_frames({'question': 'What is shown?', 'k': 3})" in proc.stdout
    assert ">>> I saw 3s, 10s, 16s" in proc.stdout  # the frames reached gpt-4o in a user message


def test_llamaindex_agent_with_a_key_but_no_network(video: Path, tmp_path: Path) -> None:
    proc = run_example(
        "llamaindex_agent.py",
        "--video",
        str(video),
        "--question",
        "q",
        tmp_path=tmp_path,
        OPENAI_API_KEY=KEY,
        OPENAI_BASE_URL=NO_NETWORK,
    )
    assert_one_line_error(proc)


# --- MCP -------------------------------------------------------------------------------------------------------


def test_mcp_client_lists_asks_and_writes_frames(video: Path, tmp_path: Path) -> None:
    pytest.importorskip("mcp")
    out = tmp_path / "frames"
    proc = run_example("mcp_client.py", "--video", str(video), "-k", "2", "--out", str(out), tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "tools: video_frames, video_info"
    assert "clock.mp4: 20.0 s long (00:00:20.0), 10 frames per second, 160×90, h264." in lines
    written = [line for line in lines if " -> " in line]
    assert len(written) == 2
    for line in written:
        caption, path = line.split(" -> ")
        t = float(caption.split("s ")[0].removeprefix("Frame at "))
        with Image.open(path) as img:
            assert read_time_code(img.convert("RGB")) == pytest.approx(t, abs=0.051)


def test_mcp_client_with_an_assistant(video: Path, tmp_path: Path, server: FakeOpenAI) -> None:
    import json

    pytest.importorskip("mcp")
    server.script(json.dumps({"answer": "At [00:00:10].", "confidence": 0.95, "look_next": None}))
    proc = run_example(
        "mcp_client.py",
        "--video",
        str(video),
        "-k",
        "2",
        "--assistant",
        "gpt-4o",
        "--assistant-base-url",
        server.base_url,
        tmp_path=tmp_path,
        OPENAI_API_KEY=KEY,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "tools: video_frames, video_info, ask_video"
    assert "--- ask_video\nAt [00:00:10].\nFrames the answer was based on: 10.0s [00:00:10.0]" in proc.stdout
    assert server.violations == []


def test_mcp_client_with_an_assistant_but_no_network(video: Path, tmp_path: Path) -> None:
    pytest.importorskip("mcp")
    proc = run_example(
        "mcp_client.py",
        "--video",
        str(video),
        "-k",
        "2",
        "--assistant",
        "gpt-4o",
        "--assistant-base-url",
        NO_NETWORK,
        tmp_path=tmp_path,
        OPENAI_API_KEY=KEY,
    )
    assert_one_line_error(proc)
    assert "could not connect" in proc.stderr
