"""The agent tools called directly: output blocks, argument checks, refusals as readable error outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gens_tools import AccessPolicy, FrameSelection, InvalidArgumentError
from llama_index.core.base.llms.types import ImageBlock, TextBlock
from llama_index.core.base.response.schema import Response
from llama_index.core.tools import FunctionTool, QueryEngineTool

from llama_index.tools.gens import (
    FrameToolResult,
    GenSAskVideoTool,
    GenSToolSpec,
    GenSVideoQueryEngine,
    GenSVideoRetriever,
)


def frames_tool(policy: Any, **options: Any) -> Any:
    """The ``video_frames`` tool of a :class:`GenSToolSpec`."""
    (tool,) = GenSToolSpec(policy, **options).to_tool_list()
    return tool


def test_frames_tool_returns_summary_labels_and_images(
    video: Path, policy: AccessPolicy, sampler: Any, fakes: Any
) -> None:
    tool = frames_tool(policy, sampler=sampler, cache=False)
    assert isinstance(tool, FunctionTool)
    out = tool.call(video=str(video), question="When does the ball bounce?", k=3)

    assert not out.is_error
    blocks = out.blocks
    summary = blocks[0]
    assert isinstance(summary, TextBlock)
    assert summary.text.startswith(f'Frames of {video} for "When does the ball bounce?" (sampler: hotspots).')
    assert (
        "Relevant spans, best first:\n"
        "- 4.0-6.0s [00:00:04.0-00:00:06.0] score 5\n"
        "- 13.0-14.0s [00:00:13.0-00:00:14.0] score 4\n"
        "- 12.0-13.0s [00:00:12.0-00:00:13.0] score 3"
    ) in summary.text
    pairs = list(zip(blocks[1::2], blocks[2::2], strict=True))
    assert [label.text for label, _ in pairs] == [
        "Frame at 4.0s [00:00:04.0] score 5",
        "Frame at 5.0s [00:00:05.0] score 5",
        "Frame at 13.0s [00:00:13.0] score 4",
    ]
    for (label, image), expected in zip(pairs, [4.0, 5.0, 13.0], strict=True):
        assert isinstance(label, TextBlock)
        assert isinstance(image, ImageBlock)
        assert image.image_mimetype == "image/jpeg"
        assert fakes.read_block_time(image) == pytest.approx(expected, abs=1e-3)
    # the selection behind the blocks is there for the developer
    assert isinstance(out.raw_output, FrameToolResult)
    assert isinstance(out.raw_output.selection, FrameSelection)
    assert out.raw_output.selection.timestamps == [4.0, 5.0, 13.0]


def test_frames_tool_without_images_and_with_a_model_budget(video: Path, policy: AccessPolicy, sampler: Any) -> None:
    text_only = frames_tool(policy, sampler=sampler, cache=False, include_images=False)
    out = text_only.call(video=str(video), question="q", k=2)
    assert not any(isinstance(b, ImageBlock) for b in out.blocks)
    assert "- 4.0s [00:00:04.0] score 5" in out.content
    assert "Images shown" not in out.content

    sized = frames_tool(policy, sampler=sampler, cache=False, model="gpt-4o")
    out = sized.call(video=str(video), question="q", k=2)
    images = [b for b in out.blocks if isinstance(b, ImageBlock)]
    assert len(images) == 2
    assert all(b.detail == "high" for b in images)  # the planner's choice for gpt-4o at this size


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"video": "/etc/passwd", "question": "q"}, "Access denied: "),
        ({"video": "https://example.com/v.mp4", "question": "q"}, "Access denied: opening URLs is not allowed"),
        ({"video": "{root}/../escape.mp4", "question": "q"}, "Access denied: "),
        ({"video": "{video}", "question": "q", "k": 17}, "Invalid argument: k=17 is more than this tool allows (16)"),
        ({"video": "{video}", "question": "q", "k": 2.5}, "Invalid argument: k: "),
        ({"video": "{video}", "question": "   "}, "Invalid argument: question is empty"),
        ({"video": "{video}", "question": "q", "start": "soon"}, "Invalid time range: start: invalid time 'soon'"),
        (
            {"video": "{video}", "question": "q", "start": 9, "end": 3},
            "Invalid time range: end=3s must be after start=9s",
        ),
        (
            {"video": "{video}", "question": "q", "start": 5, "end": 90},
            "Invalid time range: the range 5s-90s is 85s long",
        ),
        ({"video": "{video}", "question": "q", "start": 5, "end": 30}, "Invalid time range: end=30s is past the end"),
        ({"video": "{video}", "question": "q", "fps": 10}, "Invalid argument: fps: Extra inputs are not permitted"),
        ({"question": "q"}, "Invalid argument: video: Field required"),
        ({"video": "{root}/missing.mp4", "question": "q"}, "Video not found: "),
        ({"video": "{root}/notes.mp4", "question": "q"}, "Not a video: "),
    ],
)
async def test_bad_calls_come_back_as_readable_errors(
    video: Path, policy: AccessPolicy, sampler: Any, arguments: dict[str, Any], expected: str
) -> None:
    (video.parent / "notes.mp4").write_text("this is not a video\n")
    args = {k: v.format(root=video.parent, video=video) if isinstance(v, str) else v for k, v in arguments.items()}
    tool = frames_tool(policy, sampler=sampler, cache=False)
    for out in (tool.call(**args), await tool.acall(**args)):
        assert out.is_error
        assert out.content.startswith(expected), out.content
        assert not any(isinstance(b, ImageBlock) for b in out.blocks)
        assert out.exception is not None
    assert sampler.calls == []  # nothing was scored for a refused call


def test_positional_arguments_are_refused(video: Path, policy: AccessPolicy) -> None:
    tool = frames_tool(policy, cache=False)
    out = tool.call(str(video), "q")
    assert out.is_error
    assert "by name" in out.content


def test_schema_tells_the_model_the_limits(video: Path, policy: AccessPolicy) -> None:
    tool = frames_tool(policy, cache=False, default_k=6)
    params = tool.metadata.get_parameters_dict()
    assert params["required"] == ["video", "question"]
    assert (
        str(video.parent.resolve()) in params["properties"]["video"]["description"]
        or str(video.parent) in (params["properties"]["video"]["description"])
    )
    assert "default 6, at most 16" in params["properties"]["k"]["description"]
    assert "At most 60 seconds per call" in params["properties"]["start"]["description"]
    assert len(tool.metadata.description) <= 1024  # OpenAI's limit on tool descriptions
    json.dumps(tool.metadata.to_openai_tool())  # serialisable as an OpenAI tool


async def test_bound_frames_tool_takes_no_video(video: Path, policy: AccessPolicy, sampler: Any) -> None:
    tool = frames_tool(policy, sampler=sampler, video=video, cache=False)
    assert "video" not in tool.metadata.get_parameters_dict()["properties"]
    assert "clock.mp4" in tool.metadata.description
    out = await tool.acall(question="q", k=1, start="0:10")
    assert not out.is_error
    assert out.raw_output.selection.timestamps == [13.0]
    out = tool.call(question="q", video="/etc/passwd")
    assert out.is_error
    assert "video: Extra inputs are not permitted" in out.content
    with pytest.raises(Exception, match="outside the allowed folders"):
        frames_tool(AccessPolicy.allow([video.parent / "sub"]), video=video)


def test_query_engine_tool_answers_with_timestamps(video: Path, policy: AccessPolicy, sampler: Any, fakes: Any) -> None:
    llm = fakes.FrameReadingLLM()
    engine = GenSVideoQueryEngine.from_video(video, llm, sampler=sampler, k=2, policy=policy, cache=False)
    tool = GenSAskVideoTool.from_engine(engine)
    assert isinstance(tool, QueryEngineTool)
    assert set(tool.metadata.get_parameters_dict()["properties"]) == {"question", "start", "end"}

    out = tool.call(question="When?", start=10, end="0:18")
    assert not out.is_error
    assert (
        out.content
        == "I looked at [00:00:12], [00:00:13]\nFrames the answer was based on: 12.0s [00:00:12.0], 13.0s [00:00:13.0]"
    )
    assert isinstance(out.raw_output, Response)
    assert [n.node.metadata["timestamp_s"] for n in out.raw_output.source_nodes] == [12.0, 13.0]
    # LlamaIndex's own calling conventions still work
    assert tool.call("When?").content.startswith("I looked at [00:00:04], [00:00:05]")
    assert tool.call(input="When?").content.startswith("I looked at [00:00:04], [00:00:05]")

    bad = tool.call(question="When?", start=30)
    assert bad.is_error
    assert bad.content.startswith("Invalid time range: start=30s is at or past the end")
    bad = tool.call(question="When?", start=0, end=61)
    assert bad.is_error
    assert "at most 60s per call" in bad.content
    assert len(llm.requests) == 3  # the three answered calls; the refused ones never reached the model


async def test_unbound_query_engine_tool_checks_the_video(
    video: Path, policy: AccessPolicy, sampler: Any, fakes: Any
) -> None:
    llm = fakes.FrameReadingLLM(empty=True)
    retriever = GenSVideoRetriever(sampler=sampler, k=2, policy=policy, cache=False)
    tool = GenSAskVideoTool.from_engine(GenSVideoQueryEngine(retriever=retriever, llm=llm), name="ask")
    assert tool.metadata.get_parameters_dict()["required"] == ["video", "question"]
    out = await tool.acall(video="/etc/shadow", question="q")
    assert out.is_error
    assert out.content.startswith("Access denied")
    assert llm.requests == []
    out = await tool.acall(video=str(video), question="q")
    assert out.is_error
    assert "returned an empty answer" in out.content

    with pytest.raises(InvalidArgumentError, match="needs an AccessPolicy"):
        GenSAskVideoTool.from_engine(GenSVideoQueryEngine(retriever=GenSVideoRetriever(), llm=llm))
    with pytest.raises(InvalidArgumentError, match="needs an AccessPolicy"):
        GenSToolSpec(None)  # type: ignore[arg-type]
