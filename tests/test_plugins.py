"""A sampler and an assistant provider written outside gens-tools, each one module plus its registration, work
everywhere by name: the command line, the framework-free agent tools, LangChain and LlamaIndex.

The toy sampler calls the frames painted near one chosen second relevant; the toy assistant answers by
reading the times painted into the frames it is sent (both in the test suite, using only public names)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gens_tools import AccessPolicy
from gens_tools.agent import AskVideoTool, VideoFramesTool
from gens_tools.cli import main
from gens_tools.samplers import registered_sampler
from tests.assistants.toy_provider import ToyAssistant, toy_assistant_registered
from tests.samplers.toy import ToySampler


@pytest.fixture
def plugins() -> Iterator[type[ToyAssistant]]:
    with registered_sampler("toy", ToySampler), toy_assistant_registered() as assistant:
        yield assistant


def test_the_command_line_uses_both_by_name_with_their_own_flags(
    plugins: type[ToyAssistant], video_40s: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "ask",
        str(video_40s),
        "What happens at 25 s?",
        "--sampler",
        "toy",
        "--toy-option",
        "25",
        "--width",
        "1",
        "--assistant",
        "toy-vlm",
        "--style",
        "pirate",
        "-k",
        "5",
        "-q",
        "--no-cache",
    ]
    assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert out.startswith("Arr, I saw 5 frames")
    (sent,) = plugins.sent
    painted = sorted(round(f.painted) for f in sent)
    assert {24, 25, 26} <= set(painted)  # the toy sampler's relevant frames reached the toy assistant


def test_the_framework_free_tools_use_both_by_name(plugins: type[ToyAssistant], video_40s: Path) -> None:
    from gens_tools import VideoQA, make_sampler
    from gens_tools.assistants import make_assistant

    policy = AccessPolicy.allow([video_40s.parent])
    frames = VideoFramesTool(sampler="toy", sampler_options={"toy_option": 12}, policy=policy)
    result = frames.run({"video": str(video_40s), "question": "What is at 12 s?", "k": 3})
    assert "12.0s [00:00:12.0] score 5" in result.text
    qa = VideoQA(make_sampler("toy", toy_option=12), make_assistant("toy-vlm", style="plain"))
    ask = AskVideoTool(qa, policy=policy)
    answer = ask.run({"video": str(video_40s), "question": "What is at 12 s?"})
    assert "I saw" in answer.text
    assert any(round(f.painted) == 12 for f in plugins.sent[-1])


def test_langchain_uses_the_toy_sampler_by_name(plugins: type[ToyAssistant], video_40s: Path) -> None:
    pytest.importorskip("langchain_gens")
    from langchain_gens import GenSVideoFramesTool

    tool = GenSVideoFramesTool(
        sampler="toy", sampler_options={"toy_option": 30}, allowed_roots=[video_40s.parent], default_k=3
    )
    message = tool.invoke(
        {"type": "tool_call", "id": "1", "name": tool.name, "args": {"video": str(video_40s), "question": "30 s?"}}
    )
    assert "30.0s [00:00:30.0] score 5" in message.content
    assert [round(f.timestamp) for f in message.artifact.frames if f.score] == [30]


def test_llamaindex_uses_both_by_name(plugins: type[ToyAssistant], video_40s: Path) -> None:
    pytest.importorskip("llama_index.tools.gens")
    from llama_index.tools.gens import GenSToolSpec

    from gens_tools.assistants import make_assistant

    spec = GenSToolSpec(
        policy=AccessPolicy.allow([video_40s.parent]),
        sampler="toy",
        sampler_options={"toy_option": 7},
        llm=make_assistant("toy-vlm", style="pirate"),
    )
    tools = {tool.metadata.name: tool for tool in spec.to_tool_list()}
    frames = tools["video_frames"].call(video=str(video_40s), question="What is at 7 s?", k=3)
    assert not frames.is_error
    assert "7.0s [00:00:07.0] score 5" in str(frames.content)
    answer = tools["ask_video"].call(video=str(video_40s), question="What is at 7 s?")
    assert not answer.is_error, answer.content
    assert str(answer.content).startswith("Arr, I saw")
    assert any(round(f.painted) == 7 for f in plugins.sent[-1])
