"""``GenSFrameTool``: a LangChain tool that gives an agent the relevant, timestamped frames of a video."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Self, TypeAlias

from gens_tools.agent._access import AccessPolicy
from gens_tools.agent._args import (
    AGENT_ERRORS,
    DEFAULT_K,
    TIME_FORMAT_HELP,
    FrameRequest,
    asample_request,
    check_image_options,
    resolve_sampler,
    sample_request,
    tool_error_text,
    validate_frame_request,
)
from gens_tools.frames import FrameSelection
from gens_tools.samplers._base import FrameSampler
from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.messages.content import create_text_block
from langchain_core.tools import BaseTool, ToolException
from pydantic import BaseModel, ConfigDict, Field, model_validator

from langchain_gens.artifacts import ArtifactFormat, selection_to_artifact
from langchain_gens.formatting import (
    DEFAULT_JPEG_QUALITY,
    DEFAULT_MAX_SPANS,
    describe_selection,
    frame_blocks,
)

ToolContent: TypeAlias = str | list[dict[str, Any]]
Artifact: TypeAlias = FrameSelection | dict[str, Any]

__all__ = ["DEFAULT_K", "GenSFrameInput", "GenSFrameTool"]


@contextmanager
def _as_tool_errors() -> Iterator[None]:
    """Turn errors caused by the call's arguments (:data:`~gens_tools.agent._args.AGENT_ERRORS`) into a
    :class:`ToolException` the model reads; other errors propagate."""
    try:
        yield
    except AGENT_ERRORS as exc:
        raise ToolException(tool_error_text(exc)) from exc


class GenSFrameInput(BaseModel):
    """Arguments of :class:`GenSFrameTool` (the model reads these descriptions).

    The schema only fixes the shapes; the values are checked when the tool runs by
    :func:`gens_tools.agent._args.validate_frame_request`, exactly as in the LlamaIndex tools (``k`` may come
    as ``"8"``, times as ``"12:34"``; unknown arguments are refused).
    """

    model_config = ConfigDict(extra="forbid")

    video: str = Field(
        description="The video to look at: its file path exactly as the user gave it, or an http(s) URL."
    )
    question: str = Field(
        description=(
            "What you need to see or find out, as a full question or description, e.g. 'When does the "
            "speaker show the revenue chart?'. Frames are ranked by how relevant they are to it."
        ),
    )
    k: int | None = Field(
        default=None,
        ge=1,
        description="How many frames to return. Leave empty for the tool's default; fewer frames cost less.",
    )
    start: float | str | None = Field(
        default=None,
        description=(
            f"Start of the time range to search, {TIME_FORMAT_HELP} from the beginning of the video "
            "(empty = 0). Use start and end to zoom into a span found by an earlier call."
        ),
    )
    end: float | str | None = Field(
        default=None,
        description=f"End of the time range to search, {TIME_FORMAT_HELP} (empty = the end of the video).",
    )


class GenSFrameTool(BaseTool):
    """Look inside a video: the frames most relevant to a question, with timestamps, scores and spans.

    The tool's arguments come from a model, so only videos allowed by its :class:`~gens_tools.AccessPolicy`
    are opened (give ``policy``, or ``allowed_roots`` / ``allowed_url_prefixes`` and the caps); anything
    else, and any bad argument, comes back to the model as an error tool message it can read.

    The result is ``content_and_artifact``: the content is a compact text list of frame times, scores and
    relevant spans; the artifact is the :class:`~gens_tools.FrameSelection` with the images. Chat models that
    accept images only in user messages (OpenAI Chat Completions) get the images through
    :class:`~langchain_gens.GenSFramesMiddleware` or :func:`~langchain_gens.frames_message`. For models that
    accept images in tool results (Anthropic, Gemini, the OpenAI Responses API) set
    ``images_in_content=True`` and the content carries the frames as image blocks too.

    Example:
        .. code-block:: python

            from langchain_gens import GenSFrameTool

            tool = GenSFrameTool(sampler="gens-3b", allowed_roots=["~/videos"], max_k=32)
            msg = tool.invoke({"type": "tool_call", "id": "1", "name": tool.name,
                               "args": {"video": "talk.mp4", "question": "When is the demo?"}})
            print(msg.content)          # frame times, scores, spans
            selection = msg.artifact    # gens_tools.FrameSelection with the images
    """

    name: str = "gens_video_frames"
    description: str = ""
    args_schema: type[BaseModel] = GenSFrameInput
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    handle_tool_error: Any = True
    handle_validation_error: Any = tool_error_text
    """Schema errors (a missing or unknown argument, ``k`` not a number) come back worded like every other
    refusal: ``"Invalid argument: k: Input should be a valid integer…"``."""

    sampler: Any = "uniform"
    """A :class:`~gens_tools.FrameSampler`, or a registered name (``"uniform"``, ``"gens-3b"``, ``"gens"``,
    ``"similarity"``, ``"remote"``) built once when the tool is created."""
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
    fps: float = 1.0
    """Rate of the candidate grid (GenS reads 1 fps)."""
    max_side: int | None = None
    """Decoded frame size (longer side, px); default: the sampler's preference, else 448."""
    min_gap: float = 0.0
    """Minimum seconds between chosen frames."""
    cache: Any = True
    """``True`` for the user frame cache, a ``gens_tools.video._cache.FrameCache``, or ``False``."""
    backend: str = "auto"
    """Video decoding backend: ``"auto"``, ``"pyav"`` or ``"decord"``."""
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
        if self.default_k is None:
            self.default_k = min(DEFAULT_K, self.max_k)
        if self.default_k < 1 or self.default_k > self.max_k:
            raise ValueError(f"default_k must be between 1 and max_k ({self.max_k}), got {self.default_k}")
        check_image_options(self.jpeg_quality, self.image_max_side)
        if self.max_spans < 1:
            raise ValueError(f"max_spans must be at least 1, got {self.max_spans}")
        self.sampler = resolve_sampler(self.sampler)
        if not self.description:
            self.description = self._default_description()
        return self

    def _default_description(self) -> str:
        parts = [
            "Look inside a video: returns the frames most relevant to a question, each with its time "
            "(seconds) and a relevance score (0-5), plus the time spans that scored as relevant.",
            "Use it to find out what happens in a video and when. To look closer at a moment, call it "
            "again with start and end (seconds) around a span from an earlier result.",
            f"Returns {self.default_k} frames unless you set k (at most {self.max_k}).",
        ]
        if self.max_duration is not None:
            parts.append(
                f"Searches at most {self.max_duration:g} seconds of video per call; for longer videos pass "
                "start and end."
            )
        if self.images_in_content:
            parts.append("The frames' images are included in the result.")
        parts.append("Only videos the user made available can be opened.")
        return " ".join(parts)

    @property
    def frame_sampler(self) -> FrameSampler:
        """The resolved sampler."""
        sampler: FrameSampler = self.sampler
        return sampler

    def _request(
        self, video: object, question: object, k: object, start: object, end: object
    ) -> FrameRequest:
        """The shared argument checks (policy, ``k``, range), before anything is opened."""
        assert self.default_k is not None
        return validate_frame_request(
            video, question, k=k, start=start, end=end, default_k=self.default_k, policy=self.policy
        )

    def _respond(self, video: str, selection: FrameSelection) -> tuple[ToolContent, Artifact]:
        text = describe_selection(selection, video_label=video, max_spans=self.max_spans)
        artifact = selection_to_artifact(selection, self.artifact_format, jpeg_quality=self.jpeg_quality)
        if not self.images_in_content:
            return text, artifact
        blocks: list[dict[str, Any]] = [dict(create_text_block(text))]
        blocks.extend(frame_blocks(selection, jpeg_quality=self.jpeg_quality, max_side=self.image_max_side))
        return blocks, artifact

    def _run(
        self,
        video: str,
        question: str,
        k: int | None = None,
        start: float | str | None = None,
        end: float | str | None = None,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> tuple[ToolContent, Artifact]:
        """Choose the frames; bad arguments raise :class:`ToolException` with a readable message."""
        with _as_tool_errors():
            selection = sample_request(self, self._request(video, question, k, start, end))
        return self._respond(video, selection)

    async def _arun(
        self,
        video: str,
        question: str,
        k: int | None = None,
        start: float | str | None = None,
        end: float | str | None = None,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> tuple[ToolContent, Artifact]:
        """Async form of :meth:`_run`: decoding and scoring run in a worker thread."""
        with _as_tool_errors():
            selection = await asample_request(self, self._request(video, question, k, start, end))
        if self.images_in_content or self.artifact_format == "json":
            return await asyncio.to_thread(self._respond, video, selection)
        return self._respond(video, selection)
