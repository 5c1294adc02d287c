"""Reading a chat completion's response body for one window request: the answer's text, why it stopped, the
token counts (read by :func:`gens_tools._chat.read_chat_completion`, shared with the assistants) and the
retries the request took."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from gens_tools._chat import TokenUsage, read_chat_completion

#: Shortens a text to at most the given length, with the API key masked (for messages).
Redact = Callable[[str, int], str]


@dataclass(slots=True)
class Reply:
    """One answer from the server; ``problem`` says why there is no usable ``text``.

    Unlike :class:`gens_tools._chat.Reply` (what a model answered) this also carries how the request went
    (``retries``), and its ``usage`` is keyed by the chat-completion names that window reports publish.
    """

    text: str | None
    finish_reason: str | None
    usage: dict[str, int]
    retries: int
    problem: str | None = None


def read_reply(content: bytes, retries: int, redact: Redact) -> Reply:
    """The :class:`Reply` in a response body (``retries``: how many times the request was retried)."""
    try:
        data = json.loads(content)
    except ValueError:
        snippet = redact(content[:200].decode("utf-8", errors="replace"), 120)
        return Reply(None, None, {}, retries, f"server answered with a body that is not JSON: {snippet!r}")
    if not isinstance(data, dict):
        return Reply(None, None, {}, retries, "server answered with JSON that is not a chat completion")
    chat = read_chat_completion(data)
    usage = usage_counts(chat.usage)
    if chat.problem is not None:
        why = f" (refusal: {redact(chat.refusal, 120)!r})" if chat.refusal and chat.text is None else ""
        finish = None if chat.finish_reason == "no_choices" else chat.finish_reason
        return Reply(None, finish, usage, retries, chat.problem + why)
    return Reply(chat.text, chat.finish_reason, usage, retries)


def usage_counts(usage: TokenUsage) -> dict[str, int]:
    """The counts the server reported, by their chat-completion names (``prompt_tokens``…)."""
    named = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "cached_tokens": usage.cached_tokens,
    }
    return {name: value for name, value in named.items() if value is not None}
