"""Multimodal assistants (GPT-4o, Gemini, or your own) answering questions from the chosen, timestamped frames.

:func:`make_assistant` picks the provider by model name::

    from gens_tools.assistants import make_assistant
    assistant = make_assistant("gpt-4o")            # key from OPENAI_API_KEY
    answer = assistant.answer("When is the demo shown?", selection)
    print(answer.text, answer.cited_labels)

Importing this package loads neither ``openai`` nor ``google-genai``: the built-in providers register here and
import their SDK when an assistant is built.

Adding a provider is one module: subclass :class:`Assistant`, declare its name, the model names it serves, its
rows of the model table, its :class:`ImageRule` s and its :class:`ProviderOption` s, implement ``_request``
and ``_arequest`` (the layout of :func:`message_parts` in, a :class:`Reply` out), and decorate the class with
:func:`register_assistant`. :func:`make_assistant`, :class:`~gens_tools.qa.VideoQA` and ``gens-tools ask``
then use it by name.
"""

from __future__ import annotations

from gens_tools.assistants._answer import Answer, Reply, TokenUsage
from gens_tools.assistants._base import Assistant, ProviderOption
from gens_tools.assistants._budget import estimate_image_tokens, plan_frames, suggest_frame_count
from gens_tools.assistants._citations import Citation, find_citations, parse_citations
from gens_tools.assistants._image_rules import ImageRule, ImageSetting, register_image_rule
from gens_tools.assistants._layout import SYSTEM_INSTRUCTION, ImagePart, TextPart, message_parts
from gens_tools.assistants._limits import MODEL_TABLE, UNKNOWN_MODEL, ModelLimits, resolve_limits
from gens_tools.assistants._plan import FramePlan, PlannedImage
from gens_tools.assistants._provider_errors import looks_too_long, too_long_error
from gens_tools.assistants._registry import (
    assistant_providers,
    make_assistant,
    provider_for,
    register_assistant,
    unregister_assistant,
)
from gens_tools.assistants._structured import ResponseSchema
from gens_tools.errors import (
    AnswerRefusedError,
    AssistantError,
    AuthenticationFailedError,
    ContextTooLongError,
    EmptyAnswerError,
    MissingAPIKeyError,
    ProviderUnavailableError,
    RequestRejectedError,
)

# The built-in providers (they register themselves; neither imports its SDK until an assistant is built).
from gens_tools.assistants.openai import OpenAIAssistant  # isort: skip
from gens_tools.assistants.gemini import GeminiAssistant  # isort: skip

__all__ = [
    "MODEL_TABLE",
    "SYSTEM_INSTRUCTION",
    "UNKNOWN_MODEL",
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
    "ImagePart",
    "ImageRule",
    "ImageSetting",
    "MissingAPIKeyError",
    "ModelLimits",
    "OpenAIAssistant",
    "PlannedImage",
    "ProviderOption",
    "ProviderUnavailableError",
    "Reply",
    "RequestRejectedError",
    "ResponseSchema",
    "TextPart",
    "TokenUsage",
    "assistant_providers",
    "estimate_image_tokens",
    "find_citations",
    "looks_too_long",
    "make_assistant",
    "message_parts",
    "parse_citations",
    "plan_frames",
    "provider_for",
    "register_assistant",
    "register_image_rule",
    "resolve_limits",
    "suggest_frame_count",
    "too_long_error",
    "unregister_assistant",
]
