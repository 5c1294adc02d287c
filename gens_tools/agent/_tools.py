"""The agent tools themselves, free of any framework: ``video_frames`` and ``ask_video``.

A developer configures a tool once (sampler, :class:`~gens_tools.SamplingOptions`, :class:`AccessPolicy`,
``default_k``, optionally one bound video); the tool then exposes what every framework needs — ``name``,
``description`` (generated from the configuration), ``arguments`` (:class:`ToolArguments`, with
``json_schema()``) — and ``run(arguments)`` / ``arun(arguments)``, which check the model's arguments, sample
and return the text the model reads with the result behind it. Arguments the model got wrong raise one of
:data:`~gens_tools.agent.AGENT_ERRORS`; adapters turn those into readable tool errors with
:func:`~gens_tools.agent.tool_error_text`. The LangChain and LlamaIndex integrations (and later an MCP server)
are thin adapters over these classes, so they share one name, one argument declaration, one description and
one wording.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gens_tools._checks import positive_int
from gens_tools._sources import is_url
from gens_tools.agent._access import AccessPolicy
from gens_tools.agent._args import (
    DEFAULT_K,
    TIME_FORMAT_HELP,
    FrameRequest,
    resolve_sampler,
    validate_frame_request,
)
from gens_tools.agent._spec import ToolArgument, ToolArguments
from gens_tools.agent._text import DEFAULT_MAX_SPANS, describe_answer, describe_selection, video_name
from gens_tools.errors import InvalidArgumentError
from gens_tools.frames import Frame, FrameSelection
from gens_tools.options import SamplingOptions
from gens_tools.samplers import FrameSampler

if TYPE_CHECKING:
    from gens_tools.assistants import Answer
    from gens_tools.qa import VideoQA

__all__ = [
    "AskResult",
    "AskVideoTool",
    "FramesResult",
    "VideoFramesTool",
    "asample_request",
    "ask_arguments",
    "ask_description",
    "sample_request",
]


# --- sampling a checked request ---------------------------------------------------------------------------------


def sample_request(
    request: FrameRequest,
    *,
    sampler: FrameSampler,
    options: SamplingOptions,
    policy: AccessPolicy | None = None,
) -> FrameSelection:
    """Run :func:`gens_tools.sample_frames` for a checked ``request`` with a tool's (or retriever's) sampler,
    options and policy."""
    from gens_tools.pipeline import sample_frames

    return sample_frames(
        request.video,
        request.question,
        sampler=sampler,
        k=request.k,
        start=request.start,
        end=request.end,
        options=options,
        policy=policy,
    )


async def asample_request(
    request: FrameRequest,
    *,
    sampler: FrameSampler,
    options: SamplingOptions,
    policy: AccessPolicy | None = None,
) -> FrameSelection:
    """Async :func:`sample_request` (decoding and scoring run in a worker thread)."""
    return await asyncio.to_thread(sample_request, request, sampler=sampler, options=options, policy=policy)


# --- argument declarations --------------------------------------------------------------------------------------


def _allowed_text(policy: AccessPolicy) -> str:
    places = [str(r) for r in policy.roots] + list(policy.url_prefixes)
    return ", ".join(places) if places else "nothing (no folders or URLs are configured)"


def _video_argument(policy: AccessPolicy) -> ToolArgument:
    return ToolArgument(
        "video",
        "text",
        "The video to look at: its file path exactly as the user gave it, or an http(s) URL. "
        f"Allowed: {_allowed_text(policy)}.",
        required=True,
    )


def _range_arguments(policy: AccessPolicy, what: str) -> tuple[ToolArgument, ToolArgument]:
    cap = f" At most {policy.max_duration:g} seconds per call." if policy.max_duration is not None else ""
    start = ToolArgument(
        "start",
        "time",
        f"Start of the time range to {what}: {TIME_FORMAT_HELP}; empty = the beginning of the video. Use start "
        f"and end to zoom into a span found by an earlier call.{cap}",
    )
    end = ToolArgument(
        "end", "time", f"End of the time range to {what}: {TIME_FORMAT_HELP}; empty = the end of the video."
    )
    return start, end


# --- shared configuration ---------------------------------------------------------------------------------------


class _VideoTool:
    """What both tools share: the policy, the optional bound video, the arguments and the request checks."""

    name: str
    description: str
    arguments: ToolArguments

    def __init__(self, *, policy: AccessPolicy | None, video: str | os.PathLike[str] | None, name: str) -> None:
        if policy is None and video is not None:
            # Bound by the developer: that video, and only it, may be opened.
            source = os.fspath(video)
            policy = AccessPolicy.allow(url_prefixes=[source]) if is_url(source) else AccessPolicy.allow([source])
        elif policy is None:
            policy = AccessPolicy()  # nothing may be opened until the developer says what may
        if not isinstance(policy, AccessPolicy):
            raise InvalidArgumentError(f"policy must be an AccessPolicy, got {type(policy).__name__}")
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgumentError("a tool needs a non-empty name")
        self.policy = policy
        self.name = name.strip()
        #: The bound video (checked against the policy), or ``None`` when the model names one per call.
        self.video: str | None = policy.check(os.fspath(video)) if video is not None else None

    def json_schema(self) -> dict[str, Any]:
        """The arguments as a JSON schema object (OpenAI ``parameters``, Gemini, MCP ``inputSchema``)."""
        return self.arguments.json_schema()

    def _label(self, arguments: Mapping[str, Any]) -> str:
        """How the text names the video: as the model called it, or the bound video's name."""
        if self.video is not None:
            return video_name(self.video)
        given = arguments.get("video")
        return given.strip() if isinstance(given, str) else str(given)

    def _check(self, arguments: Mapping[str, Any], *, default_k: int) -> FrameRequest:
        if not isinstance(arguments, Mapping):
            raise InvalidArgumentError(f"pass the tool's arguments by name ({', '.join(self.arguments.names)})")
        self.arguments.check_names(arguments)
        return validate_frame_request(
            self.video if self.video is not None else arguments.get("video"),
            arguments.get("question"),
            k=arguments.get("k"),
            start=arguments.get("start"),
            end=arguments.get("end"),
            default_k=default_k,
            policy=self.policy,
        )

    def _bound_sentence(self) -> str:
        if self.video is not None:
            return f"The video is {video_name(self.video)}."
        return "Only videos the user made available can be opened."


# --- video_frames -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FramesResult:
    """What a ``video_frames`` call returns: the text the model reads and the selection behind it.

    Attributes:
        text: :func:`~gens_tools.agent.describe_selection` of the selection, naming the video as the model did.
        selection: the :class:`~gens_tools.FrameSelection` (frames with images, spans, timings).
        video_label: how the text names the video (what the model passed, or the bound video's name).
    """

    text: str
    selection: FrameSelection
    video_label: str


class VideoFramesTool(_VideoTool):
    """The ``video_frames`` tool: the frames of a video most relevant to a question, with times and scores.

    The model passes ``video`` (unless one is bound), ``question`` and optionally ``k``, ``start``, ``end``.

    Args:
        sampler: a :class:`~gens_tools.FrameSampler`, a registered sampler name (built once, with
            ``sampler_options``), or ``None`` for ``"auto"`` (GenS when it can run, else uniform sampling, said).
        sampler_options: options for :func:`gens_tools.make_sampler` when ``sampler`` is a name.
        options: how to sample (:class:`~gens_tools.SamplingOptions`, or a mapping of its fields).
        policy: what the model may open and the caps on ``k`` and the range length; ``None`` opens nothing (or,
            with a bound ``video``, only that video).
        default_k: frames when the model gives no ``k`` (default: 8, or the policy's ``max_k`` if smaller).
        video: bind the tool to one video (checked against the policy now); the model then passes no ``video``.
        max_spans: most relevant spans listed in the text.
        shows_images: whether the framework adapter puts the frames' images in the tool result (the
            description then says so).
        name, description: what the model sees (default ``video_frames`` and a description generated from the
            configuration).
        **settings: single :class:`~gens_tools.SamplingOptions` fields (``fps=…``, ``frame_rate=…``,
            ``min_gap=…``…), overriding those of ``options``.

    Raises:
        InvalidArgumentError: a bad configuration (``default_k`` above ``max_k``, an unknown sampler, a bound
            video the policy refuses…); ``TypeError`` for a setting that is not a sampling option.
    """

    def __init__(
        self,
        sampler: FrameSampler | str | None = None,
        *,
        sampler_options: Mapping[str, Any] | None = None,
        options: SamplingOptions | Mapping[str, Any] | None = None,
        policy: AccessPolicy | None = None,
        default_k: int | None = None,
        video: str | os.PathLike[str] | None = None,
        max_spans: int = DEFAULT_MAX_SPANS,
        shows_images: bool = False,
        name: str = "video_frames",
        description: str | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(policy=policy, video=video, name=name)
        self.options = SamplingOptions.build(options, **settings)
        max_k = self.policy.max_k
        k = min(DEFAULT_K, max_k) if default_k is None else positive_int("default_k", default_k)
        if k > max_k:
            raise InvalidArgumentError(f"default_k must be between 1 and max_k ({max_k}), got {k}")
        self.default_k = k
        self.max_spans = positive_int("max_spans", max_spans)
        self.shows_images = bool(shows_images)
        self.sampler = resolve_sampler(sampler, sampler_options)
        self.arguments = self._arguments()
        self.description = description if description else self._description()

    def __repr__(self) -> str:
        return f"VideoFramesTool(name={self.name!r}, sampler={self.sampler.name!r}, default_k={self.default_k})"

    def _arguments(self) -> ToolArguments:
        video = () if self.video is not None else (_video_argument(self.policy),)
        question = ToolArgument(
            "question",
            "text",
            "What you need to see or find out, as a full question or description, e.g. 'When does the speaker "
            "show the revenue chart?'. Frames are ranked by how relevant they are to it.",
            required=True,
        )
        k = ToolArgument(
            "k",
            "count",
            f"How many frames to return (default {self.default_k}, at most {self.policy.max_k}); fewer frames "
            "cost less.",
            default=self.default_k,
        )
        return ToolArguments((*video, question, k, *_range_arguments(self.policy, "search")))

    def _description(self) -> str:
        parts = [
            "Look inside a video: returns the frames most relevant to a question, each with its time (seconds "
            "and hh:mm:ss.s) and a relevance score (0-5), plus the time spans that scored as relevant.",
            "Use it to find out what happens in a video and when. To look closer at a moment, call it again "
            "with start and end (seconds) around a span from an earlier result.",
            f"Returns {self.default_k} frames unless you set k (at most {self.policy.max_k}).",
        ]
        if self.policy.max_duration is not None:
            parts.append(
                f"Searches at most {self.policy.max_duration:g} seconds of video per call; for longer videos "
                "pass start and end."
            )
        if self.shows_images:
            parts.append("The frames' images are included in the result.")
        parts.append(self._bound_sentence())
        return " ".join(parts)

    # -- calling -------------------------------------------------------------------------------------------

    def request(self, arguments: Mapping[str, Any]) -> FrameRequest:
        """Check the model's arguments before anything is opened.

        Raises:
            AccessDeniedError, InvalidArgumentError, TimeRangeError: what the model got wrong.
        """
        return self._check(arguments, default_k=self.default_k)

    def sample(self, request: FrameRequest) -> FrameSelection:
        """Sample the frames of a checked request."""
        return sample_request(request, sampler=self.sampler, options=self.options, policy=self.policy)

    def describe(
        self,
        selection: FrameSelection,
        *,
        video_label: str | None = None,
        shown: Sequence[Frame] | None = None,
        shown_note: str | None = None,
    ) -> str:
        """The text the model reads about ``selection`` (see :func:`~gens_tools.agent.describe_selection`)."""
        return describe_selection(
            selection, video_label=video_label, max_spans=self.max_spans, shown=shown, shown_note=shown_note
        )

    def run(self, arguments: Mapping[str, Any]) -> FramesResult:
        """Check ``arguments``, sample and describe.

        Raises:
            one of :data:`~gens_tools.agent.AGENT_ERRORS` for what the model got wrong (a refused path, a bad
            argument, an unreadable video); other errors (a missing backend, a server down) propagate.
        """
        request = self.request(arguments)
        selection = self.sample(request)
        label = self._label(arguments)
        return FramesResult(self.describe(selection, video_label=label), selection, label)

    async def arun(self, arguments: Mapping[str, Any]) -> FramesResult:
        """Async :meth:`run`: decoding, scoring and describing run in a worker thread."""
        return await asyncio.to_thread(self.run, arguments)

    def close(self) -> None:
        """Release the sampler (models, HTTP clients)."""
        self.sampler.close()


# --- ask_video --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AskResult:
    """What an ``ask_video`` call returns.

    Attributes:
        text: the answer, then the times of the frames it was based on (:func:`describe_answer`).
        answer: the assistant's :class:`~gens_tools.Answer` (citations, usage, the frames sent).
        selection: the frames sampled for it.
    """

    text: str
    answer: Answer
    selection: FrameSelection


class AskVideoTool(_VideoTool):
    """The ``ask_video`` tool: a vision model answers a question from the relevant frames, citing their times.

    The model passes ``question``, optionally ``start``/``end``, and ``video`` unless one is bound. Use it with
    chat APIs that take images only in user messages (OpenAI Chat Completions): the frames go to the vision
    model in a request of their own and the agent reads text.

    Args:
        qa: the :class:`~gens_tools.VideoQA` that samples and answers (its sampler, options, ``k`` and policy;
            a tool without a policy opens nothing).
        video: bind the tool to one video.
        name, description: what the model sees (default ``ask_video`` and a generated description).
        policy: used when ``qa`` has none (``qa.policy`` wins otherwise).
    """

    def __init__(
        self,
        qa: VideoQA | None = None,
        *,
        video: str | os.PathLike[str] | None = None,
        name: str = "ask_video",
        description: str | None = None,
        policy: AccessPolicy | None = None,
    ) -> None:
        chosen = policy if qa is None or qa.policy is None else qa.policy
        super().__init__(policy=chosen, video=video, name=name)
        self.qa = qa
        self.arguments = ask_arguments(self.policy, bound=self.video is not None)
        self.description = description if description else ask_description(self.video)

    def request(self, arguments: Mapping[str, Any], *, k: int | None = None) -> FrameRequest:
        """Check the model's arguments before anything is opened (``k``: frames to sample, default the
        answering model's own choice, capped by the policy)."""
        if k is None and self.qa is not None:
            k = self.qa.choose_k(str(arguments.get("question") or ""))
        return self._check(arguments, default_k=min(k or DEFAULT_K, self.policy.max_k))

    def run(self, arguments: Mapping[str, Any]) -> AskResult:
        """Check ``arguments``, sample, answer and describe.

        Raises:
            one of :data:`~gens_tools.agent.AGENT_ERRORS` for what the model got wrong; the assistant's errors
            (:class:`~gens_tools.AssistantError` and its kinds) as they are.
        """
        qa = self._qa()
        request = self.request(arguments)
        selection = qa.select(request.video, request.question, k=request.k, start=request.start, end=request.end)
        answer = qa.assistant.answer(request.question, selection)
        return AskResult(describe_answer(answer.text, [f.timestamp for f in answer.frames]), answer, selection)

    async def arun(self, arguments: Mapping[str, Any]) -> AskResult:
        """Async :meth:`run`."""
        qa = self._qa()
        request = self.request(arguments)
        selection = await asyncio.to_thread(
            qa.select, request.video, request.question, k=request.k, start=request.start, end=request.end
        )
        answer = await qa.assistant.aanswer(request.question, selection)
        return AskResult(describe_answer(answer.text, [f.timestamp for f in answer.frames]), answer, selection)

    def _qa(self) -> VideoQA:
        if self.qa is None:
            raise InvalidArgumentError("this ask_video tool has no VideoQA to answer with")
        return self.qa


def ask_arguments(policy: AccessPolicy, *, bound: bool) -> ToolArguments:
    """The arguments of an ``ask_video`` tool: ``video`` (unless bound), ``question``, ``start``, ``end``."""
    video = () if bound else (_video_argument(policy),)
    question = ToolArgument(
        "question",
        "text",
        "Your question about the video, as a full question, e.g. 'What is on the slide when the speaker "
        "mentions revenue?'.",
        required=True,
    )
    return ToolArguments((*video, question, *_range_arguments(policy, "look at")))


def ask_description(video: str | None = None) -> str:
    """The description of an ``ask_video`` tool (naming the bound video, if any)."""
    text = (
        "Ask a question about a video. A vision model looks at the frames most relevant to the question and "
        "answers, citing their timestamps [hh:mm:ss]; the result ends with the times of the frames it was based "
        "on. To ask about one part of the video, pass start and end."
    )
    if video is not None:
        text += f" The video is {video_name(video)}."
    else:
        text += " Only videos the user made available can be opened."
    return text
