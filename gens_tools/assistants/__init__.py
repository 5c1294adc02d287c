"""Proprietary assistants (GPT-4o, Gemini) answering questions from the chosen, timestamped frames.

Importing this package loads neither ``openai`` nor ``google-genai``: :class:`OpenAIAssistant` and
:class:`GeminiAssistant` are imported on first use, and :func:`make_assistant` picks one by model name::

    from gens_tools.assistants import make_assistant
    assistant = make_assistant("gpt-4o")            # key from OPENAI_API_KEY
    answer = assistant.answer("When is the demo shown?", selection)
    print(answer.text, answer.cited_labels)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gens_tools.assistants._base import SYSTEM_INSTRUCTION, Answer, Assistant, TokenUsage
from gens_tools.assistants._budget import (
    MODEL_TABLE,
    FramePlan,
    ModelLimits,
    PlannedImage,
    estimate_image_tokens,
    plan_frames,
    resolve_limits,
    suggest_frame_count,
)
from gens_tools.assistants._citations import Citation, find_citations, parse_citations
from gens_tools.errors import (
    AnswerRefusedError,
    AssistantError,
    AuthenticationFailedError,
    ContextTooLongError,
    EmptyAnswerError,
    InvalidArgumentError,
    MissingAPIKeyError,
    ProviderUnavailableError,
    RequestRejectedError,
)

if TYPE_CHECKING:
    from gens_tools.assistants.gemini import GeminiAssistant
    from gens_tools.assistants.openai import OpenAIAssistant

__all__ = [
    "MODEL_TABLE",
    "SYSTEM_INSTRUCTION",
    "Answer",
    "AnswerRefusedError",
    "Assistant",
    "AssistantError",
    "AuthenticationFailedError",
    "Citation",
    "ContextTooLongError",
    "EmptyAnswerError",
    "FramePlan",
    "GeminiAssistant",
    "MissingAPIKeyError",
    "ModelLimits",
    "OpenAIAssistant",
    "PlannedImage",
    "ProviderUnavailableError",
    "RequestRejectedError",
    "TokenUsage",
    "estimate_image_tokens",
    "find_citations",
    "make_assistant",
    "parse_citations",
    "plan_frames",
    "provider_for",
    "resolve_limits",
    "suggest_frame_count",
]

_LAZY = {
    "OpenAIAssistant": "gens_tools.assistants.openai",
    "GeminiAssistant": "gens_tools.assistants.gemini",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gens_tools.assistants' has no attribute {name!r}")


def provider_for(name: str) -> tuple[str, str]:
    """``(provider, model)`` for an assistant name: ``"gemini"`` or ``"gemini-…"`` → Gemini; ``"openai"``
    or any other model name → OpenAI; an explicit ``"openai:MODEL"`` / ``"gemini:MODEL"`` prefix wins."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgumentError("assistant must be a model name such as 'gpt-4o' or 'gemini-2.5-flash'")
    text = name.strip()
    for provider in ("openai", "gemini"):
        if text.lower().startswith(provider + ":"):
            model = text.split(":", 1)[1].strip()
            if not model:
                raise InvalidArgumentError(f"assistant {name!r} names no model after '{provider}:'")
            return provider, model
    if text.lower() == "gemini":
        from gens_tools.assistants.gemini import DEFAULT_GEMINI_MODEL

        return "gemini", DEFAULT_GEMINI_MODEL
    if text.lower() == "openai":
        return "openai", "gpt-4o"
    if text.lower().startswith(("gemini", "models/gemini")):
        return "gemini", text
    return "openai", text


def make_assistant(name: str = "gpt-4o", **options: Any) -> Assistant:
    """The assistant for a model name (see :func:`provider_for`); ``options`` go to its constructor, and
    those set to ``None`` are left to the defaults."""
    provider, model = provider_for(name)
    kwargs = {k: v for k, v in options.items() if v is not None}
    class_name = "GeminiAssistant" if provider == "gemini" else "OpenAIAssistant"
    cls: type[Assistant] = getattr(importlib.import_module(_LAZY[class_name]), class_name)
    try:
        return cls(model, **kwargs)
    except TypeError as exc:
        raise InvalidArgumentError(f"the {provider} assistant does not accept these options: {exc}") from exc
