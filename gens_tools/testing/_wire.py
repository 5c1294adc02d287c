"""Faults on the wire, shared by the fake servers: what a broken server, proxy or network does to an answer.

Each fault is named by a string that the servers' fault scripts take (:meth:`FakeServer.push
<gens_tools.testing.FakeServer.push>`, :class:`~gens_tools.testing.Fault` for :class:`FakeGenSServer
<gens_tools.testing.FakeGenSServer>`):

``"drip"``
    the normal answer, written one byte at a time (``drip_interval`` seconds apart) — a read timeout never trips;
``"reset"``
    the connection is reset (TCP RST) instead of answering;
``"not-json"``
    HTTP 200 that says ``application/json`` but carries an HTML error page (a proxy's);
``"html"``
    HTTP 200 with ``Content-Type: text/html`` and an HTML page;
``"cut-body"``
    the normal answer's headers (its full ``Content-Length``) and half its body, then the connection closes;
``"redirect"``
    HTTP 307 to another address (the client must not follow it);
``"429-wait"``
    HTTP 429 whose ``Retry-After`` asks for an hour;
``"429-bare"``
    HTTP 429 with no ``Retry-After`` at all (the client's own backoff applies).

``"no-choices"`` (an answer without any choice or candidate) is written by each server in its own format.
Every loop here is bounded by the server's stop event and by the length of the answer.
"""

from __future__ import annotations

import contextlib
import http
import json
import socket
import struct
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler

#: The faults :func:`write_wire_fault` writes (``"no-choices"`` is each server's own).
WIRE_FAULTS = ("drip", "reset", "not-json", "html", "cut-body", "redirect", "429-wait", "429-bare")

#: Where ``"redirect"`` sends the client: a port nothing listens on, on the loopback address.
REDIRECT_TARGET = "http://127.0.0.1:9/elsewhere/v1/chat/completions"

_HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"

#: The normal answer: ``(status, headers, body)``.
Answer = tuple[int, Mapping[str, str], bytes]


def raw_response(status: int, headers: Mapping[str, str], body: bytes, content_type: str = "application/json") -> bytes:
    """An HTTP/1.1 response as bytes on the wire."""
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Status"
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("content-type", "content-length")]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _write(h: BaseHTTPRequestHandler, data: bytes) -> bool:
    try:
        h.wfile.write(data)
        h.wfile.flush()
    except OSError:  # the client gave up
        return False
    return True


def _reset(h: BaseHTTPRequestHandler) -> None:
    sock: socket.socket = h.connection
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


def write_wire_fault(
    h: BaseHTTPRequestHandler,
    kind: str,
    answer: Callable[[], Answer],
    *,
    stop: threading.Event,
    drip_interval: float = 1.0,
    error_body: bytes = b'{"error": {"message": "Too many requests", "type": "rate_limit_exceeded"}}',
) -> None:
    """Answer the request ``h`` is handling with the fault ``kind`` (one of :data:`WIRE_FAULTS`); ``answer``
    gives the normal answer for the faults that send (part of) it. The connection is closed afterwards."""
    h.close_connection = True
    if kind == "reset":
        _reset(h)
    elif kind == "drip":
        data = raw_response(*answer())
        for i in range(len(data)):
            if stop.is_set() or not _write(h, data[i : i + 1]):
                break
            stop.wait(drip_interval)
    elif kind == "cut-body":
        status, headers, body = answer()
        data = raw_response(status, headers, body)
        _write(h, data[: len(data) - max(1, len(body) // 2)])  # then the connection closes (end of file)
    elif kind == "not-json":
        _write(h, raw_response(200, {}, _HTML, "application/json"))
    elif kind == "html":
        _write(h, raw_response(200, {}, _HTML, "text/html; charset=utf-8"))
    elif kind == "redirect":
        body = json.dumps({"moved": REDIRECT_TARGET}).encode()
        _write(h, raw_response(307, {"Location": REDIRECT_TARGET}, body))
    elif kind == "429-wait":
        _write(h, raw_response(429, {"Retry-After": "3600"}, error_body))
    elif kind == "429-bare":
        _write(h, raw_response(429, {}, error_body))
    else:
        raise ValueError(f"unknown wire fault {kind!r}; known: {', '.join(WIRE_FAULTS)}")
