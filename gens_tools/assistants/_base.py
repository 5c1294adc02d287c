"""The assistant interface: a proprietary multimodal model answers a question from the chosen frames.

Every provider sends the same layout — for each frame, in time order, its timestamp label ``[00:12:31]``
then the image; then the question — under a short system instruction that asks for an answer citing the
timestamps it relied on. :class:`Assistant` holds what is shared: planning the frames to the model's limits
(:mod:`gens_tools.assistants._budget`), the one "shrink and retry" after a *context too long* reply, turning
refusals and empty answers into errors, and building the :class:`Answer`. Subclasses only translate the
layout into their SDK's request and the SDK's response into a :class:`Reply`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

from gens_tools.assistants._budget import (
    GEMINI_LEVELS,
    OPENAI_DETAILS,
    FramePlan,
    PlannedImage,
    label_text,
    plan_frames,
    resolve_limits,
)
from gens_tools.assistants._budget import suggest_frame_count as _suggest
from gens_tools.assistants._citations import match_citations, parse_citations
from gens_tools.errors import (
    AnswerRefusedError,
    ContextTooLongError,
    EmptyAnswerError,
    InvalidArgumentError,
    MissingAPIKeyError,
)
from gens_tools.frames import Frame, FrameSelection, format_timestamp
from gens_tools.samplers._prompt import validate_question

SYSTEM_INSTRUCTION = (
    "You answer questions about a video from frames taken from it. The frames are in time order and each "
    "one follows its timestamp, written as [hh:mm:ss]. Answer from what the frames show, and cite the "
    "timestamps of the frames you relied on in the same [hh:mm:ss] form. If the frames do not show the "
    "answer, say so."
)
"""The system instruction sent with every request."""


# --- keys ---------------------------------------------------------------------------------------------------


def read_api_key(explicit: str | None, env_names: Sequence[str], provider: str) -> str:
    """The key passed in, else the first of ``env_names`` set in the environment; else a clear error.

    The error names the variables to set and never contains a key.
    """
    if explicit is not None:
        if not isinstance(explicit, str) or not explicit.strip():
            raise MissingAPIKeyError(f"the {provider} API key passed in is empty")
        return explicit.strip()
    for name in env_names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    names = " or ".join(env_names)
    raise MissingAPIKeyError(f"no {provider} API key: set {names} in the environment (or pass api_key=…)")


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with every secret (and any 8+ character head or tail of it) replaced by ``***``."""
    out = str(text)
    for secret in secrets:
        if not secret or len(secret) < 4:
            continue
        out = out.replace(secret, "***")
        if len(secret) >= 16:
            out = out.replace(secret[:8], "***").replace(secret[-8:], "***")
    return out


def one_line(text: str, limit: int = 300) -> str:
    """``text`` with its white space folded onto one line, cut to ``limit`` characters (ending in ``…``)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_client_options(timeout: object, max_retries: object, base_url: str | None) -> None:
    """Reject HTTP client settings of a provider's assistant at construction, not at the first request.

    Raises:
        InvalidArgumentError: ``timeout`` not a positive number of seconds, ``max_retries`` not an integer
            >= 0, or ``base_url`` not an http(s) URL.
    """
    if not isinstance(timeout, int | float) or not timeout > 0:
        raise InvalidArgumentError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise InvalidArgumentError(f"max_retries must be an integer >= 0, got {max_retries!r}")
    if base_url is not None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidArgumentError(f"base_url must be an http(s) URL, got {base_url!r}")


def after_retries(max_retries: int) -> str:
    """``"after 3 retries"``: how error messages say the SDK already retried."""
    return f"after {max_retries} retr{'y' if max_retries == 1 else 'ies'}"


_NUMBER = r"(\d[\d,\.]*)"
_LIMIT_PATTERNS = (
    re.compile(r"maximum context length is " + _NUMBER, re.I),
    re.compile(r"maximum number of tokens allowed \(?" + _NUMBER, re.I),
    re.compile(r"context window of " + _NUMBER, re.I),
    re.compile(r"limit(?: is| of)? " + _NUMBER + r" tokens", re.I),
)
_REQUESTED_PATTERNS = (
    re.compile(r"resulted in " + _NUMBER + r" tokens", re.I),
    re.compile(r"input token count \(?" + _NUMBER, re.I),
    re.compile(r"requested " + _NUMBER + r" tokens", re.I),
    re.compile(r"you requested " + _NUMBER, re.I),
)
_TOO_LONG = re.compile(
    r"context[_ ]length|context window|maximum context|too many tokens|input token count|"
    r"exceeds the maximum number of tokens|prompt is too long|request too large|payload too large|"
    r"payload size exceeds",
    re.I,
)


def _first_number(patterns: Sequence[re.Pattern[str]], text: str) -> int | None:
    for p in patterns:
        m = p.search(text)
        if m:
            digits = re.sub(r"[^\d]", "", m.group(1).split(".")[0])
            if digits:
                return int(digits)
    return None


def looks_too_long(message: str, code: str | None = None) -> bool:
    """Whether a provider's error says the request exceeded the context or size limit."""
    return code in ("context_length_exceeded", "string_above_max_length") or bool(_TOO_LONG.search(message))


def too_long_error(provider: str, model: str, message: str) -> ContextTooLongError:
    """A :class:`ContextTooLongError` with the limit and requested figures read from ``message``."""
    limit = _first_number(_LIMIT_PATTERNS, message)
    requested = _first_number(_REQUESTED_PATTERNS, message)
    detail = ""
    if limit and requested:
        detail = f" ({requested:,} tokens requested, limit {limit:,})"
    elif limit:
        detail = f" (limit {limit:,} tokens)"
    return ContextTooLongError(
        f"{provider} {model} says the request is too long{detail}", limit=limit, requested=requested
    )


# --- the answer ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class TokenUsage:
    """Token counts reported by the provider (``None`` when it did not report one)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None

    def to_dict(self) -> dict[str, int | None]:
        """JSON-ready form."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "cached_tokens": self.cached_tokens,
            "reasoning_tokens": self.reasoning_tokens,
        }


@dataclass(slots=True)
class Reply:
    """What a provider returned, before the shared checks (filled in by subclasses)."""

    text: str
    finish_reason: str | None = None
    usage: TokenUsage = field(default_factory=TokenUsage)
    response_id: str | None = None
    model: str | None = None
    refusal: str | None = None
    refusal_reason: str | None = None


@dataclass(slots=True)
class Answer:
    """An assistant's answer about a video, with what it was based on.

    Attributes:
        question: the question asked.
        text: the answer.
        citations: the timestamps (seconds) the answer cites, in order of first appearance.
        frames: the frames sent, in time order (their ``score`` is the sampler's).
        model, provider: who answered (``model`` as the provider reported it, when it did).
        usage: the provider's token counts.
        estimate: the planner's figures (:meth:`FramePlan.to_dict`): estimated tokens, bytes, detail…
        images: per frame sent: label, size, detail/level, estimated tokens, bytes.
        timings: seconds per stage (``plan``, ``request``, ``total``; plus the sampling stages when the
            answer came through :class:`~gens_tools.qa.VideoQA`).
        finish_reason: the provider's finish reason.
        response_id: the provider's id for the response.
        attempts: requests made (2 when the first was too long and the frames were shrunk).
        video, sampler: where the frames came from.
    """

    question: str
    text: str
    citations: list[float]
    frames: list[Frame]
    model: str
    provider: str
    usage: TokenUsage = field(default_factory=TokenUsage)
    estimate: dict[str, Any] = field(default_factory=dict)
    images: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    finish_reason: str | None = None
    response_id: str | None = None
    attempts: int = 1
    video: str | None = None
    sampler: str | None = None

    @property
    def cited_labels(self) -> list[str]:
        """The cited timestamps as ``hh:mm:ss`` (tenths when cited with a fraction)."""
        return [format_timestamp(t, decimals=1 if t % 1 else 0) for t in self.citations]

    @property
    def cited_frames(self) -> list[Frame]:
        """The frames sent that the answer cites (within one second), in time order."""
        return match_citations(self.citations, self.frames)[0]

    @property
    def unmatched_citations(self) -> list[float]:
        """Cited times that match no frame sent (worth a second look)."""
        return match_citations(self.citations, self.frames)[1]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (no image data)."""
        return {
            "question": self.question,
            "answer": self.text,
            "citations": [round(t, 3) for t in self.citations],
            "cited_labels": self.cited_labels,
            "cited_frames": [round(f.timestamp, 3) for f in self.cited_frames],
            "unmatched_citations": [round(t, 3) for t in self.unmatched_citations],
            "model": self.model,
            "provider": self.provider,
            "video": self.video,
            "sampler": self.sampler,
            "frames": [
                {"timestamp": round(f.timestamp, 3), "label": f.label, "score": f.score} for f in self.frames
            ],
            "images": list(self.images),
            "usage": self.usage.to_dict(),
            "estimate": dict(self.estimate),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "finish_reason": self.finish_reason,
            "response_id": self.response_id,
            "attempts": self.attempts,
        }


# --- the message layout -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextPart:
    """A text piece of the user message."""

    text: str


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image piece of the user message."""

    image: PlannedImage


def question_text(question: str) -> str:
    """The text that closes the user message."""
    return f"Question: {question}"


def message_parts(plan: FramePlan, question: str) -> list[TextPart | ImagePart]:
    """The user message: ``[label]`` then image for each frame in time order, then the question."""
    parts: list[TextPart | ImagePart] = []
    for image in sorted(plan.images, key=lambda im: im.timestamp):
        parts.append(TextPart(label_text(image.label)))
        parts.append(ImagePart(image))
    parts.append(TextPart(question_text(question)))
    return parts


# --- the interface ------------------------------------------------------------------------------------------


class _Timer:
    """Seconds per stage, accumulated over repeated stages, plus the total since creation."""

    def __init__(self) -> None:
        self._t0 = time.perf_counter()
        self._stages: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self._stages[name] = self._stages.get(name, 0.0) + time.perf_counter() - t

    def timings(self) -> dict[str, float]:
        return {**self._stages, "total": time.perf_counter() - self._t0}


def _check_positive_int(name: str, value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise InvalidArgumentError(f"{name} must be a positive integer, got {value!r}")


class Assistant(ABC):
    """Answers a question about a video from a :class:`FrameSelection`.

    Args:
        model: the provider's model name.
        detail: force an OpenAI image ``detail`` (default: the planner picks ``high``, or ``low`` to fit).
        max_side: force the longest image side sent, in px.
        media_resolution: force a Gemini 3 ``media_resolution`` level.
        max_frames: most frames to send (default: all of the selection that fit).
        jpeg_quality: JPEG quality of the images sent.
        budget: overrides of the model's limits (:class:`~gens_tools.assistants._budget.ModelLimits` fields,
            e.g. ``{"context_window": 64000}``).
        system_instruction: replaces :data:`SYSTEM_INSTRUCTION`.
        max_output_tokens: cap on the answer's length (not sent when ``None``).
    """

    provider: ClassVar[str] = "assistant"

    def __init__(
        self,
        model: str,
        *,
        detail: str | None = None,
        max_side: int | None = None,
        media_resolution: str | None = None,
        max_frames: int | None = None,
        jpeg_quality: int = 85,
        budget: Mapping[str, Any] | None = None,
        system_instruction: str = SYSTEM_INSTRUCTION,
        max_output_tokens: int | None = None,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise InvalidArgumentError("model must be a non-empty model name")
        _check_positive_int("max_frames", max_frames)
        _check_positive_int("max_output_tokens", max_output_tokens)
        if not isinstance(system_instruction, str):
            raise InvalidArgumentError("system_instruction must be a string")
        if detail is not None and detail not in OPENAI_DETAILS:
            raise InvalidArgumentError(f"detail must be one of {', '.join(OPENAI_DETAILS)}, got {detail!r}")
        if media_resolution is not None and media_resolution not in GEMINI_LEVELS:
            raise InvalidArgumentError(
                f"media_resolution must be one of {', '.join(GEMINI_LEVELS)}, got {media_resolution!r}"
            )
        if max_side is not None and (isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < 16):
            raise InvalidArgumentError(f"max_side must be an integer >= 16, got {max_side!r}")
        if isinstance(jpeg_quality, bool) or not isinstance(jpeg_quality, int) or not 1 <= jpeg_quality <= 95:
            raise InvalidArgumentError(f"jpeg_quality must be an integer from 1 to 95, got {jpeg_quality!r}")
        self.model = model.strip()
        self.limits = resolve_limits(self.model, budget)
        if media_resolution is not None and self.limits.image_rule != "gemini_level":
            raise InvalidArgumentError(
                f"media_resolution applies to Gemini 3-class models, not {self.model!r} ({self.limits.family})"
            )
        self.budget = dict(budget or {})
        self.detail = detail
        self.max_side = max_side
        self.media_resolution = media_resolution
        self.max_frames = max_frames
        self.jpeg_quality = jpeg_quality
        self.system_instruction = system_instruction
        self.max_output_tokens = max_output_tokens

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r})"

    # -- planning --

    def plan(
        self,
        selection: FrameSelection | Sequence[Frame],
        question: str | None = None,
        *,
        max_input_tokens: int | None = None,
    ) -> FramePlan:
        """The frames that will be sent for ``selection`` (see :func:`~gens_tools.assistants._budget.
        plan_frames`)."""
        return plan_frames(
            selection,
            self.model,
            question=question,
            system=self.system_instruction,
            max_frames=self.max_frames,
            max_input_tokens=max_input_tokens,
            detail=self.detail,
            max_side=self.max_side,
            media_resolution=self.media_resolution,
            jpeg_quality=self.jpeg_quality,
            limits=self.limits,
        )

    def suggest_k(self, question: str = "") -> int:
        """How many frames to sample for this model when the caller gives no ``k``."""
        n = _suggest(self.model, question=question, overrides=self.budget)
        return min(n, self.max_frames) if self.max_frames else n

    # -- answering --

    def answer(self, question: str, selection: FrameSelection) -> Answer:
        """Ask the model ``question`` about the frames of ``selection``.

        Raises:
            InvalidArgumentError: empty question, or a selection without usable frames.
            ContextTooLongError: the request was too long, and still too long after shrinking once.
            AnswerRefusedError, EmptyAnswerError: the model refused, or answered nothing.
            AuthenticationFailedError, ProviderUnavailableError, RequestRejectedError: provider failures.
        """
        question, selection = self._check_args(question, selection)
        clock = _Timer()
        with clock.stage("plan"):
            plan = self.plan(selection, question)
        try:
            with clock.stage("request"):
                reply = self._request(plan, question)
            attempts = 1
        except ContextTooLongError as exc:
            with clock.stage("plan"):
                plan = self._shrink(selection, question, plan, exc)
            attempts = 2
            try:
                with clock.stage("request"):
                    reply = self._request(plan, question)
            except ContextTooLongError as again:
                raise self._final_too_long(plan, again) from None
        return self._finish(question, selection, plan, reply, attempts, clock)

    async def aanswer(self, question: str, selection: FrameSelection) -> Answer:
        """Async form of :meth:`answer` (planning and JPEG encoding run in a worker thread)."""
        question, selection = self._check_args(question, selection)
        clock = _Timer()
        with clock.stage("plan"):
            plan = await asyncio.to_thread(self.plan, selection, question)
        try:
            with clock.stage("request"):
                reply = await self._arequest(plan, question)
            attempts = 1
        except ContextTooLongError as exc:
            with clock.stage("plan"):
                plan = await asyncio.to_thread(self._shrink, selection, question, plan, exc)
            attempts = 2
            try:
                with clock.stage("request"):
                    reply = await self._arequest(plan, question)
            except ContextTooLongError as again:
                raise self._final_too_long(plan, again) from None
        return self._finish(question, selection, plan, reply, attempts, clock)

    @abstractmethod
    def _request(self, plan: FramePlan, question: str) -> Reply:
        """Send one request; raise :class:`ContextTooLongError` on a *too long* reply, other
        :class:`AssistantError` s on other failures."""

    @abstractmethod
    async def _arequest(self, plan: FramePlan, question: str) -> Reply:
        """Async form of :meth:`_request`."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the SDK clients. Safe to call twice."""

    async def aclose(self) -> None:
        """Async form of :meth:`close`."""
        self.close()

    def __enter__(self) -> Assistant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Assistant:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- shared steps --

    @staticmethod
    def _check_args(question: str, selection: FrameSelection) -> tuple[str, FrameSelection]:
        question = validate_question(question)
        if not isinstance(selection, FrameSelection):
            raise InvalidArgumentError(
                f"selection must be a FrameSelection (from sample_frames), got {type(selection).__name__}"
            )
        if not selection.frames:
            raise InvalidArgumentError("the selection holds no frames to send")
        return question, selection

    def _shrink(
        self, selection: FrameSelection, question: str, plan: FramePlan, exc: ContextTooLongError
    ) -> FramePlan:
        """A smaller plan after a *too long* reply: scaled by the provider's own figures when it gave them
        (with a 10 % margin), else half the estimate."""
        factor = 0.5
        if exc.limit and exc.requested and exc.requested > exc.limit:
            factor = min(0.9, 0.9 * exc.limit / exc.requested)
        target = int(plan.input_tokens * factor)
        try:
            smaller = self.plan(selection, question, max_input_tokens=target)
        except InvalidArgumentError:
            raise self._final_too_long(plan, exc) from None
        if smaller.input_tokens >= plan.input_tokens:
            raise self._final_too_long(plan, exc)
        smaller.notes.append(
            f"the provider said the first request (~{plan.input_tokens:,} tokens, {len(plan.images)} frames) "
            f"was too long; shrunk to ~{target:,} tokens"
        )
        return smaller

    def _final_too_long(self, plan: FramePlan, exc: ContextTooLongError) -> ContextTooLongError:
        return ContextTooLongError(
            f"{exc} — still too long after shrinking to {len(plan.images)} frames "
            f"(~{plan.input_tokens:,} estimated tokens); lower k or set a smaller context_window budget",
            limit=exc.limit,
            requested=exc.requested,
        )

    def _finish(
        self,
        question: str,
        selection: FrameSelection,
        plan: FramePlan,
        reply: Reply,
        attempts: int,
        clock: _Timer,
    ) -> Answer:
        who = f"{self.provider} {self.model}"
        if reply.refusal is not None or reply.refusal_reason is not None:
            reason = reply.refusal_reason or "refusal"
            said = f": {reply.refusal.strip()}" if reply.refusal and reply.refusal.strip() else ""
            raise AnswerRefusedError(
                f"{who} refused to answer ({reason}){said}", reason=reason, refusal=reply.refusal
            )
        text = (reply.text or "").strip()
        if not text:
            why = f" (finish reason: {reply.finish_reason})" if reply.finish_reason else ""
            hint = ""
            if reply.finish_reason and reply.finish_reason.lower() in ("length", "max_tokens", "max_output_tokens"):
                hint = "; the output token limit was reached before any answer: raise max_output_tokens"
            raise EmptyAnswerError(f"{who} returned an empty answer{why}{hint}", reason=reply.finish_reason)
        timings = clock.timings()
        return Answer(
            question=question,
            text=text,
            citations=parse_citations(text),
            frames=plan.frames,
            model=reply.model or self.model,
            provider=self.provider,
            usage=reply.usage,
            estimate=plan.to_dict(),
            images=[im.to_dict() for im in plan.images],
            timings=timings,
            finish_reason=reply.finish_reason,
            response_id=reply.response_id,
            attempts=attempts,
            video=selection.video,
            sampler=selection.sampler,
        )
