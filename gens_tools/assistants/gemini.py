"""Gemini answering from the chosen frames, on the ``google-genai`` SDK (``from google import genai``).

The older ``google-generativeai`` package reached end of life on 2025-11-30 and is not used. Images go
inline (``Part.from_bytes``), which the API accepts up to 20 MB per request; the planner keeps requests
under that. Retries of 408, 429 and 5xx, timeouts and connection errors use the SDK's own retry options
(``HttpRetryOptions``: exponential backoff with jitter); the SDK does not retry unless they are set.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from gens_tools._chat import Reply, TokenUsage, one_line, redact
from gens_tools._checks import non_negative_number
from gens_tools._http import async_deadline_client, deadline_client, http_module, transport_failure
from gens_tools.assistants._base import Assistant, ProviderOption
from gens_tools.assistants._client_options import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, check_client_options
from gens_tools.assistants._gemini_models import GEMINI_LEVELS, GEMINI_MODELS, GeminiLevelRule, GeminiTileRule
from gens_tools.assistants._keys import read_api_key
from gens_tools.assistants._layout import ImagePart, TextPart, message_parts
from gens_tools.assistants._plan import FramePlan
from gens_tools.assistants._provider_errors import after_retries, looks_too_long, too_long_error
from gens_tools.assistants._registry import register_assistant
from gens_tools.assistants._structured import ResponseSchema
from gens_tools.errors import (
    AnswerRefusedError,
    AssistantError,
    AuthenticationFailedError,
    BackendUnavailableError,
    ProviderUnavailableError,
    RequestRejectedError,
)

DEFAULT_GEMINI_MODEL = "gemini-flash-latest"
"""The API's alias for its current Flash model (the answer reports the resolved version)."""
GEMINI_KEY_ENVS = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
"""Read in this order, as the SDK does (``GOOGLE_API_KEY`` wins when both are set)."""

RETRY_STATUS_CODES = (408, 429, 500, 502, 503, 504)
_LEVELS = {
    "low": "MEDIA_RESOLUTION_LOW",
    "medium": "MEDIA_RESOLUTION_MEDIUM",
    "high": "MEDIA_RESOLUTION_HIGH",
    "ultra_high": "MEDIA_RESOLUTION_ULTRA_HIGH",
}
_REFUSAL_FINISH = {
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
}


def _import_genai() -> tuple[Any, Any, Any]:
    try:
        from google import genai
        from google.genai import errors, types
    except ImportError as exc:
        raise BackendUnavailableError(
            "the Gemini assistant needs the google-genai package: pip install 'gens-tools[gemini]'"
        ) from exc
    return genai, types, errors


def _transport_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(timeout errors, other transport errors) of the HTTP stacks the SDK may use."""
    timeouts: list[type[BaseException]] = [TimeoutError, asyncio.TimeoutError]
    transport: list[type[BaseException]] = [ConnectionError]
    for name in ("httpx", "httpx2"):
        try:
            mod = __import__(name)
        except ImportError:
            continue
        timeouts.append(mod.TimeoutException)
        transport.append(mod.TransportError)
    try:
        import aiohttp
    except ImportError:
        pass
    else:
        timeouts.append(aiohttp.ServerTimeoutError)
        transport.append(aiohttp.ClientError)
    return tuple(timeouts), tuple(transport)


def _name(value: Any) -> str | None:
    """An SDK enum (or plain string) as its name."""
    if value is None:
        return None
    return str(getattr(value, "name", None) or getattr(value, "value", None) or value)


@register_assistant
class GeminiAssistant(Assistant):
    """An assistant on the Gemini API.

    Args:
        model: model name (default :data:`DEFAULT_GEMINI_MODEL`).
        api_key: the key; default read from ``GOOGLE_API_KEY`` or ``GEMINI_API_KEY`` at construction.
        api_key_env: read the key from this variable instead.
        base_url: another endpoint (a proxy, or a test server).
        timeout: seconds per request attempt.
        max_retries: retries of 408/429/5xx, timeouts and connection errors.
        retry_initial_delay, retry_max_delay: the backoff (seconds; exponential with jitter).
        temperature: sampling temperature (not sent when ``None``).
        media_resolution: force the images' level on Gemini 3-class models (``low``/``medium``/``high``/
            ``ultra_high``; default: the planner starts at ``low`` and sends the level it picks).
        **options: the shared :class:`~gens_tools.assistants.Assistant` options (``max_side``,
            ``max_frames``, ``budget``, ``max_output_tokens``…).
    """

    provider: ClassVar[str] = "gemini"
    default_model: ClassVar[str] = DEFAULT_GEMINI_MODEL
    model_prefixes: ClassVar[tuple[str, ...]] = ("gemini", "models/gemini")
    model_table: ClassVar[Mapping[str, Mapping[str, Any]]] = GEMINI_MODELS
    image_rules = (GeminiTileRule(), GeminiLevelRule())
    provider_options = (
        ProviderOption("media_resolution", "Gemini 3 image resolution level (default: planner)", choices=GEMINI_LEVELS),
    )
    sends_image_settings: ClassVar[tuple[str, ...]] = ("media_resolution",)
    structured_output: ClassVar[bool] = True  # response_json_schema with response_mime_type application/json

    def __init__(
        self,
        model: str = DEFAULT_GEMINI_MODEL,
        *,
        api_key: str | None = None,
        api_key_env: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_initial_delay: float = 1.0,
        retry_max_delay: float = 30.0,
        temperature: float | None = None,
        media_resolution: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(model, media_resolution=media_resolution, **options)
        self.timeout, self.max_retries, self.base_url = check_client_options(timeout, max_retries, base_url)
        self.retry_initial_delay = non_negative_number("retry_initial_delay", retry_initial_delay)
        self.retry_max_delay = non_negative_number("retry_max_delay", retry_max_delay)
        self.key_envs: tuple[str, ...] = (api_key_env,) if api_key_env else GEMINI_KEY_ENVS
        self._api_key = read_api_key(api_key, self.key_envs, "Gemini")
        self.temperature = temperature
        self._genai, self._types, self._errors = _import_genai()
        self._client, self._http = self._make_client()

    def __repr__(self) -> str:
        where = f", base_url={self.base_url!r}" if self.base_url else ""
        return f"GeminiAssistant(model={self.model!r}{where})"

    def _make_client(self, *, asynchronous: bool = False) -> Any:
        """A ``genai.Client`` on an HTTP client of ours (:mod:`gens_tools._http`): each attempt ends within
        ``timeout`` overall (a server dripping its answer is cut off), no redirects, answers over 16 MiB refused.
        The HTTP client is closed with the assistant (``asynchronous``: one for a single async call)."""
        types = self._types
        http = http_module()
        settings: dict[str, Any] = {
            "deadline": self.timeout,
            "module": http,
            "timeout": http.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
        }
        transport: dict[str, Any] = (
            {"httpx_async_client": async_deadline_client(**settings)}
            if asynchronous
            else {"httpx_client": deadline_client(**settings)}
        )
        http_options = types.HttpOptions(
            base_url=self.base_url,
            timeout=max(1, int(self.timeout * 1000)),
            retry_options=types.HttpRetryOptions(
                attempts=self.max_retries + 1,
                initial_delay=self.retry_initial_delay,
                max_delay=self.retry_max_delay,
                http_status_codes=list(RETRY_STATUS_CODES),
            ),
            **transport,
        )
        client = self._genai.Client(api_key=self._api_key, vertexai=False, http_options=http_options)
        return client, next(iter(transport.values()))

    # -- requests --

    def _request_args(
        self, plan: FramePlan, question: str, response_schema: ResponseSchema | None = None
    ) -> dict[str, Any]:
        types = self._types
        parts = []
        for part in message_parts(plan, question):
            if isinstance(part, TextPart):
                parts.append(types.Part.from_text(text=part.text))
            elif isinstance(part, ImagePart):
                extra: dict[str, Any] = {}
                if part.image.media_resolution == "ultra_high":
                    # Only "ultra_high" needs the per-part setting; the other levels go in the config.
                    extra["media_resolution"] = _LEVELS["ultra_high"]
                parts.append(types.Part.from_bytes(data=part.image.jpeg, mime_type=part.image.mime_type, **extra))
        config: dict[str, Any] = {"system_instruction": self.system_instruction}
        if plan.media_resolution in ("low", "medium", "high"):
            # One level for the whole request (the planner gives every image the same), set where every
            # API version accepts it.
            config["media_resolution"] = _LEVELS[plan.media_resolution]
        if self.max_output_tokens:
            config["max_output_tokens"] = self.max_output_tokens
        if self.temperature is not None:
            config["temperature"] = self.temperature
        if response_schema is not None:
            # The JSON-schema form (anyOf, null, additionalProperties), not the older OpenAPI-subset response_schema.
            config["response_mime_type"] = "application/json"
            config["response_json_schema"] = response_schema.as_dict()
        return {
            "model": self.model,
            "contents": [types.Content(role="user", parts=parts)],
            "config": types.GenerateContentConfig(**config),
        }

    def _request(self, plan: FramePlan, question: str, *, response_schema: ResponseSchema | None = None) -> Reply:
        args = self._request_args(plan, question, response_schema)
        failure: tuple[AssistantError, Exception | None] | None = None
        try:
            response = self._client.models.generate_content(**args)
        except Exception as exc:
            failure = self._failure(exc)
        if failure is not None:
            # Raised outside the except block so that a suppressed SDK error is not kept as the context.
            raise failure[0] from failure[1]
        return self._parse(response)

    async def _arequest(
        self, plan: FramePlan, question: str, *, response_schema: ResponseSchema | None = None
    ) -> Reply:
        args = self._request_args(plan, question, response_schema)
        # A client per call: the async HTTP session belongs to one event loop, and callers may use several.
        client, http = self._make_client(asynchronous=True)
        failure: tuple[AssistantError, Exception | None] | None = None
        try:
            response = await client.aio.models.generate_content(**args)
        except Exception as exc:
            failure = self._failure(exc)
        finally:
            await client.aio.aclose()
            client.close()
            await http.aclose()
        if failure is not None:
            raise failure[0] from failure[1]
        return self._parse(response)

    def _failure(self, exc: Exception) -> tuple[AssistantError, Exception | None]:
        """The error to raise for an SDK failure, and its cause (dropped for key errors)."""
        mapped = self._map_error(exc)
        return mapped, (None if isinstance(mapped, AuthenticationFailedError) else exc)

    def close(self) -> None:
        """Close the HTTP client."""
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
        http = getattr(self, "_http", None)
        if http is not None:
            http.close()

    # -- responses --

    def _parse(self, response: Any) -> Reply:
        meta = getattr(response, "usage_metadata", None)
        usage = TokenUsage(
            input_tokens=getattr(meta, "prompt_token_count", None),
            output_tokens=getattr(meta, "candidates_token_count", None),
            total_tokens=getattr(meta, "total_token_count", None),
            cached_tokens=getattr(meta, "cached_content_token_count", None),
            reasoning_tokens=getattr(meta, "thoughts_token_count", None),
        )
        base: dict[str, Any] = {
            "usage": usage,
            "response_id": getattr(response, "response_id", None),
            "model": getattr(response, "model_version", None),
        }
        feedback = getattr(response, "prompt_feedback", None)
        block = _name(getattr(feedback, "block_reason", None))
        if block and block != "BLOCKED_REASON_UNSPECIFIED":
            message = getattr(feedback, "block_reason_message", None)
            return Reply(text="", finish_reason=block, refusal=message, refusal_reason=block, **base)
        candidates = getattr(response, "candidates", None) or []
        if not candidates:
            return Reply(
                text="", finish_reason="no_candidates", problem="the server answered without any candidate", **base
            )
        candidate = candidates[0]
        finish = _name(getattr(candidate, "finish_reason", None))
        content = getattr(candidate, "content", None)
        texts = [
            p.text
            for p in (getattr(content, "parts", None) or [])
            if getattr(p, "text", None) and not getattr(p, "thought", False)
        ]
        if finish in _REFUSAL_FINISH:
            message = getattr(candidate, "finish_message", None)
            return Reply(text="".join(texts), finish_reason=finish, refusal=message, refusal_reason=finish, **base)
        return Reply(text="".join(texts), finish_reason=finish, **base)

    # -- errors --

    def _who(self) -> str:
        if self.base_url:
            return f"{self.model} at {urlsplit(self.base_url).netloc}"
        return f"Gemini {self.model}"

    def _map_error(self, exc: Exception) -> AssistantError:
        who = self._who()
        retried = after_retries(self.max_retries)
        if isinstance(exc, self._errors.APIError):
            status = int(exc.code or 0)
            state = exc.status or ""
            message = one_line(redact(str(exc.message or ""), self._api_key))
            tag = f"HTTP {status}" + (f", {state}" if state else "")
            if 300 <= status < 400:
                location = getattr(getattr(exc, "response", None), "headers", {}).get("location") or "?"
                location = one_line(redact(str(location), self._api_key), 200)
                return RequestRejectedError(
                    f"{who}: the server answered with a redirect (HTTP {status} to {location}), which is not "
                    "followed (it would send the key and the frames elsewhere): set base_url to the address the "
                    "API is served at"
                )
            if status in (401, 403) or "api key" in message.lower() or "API_KEY" in str(exc.details):
                keys = " or ".join(self.key_envs)
                return AuthenticationFailedError(f"{who}: the API key was rejected ({tag}); check {keys}")
            if status == 413 or looks_too_long(message):
                return too_long_error("Gemini", self.model, message)
            if status == 429:
                return ProviderUnavailableError(f"{who}: rate limited ({tag}) {retried}: {message}")
            if status >= 500 or status == 408:
                return ProviderUnavailableError(f"{who}: server error ({tag}) {retried}: {message}")
            if "safety" in message.lower() or "prohibited" in message.lower():
                return AnswerRefusedError(f"{who} refused the request ({tag}): {message}", reason=state or "safety")
            return RequestRejectedError(f"{who}: the request was rejected ({tag}): {message}")
        timeouts, transport = _transport_errors()
        if isinstance(exc, timeouts):
            return ProviderUnavailableError(f"{who}: the request timed out ({self.timeout:g}s) {retried}")
        if isinstance(exc, transport):
            where = urlsplit(self.base_url).netloc if self.base_url else "the Gemini API"
            unconnected, what = transport_failure(exc)
            if unconnected:
                return ProviderUnavailableError(f"{who}: could not connect to {where} {retried}")
            # The SDK retries timeouts and failed connections, not a connection broken mid-answer.
            return ProviderUnavailableError(f"{who}: {what}")
        if isinstance(exc, ValueError):  # a 200 whose body is not JSON (the SDK's json.loads)
            return ProviderUnavailableError(
                f"{who}: the server answered with a body that is not valid JSON ({one_line(str(exc), 120)})"
            )
        return AssistantError(f"{who}: {type(exc).__name__}: {one_line(redact(str(exc), self._api_key))}")
