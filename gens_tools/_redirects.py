"""Following an http(s) URL's redirects ourselves, one checked hop at a time, before FFmpeg opens it.

FFmpeg follows HTTP redirects on its own, to any host; a policy that checked only the URL it was given would be
bypassed by a single redirect (an open redirect on an allowed host, or a server that sends its visitors
elsewhere). :func:`resolve_redirects` asks the server for the first byte (``GET`` with ``Range: bytes=0-0``)
without following redirects, checks every ``Location`` with the caller's ``check`` (an access policy), and
returns the final URL, the one that answered without redirecting. That URL is what FFmpeg is given, with its
own redirect following switched off, and what cache keys are made from.

Every probe ends within ``timeout`` seconds overall (a timer shuts its socket down), at most
:data:`MAX_REDIRECTS` hops are followed, and proxies are used as FFmpeg uses them (``http_proxy``,
``https_proxy``, ``no_proxy``).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import urllib.request
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit, urlunsplit

from gens_tools._sources import is_http_url, normalize_http_url, url_scheme
from gens_tools.errors import AccessDeniedError, VideoError, VideoNotFoundError

#: Most redirects followed from one URL (browsers allow 20, FFmpeg 8; a video URL needs one or two).
MAX_REDIRECTS = 5
#: Redirect statuses (the others are answers).
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

#: Checks one URL (a hop) and returns it normalised, or raises :class:`AccessDeniedError`.
UrlCheck = Callable[[str], str]


def shown(url: str) -> str:
    """``url`` for messages: no user:password, query or fragment (they may hold tokens), at most 200
    characters."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    with contextlib.suppress(ValueError):
        if parts.port is not None:
            host = f"{host}:{parts.port}"
    text = urlunsplit((parts.scheme, host, parts.path, "", ""))
    return text if len(text) <= 200 else text[:199] + "…"


def resolve_redirects(
    url: str, check: UrlCheck | None = None, *, timeout: float = 30.0, max_redirects: int = MAX_REDIRECTS
) -> str:
    """The URL that ``url`` finally leads to, each redirect checked with ``check`` before it is followed.

    Args:
        url: an http(s) URL (already allowed by the caller).
        check: called with each URL a redirect leads to; returns it (normalised) or raises
            :class:`AccessDeniedError`. ``None`` allows every http(s) hop.
        timeout: seconds each probe may take overall.
        max_redirects: most hops followed.

    Returns:
        The final URL (scheme and host in lower case): the first that answered without redirecting.

    Raises:
        AccessDeniedError: a redirect leads somewhere ``check`` refuses, or to a scheme other than http(s).
        VideoNotFoundError: the server answered 404 or 410.
        VideoError: more than ``max_redirects`` redirects, a redirect without a ``Location``, or the server
            could not be reached or did not answer within ``timeout``.
    """
    current = normalize_http_url(url)
    for hop in range(max_redirects + 1):
        status, location = _probe(current, timeout)
        if status in (404, 410):
            raise VideoNotFoundError(f"video not found: {shown(current)} answered HTTP {status}")
        if status not in REDIRECT_STATUSES:
            return current
        if not location:
            raise VideoError(f"{shown(current)} answered with a redirect (HTTP {status}) but gave no address")
        if hop == max_redirects:
            raise VideoError(f"{shown(url)} redirects more than {max_redirects} times; give the final address")
        target = urljoin(current, location.strip())
        if not is_http_url(target):
            raise AccessDeniedError(
                f"{shown(url)} redirects to a {url_scheme(target) or 'non-URL'} address; only http(s) is opened"
            )
        target = normalize_http_url(target)
        if check is not None:
            try:
                target = check(target)
            except AccessDeniedError as exc:
                raise AccessDeniedError(
                    f"{shown(url)} redirects to {shown(target)}, which may not be opened: {exc}"
                ) from None
        current = target
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _connection(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    """A connection for ``url`` (through the environment's proxy, as FFmpeg does) and the request target."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    target = urlunsplit(("", "", parts.path or "/", parts.query, "")) or "/"
    proxy = None if urllib.request.proxy_bypass(host) else urllib.request.getproxies().get(parts.scheme)
    context = ssl.create_default_context() if https else None
    if proxy:
        p = urlsplit(proxy if "://" in proxy else "http://" + proxy)
        if https:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                p.hostname or "", p.port or 80, timeout=timeout, context=context
            )
            conn.set_tunnel(host, port)
            return conn, target
        return http.client.HTTPConnection(p.hostname or "", p.port or 80, timeout=timeout), url
    if https:
        return http.client.HTTPSConnection(host, port, timeout=timeout, context=context), target
    return http.client.HTTPConnection(host, port, timeout=timeout), target


def _probe(url: str, timeout: float) -> tuple[int, str | None]:
    """``(status, Location)`` of a one-byte ``GET`` of ``url``, ended within ``timeout`` seconds overall."""
    status, location, _ = fetch_start(url, 0, timeout)
    return status, location


def fetch_start(url: str, n_bytes: int, timeout: float) -> tuple[int, str | None, bytes]:
    """``GET`` the first ``n_bytes + 1`` bytes of ``url`` (a range request) without following redirects, ended
    within ``timeout`` seconds overall: ``(status, Location header, at most n_bytes + 1 bytes of body)``.

    Raises:
        VideoError: the server could not be reached, or did not answer within ``timeout``.
    """
    conn, target = _connection(url, timeout)
    fired = threading.Event()

    def cut() -> None:
        fired.set()
        sock = conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(timeout, cut)
    timer.daemon = True
    timer.start()
    try:
        headers = {
            "Range": f"bytes=0-{n_bytes}",
            "User-Agent": "gens-tools",
            "Accept": "*/*",
            "Connection": "close",
        }
        conn.request("GET", target, headers=headers)
        response = conn.getresponse()
        body = b""
        if n_bytes > 0 and response.status < 300:
            while len(body) <= n_bytes:
                chunk = response.read1(n_bytes + 1 - len(body))
                if not chunk:
                    break
                body += chunk
        return response.status, response.getheader("Location"), body
    except (OSError, http.client.HTTPException) as exc:
        if fired.is_set() or isinstance(exc, TimeoutError):
            raise VideoError(f"timed out opening {shown(url)} (no answer within {timeout:g}s)") from None
        if isinstance(exc, ConnectionRefusedError):
            raise VideoError(f"could not connect to {shown(url)}: connection refused") from None
        why = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc) or type(exc).__name__
        raise VideoError(f"cannot open {shown(url)}: {why}") from None
    finally:
        timer.cancel()
        conn.close()
