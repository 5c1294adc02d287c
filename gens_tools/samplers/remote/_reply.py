"""Reading a chat completion's response body: the answer's text, why it stopped, and the token counts."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

#: Shortens a text to at most the given length, with the API key masked (for messages).
Redact = Callable[[str, int], str]


@dataclass(slots=True)
class Reply:
    """One answer from the server; ``problem`` says why there is no usable ``text``."""

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
    usage = usage_of(data.get("usage"))
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return Reply(None, None, usage, retries, "server answered without any choice")
    choice = choices[0]
    finish = choice.get("finish_reason")
    finish = finish if isinstance(finish, str) else None
    message = choice.get("message")
    text = message_text(message)
    if text is None:
        refusal = message.get("refusal") if isinstance(message, dict) else None
        why = f" (refusal: {redact(str(refusal), 120)!r})" if refusal else ""
        return Reply(None, finish, usage, retries, f"server answered without text{why}")
    return Reply(text, finish, usage, retries)


def usage_of(usage: object) -> dict[str, int]:
    """Token counts from a chat completion's ``usage`` object (whatever of them the server reports)."""
    out: dict[str, int] = {}
    if not isinstance(usage, dict):
        return out
    for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
        value = usage.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            out[name] = value
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    if isinstance(cached, int) and not isinstance(cached, bool):
        out["cached_tokens"] = cached
    return out


def message_text(message: object) -> str | None:
    """The assistant's text: a string, or the text parts of a content list (some servers send those)."""
    if not isinstance(message, dict):
        return None
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [str(p["text"]) for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return "".join(texts) if texts else None
    return None
