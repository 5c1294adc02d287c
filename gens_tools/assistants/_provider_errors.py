"""Reading providers' error messages: whether a request was *too long* (and by how much), and how messages say
that the SDK already retried."""

from __future__ import annotations

import re
from collections.abc import Sequence

from gens_tools.errors import ContextTooLongError

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
_TOO_LONG_CODES = ("context_length_exceeded", "string_above_max_length")


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
    return code in _TOO_LONG_CODES or bool(_TOO_LONG.search(message))


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


def after_retries(max_retries: int) -> str:
    """``"after 3 retries"``: how error messages say the SDK already retried."""
    return f"after {max_retries} retr{'y' if max_retries == 1 else 'ies'}"
