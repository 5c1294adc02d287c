"""GenS behind an OpenAI-compatible endpoint (vLLM, SGLang, a hosted API): windows scored concurrently.

Each window becomes one chat request whose single user message interleaves the GenS prompt with the frames
as JPEG data URLs: ``[0]`` image ``\\n[1]`` image … ``\\nQuestion: …\\n<instruction>``. The frames come before
the question, so a server with prefix caching (vLLM caches by default) reuses a window's image prefix when
another question is asked about the same video. The answer goes through the core GenS parser.

Transport failures are retried by the ``openai`` SDK itself (429, 408/409, 5xx, timeouts and dropped
connections, with exponential backoff and ``Retry-After``). A window that still fails comes back *unscored*
with the reason in ``issues``; mistakes the user must fix (a server that cannot be reached at all, a rejected
API key, an unknown model) raise :class:`~gens_tools.errors.SamplerError` instead. A request-size guard
recompresses, shrinks and finally splits a window rather than send more than the server accepts.

Only the GenS checkpoints were trained for this prompt; any other vision model behind the same API can be
used as a zero-shot sampler, with no guarantee about the quality of its scores.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures as cf
import contextlib
import hashlib
import importlib
import io
import json
import logging
import math
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

from PIL import Image

from gens_tools.errors import BackendUnavailableError, InvalidArgumentError, SamplerError
from gens_tools.frames import encode_jpeg
from gens_tools.progress import ProgressCallback, emit
from gens_tools.sampling.base import FrameSampler, Window, WindowScores
from gens_tools.sampling.parser import parse_gens_output
from gens_tools.sampling.prompt import GENS_INSTRUCTION, split_prompt, validate_question
from gens_tools.sampling.windows import plan_windows

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = [
    "CACHE_KEY_HEADER",
    "DEFAULT_API_KEY_ENV",
    "PLACEHOLDER_API_KEY",
    "PREPARE_AHEAD",
    "RemoteGenSSampler",
]

log = logging.getLogger(__name__)

#: Environment variable read for the API key when none is passed.
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
#: Key sent when none is configured: local servers (vLLM without ``--api-key``) accept any key.
PLACEHOLDER_API_KEY = "EMPTY"
#: Request header naming the (video, window) a request is about, the same for every question: a load balancer
#: can hash on it to send a window back to the replica whose prefix cache already holds its frames.
CACHE_KEY_HEADER = "X-GenS-Cache-Key"

#: Frame size (longest side, px) the sampler asks the pipeline to decode when ``max_side`` is not given.
DEFAULT_DECODE_SIDE = 448
#: Smallest frame side (px) the request-size guard shrinks to by default: GenS-3B reads 112×112 frames.
DEFAULT_MIN_SIDE = 112

_JPEG_PREFIX = "data:image/jpeg;base64,"
_RECOMPRESS_QUALITIES = (70, 50)
_MAX_413_ROUNDS = 4
_MIN_REQUEST_BYTES = 4096

#: Windows whose frames are held at once while being encoded (the one being decoded comes on top).
PREPARE_AHEAD = 2

T = TypeVar("T")


def _import_openai() -> Any:
    try:
        import openai
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BackendUnavailableError(
            "the remote sampler needs the openai package: pip install 'gens-tools[openai]'"
        ) from exc
    return openai


def _display_url(url: str) -> str:
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


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise InvalidArgumentError(f"{name} must be {bound}, got {value}")
    return value


def _check_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise InvalidArgumentError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


@dataclass(slots=True)
class _Part:
    """One request's worth of a window: frames ``offset … offset+n-1``, as the serialized request body."""

    offset: int
    n: int
    body: bytes
    side: int
    quality: int

    @property
    def body_bytes(self) -> int:
        return len(self.body)


@dataclass(slots=True)
class _Prepared:
    """A window encoded into request bodies; its frames are no longer needed."""

    index: int
    cache_key: str | None
    parts: list[_Part]
    notes: list[str]


@dataclass(slots=True)
class _Reply:
    text: str | None
    finish_reason: str | None
    usage: dict[str, int]
    retries: int
    problem: str | None = None


@dataclass(slots=True)
class _Call:
    """State shared by the windows of one ``score_windows`` call."""

    reached: bool = False  # the server answered at least once (even with an error status)


class _TooLarge(Exception):
    """A single frame does not fit in the request-size limit."""


class _LoopThread:
    """An event loop running in a daemon thread, with the async client that lives on it."""

    def __init__(self, client: AsyncOpenAI) -> None:
        self.client = client
        self._stopped = False
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="gens-remote-loop", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T]) -> cf.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def _shutdown(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.close()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.loop.shutdown_default_executor()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if threading.current_thread() is self.thread:  # pragma: no cover - defensive
            self.loop.call_soon(self.loop.stop)
            return
        if self.loop.is_running():
            with contextlib.suppress(Exception):
                self.submit(self._shutdown()).result(timeout=10)
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.thread.is_alive():
            self.loop.close()


class RemoteGenSSampler(FrameSampler):
    """Scores windows with GenS served behind an OpenAI-compatible chat API, several windows at a time.

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8000/v1`` for ``vllm serve``.
        model: the served model name (vLLM: the path or ``--served-model-name``).
        api_key: the key to send. Default: the environment variable ``api_key_env``, else a placeholder
            (enough for a local server started without ``--api-key``). Never shown in messages or ``repr``.
        api_key_env: environment variable to read the key from (default ``OPENAI_API_KEY``).
        concurrency: requests in flight at once for one call (windows of one video scored in parallel).
        timeout: seconds one HTTP request may take (a 256-frame window on a busy server can take a while).
        max_retries: retries of one request on 429, 408/409, 5xx, timeouts and dropped connections, with the
            SDK's exponential backoff (it honours ``Retry-After``).
        window_size: most frames per window (GenS was trained on up to 256).
        max_side: longest side (px) of the frames sent, also what the pipeline is asked to decode. ``None``
            (default): frames are sent as decoded, and the pipeline decodes at 448 px unless told otherwise.
        min_side: the request-size guard never shrinks frames below this (default 112 px, GenS-3B's frame
            size, or ``max_side`` if smaller).
        jpeg_quality: JPEG quality of the frames sent.
        max_request_bytes: the largest request body to send; bigger windows are recompressed, then shrunk,
            then split (each part labelled from ``[0]`` and mapped back). Lowered automatically when the
            server answers HTTP 413.
        max_images_per_request: most images one request may carry (vLLM's ``--limit-mm-per-prompt``).
        max_tokens: answer length limit; default sized to the window (``16 + 4 × frames``, 128 … 1024).
        max_tokens_param: the request field that carries it: ``max_tokens`` (vLLM, most servers) or
            ``max_completion_tokens`` (newer hosted models).
        temperature: sampling temperature (0 = greedy, as GenS is evaluated); ``None`` leaves it out.
        image_detail: the image parts' ``detail`` (``low``/``high``/``auto``, hosted OpenAI models); ``None``
            leaves it out.
        instruction: the instruction after the question (default: GenS's own, byte-exact).
        extra_body: extra request fields for the server (e.g. vLLM's ``{"stop_token_ids": […]}``).
        default_headers: extra HTTP headers on every request.
    """

    name: ClassVar[str] = "remote"
    needs_images = True

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        api_key_env: str = DEFAULT_API_KEY_ENV,
        concurrency: int = 8,
        timeout: float = 300.0,
        max_retries: int = 3,
        window_size: int = 256,
        max_side: int | None = None,
        min_side: int | None = None,
        jpeg_quality: int = 85,
        max_request_bytes: int = 20 * 1024 * 1024,
        max_images_per_request: int = 256,
        max_tokens: int | None = None,
        max_tokens_param: Literal["max_tokens", "max_completion_tokens"] = "max_tokens",
        temperature: float | None = 0.0,
        image_detail: Literal["low", "high", "auto"] | None = None,
        instruction: str = GENS_INSTRUCTION,
        extra_body: Mapping[str, Any] | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(base_url, str) or not base_url.strip():
            raise InvalidArgumentError("base_url must be the server's API root, e.g. http://127.0.0.1:8000/v1")
        url = base_url.strip()
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018 - validates the port
        except ValueError:
            raise InvalidArgumentError(
                f"base_url {_display_url(url)!r} has an invalid port; expected something like http://127.0.0.1:8000/v1"
            ) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidArgumentError(
                f"base_url {_display_url(url) if parts.hostname else url!r} is not an http(s) URL with a host; "
                "expected something like http://127.0.0.1:8000/v1"
            )
        if not isinstance(model, str) or not model.strip():
            raise InvalidArgumentError("model must name the served model (vLLM: the path or --served-model-name)")
        if api_key is not None and not isinstance(api_key, str):
            raise InvalidArgumentError("api_key must be a string")
        if not isinstance(api_key_env, str) or not api_key_env:
            raise InvalidArgumentError("api_key_env must name an environment variable")
        self.base_url = url.rstrip("/")
        self.model = model.strip()
        self.api_key_env = api_key_env
        self.concurrency = _check_int("concurrency", concurrency, 1, 1024)
        self.timeout = _check_seconds("timeout", timeout)
        self.max_retries = _check_int("max_retries", max_retries, 0, 50)
        self.window_size = _check_int("window_size", window_size, 1)
        self.max_side = None if max_side is None else _check_int("max_side", max_side, 16)
        if min_side is None:
            min_side = DEFAULT_MIN_SIDE if self.max_side is None else min(DEFAULT_MIN_SIDE, self.max_side)
        self.min_side = _check_int("min_side", min_side, 16)
        if self.max_side is not None and self.min_side > self.max_side:
            raise InvalidArgumentError(f"min_side ({min_side}) must not exceed max_side ({max_side})")
        self.preferred_max_side = self.max_side if self.max_side is not None else DEFAULT_DECODE_SIDE
        self.jpeg_quality = _check_int("jpeg_quality", jpeg_quality, 1, 100)
        self.max_request_bytes = _check_int("max_request_bytes", max_request_bytes, _MIN_REQUEST_BYTES)
        self.max_images_per_request = _check_int("max_images_per_request", max_images_per_request, 1)
        self.max_tokens = None if max_tokens is None else _check_int("max_tokens", max_tokens, 1)
        if max_tokens_param not in ("max_tokens", "max_completion_tokens"):
            raise InvalidArgumentError(
                f"max_tokens_param must be 'max_tokens' or 'max_completion_tokens', got {max_tokens_param!r}"
            )
        self.max_tokens_param = max_tokens_param
        if temperature is not None and (
            isinstance(temperature, bool)
            or not isinstance(temperature, int | float)
            or not math.isfinite(temperature)
            or temperature < 0
        ):
            raise InvalidArgumentError(f"temperature must be a number >= 0 or None, got {temperature!r}")
        self.temperature = temperature
        if image_detail not in (None, "low", "high", "auto"):
            raise InvalidArgumentError(f"image_detail must be 'low', 'high', 'auto' or None, got {image_detail!r}")
        self.image_detail = image_detail
        if not isinstance(instruction, str) or not instruction.strip():
            raise InvalidArgumentError("instruction must be non-empty text")
        self.instruction = instruction
        self.extra_body = dict(extra_body or {})
        self.default_headers = dict(default_headers or {})
        self._api_key = api_key
        self._limit = self.max_request_bytes  # lowered when the server answers 413
        self._lock = threading.Lock()
        self._runner: _LoopThread | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        _import_openai()  # fail now, with the install hint, rather than at the first window

    # ------------------------------------------------------------------ configuration

    def __repr__(self) -> str:
        return (
            f"RemoteGenSSampler(base_url={_display_url(self.base_url)!r}, model={self.model!r}, "
            f"concurrency={self.concurrency})"
        )

    @property
    def server(self) -> str:
        """The server's URL as shown in messages (without credentials)."""
        return _display_url(self.base_url)

    def _resolve_key(self) -> str:
        if self._api_key:
            return self._api_key
        return os.environ.get(self.api_key_env) or PLACEHOLDER_API_KEY

    def _redact(self, text: str, limit: int = 300) -> str:
        key = self._resolve_key()
        text = " ".join(str(text).split())
        if key != PLACEHOLDER_API_KEY and len(key) >= 4:
            text = text.replace(key, "***")
        return text if len(text) <= limit else text[: limit - 1] + "…"

    def _new_client(self) -> AsyncOpenAI:
        openai = _import_openai()
        client: AsyncOpenAI = openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=self._resolve_key(),
            timeout=openai.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
            max_retries=self.max_retries,
            default_headers=self.default_headers or None,
        )
        return client

    def _max_tokens_for(self, n_frames: int) -> int:
        if self.max_tokens is not None:
            return self.max_tokens
        return min(1024, max(128, 16 + 4 * n_frames))

    # ------------------------------------------------------------------ request building

    def build_messages(self, image_urls: Sequence[str], question: str) -> list[dict[str, Any]]:
        """The chat messages for one request: a single user message interleaving ``[i]`` labels and images,
        then the question and the instruction (frames first, so the image prefix is shared across questions).
        """
        pieces = split_prompt(len(image_urls), question, instruction=self.instruction)
        content: list[dict[str, Any]] = []
        for piece, url in zip(pieces, image_urls, strict=False):
            content.append({"type": "text", "text": piece})
            image: dict[str, Any] = {"url": url}
            if self.image_detail is not None:
                image["detail"] = self.image_detail
            content.append({"type": "image_url", "image_url": image})
        content.append({"type": "text", "text": pieces[-1]})
        return [{"role": "user", "content": content}]

    def _request_fields(self, image_urls: Sequence[str], question: str) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "model": self.model,
            "messages": self.build_messages(image_urls, question),
            self.max_tokens_param: self._max_tokens_for(len(image_urls)),
        }
        if self.temperature is not None:
            fields["temperature"] = self.temperature
        return fields

    def _body(self, image_urls: Sequence[str], question: str) -> bytes:
        """The request body, serialized once: it is both what the size guard measures and what is sent."""
        fields = {**self._request_fields(image_urls, question), **self.extra_body}
        return json.dumps(fields, separators=(",", ":")).encode("ascii")

    @staticmethod
    def _encode(images: Sequence[Image.Image], side: int, quality: int) -> list[str]:
        return [
            _JPEG_PREFIX + base64.b64encode(encode_jpeg(im, quality=quality, max_side=side)).decode("ascii")
            for im in images
        ]

    def _fit(
        self, images: Sequence[Image.Image], start: int, stop: int, question: str, limit: int
    ) -> tuple[list[_Part], list[str]]:
        """Encode frames ``start … stop-1`` into requests of at most ``limit`` bytes and
        ``max_images_per_request`` images: recompress, then shrink (not below ``min_side``), then halve."""
        parts: list[_Part] = []
        notes: list[str] = []
        for rng in plan_windows(stop - start, self.max_images_per_request):
            parts += self._fit_range(images, start + rng.start, start + rng.stop, question, limit, notes)
        return parts, notes

    def _fit_range(
        self,
        images: Sequence[Image.Image],
        start: int,
        stop: int,
        question: str,
        limit: int,
        notes: list[str],
    ) -> list[_Part]:
        sub = images[start:stop]
        native = max(max(im.size) for im in sub)
        side = native if self.max_side is None else min(native, self.max_side)
        quality = self.jpeg_quality

        def attempt() -> _Part:
            return _Part(start, stop - start, self._body(self._encode(sub, side, quality), question), side, quality)

        part = attempt()
        if part.body_bytes <= limit:
            return [part]
        for q in _RECOMPRESS_QUALITIES:
            if q >= quality:
                continue
            quality = q
            part = attempt()
            if part.body_bytes <= limit:
                notes.append(f"frames {start}-{stop - 1} recompressed (JPEG quality {quality}) to fit {limit} bytes")
                return [part]
        floor = min(self.min_side, side)
        while side > floor:
            side = max(floor, min(side - 1, int(side * math.sqrt(limit / part.body_bytes) * 0.95)))
            part = attempt()
            if part.body_bytes <= limit:
                notes.append(
                    f"frames {start}-{stop - 1} shrunk to {side} px (JPEG quality {quality}) to fit {limit} bytes"
                )
                return [part]
        if stop - start == 1:
            raise _TooLarge(
                f"frame {start} alone makes a {part.body_bytes}-byte request, over the {limit}-byte limit "
                f"even at {side} px"
            )
        mid = (start + stop) // 2
        notes.append(f"frames {start}-{stop - 1} split at {mid} to fit {limit} bytes")
        return self._fit_range(images, start, mid, question, limit, notes) + self._fit_range(
            images, mid, stop, question, limit, notes
        )

    # ------------------------------------------------------------------ one request

    def _cache_key(self, window: Window) -> str | None:
        if window.video_key is None:
            return None
        digest = hashlib.sha256(f"{window.video_key}|{window.index}".encode()).hexdigest()
        return digest[:24]

    async def _send(self, client: AsyncOpenAI, part: _Part, cache_key: str | None) -> _Reply:
        """POST one prepared body. The SDK adds the key, applies the timeout, retries with backoff and maps
        error statuses to exceptions; the body is ours (built and measured once, sent as is)."""
        headers = {"Content-Type": "application/json"}
        if cache_key is not None:
            headers[CACHE_KEY_HEADER] = cache_key
        response: Any = await client.post(
            "/chat/completions", cast_to=_response_class(), content=part.body, options={"headers": headers}
        )
        try:
            retries = int(response.request.headers.get("x-stainless-retry-count") or 0)
        except ValueError:
            retries = 0
        return self._read_reply(response.content, retries)

    def _read_reply(self, content: bytes, retries: int) -> _Reply:
        try:
            data = json.loads(content)
        except ValueError:
            snippet = self._redact(content[:200].decode("utf-8", errors="replace"), 120)
            return _Reply(None, None, {}, retries, f"server answered with a body that is not JSON: {snippet!r}")
        if not isinstance(data, dict):
            return _Reply(None, None, {}, retries, "server answered with JSON that is not a chat completion")
        usage = _usage_of(data.get("usage"))
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return _Reply(None, None, usage, retries, "server answered without any choice")
        choice = choices[0]
        finish = choice.get("finish_reason")
        finish = finish if isinstance(finish, str) else None
        message = choice.get("message")
        text = _message_text(message)
        if text is None:
            refusal = message.get("refusal") if isinstance(message, dict) else None
            why = f" (refusal: {self._redact(str(refusal), 120)!r})" if refusal else ""
            return _Reply(None, finish, usage, retries, f"server answered without text{why}")
        return _Reply(text, finish, usage, retries)

    def _status_detail(self, exc: Any) -> str:
        body = getattr(exc, "body", None)
        message: object = None
        if isinstance(body, dict):
            err = body.get("error")
            message = err.get("message") if isinstance(err, dict) else err or body.get("message")
        if not message:
            message = getattr(exc, "message", None) or str(exc)
        return self._redact(str(message), 240)

    async def _served_models(self, client: AsyncOpenAI) -> list[str]:
        try:
            page = await client.models.list(timeout=min(self.timeout, 10.0))
            return sorted({str(m.id) for m in page.data})[:20]
        except Exception:  # best effort: only used to improve an error message
            return []

    async def _fatal_not_found(self, client: AsyncOpenAI, exc: Any) -> SamplerError:
        served = await self._served_models(client)
        hint = f"; it serves: {', '.join(served)}" if served else ""
        return SamplerError(
            f"the server at {self.server} has no model {self.model!r} or no chat completions endpoint "
            f"(HTTP 404: {self._status_detail(exc)}){hint}. Check the model name and that the base URL ends "
            "with /v1."
        )

    # ------------------------------------------------------------------ one window

    def _images_of(self, window: Window) -> list[Image.Image]:
        images = []
        for frame in window.frames:
            try:
                images.append(frame.require_image())
            except (ValueError, OSError) as exc:
                raise InvalidArgumentError(
                    f"window {window.index}: the frame at {frame.label} has no readable image ({exc}); "
                    "the remote sampler needs decoded frames"
                ) from exc
        return images

    def _prepare(self, window: Window, question: str) -> _Prepared | WindowScores:
        """Encode a window into request bodies (runs in a worker thread). Returns an unscored result when
        nothing can be sent."""
        n = len(window.frames)
        if n == 0:
            return WindowScores(window.index, None, issues=["window has no frames"])
        images = self._images_of(window)
        try:
            parts, notes = self._fit(images, 0, n, question, self._limit)
        except _TooLarge as exc:
            return WindowScores(window.index, None, issues=[f"request-size guard: {exc}"])
        return _Prepared(window.index, self._cache_key(window), parts, notes)

    async def _run_window(
        self,
        client: AsyncOpenAI,
        window: Window,
        question: str,
        call: _Call,
        send_slots: asyncio.Semaphore,
        on_prepared: Callable[[], object],
        prev_turn: asyncio.Event | None = None,
        turn: asyncio.Event | None = None,
    ) -> WindowScores:
        """Prepare a window (its frames are released right after), then send it when a request slot is free.

        Slots are taken in window order (``prev_turn`` is set once the previous window has its slot, ``turn``
        once this one has), so a window that encodes faster never overtakes an earlier one."""
        try:
            try:
                prepared = await asyncio.to_thread(self._prepare, window, question)
            finally:
                on_prepared()
            del window  # from here on only the encoded request bodies are kept
            if isinstance(prepared, WindowScores):
                return prepared
            if prev_turn is not None:
                await prev_turn.wait()
            await send_slots.acquire()
        finally:
            if turn is not None:
                turn.set()
        try:
            return await self._deliver(client, prepared, question, call)
        finally:
            send_slots.release()

    async def _deliver(self, client: AsyncOpenAI, job: _Prepared, question: str, call: _Call) -> WindowScores:
        openai = _import_openai()
        t0 = time.perf_counter()
        issues: list[str] = list(job.notes)
        queue: deque[_Part] = deque(job.parts)
        replies: list[tuple[_Part, _Reply]] = []
        rounds_413 = 0
        usage: dict[str, Any] = {"requests": 0, "retries": 0, "request_bytes": 0}
        while queue:
            part = queue.popleft()
            if part.body_bytes > self._limit:  # prepared before the server taught us a lower limit (413)
                try:
                    sub, notes = await asyncio.to_thread(self._refit, part, question, self._limit)
                except _TooLarge as exc:
                    issues.append(f"request-size guard: {exc}")
                    return self._unscored(job, issues, usage, t0)
                issues += notes
                queue.extendleft(reversed(sub))
                continue
            try:
                reply = await self._send(client, part, job.cache_key)
            except openai.APITimeoutError:
                issues.append(f"request timed out after {self.timeout:g}s (retried {self.max_retries} times)")
                return self._unscored(job, issues, usage, t0)
            except openai.APIConnectionError as exc:
                if not call.reached:
                    raise SamplerError(
                        f"cannot reach the GenS server at {self.server} (model {self.model!r}): "
                        f"{self._redact(str(exc.__cause__ or exc), 200)}. Is it running, and does the base URL "
                        "look like http://host:8000/v1?"
                    ) from exc
                issues.append(f"connection to {self.server} failed (retried {self.max_retries} times)")
                return self._unscored(job, issues, usage, t0)
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise SamplerError(
                    f"the server at {self.server} refused the API key for model {self.model!r} "
                    f"(HTTP {exc.status_code}: {self._status_detail(exc)}); pass api_key= or set "
                    f"${self.api_key_env}"
                ) from None
            except openai.NotFoundError as exc:
                raise await self._fatal_not_found(client, exc) from None
            except openai.APIStatusError as exc:
                call.reached = True
                if exc.status_code == 413 and rounds_413 < _MAX_413_ROUNDS:
                    rounds_413 += 1
                    new_limit = int(part.body_bytes * 0.7)
                    if new_limit < _MIN_REQUEST_BYTES:
                        issues.append(f"server rejects even {part.body_bytes}-byte requests (HTTP 413)")
                        return self._unscored(job, issues, usage, t0)
                    with self._lock:
                        self._limit = min(self._limit, new_limit)
                    issues.append(
                        f"server rejected a {part.body_bytes}-byte request as too large (HTTP 413); "
                        f"sending at most {new_limit} bytes from now on"
                    )
                    try:
                        sub, notes = await asyncio.to_thread(self._refit, part, question, new_limit)
                    except _TooLarge as exc2:
                        issues.append(f"request-size guard: {exc2}")
                        return self._unscored(job, issues, usage, t0)
                    issues += notes
                    queue.extendleft(reversed(sub))
                    continue
                issues.append(f"server answered HTTP {exc.status_code}: {self._status_detail(exc)}")
                return self._unscored(job, issues, usage, t0)
            except openai.OpenAIError as exc:
                issues.append(f"request failed: {self._redact(str(exc), 200)}")
                return self._unscored(job, issues, usage, t0)
            call.reached = True
            usage["requests"] += 1
            usage["retries"] += reply.retries
            usage["request_bytes"] += part.body_bytes
            for k, v in reply.usage.items():
                usage[k] = usage.get(k, 0) + v
            if reply.problem is not None:
                issues.append(reply.problem)
                return self._unscored(job, issues, usage, t0)
            replies.append((part, reply))
        usage["image_side"] = min(p.side for p, _ in replies)
        usage["jpeg_quality"] = min(p.quality for p, _ in replies)
        return self._combine(job, replies, issues, usage, t0)

    def _refit(self, part: _Part, question: str, limit: int) -> tuple[list[_Part], list[str]]:
        """Fit a part the server refused again, under a lower limit, from the JPEGs already in its body (the
        frames themselves were released after the window was prepared)."""
        content = json.loads(part.body)["messages"][0]["content"]
        images = []
        for item in content:
            if item.get("type") == "image_url":
                data = base64.b64decode(item["image_url"]["url"][len(_JPEG_PREFIX) :])
                with Image.open(io.BytesIO(data)) as im:
                    images.append(im.convert("RGB"))
        parts, notes = self._fit(images, 0, len(images), question, limit)
        for p in parts:
            p.offset += part.offset
        return parts, notes

    def _unscored(self, job: _Prepared, issues: list[str], usage: dict[str, Any], t0: float) -> WindowScores:
        usage["latency_s"] = round(time.perf_counter() - t0, 4)
        log.info("window %d unscored: %s", job.index, "; ".join(issues))
        return WindowScores(job.index, None, raw_output=None, repaired=False, issues=issues, usage=usage)

    def _combine(
        self,
        job: _Prepared,
        replies: list[tuple[_Part, _Reply]],
        issues: list[str],
        usage: dict[str, Any],
        t0: float,
    ) -> WindowScores:
        replies.sort(key=lambda pr: pr[0].offset)
        scores: list[float] | None = []
        repaired = False
        raws: list[str] = []
        several = len(replies) > 1
        for part, reply in replies:
            assert reply.text is not None
            n = part.n
            label = f"frames {part.offset}-{part.offset + n - 1}: " if several else ""
            raws.append(reply.text)
            if reply.finish_reason == "length":
                issues.append(f"{label}the answer was cut at the token limit ({self._max_tokens_for(n)})")
            parsed = parse_gens_output(reply.text, n)
            repaired = repaired or parsed.repaired
            issues += [label + issue for issue in parsed.issues]
            if parsed.scores is None or scores is None:
                scores = None
            else:
                scores += parsed.scores
        usage["latency_s"] = round(time.perf_counter() - t0, 4)
        raw_output = raws[0] if not several else "\n".join(raws)
        return WindowScores(job.index, scores, raw_output=raw_output, repaired=repaired, issues=issues, usage=usage)

    # ------------------------------------------------------------------ sync API

    def _get_runner(self) -> _LoopThread:
        with self._lock:
            if self._runner is None:
                self._runner = _LoopThread(self._new_client())
                self._finalizer = weakref.finalize(self, self._runner.stop)
            return self._runner

    def _may_pull(self, prepared: Iterable[Any], results: Iterable[Any]) -> bool:
        """Whether another window may be taken from the source: few enough windows hold frames (being
        encoded) and few enough are waiting for, or in, a request."""
        encoding = sum(not f.done() for f in prepared)
        unfinished = sum(not f.done() for f in results)
        return encoding < PREPARE_AHEAD and unfinished < 2 * self.concurrency

    def score_window(self, window: Window, question: str) -> WindowScores:
        """Score one window (blocking)."""
        question = validate_question(question)
        runner = self._get_runner()
        coro = self._run_window(runner.client, window, question, _Call(), asyncio.Semaphore(1), lambda: None)
        return runner.submit(coro).result()

    def score_windows(
        self,
        windows: Iterable[Window],
        question: str,
        *,
        total: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Iterator[WindowScores]:
        """Score windows concurrently, yielding results in window order.

        At most ``concurrency`` requests are in flight. ``windows`` is consumed lazily in the calling thread:
        a window is taken when fewer than :data:`PREPARE_AHEAD` windows are being encoded, and its frames are
        released as soon as it is encoded, so decoding, encoding and requests overlap while the frames of only
        a few windows are held at once. Up to ``concurrency`` encoded windows wait for a free request slot.
        """
        question = validate_question(question)
        runner = self._get_runner()
        call = _Call()
        send_slots = asyncio.Semaphore(self.concurrency)
        source = iter(windows)
        flags: deque[cf.Future[None]] = deque()
        results: deque[cf.Future[WindowScores]] = deque()
        prev_turn: asyncio.Event | None = None
        exhausted = False
        done = 0
        try:
            while True:
                while not exhausted and self._may_pull(flags, results):
                    window = next(source, None)
                    if window is None:
                        exhausted = True
                        break
                    flag: cf.Future[None] = cf.Future()
                    turn = asyncio.Event()
                    coro = self._run_window(
                        runner.client, window, question, call, send_slots, _setter(flag), prev_turn, turn
                    )
                    prev_turn = turn
                    results.append(runner.submit(coro))
                    flags.append(flag)
                    window = None  # the frames are the task's now, released once encoded
                if not results:
                    return
                head = results[0]
                if not head.done():
                    waiting: list[cf.Future[Any]] = [f for f in flags if not f.done()]
                    waiting += [f for f in results if not f.done()]
                    cf.wait(waiting, return_when=cf.FIRST_COMPLETED)
                    _raise_first_fatal(results)
                    continue
                results.popleft()
                flags.popleft()
                result = head.result()
                done += 1
                emit(progress, "score", done, total)
                yield result
        finally:
            for future in results:
                future.cancel()

    def close(self) -> None:
        """Stop the background event loop and close the HTTP client. Safe to call twice; the sampler can be
        used again afterwards (a new loop starts on demand)."""
        with self._lock:
            runner, self._runner = self._runner, None
            finalizer, self._finalizer = self._finalizer, None
        if finalizer is not None:
            finalizer.detach()
        if runner is not None:
            runner.stop()

    # ------------------------------------------------------------------ async API

    async def ascore_window(self, window: Window, question: str) -> WindowScores:
        """Score one window from async code."""
        question = validate_question(question)
        async with self._new_client() as client:
            return await self._run_window(client, window, question, _Call(), asyncio.Semaphore(1), lambda: None)

    async def ascore_windows(
        self,
        windows: Iterable[Window] | AsyncIterable[Window],
        question: str,
        *,
        total: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> AsyncIterator[WindowScores]:
        """Async form of :meth:`score_windows`: the same bounds, lazy consumption and window order.
        ``windows`` may be an async iterable (use one when producing a window blocks, e.g. decoding)."""
        question = validate_question(question)
        call = _Call()
        send_slots = asyncio.Semaphore(self.concurrency)
        source = _aiter_windows(windows)
        loop = asyncio.get_running_loop()
        flags: deque[asyncio.Future[None]] = deque()
        results: deque[asyncio.Task[WindowScores]] = deque()
        prev_turn: asyncio.Event | None = None
        exhausted = False
        done = 0
        async with self._new_client() as client:
            try:
                while True:
                    while not exhausted and self._may_pull(flags, results):
                        try:
                            window: Window | None = await anext(source)
                        except StopAsyncIteration:
                            exhausted = True
                            break
                        assert window is not None
                        flag: asyncio.Future[None] = loop.create_future()
                        turn = asyncio.Event()
                        coro = self._run_window(
                            client, window, question, call, send_slots, _setter(flag), prev_turn, turn
                        )
                        prev_turn = turn
                        results.append(asyncio.ensure_future(coro))
                        flags.append(flag)
                        window = None
                    if not results:
                        return
                    head = results[0]
                    if not head.done():
                        pending: list[asyncio.Future[Any]] = [f for f in flags if not f.done()]
                        pending += [t for t in results if not t.done()]
                        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                        _raise_first_fatal(results)
                        continue
                    results.popleft()
                    flags.popleft()
                    result = head.result()
                    done += 1
                    emit(progress, "score", done, total)
                    yield result
            finally:
                for task in results:
                    task.cancel()
                if results:
                    await asyncio.gather(*results, return_exceptions=True)


def _setter(flag: cf.Future[None] | asyncio.Future[None]) -> Callable[[], object]:
    """A callback that marks ``flag`` done (once)."""

    def mark() -> None:
        if not flag.done():
            flag.set_result(None)

    return mark


def _raise_first_fatal(pending: Iterable[cf.Future[WindowScores] | asyncio.Future[WindowScores]]) -> None:
    """Raise at once when a finished request failed in a way the user must fix (out of window order)."""
    for future in pending:
        if future.done() and not future.cancelled():
            exc = future.exception()
            if exc is not None:
                raise exc


class _SyncWindows:
    """A sync iterable of windows as an async iterator that keeps no reference to the last window given."""

    def __init__(self, windows: Iterable[Window]) -> None:
        self._it = iter(windows)

    def __aiter__(self) -> _SyncWindows:
        return self

    async def __anext__(self) -> Window:
        try:
            return next(self._it)
        except StopIteration:
            raise StopAsyncIteration from None


def _aiter_windows(windows: Iterable[Window] | AsyncIterable[Window]) -> AsyncIterator[Window]:
    if isinstance(windows, AsyncIterable):
        return aiter(windows)
    return _SyncWindows(windows)


def _usage_of(usage: object) -> dict[str, int]:
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


def _message_text(message: object) -> str | None:
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


def _response_class() -> type:
    """The HTTP response class of the SDK's transport (httpx2 for openai ≥ 3, httpx before): passing it as
    ``cast_to`` makes ``client.post`` return the raw response, after the SDK's retries and status checks."""
    for name in ("httpx2", "httpx"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        cls: type = module.Response
        return cls
    raise BackendUnavailableError("the openai SDK's HTTP library (httpx2 or httpx) is not installed")
