"""What the remote GenS sampler and the assistants share about model replies: the one rule for keeping secrets
out of messages, and the one reader of an OpenAI-compatible chat completion.

:func:`read_chat_completion` reads the response body as JSON (a ``dict``, as the remote sampler receives it) or
the ``openai`` SDK's response object (as the OpenAI assistant receives it) into one :class:`Reply`; providers
with other response shapes (the Responses API, Gemini) fill in the same :class:`Reply` themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: Secrets shorter than this are not masked (they would mask ordinary words).
_MIN_SECRET = 4
#: Secrets at least this long also have their first and last 8 characters masked wherever they appear, so a
#: server quoting part of a key (``sk-abc…wxyz``) does not leak it either.
_PARTIAL_SECRET = 16


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with every secret (and, for secrets of 16+ characters, their 8-character head and tail) replaced
    by ``***``. ``None`` and very short secrets are ignored."""
    out = str(text)
    for secret in secrets:
        if not secret or len(secret) < _MIN_SECRET:
            continue
        out = out.replace(secret, "***")
        if len(secret) >= _PARTIAL_SECRET:
            out = out.replace(secret[:8], "***").replace(secret[-8:], "***")
    return out


def one_line(text: str, limit: int = 300) -> str:
    """``text`` with its white space folded onto one line, cut to ``limit`` characters (ending in ``…``)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
    """One model reply, before anyone judges it.

    Attributes:
        text: the answer's text; ``None`` when the reply carried no text at all (``problem`` says why).
        finish_reason: why generation stopped, as the provider wrote it.
        usage: the provider's token counts.
        response_id, model: the provider's id for the response and the model version that answered.
        refusal: the model's refusal message, when it refused.
        refusal_reason: ``"refusal"``, ``"content_filter"`` or the provider's block reason, when it refused.
        problem: why there is no usable text (no choices, a message without text), else ``None``.
    """

    text: str | None
    finish_reason: str | None = None
    usage: TokenUsage = field(default_factory=TokenUsage)
    response_id: str | None = None
    model: str | None = None
    refusal: str | None = None
    refusal_reason: str | None = None
    problem: str | None = None


def _get(obj: object, name: str) -> object:
    """``obj[name]`` for a JSON object, ``obj.name`` for an SDK object; ``None`` when absent."""
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _is_record(value: object) -> bool:
    """A JSON object or an SDK object (not a plain value)."""
    return isinstance(value, Mapping) or not (value is None or isinstance(value, str | bytes | int | float | list))


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def chat_usage(usage: object) -> TokenUsage:
    """Token counts from a chat completion's ``usage`` (whatever of them the server reports)."""
    if usage is None:
        return TokenUsage()
    return TokenUsage(
        input_tokens=_int(_get(usage, "prompt_tokens")),
        output_tokens=_int(_get(usage, "completion_tokens")),
        total_tokens=_int(_get(usage, "total_tokens")),
        cached_tokens=_int(_get(_get(usage, "prompt_tokens_details"), "cached_tokens")),
        reasoning_tokens=_int(_get(_get(usage, "completion_tokens_details"), "reasoning_tokens")),
    )


def message_text(message: object) -> str | None:
    """A chat message's text: its ``content`` string, or the text parts of a content list (some servers send
    those); ``None`` when it has no text."""
    content = _get(message, "content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [t for t in (_str(_get(part, "text")) for part in content) if t is not None]
        return "".join(texts) if texts else None
    return None


def read_chat_completion(response: object) -> Reply:
    """The :class:`Reply` in a chat completion: the parsed JSON body (a ``dict``) or the ``openai`` SDK's
    ``ChatCompletion``. Only the first choice is read."""
    usage = chat_usage(_get(response, "usage"))
    response_id = _str(_get(response, "id"))
    model = _str(_get(response, "model"))
    choices = _get(response, "choices")
    if not isinstance(choices, list) or not choices or not _is_record(choices[0]):
        return Reply(None, "no_choices", usage, response_id, model, problem="server answered without any choice")
    choice = choices[0]
    finish = _str(_get(choice, "finish_reason"))
    message = _get(choice, "message")
    refusal = _str(_get(message, "refusal")) or None
    reason = "refusal" if refusal else ("content_filter" if finish == "content_filter" else None)
    text = message_text(message)
    problem = "server answered without text" if text is None else None
    return Reply(text, finish, usage, response_id, model, refusal=refusal, refusal_reason=reason, problem=problem)
