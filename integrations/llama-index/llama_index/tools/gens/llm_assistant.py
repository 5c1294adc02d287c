"""Any multimodal LlamaIndex LLM as a gens-tools :class:`~gens_tools.Assistant`.

The frames are laid out exactly as the gens-tools assistants send them (for each frame in time order its
``[hh:mm:ss]`` label then the image, then the question, under the shared system instruction), as one
``ChatMessage`` of :class:`TextBlock` and :class:`ImageBlock` s: OpenAI, Google GenAI, Anthropic and other
llama-index LLMs that take image blocks all read it. The shared assistant code plans the frames to the
model's limits (:func:`gens_tools.assistants.plan_frames`), shrinks and retries once after a *context
too long* error, and turns empty answers into errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from gens_tools import AssistantError, InvalidArgumentError
from gens_tools.assistants import (
    SYSTEM_INSTRUCTION,
    Assistant,
    FramePlan,
    ImagePart,
    Reply,
    TokenUsage,
    looks_too_long,
    message_parts,
    too_long_error,
)
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, ContentBlock, ImageBlock, TextBlock
from llama_index.core.llms import LLM

__all__ = ["LlamaIndexAssistant", "build_messages"]


def build_messages(plan: FramePlan, question: str, system: str, *, system_role: Any = "system") -> list[ChatMessage]:
    """The chat messages for ``plan``: the system instruction, then one user message holding, for each
    frame in time order, a ``[hh:mm:ss]`` :class:`TextBlock` and the JPEG as an :class:`ImageBlock`
    (with the planned OpenAI ``detail``), then the question."""
    blocks: list[ContentBlock] = []
    for part in message_parts(plan, question):
        if isinstance(part, ImagePart):
            image = part.image
            blocks.append(ImageBlock(image=image.jpeg, image_mimetype=image.mime_type, detail=image.detail))
        else:
            blocks.append(TextBlock(text=part.text))
    messages = []
    if system:
        messages.append(ChatMessage(role=system_role, content=system))
    messages.append(ChatMessage(role="user", blocks=blocks))
    return messages


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _usage(response: ChatResponse) -> TokenUsage:
    """Token counts from a llama-index chat response (``additional_kwargs`` or the raw provider object)."""
    extra = response.additional_kwargs or {}
    usage = TokenUsage(
        input_tokens=_int_or_none(extra.get("prompt_tokens", extra.get("input_tokens"))),
        output_tokens=_int_or_none(extra.get("completion_tokens", extra.get("output_tokens"))),
        total_tokens=_int_or_none(extra.get("total_tokens")),
    )
    if usage.input_tokens is None:
        raw = response.raw
        raw_usage = raw.get("usage") if isinstance(raw, Mapping) else getattr(raw, "usage", None)
        if raw_usage is not None:

            def get(key: str) -> Any:
                if isinstance(raw_usage, Mapping):
                    return raw_usage.get(key)
                return getattr(raw_usage, key, None)

            usage.input_tokens = _int_or_none(get("prompt_tokens")) or _int_or_none(get("input_tokens"))
            usage.output_tokens = _int_or_none(get("completion_tokens")) or _int_or_none(get("output_tokens"))
            usage.total_tokens = _int_or_none(get("total_tokens"))
    return usage


class LlamaIndexAssistant(Assistant):
    """Answers from the frames with a llama-index ``LLM`` that accepts :class:`ImageBlock` s.

    Args:
        llm: the LLM (e.g. ``llama_index.llms.openai.OpenAI(model="gpt-4o")`` or
            ``llama_index.llms.google_genai.GoogleGenAI(...)``).
        model: the model name used to look up its limits (default: ``llm.metadata.model_name``; unknown names
            get the planner's conservative default — pass ``budget`` overrides to widen it).
        **options: the :class:`~gens_tools.Assistant` options (``detail``, ``max_side``,
            ``max_frames``, ``jpeg_quality``, ``budget``, ``system_instruction``…).
    """

    provider: ClassVar[str] = "llama-index"

    def __init__(self, llm: LLM, *, model: str | None = None, **options: Any) -> None:
        if not isinstance(llm, LLM):
            raise InvalidArgumentError(f"llm must be a llama-index LLM, got {type(llm).__name__}")
        name = model or getattr(llm.metadata, "model_name", None) or "unknown"
        options.setdefault("system_instruction", SYSTEM_INSTRUCTION)
        super().__init__(name, **options)
        self.llm = llm

    def __repr__(self) -> str:
        return f"{type(self).__name__}(llm={type(self.llm).__name__}, model={self.model!r})"

    def _messages(self, plan: FramePlan, question: str) -> list[ChatMessage]:
        return build_messages(plan, question, self.system_instruction, system_role=self.llm.metadata.system_role)

    def _failure(self, exc: Exception) -> AssistantError:
        message = str(exc) or type(exc).__name__
        if looks_too_long(message, getattr(exc, "code", None)):
            return too_long_error(type(self.llm).__name__, self.model, message)
        return AssistantError(f"{type(self.llm).__name__} ({self.model}) failed: {message}")

    def _reply(self, response: ChatResponse) -> Reply:
        return Reply(text=response.message.content or "", usage=_usage(response))

    def _request(self, plan: FramePlan, question: str) -> Reply:
        try:
            response = self.llm.chat(self._messages(plan, question))
        except AssistantError:
            raise
        except Exception as exc:
            raise self._failure(exc) from exc
        return self._reply(response)

    async def _arequest(self, plan: FramePlan, question: str) -> Reply:
        try:
            response = await self.llm.achat(self._messages(plan, question))
        except AssistantError:
            raise
        except Exception as exc:
            raise self._failure(exc) from exc
        return self._reply(response)
