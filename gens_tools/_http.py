"""HTTP clients for the provider SDKs gens-tools drives (``openai``, ``google-genai``), with limits that every
request keeps whatever the server does.

An SDK's ``timeout`` bounds each phase of a request (connecting, each read, each write), not the request: a
server that drips its answer one byte a second never trips a 5-second read timeout. The clients built here add:

* **an overall deadline per request attempt**: when ``deadline`` seconds have passed since the request was sent,
  the attempt ends with the HTTP library's ``ReadTimeout``, which the SDKs treat as a timeout (retried within
  their ``max_retries``). Blocking clients shut the connection's socket down from a timer (they open one
  connection per request, so the socket is the request's own); async clients cancel the attempt.
* **a cap on the response body** (``max_response_bytes``): a larger answer ends the attempt with a ``ReadError``
  instead of filling memory.
* **Retry-After within the deadline**: a ``Retry-After`` (or ``retry-after-ms``) longer than ``deadline`` is
  shortened to it, so a server cannot park a call for minutes.
* **no redirects**: a 3xx comes back to the SDK as an error status. An API root that redirects is a
  configuration mistake, and following it would send the API key and the frames to another address.

The HTTP library is ``httpx`` (or its fork ``httpx2`` where only that is installed), imported here lazily:
the core imports without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import importlib
import math
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from gens_tools.errors import BackendUnavailableError

#: Largest response body read by default (a chat completion is a few kilobytes).
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024

#: Trace events of ``httpcore`` that hand over a new connection's network stream.
_CONNECT_EVENTS = ("connection.connect_tcp.complete", "connection.connect_unix_socket.complete")


def http_module(name: str | None = None) -> Any:
    """The ``httpx`` module (``name`` to ask for ``httpx2``), or :class:`BackendUnavailableError`."""
    for candidate in (name,) if name else ("httpx", "httpx2"):
        try:
            return importlib.import_module(candidate)
        except ImportError:
            continue
    raise BackendUnavailableError("gens-tools needs httpx to talk to model servers: pip install httpx")


def deadline_client(
    *, deadline: float, max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES, module: Any = None, **kwargs: Any
) -> Any:
    """A blocking ``httpx.Client`` whose every request ends within ``deadline`` seconds (see the module notes).
    ``kwargs`` go to the client (``timeout``…); connections are not kept alive, so that each request's
    socket is its own to shut down."""
    mod = module or http_module()
    kwargs.setdefault("limits", mod.Limits(max_connections=100, max_keepalive_connections=0))
    kwargs["follow_redirects"] = False
    return _client_classes(mod)[0](deadline=deadline, max_response_bytes=max_response_bytes, **kwargs)


def async_deadline_client(
    *, deadline: float, max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES, module: Any = None, **kwargs: Any
) -> Any:
    """An ``httpx.AsyncClient`` whose every request ends within ``deadline`` seconds (see the module notes)."""
    mod = module or http_module()
    kwargs["follow_redirects"] = False
    return _client_classes(mod)[1](deadline=deadline, max_response_bytes=max_response_bytes, **kwargs)


def deadline_exceeded(exc: BaseException | None) -> str | None:
    """When ``exc`` (or an exception it was raised from) is one of this module's limits, the sentence saying
    which; else ``None``."""
    seen = 0
    while exc is not None and seen < 10:
        text = str(exc)
        if text.startswith(_LIMIT_PREFIX):
            return text[len(_LIMIT_PREFIX) :]
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


_LIMIT_PREFIX = "gens-tools limit: "

#: Exception class names (httpx, httpx2, aiohttp, the standard library) that mean no connection was made.
_CONNECT_FAILURES = frozenset(
    {
        "ConnectError",
        "ConnectTimeout",
        "ClientConnectorError",
        "ClientConnectorDNSError",
        "ConnectionRefusedError",
        "gaierror",
    }
)


def transport_failure(exc: BaseException | None) -> tuple[bool, str]:
    """Whether a transport error (an SDK's connection error, or what it was raised from) means that no
    connection could be made at all, and a few words on what went wrong, for messages."""
    limit = deadline_exceeded(exc)
    if limit is not None:
        return False, limit
    seen = 0
    while exc is not None and seen < 10:
        name = type(exc).__name__
        if name in _CONNECT_FAILURES:
            return True, "no connection could be made"
        if name == "RemoteProtocolError" or "incomplete" in str(exc).lower():
            return False, "the server closed the connection before its answer was complete"
        if name in ("ReadError", "ClientOSError", "ServerDisconnectedError", "ConnectionResetError"):
            return False, "the connection was broken while the answer was read (reset by the server?)"
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False, "the connection failed"


def _retry_after_cap(headers: Any, cap: float) -> None:
    """Shorten ``Retry-After``/``retry-after-ms`` in ``headers`` (in place) to at most ``cap`` seconds."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        with contextlib.suppress(ValueError):
            if float(ms) / 1000 > cap:
                headers["retry-after-ms"] = str(int(cap * 1000))
    value = headers.get("retry-after")
    if value is None:
        return
    try:
        seconds = float(value)
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if value.strip() else None
        if when is None:
            return
        seconds = when.timestamp() - time.time()
    if not math.isfinite(seconds) or seconds > cap:
        headers["retry-after"] = str(max(0, int(cap)))


class _Watchdog:
    """Ends a blocking request at its deadline by shutting its socket down (waking a read that is waiting)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._t0 = time.monotonic()
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def attach(self, stream: Any) -> None:
        """Watch a new connection's network stream (from the ``trace`` extension)."""
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            self._sock = sock
            fired = self.fired
        if fired:
            _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sock = self._sock
        if sock is not None:
            _shutdown(sock)

    def expired(self) -> bool:
        return self.fired or time.monotonic() - self._t0 > self.seconds

    def cancel(self) -> None:
        self._timer.cancel()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _timeout_error(mod: Any, request: Any, seconds: float) -> Exception:
    err: Exception = mod.ReadTimeout(
        f"{_LIMIT_PREFIX}no complete answer within {seconds:g}s (the request's overall deadline)", request=request
    )
    return err


def _too_large_error(mod: Any, request: Any, limit: int) -> Exception:
    err: Exception = mod.ReadError(f"{_LIMIT_PREFIX}the answer is larger than {limit:,} bytes", request=request)
    return err


@functools.cache
def _client_classes(mod: Any) -> tuple[type, type]:
    """The blocking and async client classes for the ``httpx``-like module ``mod``."""

    class SyncBody(mod.SyncByteStream):  # type: ignore[misc]
        def __init__(self, inner: Any, watch: _Watchdog, request: Any, limit: int) -> None:
            self._inner, self._watch, self._request, self._limit = inner, watch, request, limit

        def __iter__(self) -> Iterator[bytes]:
            size = 0
            try:
                for chunk in self._inner:
                    size += len(chunk)
                    if size > self._limit:
                        raise _too_large_error(mod, self._request, self._limit)
                    if self._watch.expired():
                        raise _timeout_error(mod, self._request, self._watch.seconds)
                    yield chunk
            except mod.TransportError as exc:
                if self._watch.fired and deadline_exceeded(exc) is None:
                    raise _timeout_error(mod, self._request, self._watch.seconds) from exc
                raise

        def close(self) -> None:
            self._watch.cancel()
            self._inner.close()

    class DeadlineClient(mod.Client):  # type: ignore[misc]
        def __init__(self, *, deadline: float, max_response_bytes: int, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.deadline = deadline
            self.max_response_bytes = max_response_bytes

        def send(self, request: Any, *, stream: bool = False, **kwargs: Any) -> Any:
            watch = _Watchdog(self.deadline)
            previous: Callable[[str, dict[str, Any]], Any] | None = request.extensions.get("trace")

            def trace(name: str, info: dict[str, Any]) -> None:
                if name in _CONNECT_EVENTS:
                    watch.attach(info.get("return_value"))
                if previous is not None:
                    previous(name, info)

            request.extensions = {**request.extensions, "trace": trace}
            watch.start()
            try:
                response = super().send(request, stream=True, **kwargs)
            except mod.TransportError as exc:
                watch.cancel()
                if watch.fired:
                    raise _timeout_error(mod, request, self.deadline) from exc
                raise
            except BaseException:
                watch.cancel()
                raise
            _retry_after_cap(response.headers, self.deadline)
            response.stream = SyncBody(response.stream, watch, request, self.max_response_bytes)
            if not stream:
                try:
                    response.read()
                finally:
                    response.close()
            return response

    class AsyncBody(mod.AsyncByteStream):  # type: ignore[misc]
        def __init__(self, inner: Any, end: float, seconds: float, request: Any, limit: int) -> None:
            self._inner, self._end, self._seconds, self._request, self._limit = inner, end, seconds, request, limit

        async def __aiter__(self) -> AsyncIterator[bytes]:
            size = 0
            chunks = self._inner.__aiter__()
            loop = asyncio.get_running_loop()
            while True:
                left = self._end - loop.time()
                if left <= 0:
                    raise _timeout_error(mod, self._request, self._seconds)
                try:
                    chunk = await asyncio.wait_for(chunks.__anext__(), left)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    raise _timeout_error(mod, self._request, self._seconds) from None
                size += len(chunk)
                if size > self._limit:
                    raise _too_large_error(mod, self._request, self._limit)
                yield chunk

        async def aclose(self) -> None:
            await self._inner.aclose()

    class AsyncDeadlineClient(mod.AsyncClient):  # type: ignore[misc]
        def __init__(self, *, deadline: float, max_response_bytes: int, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.deadline = deadline
            self.max_response_bytes = max_response_bytes

        async def send(self, request: Any, *, stream: bool = False, **kwargs: Any) -> Any:
            loop = asyncio.get_running_loop()
            end = loop.time() + self.deadline
            try:
                response = await asyncio.wait_for(super().send(request, stream=True, **kwargs), self.deadline)
            except TimeoutError:
                raise _timeout_error(mod, request, self.deadline) from None
            _retry_after_cap(response.headers, self.deadline)
            response.stream = AsyncBody(response.stream, end, self.deadline, request, self.max_response_bytes)
            if not stream:
                try:
                    await response.aread()
                finally:
                    await response.aclose()
            return response

    return DeadlineClient, AsyncDeadlineClient
