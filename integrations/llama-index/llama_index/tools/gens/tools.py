"""Agent tools: :class:`GenSToolSpec` (``video_frames`` and ``ask_video``), and the two tool classes behind it.

Thin adapters over the framework-free tools of :mod:`gens_tools.agent` (:class:`~gens_tools.agent.VideoFramesTool`,
:class:`~gens_tools.agent.AskVideoTool`), which own the names, argument declarations, descriptions, checks and
texts — word for word those of the LangChain integration. Only videos the user's
:class:`~gens_tools.AccessPolicy` allows are opened; ``k`` and the range length are capped. A call refused or
failed because of its arguments (access denied, bad ``k`` or range, an unreadable video; for ``ask_video`` also
a refused, empty or too-long answer) comes back as a readable tool output with ``is_error=True``, so the agent
can try again; it never raises. Deployment problems (a missing backend, a model that cannot load, a provider
outage) raise — a LlamaIndex agent still reports those to the model as a failed tool call.

Which tool for which model: OpenAI Chat Completions takes images only in *user* messages, so a ``gpt-4o`` agent
on it should use ``ask_video`` (the query engine sends the frames to the vision model itself and returns text).
Models that read images inside tool results (Anthropic, Gemini, the OpenAI Responses API) can use
``video_frames`` and look at the frames directly.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from typing import Any

from gens_tools import (
    AccessPolicy,
    AnswerRefusedError,
    ContextTooLongError,
    EmptyAnswerError,
    FrameSampler,
    FrameSelection,
    InvalidArgumentError,
    SamplingOptions,
)
from gens_tools.agent import (
    AGENT_ERRORS,
    DEFAULT_MAX_SPANS,
    AskVideoTool,
    FramesResult,
    ToolArguments,
    VideoFramesTool,
    check_image_options,
    describe_answer,
    tool_error_text,
)
from gens_tools.assistants import Assistant, plan_frames
from llama_index.core.base.llms.types import ContentBlock
from llama_index.core.base.response.schema import Response
from llama_index.core.bridge.pydantic import BaseModel, ValidationError
from llama_index.core.llms import LLM
from llama_index.core.tools import BaseTool, FunctionTool, QueryEngineTool, ToolMetadata, ToolOutput
from llama_index.core.tools.tool_spec.base import BaseToolSpec

from llama_index.tools.gens.nodes import frame_blocks, plan_note
from llama_index.tools.gens.query_engine import GenSVideoQueryEngine
from llama_index.tools.gens.retriever import VideoQueryBundle

__all__ = [
    "ANSWER_TOOL_ERRORS",
    "FRAME_TOOL_ERRORS",
    "FrameToolResult",
    "GenSAskVideoTool",
    "GenSToolSpec",
    "GenSVideoFramesTool",
]

#: What the frames tool reports back to the model instead of raising.
FRAME_TOOL_ERRORS: tuple[type[Exception], ...] = (*AGENT_ERRORS, ValidationError)
#: The ask tool also reports answers the model refused or left empty, or a request too long even after
#: shrinking: the agent can rephrase or narrow the range.
ANSWER_TOOL_ERRORS: tuple[type[Exception], ...] = (
    *FRAME_TOOL_ERRORS,
    AnswerRefusedError,
    EmptyAnswerError,
    ContextTooLongError,
)


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


def _checked_kwargs(
    schema: type[BaseModel] | None, arguments: ToolArguments, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    if args:
        raise InvalidArgumentError(f"pass the tool's arguments by name ({', '.join(arguments.names)})")
    if schema is None:
        return dict(kwargs)
    return schema.model_validate(kwargs).model_dump()


# --- video_frames ---------------------------------------------------------------------------------------------


class FrameToolResult(list):  # type: ignore[type-arg]
    """The blocks ``video_frames`` returns (a plain list of content blocks) with the
    :class:`~gens_tools.FrameSelection` behind them in ``selection`` — the tool output's ``raw_output``."""

    def __init__(self, blocks: Sequence[ContentBlock], selection: FrameSelection) -> None:
        super().__init__(blocks)
        self.selection = selection


class GenSVideoFramesTool(FunctionTool):
    """The ``video_frames`` tool as a LlamaIndex :class:`FunctionTool` (build it with :class:`GenSToolSpec` or
    :meth:`from_core`).

    The output is the selection's text (:func:`gens_tools.agent.describe_selection`) then, per frame, its
    caption and an :class:`ImageBlock`; ``raw_output`` is a :class:`FrameToolResult` whose ``selection`` is the
    :class:`~gens_tools.FrameSelection`. Arguments are checked against the core's schema and values;
    refusals (:data:`FRAME_TOOL_ERRORS`) become readable ``is_error`` outputs.
    """

    core: VideoFramesTool

    @classmethod
    def from_core(
        cls,
        core: VideoFramesTool,
        *,
        include_images: bool = True,
        model: str | None = None,
        jpeg_quality: int = 85,
        image_max_side: int | None = 768,
    ) -> GenSVideoFramesTool:
        """The LlamaIndex tool for a configured :class:`gens_tools.agent.VideoFramesTool`.

        Args:
            core: the framework-free tool (its name, description, arguments and sampling).
            include_images: ``False`` returns only the text (timestamps, scores, spans).
            model: the model that will read the images (``"gpt-4o"``, ``"gemini-2.5-flash"``…): frames are then
                sized and, if needed, dropped (lowest scores first) to fit its limits with the gens-tools budget
                planner, and the text says how many are shown. ``None``: every frame, longer side at most
                ``image_max_side``.
            jpeg_quality, image_max_side: JPEG quality and size when no ``model`` is given.
        """
        check_image_options(jpeg_quality, image_max_side)

        def blocks(result: FramesResult) -> FrameToolResult:
            selection, text = result.selection, result.text
            plan = None
            if model is not None and selection.frames:
                plan = plan_frames(selection, model, jpeg_quality=jpeg_quality)
                shown = [image.frame for image in plan.images]
                text = core.describe(selection, video_label=result.video_label, shown=shown, shown_note=plan_note(plan))
            out = frame_blocks(
                selection,
                text,
                include_images=include_images,
                jpeg_quality=jpeg_quality,
                image_max_side=image_max_side,
                plan=plan,
            )
            return FrameToolResult(out, selection)

        def video_frames(**kwargs: Any) -> FrameToolResult:
            return blocks(core.run(kwargs))

        async def avideo_frames(**kwargs: Any) -> FrameToolResult:
            result = await core.arun(kwargs)
            return await asyncio.to_thread(blocks, result)  # JPEG encoding off the event loop

        schema = core.arguments.pydantic_model(f"{core.name}_arguments")
        tool = cls(
            fn=video_frames,
            async_fn=avideo_frames,
            metadata=ToolMetadata(name=core.name, description=core.description, fn_schema=schema),
        )
        tool.core = core
        return tool

    def call(self, *args: Any, **kwargs: Any) -> ToolOutput:
        """Run the tool; a refused or failed call returns an error output instead of raising."""
        try:
            checked = _checked_kwargs(self.metadata.fn_schema, self.core.arguments, args, kwargs)
            return super().call(**checked)
        except FRAME_TOOL_ERRORS as exc:
            return _error_output(self.metadata.get_name(), exc, kwargs)

    async def acall(self, *args: Any, **kwargs: Any) -> ToolOutput:
        """Async :meth:`call`."""
        try:
            checked = _checked_kwargs(self.metadata.fn_schema, self.core.arguments, args, kwargs)
            return await super().acall(**checked)
        except FRAME_TOOL_ERRORS as exc:
            return _error_output(self.metadata.get_name(), exc, kwargs)


# --- ask_video ------------------------------------------------------------------------------------------------


class GenSAskVideoTool(QueryEngineTool):
    """The ``ask_video`` tool: a :class:`QueryEngineTool` over a :class:`GenSVideoQueryEngine` whose arguments
    are the core's (``question``, optional ``start``/``end``, and ``video`` when the engine is not bound to one),
    checked like every gens-tools tool before anything is opened.

    The output text is the answer followed by the times of the frames it was based on
    (:func:`gens_tools.agent.describe_answer`); ``raw_output`` is the
    :class:`~llama_index.core.base.response.schema.Response` (its ``source_nodes`` are the frames).
    Refused or failed calls come back as ``is_error`` outputs with a readable message.
    """

    core: AskVideoTool

    @classmethod
    def from_engine(
        cls,
        engine: GenSVideoQueryEngine,
        *,
        name: str = "ask_video",
        description: str | None = None,
        return_direct: bool = False,
    ) -> GenSAskVideoTool:
        """The ``ask_video`` tool for ``engine``; the engine's retriever policy applies (give it one when the
        video comes from the model)."""
        if not isinstance(engine, GenSVideoQueryEngine):
            raise InvalidArgumentError(f"engine must be a GenSVideoQueryEngine, got {type(engine).__name__}")
        retriever = engine.retriever
        if retriever.video is None and retriever.policy is None:
            raise InvalidArgumentError(
                "an engine whose video comes from the model needs an AccessPolicy on its retriever "
                "(GenSVideoRetriever(policy=AccessPolicy.allow([...])))"
            )
        core = AskVideoTool(video=retriever.video, policy=retriever.policy, name=name, description=description)
        schema = core.arguments.pydantic_model(f"{core.name}_arguments")
        tool = cls(
            query_engine=engine,
            metadata=ToolMetadata(
                name=core.name, description=core.description, fn_schema=schema, return_direct=return_direct
            ),
        )
        tool.core = core
        return tool

    def _bundle(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> VideoQueryBundle:
        data = dict(kwargs)
        if args:
            if len(args) > 1 or "question" in data:
                raise InvalidArgumentError("pass the question once, by name")
            data["question"] = args[0]
        if "input" in data and "question" not in data:  # LlamaIndex's default query-engine argument name
            data["question"] = data.pop("input")
        checked = _checked_kwargs(self.metadata.fn_schema, self.core.arguments, (), data)
        engine = self.query_engine
        assert isinstance(engine, GenSVideoQueryEngine)
        # Check everything before any decoding, so refusals are immediate and never touch the file.
        request = self.core.request(checked, k=engine.retriever.k)
        return VideoQueryBundle(
            query_str=request.question, video=request.video, start=request.start, end=request.end, k=request.k
        )

    def _output(self, response: Response, kwargs: dict[str, Any]) -> ToolOutput:
        stamps = (response.metadata or {}).get("timestamps") or []
        return ToolOutput(
            content=describe_answer(response.response or "", stamps),
            tool_name=self.metadata.get_name(),
            raw_input={"kwargs": kwargs},
            raw_output=response,
        )

    def call(self, *args: Any, **kwargs: Any) -> ToolOutput:
        """Answer; a refused or failed call returns an error output instead of raising."""
        try:
            response = self.query_engine.query(self._bundle(args, kwargs))
        except ANSWER_TOOL_ERRORS as exc:
            return _error_output(self.metadata.get_name(), exc, kwargs)
        assert isinstance(response, Response)
        return self._output(response, kwargs)

    async def acall(self, *args: Any, **kwargs: Any) -> ToolOutput:
        """Async :meth:`call`."""
        try:
            response = await self.query_engine.aquery(self._bundle(args, kwargs))
        except ANSWER_TOOL_ERRORS as exc:
            return _error_output(self.metadata.get_name(), exc, kwargs)
        assert isinstance(response, Response)
        return self._output(response, kwargs)


# --- the tool spec ----------------------------------------------------------------------------------------------


class GenSToolSpec(BaseToolSpec):
    """gens-tools for LlamaIndex agents: ``video_frames`` (the relevant frames, with times, scores and images)
    and, when an answering model is given, ``ask_video`` (a vision model answers from those frames).

    ``to_tool_list()`` gives the tools for an agent (``FunctionAgent(tools=spec.to_tool_list(), …)``);
    :meth:`video_frames` and :meth:`ask_video` can also be called directly (they raise instead of returning
    error outputs).

    Args:
        policy: which videos the model may open and the caps on ``k`` and the range length (required: the
            arguments come from a model).
        sampler: a :class:`gens_tools.FrameSampler` or a sampler name (built once, reused by both tools);
            ``None`` for uniform sampling.
        sampler_options: options for :func:`gens_tools.make_sampler` when ``sampler`` is a name.
        options: how to sample (:class:`gens_tools.SamplingOptions`); its fields are accepted as keyword
            arguments too (``fps``, ``max_side``, ``min_gap``, ``backend``, ``frame_rate``, ``cache``).
        video: bind both tools to one video (the model then passes no ``video``).
        default_k: frames ``video_frames`` returns when the model gives no ``k`` (default 8, or the policy's
            ``max_k`` if smaller).
        max_spans: most relevant spans listed in the text.
        include_images, model, jpeg_quality, image_max_side: how ``video_frames`` shows the frames (see
            :meth:`GenSVideoFramesTool.from_core`).
        llm: the answering model for ``ask_video``: a llama-index LLM that takes ``ImageBlock`` s or a
            gens-tools :class:`~gens_tools.Assistant`; without one there is no ``ask_video``.
        ask_k: frames ``ask_video`` samples (default: as many as ``llm`` can take, capped by the policy).
        assistant_options: how a llama-index LLM is wrapped (``detail``, ``max_frames``, ``budget``…).
    """

    spec_functions: list[Any] = ["video_frames", "ask_video"]  # noqa: RUF012 - BaseToolSpec's declaration

    def __init__(
        self,
        policy: AccessPolicy,
        *,
        sampler: FrameSampler | str | None = None,
        sampler_options: Mapping[str, Any] | None = None,
        options: SamplingOptions | Mapping[str, Any] | None = None,
        video: str | os.PathLike[str] | None = None,
        default_k: int | None = None,
        max_spans: int = DEFAULT_MAX_SPANS,
        include_images: bool = True,
        model: str | None = None,
        jpeg_quality: int = 85,
        image_max_side: int | None = 768,
        llm: LLM | Assistant | None = None,
        ask_k: int | None = None,
        assistant_options: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        if not isinstance(policy, AccessPolicy):
            raise InvalidArgumentError("GenSToolSpec needs an AccessPolicy saying which videos may be opened")
        self.frames = VideoFramesTool(
            sampler,
            sampler_options=sampler_options,
            options=options,
            policy=policy,
            default_k=default_k,
            video=video,
            max_spans=max_spans,
            shows_images=include_images,
            **settings,
        )
        self._frames_tool = GenSVideoFramesTool.from_core(
            self.frames,
            include_images=include_images,
            model=model,
            jpeg_quality=jpeg_quality,
            image_max_side=image_max_side,
        )
        self.engine: GenSVideoQueryEngine | None = None
        if llm is not None:
            self.engine = GenSVideoQueryEngine.from_video(
                self.frames.video,
                llm,
                sampler=self.frames.sampler,
                k=ask_k,
                policy=policy,
                assistant_options=dict(assistant_options or {}),
                options=self.frames.options,
            )
        self.spec_functions = ["video_frames"] if self.engine is None else ["video_frames", "ask_video"]

    def video_frames(
        self,
        question: str,
        video: str | None = None,
        k: int | None = None,
        start: float | str | None = None,
        end: float | str | None = None,
    ) -> FrameToolResult:
        """The frames most relevant to ``question`` (a direct call: errors raise)."""
        arguments: dict[str, Any] = {"question": question, "k": k, "start": start, "end": end}
        if video is not None:
            arguments["video"] = video
        result: FrameToolResult = self._frames_tool.fn(**arguments)
        return result

    def ask_video(
        self, question: str, video: str | None = None, start: float | str | None = None, end: float | str | None = None
    ) -> Response:
        """Answer ``question`` from the relevant frames (a direct call: errors raise)."""
        if self.engine is None:
            raise InvalidArgumentError("this GenSToolSpec has no answering model: pass llm=…")
        response = self.engine.query(VideoQueryBundle(query_str=question, video=video, start=start, end=end))
        assert isinstance(response, Response)
        return response

    def to_tool_list(  # type: ignore[override]
        self,
        spec_functions: list[Any] | None = None,
        func_to_metadata_mapping: dict[str, ToolMetadata] | None = None,
    ) -> list[BaseTool]:
        """The agent tools: ``video_frames`` and, with an ``llm``, ``ask_video`` (names, descriptions and
        argument schemas from :mod:`gens_tools.agent`; ``func_to_metadata_mapping`` may rename or redescribe
        them)."""
        tools: list[BaseTool] = []
        for fn_name in spec_functions or self.spec_functions:
            if fn_name == "video_frames":
                tool: BaseTool = self._frames_tool
            elif fn_name == "ask_video" and self.engine is not None:
                tool = GenSAskVideoTool.from_engine(self.engine)
            else:
                raise InvalidArgumentError(f"GenSToolSpec has no tool {fn_name!r}; it has {self.spec_functions}")
            custom = (func_to_metadata_mapping or {}).get(fn_name)
            if custom is not None:
                tool.metadata.name = custom.name
                tool.metadata.description = custom.description
            tools.append(tool)
        return tools
