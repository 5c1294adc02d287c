"""The HTTP client settings every provider takes (``timeout``, ``max_retries``, ``base_url``), checked at
construction rather than at the first request."""

from __future__ import annotations

from gens_tools._checks import http_url, non_negative_int, positive_number

DEFAULT_TIMEOUT = 120.0
"""Seconds per request attempt."""
DEFAULT_MAX_RETRIES = 3
"""Retries of rate limits, server errors, timeouts and connection errors (the SDKs' own backoff)."""


def check_client_options(timeout: object, max_retries: object, base_url: object) -> tuple[float, int, str | None]:
    """``(timeout, max_retries, base_url)`` checked and normalised.

    Raises:
        InvalidArgumentError: ``timeout`` not a positive number of seconds, ``max_retries`` not a whole number
            >= 0, or ``base_url`` not an http(s) URL.
    """
    seconds = positive_number("timeout", timeout)
    retries = non_negative_int("max_retries", max_retries)
    url = None if base_url is None else http_url("base_url", base_url)
    return seconds, retries, url
