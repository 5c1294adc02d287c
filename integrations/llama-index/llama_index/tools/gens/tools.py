"""Agent tools: frames as ``ImageBlock`` s (a :class:`FunctionTool`) and answers (a :class:`QueryEngineTool`).

Both take their arguments from a model, so both check them the same way, with the checks the LangChain tool
uses too (:func:`gens_tools.agent._args.validate_frame_request` with the user's
:class:`~gens_tools.AccessPolicy`): only allowed paths/URLs are opened, ``k`` and the range length are capped.
A call refused or failed because of its arguments (access denied, bad ``k`` or range, an unreadable video; for
the query-engine tool also a refused, empty or too-long answer) comes back as a readable tool output with
``is_error=True``, so the agent can try again; it never raises. Deployment problems (a missing backend, a model
that cannot load, a provider outage) raise — a LlamaIndex agent still reports those to the model as a failed
tool call rather than ending the workflow.

Which one to give an agent: chat APIs differ in where they accept images. OpenAI Chat Completions takes
images only in *user* messages, so a ``gpt-4o`` agent on it should use :func:`make_query_engine_tool` (the
engine sends the frames to the multimodal model itself and returns text). Models that read images inside
tool results (Anthropic, Gemini, the OpenAI Responses API) can use :func:`make_frames_tool` and look at the
frames directly.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
from gens_tools.errors import AnswerRefusedError, ContextTooLongError, EmptyAnswerError, InvalidArgumentError
from gens_tools.frames import FrameSelection, format_timestamp
from gens_tools.samplers._base import FrameSampler
from llama_index.core.base.llms.types import ContentBlock
from llama_index.core.base.response.schema import Response
from llama_index.core.bridge.pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from llama_index.core.tools import FunctionTool, QueryEngineTool, ToolMetadata, ToolOutput

from llama_index.tools.gens.nodes import frame_blocks
from llama_index.tools.gens.query_engine import VideoQueryEngine
from llama_index.tools.gens.retriever import VideoQueryBundle

__all__ = [
    "FrameToolResult",
    "GenSFramesTool",
    "VideoQueryEngineTool",
    "make_frames_tool",
    "make_query_engine_tool",
]


def _allowed_text(policy: AccessPolicy) -> str:
    places = [str(r) for r in policy.roots] + list(policy.url_prefixes)
    return ", ".join(places) if places else "nothing (no folders or URLs are configured)"


def _args_schema(name: str, *, with_video: bool, with_k: bool, policy: AccessPolicy, default_k: int) -> type[BaseModel]:
    """The pydantic schema the model reads: descriptions carry the limits, unknown arguments are refused."""
    fields: dict[str, Any] = {}
    if with_video:
        fields["video"] = (
            str,
            Field(description=f"Path or http(s) URL of the video. Allowed: {_allowed_text(policy)}."),
        )
    fields["question"] = (
        str,
        Field(description="What you want to find out or see in the video, as a full question."),
    )
    if with_k:
        fields["k"] = (
            int | None,
            Field(
                default=None,
                ge=1,
                description=f"How many frames to return (default {default_k}, at most {policy.max_k}).",
            ),
        )
    limit = f" At most {policy.max_duration:.0f} s per call." if policy.max_duration is not None else ""
    fields["start"] = (
        float | str | None,
        Field(default=None, description=f"Optional: look only from this time, {TIME_FORMAT_HELP}.{limit}"),
    )
    fields["end"] = (
        float | str | None,
        Field(default=None, description=f"Optional: look only up to this time, {TIME_FORMAT_HELP}."),
    )
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        name, __config__=ConfigDict(extra="forbid"), **fields
    )
    return model


def _error_output(tool_name: str, exc: Exception, kwargs: dict[str, Any]) -> ToolOutput:
    text = tool_error_text(exc)  # schema (pydantic) errors included, worded like the LangChain tool's
    return ToolOutput(
        content=text,
        tool_name=tool_name,
        raw_input={"kwargs": kwargs},
        raw_output=text,
        is_error=True,
        exception=exc,
    )


def _checked_kwargs(schema: type[BaseModel] | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    if args:
        raise InvalidArgumentError("pass the tool's arguments by name (video, question, k, start, end)")
    if schema is None:
        return dict(kwargs)
    return schema.model_validate(kwargs).model_dump()


# --- frames as blocks -----------------------------------------------------------------------------------------


class FrameToolResult(list):  # type: ignore[type-arg]
    """The blocks a frame tool returns (a plain list of content blocks) with the
    :class:`~gens_tools.FrameSelection` behind them in ``selection`` — the tool output's ``raw_output``."""

    def __init__(self, blocks: Sequence[ContentBlock], selection: FrameSelection) -> None:
        super().__init__(blocks)
        self.selection = selection


#: What the frames tool reports back to the model instead of raising.
FRAME_TOOL_ERRORS: tuple[type[Exception], ...] = (*AGENT_ERRORS, ValidationError)
#: The query-engine tool also reports answers the model refused or left empty, or a request too long even
#: after shrinking: the agent can rephrase or narrow the range.
ANSWER_TOOL_ERRORS: tuple[type[Exception], ...] = (
    *FRAME_TOOL_ERRORS,
    AnswerRefusedError,
    EmptyAnswerError,
    ContextTooLongError,
)


class GenSFramesTool(FunctionTool):
    """A :class:`FunctionTool` whose arguments are checked against its schema and whose argument errors
    (access denied, bad arguments, unreadable video: :data:`FRAME_TOOL_ERRORS`) become readable ``is_error``
    outputs."""

    def call(self, *args: Any, **kwargs: Any) -> ToolOutput:
        """Run the tool; a refused or failed call returns an error output instead of raising."""
        try:
            checked = _checked_kwargs(self.metadata.fn_schema, args, kwargs)
            return super().call(**checked)
        except FRAME_TOOL_ERRORS as exc:
            return _error_output(self.metadata.get_name(), exc, kwargs)

    async def acall(self, *args: Any, **kwargs: Any) -> ToolOutput:
        """Async :meth:`call`."""
        try:
            checked = _checked_kwargs(self.metadata.fn_schema, args, kwargs)
            return await super().acall(**checked)
        except FRAME_TOOL_ERRORS as exc:
            return _error_output(self.metadata.get_name(), exc, kwargs)


@dataclass
class _FramesToolSettings:
    """How a frames tool samples (a :class:`~gens_tools.agent._args.SamplingSettings`)."""

    sampler: FrameSampler
    fps: float
    max_side: int | None
    cache: Any
    backend: str
    policy: AccessPolicy | None
    min_gap: float = 0.0


_FRAMES_DESCRIPTION = (
    "Look at a video. Returns the frames most relevant to your question, in time order, each with its "
    "timestamp [hh:mm:ss.s] and relevance score (0-5, from the GenS frame sampler), plus the time spans found "
    "relevant. To look closer at a moment, call again with start/end around it."
)


def make_frames_tool(
    policy: AccessPolicy,
    *,
    sampler: FrameSampler | str | None = None,
    sampler_options: dict[str, Any] | None = None,
    video: str | os.PathLike[str] | None = None,
    default_k: int = DEFAULT_K,
    fps: float = 1.0,
    max_side: int | None = None,
    cache: Any = True,
    backend: str = "auto",
    include_images: bool = True,
    model: str | None = None,
    jpeg_quality: int = 85,
    image_max_side: int | None = 768,
    name: str = "video_frames",
    description: str | None = None,
) -> GenSFramesTool:
    """A :class:`FunctionTool` that returns the frames of a video relevant to a question: a text summary
    (timestamps, scores, relevant spans) and, per frame, its ``[hh:mm:ss.s]`` label and an :class:`ImageBlock`.

    Args:
        policy: which videos the model may open and the caps on ``k`` and the range length (required: the
            arguments come from a model).
        sampler: a :class:`gens_tools.FrameSampler` or a sampler name (built once, reused); default uniform.
        video: bind the tool to one video (the model then passes no ``video``).
        default_k: frames when the model gives no ``k``.
        fps, max_side, cache, backend: as in :func:`gens_tools.sample_frames`.
        include_images: ``False`` returns only the text (timestamps, scores, spans).
        model: the model that will read the images (e.g. ``"gpt-4o"``, ``"gemini-2.5-flash"``): frames are
            then sized and, if needed, dropped (lowest scores first) to fit its limits with the gens-tools
            budget planner. ``None``: every frame, longer side at most ``image_max_side``.
        jpeg_quality, image_max_side: JPEG quality and size when no ``model`` is given.
        name, description: what the agent sees.

    The :class:`ToolOutput`'s ``raw_output`` is a :class:`FrameToolResult` (the blocks) whose ``selection``
    is the :class:`gens_tools.FrameSelection`.
    """
    if not isinstance(policy, AccessPolicy):
        raise InvalidArgumentError("make_frames_tool needs an AccessPolicy saying which videos may be opened")
    bound = policy.check(os.fspath(video)) if video is not None else None
    check_image_options(jpeg_quality, image_max_side)
    sampler_obj = resolve_sampler(sampler, sampler_options)

    def _request(kwargs: dict[str, Any]) -> FrameRequest:
        return validate_frame_request(
            bound if bound is not None else kwargs.get("video"),
            kwargs.get("question"),
            k=kwargs.get("k"),
            start=kwargs.get("start"),
            end=kwargs.get("end"),
            default_k=default_k,
            policy=policy,
        )

    settings = _FramesToolSettings(
        sampler=sampler_obj, fps=fps, max_side=max_side, cache=cache, backend=backend, policy=policy
    )

    def _blocks(selection: FrameSelection) -> FrameToolResult:
        plan = None
        if model is not None and selection.frames:
            from gens_tools.assistants._budget import plan_frames

            plan = plan_frames(selection, model, jpeg_quality=jpeg_quality)
        blocks = frame_blocks(
            selection,
            include_images=include_images,
            jpeg_quality=jpeg_quality,
            image_max_side=image_max_side,
            plan=plan,
        )
        return FrameToolResult(blocks, selection)

    def video_frames(**kwargs: Any) -> FrameToolResult:
        return _blocks(sample_request(settings, _request(kwargs)))

    async def avideo_frames(**kwargs: Any) -> FrameToolResult:
        selection = await asample_request(settings, _request(kwargs))
        return await asyncio.to_thread(_blocks, selection)  # JPEG encoding off the event loop

    schema = _args_schema(f"{name}_args", with_video=bound is None, with_k=True, policy=policy, default_k=default_k)
    text = description or _FRAMES_DESCRIPTION
    if bound is not None:
        text += f" The video is {os.path.basename(bound) or bound}."
    return GenSFramesTool(
        fn=video_frames,
        async_fn=avideo_frames,
        metadata=ToolMetadata(name=name, description=text, fn_schema=schema),
    )


# --- answers from a query engine -----------------------------------------------------------------------------


def _answer_text(response: Response) -> str:
    lines = [response.response or ""]
    meta = response.metadata or {}
    stamps = meta.get("timestamps") or []
    if stamps:
        lines.append("Frames the answer was based on: " + ", ".join(f"[{format_timestamp(t)}]" for t in stamps))
    return "\n".join(lines)


class VideoQueryEngineTool(QueryEngineTool):
    """A :class:`QueryEngineTool` over a :class:`VideoQueryEngine` whose arguments include an optional time
    range (and the video, when the engine is not bound to one), checked like every gens-tools tool.

    Refused or failed calls come back as ``is_error`` outputs with a readable message. The output text is the
    answer followed by the timestamps of the frames it was based on; ``raw_output`` is the
    :class:`~llama_index.core.base.response.schema.Response` (its ``source_nodes`` are the frames).
    """

    def _bundle(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> VideoQueryBundle:
        data = dict(kwargs)
        if args:
            if len(args) > 1 or "question" in data:
                raise InvalidArgumentError("pass the question once, by name")
            data["question"] = args[0]
        if "input" in data and "question" not in data:  # LlamaIndex's default query-engine argument name
            data["question"] = data.pop("input")
        checked = _checked_kwargs(self.metadata.fn_schema, (), data)
        engine = self.query_engine
        assert isinstance(engine, VideoQueryEngine)
        retriever = engine.retriever
        # Check everything before any decoding, so refusals are immediate and never touch the file.
        request = retriever.request_for(
            VideoQueryBundle(
                query_str=checked["question"],
                video=checked.get("video"),
                start=checked.get("start"),
                end=checked.get("end"),
            )
        )
        return VideoQueryBundle(
            query_str=request.question, video=request.video, start=request.start, end=request.end, k=request.k
        )

    def _output(self, response: Response, kwargs: dict[str, Any]) -> ToolOutput:
        return ToolOutput(
            content=_answer_text(response),
            tool_name=self.metadata.get_name(),
            raw_input={"kwargs": kwargs},
            raw_output=response,
        )

    def call(self, *args: Any, **kwargs: Any) -> ToolOutput:
        """Answer; a refused or failed call returns an error output instead of raising."""
        try:
            bundle = self._bundle(args, kwargs)
            response = self.query_engine.query(bundle)
        except ANSWER_TOOL_ERRORS as exc:
            return _error_output(self.metadata.get_name(), exc, kwargs)
        assert isinstance(response, Response)
        return self._output(response, kwargs)

    async def acall(self, *args: Any, **kwargs: Any) -> ToolOutput:
        """Async :meth:`call`."""
        try:
            bundle = self._bundle(args, kwargs)
            response = await self.query_engine.aquery(bundle)
        except ANSWER_TOOL_ERRORS as exc:
            return _error_output(self.metadata.get_name(), exc, kwargs)
        assert isinstance(response, Response)
        return self._output(response, kwargs)


_ASK_DESCRIPTION = (
    "Ask a question about a video. A vision model looks at the frames most relevant to the question and "
    "answers, citing timestamps [hh:mm:ss]. To ask about one part of the video, pass start/end."
)


def make_query_engine_tool(
    engine: VideoQueryEngine,
    *,
    name: str = "ask_video",
    description: str | None = None,
    return_direct: bool = False,
) -> VideoQueryEngineTool:
    """A :class:`QueryEngineTool` for ``engine``: arguments ``question``, optional ``start``/``end`` and,
    when the engine's retriever is not bound to a video, ``video``. The engine's retriever policy applies
    (give it one: the arguments come from a model)."""
    if not isinstance(engine, VideoQueryEngine):
        raise InvalidArgumentError(f"engine must be a VideoQueryEngine, got {type(engine).__name__}")
    retriever = engine.retriever
    policy = retriever.policy or AccessPolicy(max_k=max(64, retriever.k))
    unbound = retriever.video is None
    if unbound and retriever.policy is None:
        raise InvalidArgumentError(
            "an engine whose video comes from the model needs an AccessPolicy on its retriever "
            "(GenSFrameRetriever(policy=AccessPolicy.allow([...])))"
        )
    schema = _args_schema(f"{name}_args", with_video=unbound, with_k=False, policy=policy, default_k=retriever.k)
    text = description or _ASK_DESCRIPTION
    if not unbound and retriever.video is not None:
        text += f" The video is {os.path.basename(retriever.video) or retriever.video}."
    return VideoQueryEngineTool(
        query_engine=engine,
        metadata=ToolMetadata(name=name, description=text, fn_schema=schema, return_direct=return_direct),
    )
