"""The HTTP side: the ``openai`` SDK's async client, and posting one prepared body through it.

The SDK adds the key, applies the timeout, retries 429, 408/409, 5xx, timeouts and dropped connections with
exponential backoff (honouring ``Retry-After``) and maps error statuses to its exceptions; the body is
ours, built and measured once and sent as is. The HTTP client under the SDK (:mod:`gens_tools._http`) gives
each attempt an overall deadline, so a server that drips its answer cannot hold a window for longer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from gens_tools._http import async_deadline_client, http_module
from gens_tools.errors import BackendUnavailableError

if TYPE_CHECKING:
    from openai import AsyncOpenAI

#: Request header naming the (video, window) a request is about, the same for every question: a load balancer
#: can hash on it to send a window back to the replica whose prefix cache already holds its frames.
CACHE_KEY_HEADER = "X-GenS-Cache-Key"


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


def import_openai() -> Any:
    """The ``openai`` module, or :class:`BackendUnavailableError` with the install hint."""
    try:
        import openai
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BackendUnavailableError(
            "the remote sampler needs the openai package: pip install 'gens-tools[openai]'"
        ) from exc
    return openai


def new_client(
    base_url: str, api_key: str, *, timeout: float, max_retries: int, default_headers: Mapping[str, str]
) -> AsyncOpenAI:
    """An async client for ``base_url``: each request attempt ends within ``timeout`` seconds overall
    (connecting within 10 s of it), a ``Retry-After`` longer than that is shortened to it, redirects are not
    followed and answers over 16 MiB are refused (:mod:`gens_tools._http`)."""
    openai = import_openai()
    http = http_module()
    client: AsyncOpenAI = openai.AsyncOpenAI(
        base_url=base_url,
        api_key=api_key,
        timeout=openai.Timeout(timeout, connect=min(timeout, 10.0)),
        max_retries=max_retries,
        default_headers=dict(default_headers) or None,
        http_client=async_deadline_client(
            deadline=timeout,
            module=http,
            timeout=http.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=http.Limits(max_connections=1000, max_keepalive_connections=100),
        ),
    )
    return client


async def post_chat(client: AsyncOpenAI, body: bytes, cache_key: str | None) -> tuple[bytes, int]:
    """POST ``body`` to ``/chat/completions``; returns the response body and how many times the SDK retried.
    Error statuses and transport failures raise the SDK's exceptions."""
    headers = {"Content-Type": "application/json"}
    if cache_key is not None:
        headers[CACHE_KEY_HEADER] = cache_key
    response: Any = await client.post(
        "/chat/completions", cast_to=_response_class(), content=body, options={"headers": headers}
    )
    try:
        retries = int(response.request.headers.get("x-stainless-retry-count") or 0)
    except ValueError:
        retries = 0
    return response.content, retries


def _response_class() -> type:
    """The HTTP response class of the client :func:`new_client` gives the SDK: passing it as ``cast_to`` makes
    ``client.post`` return the raw response, after the SDK's retries and status checks."""
    cls: type = http_module().Response
    return cls
