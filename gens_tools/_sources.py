"""The one rule for telling a URL from a local path.

A source is a URL when it starts with ``scheme://`` (within its first 16 characters); only ``http`` and
``https`` URLs are ever opened. Schemes are compared case-insensitively (``HTTP://`` is ``http://``).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

#: URL schemes gens-tools opens.
HTTP_SCHEMES = ("http", "https")

_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*)://")


def url_scheme(text: object) -> str | None:
    """The lower-cased scheme of ``text`` when it is written as a URL (``scheme://…``), else ``None``."""
    if not isinstance(text, str):
        return None
    m = _SCHEME.match(text[:40])
    return m.group(1).lower() if m else None


def is_url(text: object) -> bool:
    """Whether ``text`` is written as a URL with a scheme (``http://``, ``file://``, ``rtsp://``…)."""
    return url_scheme(text) is not None


def is_http_url(text: object) -> bool:
    """Whether ``text`` is an http(s) URL (any letter case in the scheme)."""
    return url_scheme(text) in HTTP_SCHEMES


def normalize_http_url(url: str) -> str:
    """``url`` with its scheme and host in lower case (what FFmpeg and HTTP clients expect); the path, query
    and fragment are kept as they are."""
    parts = urlsplit(url.strip())
    return urlunsplit(parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()))
