"""``GenSVideoFramesTool``: the ``video_frames`` tool as a LangChain tool.

A thin adapter over :class:`gens_tools.agent.VideoFramesTool`, which owns the name, the description, the
argument declaration, the checks and the text; this class adds LangChain's ``content_and_artifact`` result,
the optional image blocks in the content and the artifact formats.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Self, TypeAlias

from gens_tools import AccessPolicy, FrameSampler, FrameSelection, SamplingOptions
from gens_tools.agent import (
    AGENT_ERRORS,
    DEFAULT_MAX_SPANS,
    VideoFramesTool,
    check_image_options,
    tool_error_text,
)
from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.tools import BaseTool, ToolException
from pydantic import BaseModel, Field, PrivateAttr, model_validator

from langchain_gens.artifacts import ArtifactFormat, selection_to_artifact
from langchain_gens.formatting import DEFAULT_JPEG_QUALITY, frame_blocks, text_block

ToolContent: TypeAlias = str | list[dict[str, Any]]
Artifact: TypeAlias = FrameSelection | dict[str, Any]

__all__ = ["GenSVideoFramesTool", "gather_sampling_options"]


@contextmanager
def _as_tool_errors() -> Iterator[None]:
    """Turn errors caused by the call's arguments (:data:`gens_tools.agent.AGENT_ERRORS`) into a
    :class:`ToolException` the model reads; other errors propagate."""
    try:
        yield
    except AGENT_ERRORS as exc:
        raise ToolException(tool_error_text(exc)) from exc


def gather_sampling_options(data: Any) -> Any:
    """For a pydantic ``mode="before"`` validator: fold the :class:`~gens_tools.SamplingOptions` fields given
    as keyword arguments (``fps=…``, ``frame_rate=…``) into ``options``, so every option is accepted without
    being declared twice."""
    if not isinstance(data, dict):
        return data
    settings, rest = SamplingOptions.split(data)
    rest["options"] = SamplingOptions.build(rest.get("options"), **settings)
    return rest


class GenSVideoFramesTool(BaseTool):
    """Look inside a video: the frames most relevant to a question, with timestamps, scores and spans.

    The tool's arguments come from a model, so only videos allowed by its :class:`~gens_tools.AccessPolicy`
    are opened (give ``policy``, or ``allowed_roots`` / ``allowed_url_prefixes`` and the caps); anything
    else, and any bad argument, comes back to the model as an error tool message it can read.

    How frames are sampled is a :class:`~gens_tools.SamplingOptions` (``options=``); its fields are accepted
    as keyword arguments too (``fps``, ``max_side``, ``min_gap``, ``backend``, ``frame_rate``, ``cache``),
    e.g. ``frame_rate=25`` for folders of ``frame_0000.jpg…`` images.

    The result is ``content_and_artifact``: the content is the text of
    :func:`gens_tools.agent.describe_selection` (frame times, scores, relevant spans); the artifact is the
    :class:`~gens_tools.FrameSelection` with the images. Chat models that accept images only in user messages
    (OpenAI Chat Completions) get the images through :class:`~langchain_gens.GenSFramesMiddleware` or
    :func:`~langchain_gens.frames_message`. For models that accept images in tool results (Anthropic, Gemini,
    the OpenAI Responses API) set ``images_in_content=True`` and the content carries the frames as image
    blocks too.

    Example:
        .. code-block:: python

            from langchain_gens import GenSVideoFramesTool

            tool = GenSVideoFramesTool(sampler="gens-3b", allowed_roots=["~/videos"], max_k=32)
            msg = tool.invoke({"type": "tool_call", "id": "1", "name": tool.name,
                               "args": {"video": "talk.mp4", "question": "When is the demo?"}})
            print(msg.content)          # frame times, scores, spans
            selection = msg.artifact    # gens_tools.FrameSelection with the images
    """

    name: str = "video_frames"
    description: str = ""
    args_schema: Any = None
    """Built from the core tool's argument declaration
    (:meth:`gens_tools.agent.ToolArguments.pydantic_model`)."""
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    handle_tool_error: Any = True
    handle_validation_error: Any = tool_error_text
    """Schema errors (a missing or unknown argument, ``k`` not a number) come back worded like every other
    refusal: ``"Invalid argument: k: Input should be a valid integer…"``."""

    sampler: Any = None
    """A :class:`~gens_tools.FrameSampler`, or a registered name (``"auto"``, ``"gens-3b"``, ``"gens"``,
    ``"remote"``, ``"similarity"``, ``"uniform"``) built once when the tool is created; ``None`` for
    ``"auto"``: GenS when it can run here, else uniform sampling, with a sentence saying so in the text
    the model reads."""
    sampler_options: dict[str, Any] | None = None
    """Options for :func:`gens_tools.make_sampler` when ``sampler`` is a name."""
    options: Any = None
    """How frames are sampled: a :class:`~gens_tools.SamplingOptions` (its fields may also be given as keyword
    arguments)."""
    policy: AccessPolicy | None = None
    """What may be opened and the caps. When ``None`` it is built from the four fields below; with neither,
    every video is refused."""
    allowed_roots: list[Path] = Field(default_factory=list)
    """Folders whose videos (recursively) may be opened."""
    allowed_url_prefixes: list[str] = Field(default_factory=list)
    """http(s) URL prefixes that may be opened."""
    max_k: int = 32
    """Most frames one call may ask for."""
    max_duration: float | None = None
    """Longest time range (seconds) one call may search; ``None`` = no cap."""
    default_k: int | None = None
    """Frames returned when the model does not say how many (default: 8, or ``max_k`` if smaller)."""
    video: str | None = None
    """Bind the tool to one video (checked against the policy); the model then passes no ``video``."""
    images_in_content: bool = False
    """Also put the frames as image blocks in the tool result (for models that accept them there)."""
    image_max_side: int | None = None
    """Shrink frames to this longer side (px) before sending them to the model; ``None`` = as decoded."""
    jpeg_quality: int = DEFAULT_JPEG_QUALITY
    """JPEG quality of frames sent to the model."""
    max_spans: int = DEFAULT_MAX_SPANS
    """Most relevant spans listed in the text content."""
    artifact_format: ArtifactFormat = "selection"
    """``"selection"``: the artifact is the :class:`~gens_tools.FrameSelection` (with PIL images).
    ``"json"``: its JSON form with base64 JPEG frames (:meth:`FrameSelection.to_dict`), which LangGraph
    checkpointers can store: use it for agents whose state is persisted."""

    _core: VideoFramesTool = PrivateAttr()

    @model_validator(mode="before")
    @classmethod
    def _gather_options(cls, data: Any) -> Any:
        return gather_sampling_options(data)

    @model_validator(mode="after")
    def _configure(self) -> Self:
        if self.policy is None:
            self.policy = AccessPolicy.allow(
                self.allowed_roots,
                self.allowed_url_prefixes,
                max_duration=self.max_duration,
                max_k=self.max_k,
            )
        elif self.allowed_roots or self.allowed_url_prefixes:
            raise ValueError("give either policy or allowed_roots/allowed_url_prefixes, not both")
        else:
            self.max_k = self.policy.max_k
            self.max_duration = self.policy.max_duration
        check_image_options(self.jpeg_quality, self.image_max_side)
        self._core = VideoFramesTool(
            self.sampler,
            sampler_options=self.sampler_options,
            options=self.options,
            policy=self.policy,
            default_k=self.default_k,
            video=self.video,
            max_spans=self.max_spans,
            shows_images=self.images_in_content,
            name=self.name,
            description=self.description or None,
        )
        self.sampler = self._core.sampler
        self.options = self._core.options
        self.default_k = self._core.default_k
        self.video = self._core.video
        self.description = self._core.description
        self.args_schema = self._core.arguments.pydantic_model(f"{self._core.name}_arguments")
        return self

    @property
    def core(self) -> VideoFramesTool:
        """The framework-free tool this adapter runs."""
        return self._core

    @property
    def frame_sampler(self) -> FrameSampler:
        """The resolved sampler."""
        return self._core.sampler

    @property
    def tool_call_schema(self) -> type[BaseModel]:  # type: ignore[override]
        """The schema sent to the model: exactly the core's
        (:meth:`gens_tools.agent.ToolArguments.json_schema`), with no ``additionalProperties`` and no ``null``
        types."""
        schema: type[BaseModel] = self.args_schema
        return schema

    def _respond(self, text: str, selection: FrameSelection) -> tuple[ToolContent, Artifact]:
        artifact = selection_to_artifact(selection, self.artifact_format, jpeg_quality=self.jpeg_quality)
        if not self.images_in_content:
            return text, artifact
        blocks: list[dict[str, Any]] = [text_block(text)]
        blocks.extend(frame_blocks(selection, jpeg_quality=self.jpeg_quality, max_side=self.image_max_side))
        return blocks, artifact

    def _run(
        self, run_manager: CallbackManagerForToolRun | None = None, **arguments: Any
    ) -> tuple[ToolContent, Artifact]:
        """Choose the frames; bad arguments raise :class:`ToolException` with a readable message."""
        with _as_tool_errors():
            result = self._core.run(arguments)
        return self._respond(result.text, result.selection)

    async def _arun(
        self, run_manager: AsyncCallbackManagerForToolRun | None = None, **arguments: Any
    ) -> tuple[ToolContent, Artifact]:
        """Async form of :meth:`_run`: decoding, scoring and encoding run in a worker thread."""
        with _as_tool_errors():
            result = await self._core.arun(arguments)
        if self.images_in_content or self.artifact_format == "json":
            return await asyncio.to_thread(self._respond, result.text, result.selection)
        return self._respond(result.text, result.selection)
