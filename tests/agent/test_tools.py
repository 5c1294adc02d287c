"""The framework-free agent tools (``gens_tools.agent.VideoFramesTool``, ``AskVideoTool``): configuration,
generated description, argument declaration and schema, runs, refusals, frame folders."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from gens_tools import AccessDeniedError, AccessPolicy, InvalidArgumentError, SamplingOptions, TimeRangeError, VideoQA
from gens_tools.agent import (
    AGENT_ERRORS,
    AskVideoTool,
    ToolArguments,
    VideoFramesTool,
    tool_error_text,
)
from gens_tools.synthetic import read_time_code

# --- configuration and what the model is told -------------------------------------------------------------------


def _walk(schema: Any) -> list[dict[str, Any]]:
    """Every JSON-schema object nested in ``schema``."""
    found: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        found.append(schema)
        for value in schema.values():
            found.extend(_walk(value))
    elif isinstance(schema, list):
        for value in schema:
            found.extend(_walk(value))
    return found


def test_schema_declares_every_argument_in_what_openai_gemini_and_mcp_accept(policy: AccessPolicy) -> None:
    tool = VideoFramesTool(policy=policy, default_k=6)
    schema = tool.json_schema()
    assert tool.name == "video_frames"
    assert schema["type"] == "object"
    assert list(schema["properties"]) == ["video", "question", "k", "start", "end"]
    assert schema["required"] == ["video", "question"]
    assert schema["properties"]["k"] == {
        "type": "integer",
        "minimum": 1,
        "description": "How many frames to return (default 6, at most 16); fewer frames cost less.",
        "default": 6,
    }
    assert schema["properties"]["start"]["anyOf"] == [{"type": "number"}, {"type": "string"}]
    allowed = {"type", "description", "default", "minimum", "anyOf", "properties", "required"}
    for node in _walk(schema):
        if node is schema["properties"]:
            continue
        assert set(node) <= allowed, node  # no additionalProperties, title, $defs…
        assert node.get("type") != "null"
    assert str(policy.roots[0].resolve()) in schema["properties"]["video"]["description"]
    assert "At most 60 seconds per call" in schema["properties"]["start"]["description"]
    json.dumps(schema)


def test_schema_is_a_valid_gemini_declaration(policy: AccessPolicy) -> None:
    types = pytest.importorskip("google.genai.types")
    schema = VideoFramesTool(policy=policy).json_schema()
    declaration = types.FunctionDeclaration(name="video_frames", description="d", parameters=schema)
    sent = declaration.model_dump(exclude_none=True)["parameters"]
    assert "additional_properties" not in json.dumps(sent)
    assert set(sent["properties"]) == {"video", "question", "k", "start", "end"}


def test_pydantic_model_sends_exactly_the_core_schema_and_checks_shapes(policy: AccessPolicy) -> None:
    from pydantic import ValidationError

    arguments = VideoFramesTool(policy=policy).arguments
    model = arguments.pydantic_model("video_frames_arguments")
    assert model.model_json_schema() == arguments.json_schema()
    checked = model.model_validate({"video": "a.mp4", "question": "q", "k": "3", "start": "0:10"}).model_dump()
    assert checked == {"video": "a.mp4", "question": "q", "k": 3, "start": "0:10", "end": None}
    with pytest.raises(ValidationError) as info:
        model.model_validate({"video": "a.mp4", "question": "q", "fps": 3})
    assert tool_error_text(info.value) == "Invalid argument: fps: Extra inputs are not permitted"


def test_description_is_generated_from_the_configuration(policy: AccessPolicy, video: Path) -> None:
    tool = VideoFramesTool(policy=policy, default_k=5, shows_images=True)
    text = tool.description
    assert "Returns 5 frames unless you set k (at most 16)." in text
    assert "Searches at most 60 seconds of video per call" in text
    assert "The frames' images are included in the result." in text
    assert "Only videos the user made available can be opened." in text
    assert len(text) <= 1024  # OpenAI's limit on tool descriptions
    bound = VideoFramesTool(policy=policy, video=video)
    assert "The video is clock.mp4." in bound.description
    assert "video" not in bound.arguments.names
    assert VideoFramesTool(policy=policy, description="Lecture videos.").description == "Lecture videos."
    assert VideoFramesTool(policy=AccessPolicy(max_k=4)).default_k == 4  # 8, capped by max_k


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"default_k": 40}, InvalidArgumentError, "default_k must be between 1 and max_k"),
        ({"default_k": 0}, InvalidArgumentError, "default_k"),
        ({"sampler": "no-such-sampler"}, InvalidArgumentError, "unknown sampler"),
        ({"sampler": 42}, InvalidArgumentError, "sampler must be"),
        ({"fps": 0}, InvalidArgumentError, "fps"),
        ({"frame_rate": -1}, InvalidArgumentError, "frame_rate"),
        ({"grid_rate": 2}, TypeError, "unknown sampling option"),
        ({"max_spans": 0}, InvalidArgumentError, "max_spans"),
        ({"video": "/etc/passwd"}, AccessDeniedError, "outside the allowed folders"),
    ],
)
def test_bad_configuration_fails_at_construction(
    policy: AccessPolicy, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        VideoFramesTool(policy=policy, **kwargs)


def test_options_and_their_fields_are_one_setting(policy: AccessPolicy) -> None:
    base = SamplingOptions(min_gap=2.0, frame_rate=25.0)
    tool = VideoFramesTool(policy=policy, options=base, fps=2)
    assert tool.options == SamplingOptions(fps=2.0, min_gap=2.0, frame_rate=25.0)
    assert VideoFramesTool(policy=policy, options={"cache": False}).options.cache is False


def test_argument_names_are_checked() -> None:
    arguments = VideoFramesTool(policy=AccessPolicy()).arguments
    assert isinstance(arguments, ToolArguments)
    with pytest.raises(InvalidArgumentError, match=r"^fps: not an argument of this tool \(it takes video, "):
        arguments.check_names({"video": "a", "question": "q", "fps": 2})
    with pytest.raises(InvalidArgumentError, match=r"^question: required"):
        arguments.check_names({"video": "a"})


# --- running ------------------------------------------------------------------------------------------------------


def test_run_returns_the_text_and_the_selection(policy: AccessPolicy, sampler: Any) -> None:
    tool = VideoFramesTool(sampler, policy=policy, cache=False)
    result = tool.run({"video": "clock.mp4", "question": "When does the ball bounce?", "k": "3"})
    assert result.selection.timestamps == [4.0, 5.0, 13.0]
    assert result.video_label == "clock.mp4"
    lines = result.text.splitlines()
    assert lines[0] == 'Frames of clock.mp4 for "When does the ball bounce?" (sampler: hotspots).'
    assert lines[1] == "Searched 0.0-20.0s of a 20.0s video at 1 fps: 20 candidate frames."
    assert lines[3:6] == ["- 4.0s [00:00:04.0] score 5", "- 5.0s [00:00:05.0] score 5", "- 13.0s [00:00:13.0] score 4"]
    assert lines[-1] == "To look closer, call again with start and end (seconds) around a span."
    for frame in result.selection.frames:
        assert read_time_code(frame.require_image()) == pytest.approx(frame.timestamp, abs=1e-3)
    zoom = asyncio.run(tool.arun({"video": "clock.mp4", "question": "q", "k": 1, "start": "0:10", "end": 15}))
    assert zoom.selection.timestamps == [13.0]
    assert "Searched 10.0-15.0s" in zoom.text


@pytest.mark.parametrize(
    ("arguments", "kind"),
    [
        ({"video": "/etc/passwd"}, "Access denied"),
        ({"video": "https://example.com/v.mp4"}, "Access denied"),
        ({"video": "missing.mp4"}, "Video not found"),
        ({"video": "notes.mp4"}, "Not a video"),
        ({"k": 17}, "Invalid argument"),
        ({"k": 2.5}, "Invalid argument"),
        ({"question": " "}, "Invalid argument"),
        ({"fps": 3}, "Invalid argument"),
        ({"start": 9, "end": 3}, "Invalid time range"),
        ({"start": 5, "end": 90}, "Invalid time range"),
        ({"start": 25}, "Invalid time range"),
    ],
)
def test_refusals_are_agent_errors_and_nothing_is_scored(
    policy: AccessPolicy, sampler: Any, arguments: dict[str, Any], kind: str
) -> None:
    tool = VideoFramesTool(sampler, policy=policy, cache=False)
    with pytest.raises(AGENT_ERRORS) as info:
        tool.run({"video": "clock.mp4", "question": "q", **arguments})
    assert tool_error_text(info.value).startswith(f"{kind}: ")
    assert sampler.calls == []


def test_no_policy_opens_nothing_but_a_bound_video(video: Path, sampler: Any) -> None:
    closed = VideoFramesTool(sampler, cache=False)
    with pytest.raises(AccessDeniedError, match="opening local files is not allowed"):
        closed.run({"video": str(video), "question": "q"})
    bound = VideoFramesTool(sampler, video=video, cache=False, default_k=2)
    assert bound.run({"question": "q"}).selection.timestamps == [4.0, 5.0]
    with pytest.raises(InvalidArgumentError, match=r"^video: not an argument"):
        bound.run({"question": "q", "video": "/etc/passwd"})


def test_a_frame_folder_needs_its_frame_rate(frame_folder: Path, policy: AccessPolicy, sampler: Any) -> None:
    call = {"video": "frames", "question": "When does the ball bounce?", "k": 2}
    without = VideoFramesTool(sampler, policy=policy, cache=False)
    with pytest.raises(InvalidArgumentError) as info:
        without.run(call)
    assert "frame_rate" in str(info.value)
    assert "pass fps" not in str(info.value)
    for tool in (
        VideoFramesTool(sampler, policy=policy, cache=False, frame_rate=2),
        VideoFramesTool(sampler, policy=policy, options=SamplingOptions(frame_rate=2.0, cache=False)),
    ):
        result = tool.run(call)
        assert result.selection.timestamps == [4.0, 5.0]
        for frame in result.selection.frames:
            assert read_time_code(frame.require_image()) == pytest.approx(frame.timestamp, abs=1e-3)
        assert result.text.startswith('Frames of frames for "When does the ball bounce?"')


# --- ask_video -----------------------------------------------------------------------------------------------------


def test_ask_tool_answers_and_names_the_frames(video: Path, policy: AccessPolicy, sampler: Any, echo: Any) -> None:
    tool = AskVideoTool(VideoQA(sampler, echo, k=2, policy=policy, cache=False))
    assert tool.name == "ask_video"
    assert list(tool.json_schema()["properties"]) == ["video", "question", "start", "end"]
    assert tool.json_schema()["required"] == ["video", "question"]
    result = tool.run({"video": "clock.mp4", "question": "When?", "start": 10})
    assert result.text == (
        "Seen: [00:00:12], [00:00:13]\nFrames the answer was based on: 12.0s [00:00:12.0], 13.0s [00:00:13.0]"
    )
    assert result.selection.timestamps == [12.0, 13.0]
    again = asyncio.run(tool.arun({"video": "clock.mp4", "question": "When?"}))
    assert again.answer.text == "Seen: [00:00:04], [00:00:05]"
    with pytest.raises(AccessDeniedError):
        tool.run({"video": "/etc/passwd", "question": "q"})
    with pytest.raises(TimeRangeError):
        tool.run({"video": "clock.mp4", "question": "q", "start": 30})
    assert len(echo.plans) == 2  # refused calls never reached the assistant
    bound = AskVideoTool(VideoQA(sampler, echo, k=1, cache=False), video=video)
    assert "The video is clock.mp4." in bound.description
    assert bound.run({"question": "q"}).answer.text == "Seen: [00:00:04]"
