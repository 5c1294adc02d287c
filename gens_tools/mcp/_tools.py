"""The tools the MCP server offers, free of the SDK: names, descriptions, input schemas, and each call's result
as text and image blocks.

- ``video_frames`` — the core :class:`~gens_tools.agent.VideoFramesTool` (same arguments, description and
  checks): the text every agent reads (:func:`~gens_tools.agent.describe_selection`), then for each frame its
  caption (``Frame at 4.0s [00:00:04.0] score 5``) and the frame as a JPEG image.
- ``video_info`` — a video's length, frame rate, size and codec.
- ``ask_video`` — when an assistant is configured: the multi-step :class:`~gens_tools.agent.VideoAgent` answers,
  citing timestamps, and says how it looked.

Refusals (a path outside the allowed folders, a bad argument, an unreadable video, a refused answer…) come back
as error results with a readable message (:func:`~gens_tools.agent.tool_error_text`), so the calling model can
correct itself, and so do the server's own failures (an assistant that cannot be reached, a missing backend),
in one line; nothing outside the :class:`~gens_tools.AccessPolicy` is opened.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gens_tools._checks import image_side
from gens_tools._checks import jpeg_quality as check_jpeg_quality
from gens_tools.agent import (
    AGENT_ERRORS,
    AgentResult,
    ToolArgument,
    ToolArguments,
    VideoAgent,
    VideoFramesTool,
    ask_arguments,
    ask_description,
    describe_answer,
    frame_caption,
    tool_error_text,
    video_name,
)
from gens_tools.errors import GensToolsError, InvalidArgumentError
from gens_tools.frames import format_timestamp

__all__ = ["ImageBlock", "TextBlock", "ToolCallResult", "ToolDefinition", "VideoTools"]


@dataclass(frozen=True, slots=True)
class TextBlock:
    """A text block of a tool result."""

    text: str


@dataclass(frozen=True, slots=True)
class ImageBlock:
    """An image block of a tool result: base64 data and its MIME type."""

    data: str
    mime_type: str = "image/jpeg"


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    """What ``tools/list`` tells a client about one tool."""

    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(slots=True)
class ToolCallResult:
    """A tool call's content (text and images, in order) and whether it is an error the model should read."""

    content: list[TextBlock | ImageBlock]
    is_error: bool = False
    structured: dict[str, Any] | None = field(default=None)


def _error(exc: Exception) -> ToolCallResult:
    if isinstance(exc, AGENT_ERRORS):
        return ToolCallResult([TextBlock(tool_error_text(exc))], is_error=True)
    # The server's own failures (an assistant down, a refused answer, a missing backend): said as they are.
    return ToolCallResult([TextBlock(f"The tool failed: {exc}")], is_error=True)


class VideoTools:
    """The server's tools over one access policy.

    Args:
        frames: the configured ``video_frames`` tool (its policy is the server's).
        agent: the agent behind ``ask_video``; ``None`` leaves the tool out.
        image_max_side: longer side of the frames sent as images, in px.
        jpeg_quality: their JPEG quality.
    """

    def __init__(
        self,
        frames: VideoFramesTool,
        *,
        agent: VideoAgent | None = None,
        image_max_side: int = 768,
        jpeg_quality: int = 85,
    ) -> None:
        if not isinstance(frames, VideoFramesTool):
            raise InvalidArgumentError(f"frames must be a VideoFramesTool, got {type(frames).__name__}")
        self.frames = frames
        self.policy = frames.policy
        self.agent = agent
        self.image_max_side = image_side("image_max_side", image_max_side)
        self.jpeg_quality = check_jpeg_quality("jpeg_quality", jpeg_quality)
        self._info_arguments = ToolArguments(
            (ToolArgument("video", "text", frames.arguments["video"].description, required=True),)
            if frames.video is None
            else ()
        )
        self._ask_arguments = ask_arguments(self.policy, bound=frames.video is not None)

    # -- listing ---------------------------------------------------------------------------------------------

    def definitions(self) -> list[ToolDefinition]:
        """The tools, in the order a client lists them."""
        tools = [
            ToolDefinition(self.frames.name, self.frames.description, self.frames.json_schema()),
            ToolDefinition(
                "video_info",
                "Facts about a video before looking at it: its length (seconds and hh:mm:ss), frame rate, "
                "picture size and codec. " + self._where(),
                self._info_arguments.json_schema(),
            ),
        ]
        if self.agent is not None:
            steps = self.agent.budget.max_steps
            tools.append(
                ToolDefinition(
                    "ask_video",
                    ask_description(self.frames.video)
                    + f" When unsure, it looks again more closely where it needs to (up to {steps} looks) and "
                    "says how sure it is.",
                    self._ask_arguments.json_schema(),
                )
            )
        return tools

    def _where(self) -> str:
        if self.frames.video is not None:
            return f"The video is {video_name(self.frames.video)}."
        return "Only videos the user made available can be opened."

    # -- calling -----------------------------------------------------------------------------------------------

    def call(self, name: str, arguments: Mapping[str, Any] | None) -> ToolCallResult:
        """Run tool ``name`` (blocking: decoding, scoring, answering). Unknown tools and every gens-tools error
        (what the model got wrong, and the server's own failures) come back as error results; anything else
        raises."""
        arguments = dict(arguments or {})
        try:
            if name == self.frames.name:
                return self._frames(arguments)
            if name == "video_info":
                return self._info(arguments)
            if name == "ask_video" and self.agent is not None:
                return self._ask(arguments)
        except GensToolsError as exc:
            return _error(exc)
        known = ", ".join(d.name for d in self.definitions())
        return ToolCallResult([TextBlock(f"Unknown tool {name!r}; the tools are: {known}.")], is_error=True)

    def _frames(self, arguments: dict[str, Any]) -> ToolCallResult:
        result = self.frames.run(arguments)
        content: list[TextBlock | ImageBlock] = [TextBlock(result.text)]
        for frame in result.selection.frames:
            jpeg = frame.to_jpeg(quality=self.jpeg_quality, max_side=self.image_max_side)
            content.append(TextBlock(frame_caption(frame)))
            content.append(ImageBlock(base64.b64encode(jpeg).decode("ascii")))
        return ToolCallResult(content)

    def _info(self, arguments: dict[str, Any]) -> ToolCallResult:
        from gens_tools.video import open_video

        self._info_arguments.check_names(arguments)
        given = self.frames.video if self.frames.video is not None else arguments.get("video")
        if not isinstance(given, str):
            raise InvalidArgumentError("video: a path or URL (text) is required")
        source = self.policy.check(given)
        options = self.frames.options
        with open_video(source, backend=options.backend, fps=options.frame_rate, url_check=self.policy.check) as reader:
            info = reader.info
        label = given.strip() if self.frames.video is None else video_name(source)
        facts: dict[str, Any] = {
            "video": label,
            "duration": info.duration,
            "fps": info.fps,
            "width": info.width,
            "height": info.height,
            "codec": info.codec,
            "n_frames": info.n_frames,
        }
        length = f"{info.duration:.1f} s long ({format_timestamp(info.duration)})"
        size = f"{info.width}×{info.height}" if info.width and info.height else "unknown size"
        rate = f"{info.fps:g} frames per second" if info.fps else "unknown frame rate"
        codec = f", {info.codec}" if info.codec else ""
        text = f"{label}: {length}, {rate}, {size}{codec}."
        return ToolCallResult([TextBlock(text)], structured=facts)

    def _ask(self, arguments: dict[str, Any]) -> ToolCallResult:
        agent = self.agent
        assert agent is not None
        self._ask_arguments.check_names(arguments)
        video = self.frames.video if self.frames.video is not None else arguments.get("video")
        question = arguments.get("question")
        if not isinstance(video, str) or not isinstance(question, str):
            raise InvalidArgumentError("video and question must be text")
        result = agent.ask(video, question, start=arguments.get("start"), end=arguments.get("end"))
        return ToolCallResult([TextBlock(ask_text(result))], structured=result.to_dict())


def ask_text(result: AgentResult) -> str:
    """What ``ask_video`` tells the model: the answer (and, when unsure, why it stopped), the times of the cited
    frames, and one line per look."""
    lines = [describe_answer(result.text, result.cited)]
    for step in result.steps:
        confidence = "unknown" if step.confidence is None else f"{step.confidence:g}"
        lines.append(
            f"Look {step.index}: {step.range_text()} at {step.fps:g} fps, {step.frames_sent} frames, "
            f"confidence {confidence}."
        )
    return "\n".join(lines)
