"""The assistant interface: a multimodal model answers a question from the chosen frames.

:class:`Assistant` holds the answer flow every provider shares: plan the frames to the model's limits
(:func:`~gens_tools.assistants.plan_frames`), send one request, shrink and retry once after a *context too
long* reply, turn refusals and empty answers into errors, and build the :class:`Answer`. A provider subclass
only translates the message layout (:func:`~gens_tools.assistants.message_parts`) into its SDK's request and the
SDK's response into a :class:`Reply`; it declares what it serves in class attributes (name, model-name
prefixes, model-table rows, image rules, its own options) and is registered with
:func:`~gens_tools.assistants.register_assistant`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, cast

from gens_tools._checks import image_side, non_empty_str, optional_positive_int
from gens_tools._checks import jpeg_quality as check_jpeg_quality
from gens_tools.assistants._answer import Answer, Reply, TokenUsage
from gens_tools.assistants._budget import plan_frames, suggest_frame_count
from gens_tools.assistants._citations import parse_citations
from gens_tools.assistants._image_rules import ImageRule, ImageSetting, image_rule, setting_names
from gens_tools.assistants._layout import SYSTEM_INSTRUCTION, ImagePart, message_parts
from gens_tools.assistants._limits import resolve_limits
from gens_tools.assistants._plan import FramePlan
from gens_tools.assistants._provider_errors import looks_too_long, too_long_error
from gens_tools.assistants._structured import ResponseSchema
from gens_tools.errors import AnswerRefusedError, ContextTooLongError, EmptyAnswerError, InvalidArgumentError
from gens_tools.frames import Frame, FrameSelection
from gens_tools.samplers._prompt import validate_question

# ImagePart, looks_too_long, message_parts and too_long_error are listed because the llama-index integration
# still imports them from here; it should take them from ``gens_tools.assistants`` (where they are public).
__all__ = [
    "SYSTEM_INSTRUCTION",
    "Answer",
    "Assistant",
    "FramePlan",
    "ImagePart",
    "ProviderOption",
    "Reply",
    "TokenUsage",
    "looks_too_long",
    "message_parts",
    "too_long_error",
]


@dataclass(frozen=True, slots=True)
class ProviderOption:
    """An option only one provider takes (OpenAI's ``api``…), as its class declares it.

    ``gens-tools ask`` offers it as ``--NAME`` (underscores as dashes) and passes it to the provider's
    constructor as the keyword ``name``; given for another provider, the flag is refused with a clear error.

    Attributes:
        name: the constructor keyword.
        help: one line for ``--help``.
        choices: the values accepted, when there is a fixed set.
        type: converts the flag's text (``int``, ``float``…; default ``str``).
        metavar: the value's name in ``--help``.
    """

    name: str
    help: str
    choices: tuple[str, ...] | None = None
    type: Callable[[str], Any] = str
    metavar: str | None = None

    @property
    def flag(self) -> str:
        """The command-line flag: ``--media-resolution`` for ``media_resolution``."""
        return "--" + self.name.replace("_", "-")


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


_EMPTY_ROWS: Mapping[str, Mapping[str, Any]] = MappingProxyType({})


class Assistant(ABC):
    """Answers a question about a video from a :class:`FrameSelection`.

    Args:
        model: the provider's model name.
        max_side: force the longest image side sent, in px.
        max_frames: most frames to send (default: all of the selection that fit).
        jpeg_quality: JPEG quality of the images sent.
        budget: overrides of the model's limits (:class:`~gens_tools.assistants.ModelLimits` fields,
            e.g. ``{"context_window": 64000}``).
        system_instruction: replaces :data:`SYSTEM_INSTRUCTION`.
        max_output_tokens: cap on the answer's length (not sent when ``None``).
        **image_settings: force a setting of the model's image rule instead of letting the planner choose:
            ``detail`` for OpenAI-priced models, ``media_resolution`` for Gemini 3-class models.

    What a provider subclass declares (class attributes, read by
    :func:`~gens_tools.assistants.register_assistant`):

    * ``provider`` — its name (``"openai"``); ``default_model`` — the model ``make_assistant(provider)`` uses;
    * ``model_prefixes`` — model names it serves (``("gemini",)`` serves ``gemini-2.5-flash``);
      ``serves_any_model`` — it takes every name no other provider claims (one provider may);
    * ``model_table`` — its rows of the model table (``prefix → ModelLimits fields``);
    * ``image_rules`` — the :class:`ImageRule` s those rows name;
    * ``provider_options`` — its own options (:class:`ProviderOption`), offered by ``gens-tools ask``;
    * ``sends_image_settings`` — the image settings it can send (``None``: any the model's rule takes);
    * ``structured_output`` — it can hold the model to a JSON schema: its ``_request``/``_arequest`` then take a
      ``response_schema`` keyword (:class:`~gens_tools.assistants.ResponseSchema`), passed only when the caller
      gives one.
    """

    provider: ClassVar[str] = "assistant"
    default_model: ClassVar[str | None] = None
    model_prefixes: ClassVar[tuple[str, ...]] = ()
    serves_any_model: ClassVar[bool] = False
    model_table: ClassVar[Mapping[str, Mapping[str, Any]]] = _EMPTY_ROWS
    image_rules: ClassVar[tuple[ImageRule, ...]] = ()
    provider_options: ClassVar[tuple[ProviderOption, ...]] = ()
    sends_image_settings: ClassVar[tuple[str, ...] | None] = None
    structured_output: ClassVar[bool] = False

    def __init__(
        self,
        model: str,
        *,
        max_side: int | None = None,
        max_frames: int | None = None,
        jpeg_quality: int = 85,
        budget: Mapping[str, Any] | None = None,
        system_instruction: str = SYSTEM_INSTRUCTION,
        max_output_tokens: int | None = None,
        **image_settings: str | None,
    ) -> None:
        self.model = non_empty_str("model", model)
        self.max_frames = optional_positive_int("max_frames", max_frames)
        self.max_output_tokens = optional_positive_int("max_output_tokens", max_output_tokens)
        if not isinstance(system_instruction, str):
            raise InvalidArgumentError("system_instruction must be a string")
        self.system_instruction = system_instruction
        self.max_side = image_side("max_side", max_side)
        self.jpeg_quality = check_jpeg_quality("jpeg_quality", jpeg_quality)
        self.budget = dict(budget or {})
        self.limits = resolve_limits(self.model, budget)
        self.image_settings = self._check_image_settings(image_settings)

    def _check_image_settings(self, given: Mapping[str, str | None]) -> dict[str, str]:
        """The image settings forced at construction, checked against this provider and the model's rule."""
        settings = {k: v for k, v in given.items() if v is not None}
        known = setting_names()
        sends = type(self).sends_image_settings
        for name in settings:
            if name not in known:
                raise InvalidArgumentError(f"{type(self).__name__} does not accept the option {name!r}")
            if sends is not None and name not in sends:
                takes = f" (it takes {', '.join(sends)})" if sends else ""
                raise InvalidArgumentError(f"{name} is not an option of the {self.provider} assistant{takes}")
        setting = ImageSetting.of(self.max_side, **settings)
        image_rule(self.limits.image_rule).check_setting(self.limits, setting, self.model)
        return settings

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
        """The frames that will be sent for ``selection`` (see :func:`~gens_tools.assistants.plan_frames`)."""
        return plan_frames(
            selection,
            self.model,
            question=question,
            system=self.system_instruction,
            max_frames=self.max_frames,
            max_input_tokens=max_input_tokens,
            max_side=self.max_side,
            jpeg_quality=self.jpeg_quality,
            limits=self.limits,
            # The setting names never clash with the planner's own arguments (image rules may not use them).
            **cast(dict[str, Any], self.image_settings),
        )

    def suggest_k(self, question: str = "") -> int:
        """How many frames to sample for this model when the caller gives no ``k``."""
        n = suggest_frame_count(self.model, question=question, overrides=self.budget)
        return min(n, self.max_frames) if self.max_frames else n

    # -- answering --

    def answer(
        self,
        question: str,
        selection: FrameSelection,
        *,
        instructions: str | None = None,
        response_schema: ResponseSchema | None = None,
    ) -> Answer:
        """Ask the model ``question`` about the frames of ``selection``.

        Args:
            question: the question (the answer's ``question``).
            selection: the frames to answer from (planned to the model's limits).
            instructions: more text for this request, sent after the question (e.g. how to reply); counted by
                the planner.
            response_schema: the JSON schema the reply must follow: sent as the provider's structured output
                where it has one (``structured_output``), else written into the prompt. The answer's ``text``
                is then the reply's JSON text, for the caller to parse.

        Raises:
            InvalidArgumentError: empty question, or a selection without usable frames.
            ContextTooLongError: the request was too long, and still too long after shrinking once.
            AnswerRefusedError, EmptyAnswerError: the model refused, or answered nothing.
            AuthenticationFailedError, ProviderUnavailableError, RequestRejectedError: provider failures.
        """
        question, selection = self._check_args(question, selection)
        prompt, planned = self._prompt(question, instructions, response_schema)
        clock = _Timer()
        with clock.stage("plan"):
            plan = self.plan(selection, planned)
        try:
            with clock.stage("request"):
                reply = self._send(plan, prompt, response_schema)
            attempts = 1
        except ContextTooLongError as exc:
            with clock.stage("plan"):
                plan = self._shrink(selection, planned, plan, exc)
            attempts = 2
            try:
                with clock.stage("request"):
                    reply = self._send(plan, prompt, response_schema)
            except ContextTooLongError as again:
                raise self._final_too_long(plan, again) from None
        return self._finish(question, selection, plan, reply, attempts, clock)

    async def aanswer(
        self,
        question: str,
        selection: FrameSelection,
        *,
        instructions: str | None = None,
        response_schema: ResponseSchema | None = None,
    ) -> Answer:
        """Async form of :meth:`answer` (planning and JPEG encoding run in a worker thread)."""
        question, selection = self._check_args(question, selection)
        prompt, planned = self._prompt(question, instructions, response_schema)
        clock = _Timer()
        with clock.stage("plan"):
            plan = await asyncio.to_thread(self.plan, selection, planned)
        try:
            with clock.stage("request"):
                reply = await self._asend(plan, prompt, response_schema)
            attempts = 1
        except ContextTooLongError as exc:
            with clock.stage("plan"):
                plan = await asyncio.to_thread(self._shrink, selection, planned, plan, exc)
            attempts = 2
            try:
                with clock.stage("request"):
                    reply = await self._asend(plan, prompt, response_schema)
            except ContextTooLongError as again:
                raise self._final_too_long(plan, again) from None
        return self._finish(question, selection, plan, reply, attempts, clock)

    def _prompt(self, question: str, instructions: str | None, schema: ResponseSchema | None) -> tuple[str, str]:
        """``(prompt, planned)``: the text that closes the user message (the question, the instructions and,
        for providers without structured output, the schema), and the text the planner counts (the schema
        included either way: providers count it too)."""
        if instructions is not None and not isinstance(instructions, str):
            raise InvalidArgumentError("instructions must be a string")
        if schema is not None and not isinstance(schema, ResponseSchema):
            raise InvalidArgumentError(f"response_schema must be a ResponseSchema, got {type(schema).__name__}")
        pieces = [question]
        if instructions and instructions.strip():
            pieces.append(instructions.strip())
        if schema is not None and not self.structured_output:
            pieces.append(schema.prompt_text())
        prompt = "\n\n".join(pieces)
        planned = prompt if schema is None or not self.structured_output else f"{prompt}\n{schema.as_json()}"
        return prompt, planned

    def _send(self, plan: FramePlan, prompt: str, schema: ResponseSchema | None) -> Reply:
        if schema is not None and self.structured_output:
            return self._request(plan, prompt, response_schema=schema)  # type: ignore[call-arg]
        return self._request(plan, prompt)

    async def _asend(self, plan: FramePlan, prompt: str, schema: ResponseSchema | None) -> Reply:
        if schema is not None and self.structured_output:
            return await self._arequest(plan, prompt, response_schema=schema)  # type: ignore[call-arg]
        return await self._arequest(plan, prompt)

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

    def _shrink(self, selection: FrameSelection, question: str, plan: FramePlan, exc: ContextTooLongError) -> FramePlan:
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
            raise AnswerRefusedError(f"{who} refused to answer ({reason}){said}", reason=reason, refusal=reply.refusal)
        text = (reply.text or "").strip()
        if not text:
            why = f" (finish reason: {reply.finish_reason})" if reply.finish_reason else ""
            if reply.problem:
                why = f": {reply.problem}{why}"
            hint = ""
            if reply.finish_reason and reply.finish_reason.lower() in ("length", "max_tokens", "max_output_tokens"):
                hint = "; the output token limit was reached before any answer: raise max_output_tokens"
            raise EmptyAnswerError(f"{who} returned an empty answer{why}{hint}", reason=reply.finish_reason)
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
            timings=clock.timings(),
            finish_reason=reply.finish_reason,
            response_id=reply.response_id,
            attempts=attempts,
            video=selection.video,
            sampler=selection.sampler,
            selection=selection,
        )
