"""Checks on the remote sampler's options, and the server's URL as shown in messages (never credentials)."""

from __future__ import annotations

import math
from urllib.parse import urlsplit, urlunsplit

from gens_tools.errors import InvalidArgumentError

_URL_EXAMPLE = "http://127.0.0.1:8000/v1"


def display_url(url: str) -> str:
    """``url`` without any user:password part, query or fragment, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None:
        host = f"{host}:{port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def check_base_url(base_url: object) -> str:
    """The API root, stripped of whitespace and trailing slashes; :class:`InvalidArgumentError` unless it is
    an http(s) URL with a host and a valid port."""
    if not isinstance(base_url, str) or not base_url.strip():
        raise InvalidArgumentError(f"base_url must be the server's API root, e.g. {_URL_EXAMPLE}")
    url = base_url.strip()
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise InvalidArgumentError(
            f"base_url {display_url(url)!r} has an invalid port; expected something like {_URL_EXAMPLE}"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgumentError(
            f"base_url {display_url(url) if parts.hostname else url!r} is not an http(s) URL with a host; "
            f"expected something like {_URL_EXAMPLE}"
        )
    return url.rstrip("/")


def check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    """``value`` if it is an integer (not a bool) in ``low … high``, else :class:`InvalidArgumentError`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise InvalidArgumentError(f"{name} must be {bound}, got {value}")
    return value


def check_seconds(name: str, value: object) -> float:
    """``value`` as float seconds if it is a positive finite number, else :class:`InvalidArgumentError`."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise InvalidArgumentError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def check_temperature(value: object) -> float | None:
    """``value`` if it is ``None`` or a finite number >= 0, else :class:`InvalidArgumentError`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InvalidArgumentError(f"temperature must be a number >= 0 or None, got {value!r}")
    return value
