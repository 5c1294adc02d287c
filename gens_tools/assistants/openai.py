"""GPT-4o (and other OpenAI or OpenAI-compatible models) answering from the chosen frames.

Uses the official ``openai`` SDK: Chat Completions by default, the Responses API with ``api="responses"``.
``base_url`` points it at Azure OpenAI's v1 endpoint or any OpenAI-compatible server (vLLM…). Retries of
429, 408/409, 5xx, timeouts and connection errors are the SDK's own (``max_retries``, exponential backoff
that honours ``Retry-After``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from gens_tools._chat import Reply, TokenUsage, one_line, read_chat_completion, redact
from gens_tools._checks import choice
from gens_tools._http import async_deadline_client, deadline_client, http_module, transport_failure
from gens_tools.assistants._base import Assistant, ProviderOption
from gens_tools.assistants._client_options import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, check_client_options
from gens_tools.assistants._keys import env_has, read_api_key
from gens_tools.assistants._layout import ImagePart, TextPart, message_parts
from gens_tools.assistants._openai_models import OPENAI_DETAILS, OPENAI_MODELS, OpenAIPatchRule, OpenAITileRule
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

DEFAULT_OPENAI_MODEL = "gpt-4o"
OPENAI_KEY_ENV = "OPENAI_API_KEY"
_NO_KEY_PLACEHOLDER = "no-key"  # for OpenAI-compatible servers that need none (sent only with base_url)


def _import_openai() -> Any:
    try:
        import openai
    except ImportError as exc:
        raise BackendUnavailableError(
            "the OpenAI assistant needs the openai package: pip install 'gens-tools[openai]'"
        ) from exc
    return openai


@register_assistant
class OpenAIAssistant(Assistant):
    """An assistant on the OpenAI API (or an OpenAI-compatible server).

    Args:
        model: model name (default ``gpt-4o``).
        api: ``"chat"`` (Chat Completions, default) or ``"responses"`` (Responses API).
        api_key: the key; default read from ``api_key_env`` at construction.
        api_key_env: environment variable holding the key (default ``OPENAI_API_KEY``).
        base_url: another endpoint, e.g. ``http://127.0.0.1:8000/v1``. With a ``base_url`` a missing key is
            allowed (local servers often need none).
        organization, project: OpenAI organisation / project ids.
        timeout: seconds per request attempt.
        max_retries: retries of rate limits, server errors and timeouts (the SDK's backoff).
        temperature: sampling temperature (not sent when ``None``).
        extra_body: extra JSON fields for the request (server-specific options).
        detail: force the images' ``detail`` (``low``/``high``/``auto``; default: the planner picks ``high``,
            or ``low`` to fit).
        **options: the shared :class:`~gens_tools.assistants.Assistant` options (``max_side``,
            ``max_frames``, ``budget``, ``max_output_tokens``…).
    """

    provider: ClassVar[str] = "openai"
    default_model: ClassVar[str] = DEFAULT_OPENAI_MODEL
    model_prefixes: ClassVar[tuple[str, ...]] = ("gpt-", "chatgpt-", "o1", "o3", "o4")
    serves_any_model: ClassVar[bool] = True  # OpenAI-compatible servers (vLLM…) take any model name
    model_table: ClassVar[Mapping[str, Mapping[str, Any]]] = OPENAI_MODELS
    image_rules = (OpenAITileRule(), OpenAIPatchRule())
    provider_options = (
        ProviderOption("api", "OpenAI API to use (default: chat completions)", choices=("chat", "responses")),
        ProviderOption("detail", "OpenAI image detail (default: planner)", choices=OPENAI_DETAILS),
    )
    sends_image_settings: ClassVar[tuple[str, ...]] = ("detail",)
    structured_output: ClassVar[bool] = True  # a strict json_schema (Chat Completions and Responses)

    def __init__(
        self,
        model: str = DEFAULT_OPENAI_MODEL,
        *,
        api: Literal["chat", "responses"] = "chat",
        api_key: str | None = None,
        api_key_env: str = OPENAI_KEY_ENV,
        base_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        temperature: float | None = None,
        extra_body: Mapping[str, Any] | None = None,
        detail: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(model, detail=detail, **options)
        self.api = choice("api", api, ("chat", "responses"))
        self.timeout, self.max_retries, self.base_url = check_client_options(timeout, max_retries, base_url)
        self.api_key_env = api_key_env
        self.temperature = temperature
        self.extra_body = dict(extra_body or {})
        if self.base_url is not None and api_key is None and not env_has(api_key_env):
            self._api_key = _NO_KEY_PLACEHOLDER
        else:
            self._api_key = read_api_key(api_key, [api_key_env], "OpenAI")
        self._openai = _import_openai()
        self._client_kwargs: dict[str, Any] = {
            "base_url": self.base_url,
            "organization": organization,
            "project": project,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
        }
        self._client = self._openai.OpenAI(
            api_key=self._api_key, http_client=self._http_client(), **self._client_kwargs
        )

    def __repr__(self) -> str:
        where = f", base_url={self.base_url!r}" if self.base_url else ""
        return f"OpenAIAssistant(model={self.model!r}, api={self.api!r}{where})"

    # -- requests --

    def _http_client(self, *, asynchronous: bool = False) -> Any:
        """The HTTP client under the SDK: each attempt ends within ``timeout`` overall (a server dripping its
        answer is cut off), redirects are not followed, answers over 16 MiB are refused
        (:mod:`gens_tools._http`)."""
        http = http_module()
        settings: dict[str, Any] = {
            "deadline": self.timeout,
            "module": http,
            "timeout": http.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
        }
        return async_deadline_client(**settings) if asynchronous else deadline_client(**settings)

    def _request_kwargs(
        self, plan: FramePlan, question: str, response_schema: ResponseSchema | None = None
    ) -> dict[str, Any]:
        parts = message_parts(plan, question)
        kwargs: dict[str, Any] = {"model": self.model}
        if self.api == "chat":
            content: list[dict[str, Any]] = []
            for part in parts:
                if isinstance(part, TextPart):
                    content.append({"type": "text", "text": part.text})
                elif isinstance(part, ImagePart):
                    image_url: dict[str, Any] = {"url": part.image.to_data_url()}
                    if part.image.detail:
                        image_url["detail"] = part.image.detail
                    content.append({"type": "image_url", "image_url": image_url})
            kwargs["messages"] = [
                {"role": "system", "content": self.system_instruction},
                {"role": "user", "content": content},
            ]
            if self.max_output_tokens:
                kwargs["max_completion_tokens"] = self.max_output_tokens
            if response_schema is not None:
                kwargs["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": response_schema.name, "schema": response_schema.as_dict(), "strict": True},
                }
        else:
            items: list[dict[str, Any]] = []
            for part in parts:
                if isinstance(part, TextPart):
                    items.append({"type": "input_text", "text": part.text})
                elif isinstance(part, ImagePart):
                    items.append(
                        {
                            "type": "input_image",
                            "image_url": part.image.to_data_url(),
                            "detail": part.image.detail or "auto",
                        }
                    )
            kwargs["instructions"] = self.system_instruction
            kwargs["input"] = [{"role": "user", "content": items}]
            kwargs["store"] = False
            if self.max_output_tokens:
                kwargs["max_output_tokens"] = self.max_output_tokens
            if response_schema is not None:
                kwargs["text"] = {
                    "format": {
                        "type": "json_schema",
                        "name": response_schema.name,
                        "schema": response_schema.as_dict(),
                        "strict": True,
                    }
                }
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        if self.extra_body:
            kwargs["extra_body"] = self.extra_body
        return kwargs

    def _request(self, plan: FramePlan, question: str, *, response_schema: ResponseSchema | None = None) -> Reply:
        kwargs = self._request_kwargs(plan, question, response_schema)
        failure: tuple[AssistantError, Exception | None] | None = None
        try:
            if self.api == "chat":
                response = self._client.chat.completions.create(**kwargs)
            else:
                response = self._client.responses.create(**kwargs)
        except self._openai.OpenAIError as exc:
            failure = (self._map_error(exc), _cause(exc))
        except ValueError as exc:  # a 200 whose body is not JSON (the SDK's json.loads)
            failure = (self._not_json(exc), None)
        if failure is not None:
            # Raised outside the except block so that a suppressed SDK error is not kept as the context.
            raise failure[0] from failure[1]
        return self._parse(response)

    async def _arequest(
        self, plan: FramePlan, question: str, *, response_schema: ResponseSchema | None = None
    ) -> Reply:
        kwargs = self._request_kwargs(plan, question, response_schema)
        # A client per call: async HTTP pools belong to one event loop, and callers may use several.
        failure: tuple[AssistantError, Exception | None] | None = None
        async with self._openai.AsyncOpenAI(
            api_key=self._api_key, http_client=self._http_client(asynchronous=True), **self._client_kwargs
        ) as client:
            try:
                if self.api == "chat":
                    response = await client.chat.completions.create(**kwargs)
                else:
                    response = await client.responses.create(**kwargs)
            except self._openai.OpenAIError as exc:
                failure = (self._map_error(exc), _cause(exc))
            except ValueError as exc:  # a 200 whose body is not JSON (the SDK's json.loads)
                failure = (self._not_json(exc), None)
        if failure is not None:
            raise failure[0] from failure[1]
        return self._parse(response)

    def close(self) -> None:
        """Close the HTTP client."""
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()

    # -- responses --

    def _parse(self, response: Any) -> Reply:
        if isinstance(response, str | bytes):
            # The SDK hands back the body as text when the server did not answer with JSON (a proxy's page).
            text = response.decode("utf-8", "replace") if isinstance(response, bytes) else response
            raise ProviderUnavailableError(
                f"{self._who()}: the server answered with something that is not JSON "
                f"(content type is not application/json): {one_line(redact(text, self._api_key), 120)!r}"
            )
        if self.api == "chat":
            return read_chat_completion(response)
        return self._parse_responses(response)

    def _not_json(self, exc: ValueError) -> AssistantError:
        return ProviderUnavailableError(
            f"{self._who()}: the server answered with a body that is not valid JSON ({one_line(str(exc), 120)})"
        )

    def _parse_responses(self, response: Any) -> Reply:
        texts: list[str] = []
        refusal: str | None = None
        for item in getattr(response, "output", None) or []:
            if getattr(item, "type", None) != "message":
                continue
            for content in getattr(item, "content", None) or []:
                kind = getattr(content, "type", None)
                if kind == "output_text":
                    texts.append(content.text or "")
                elif kind == "refusal":
                    refusal = (refusal or "") + (content.refusal or "")
        status = getattr(response, "status", None)
        incomplete = getattr(getattr(response, "incomplete_details", None), "reason", None)
        error = getattr(response, "error", None)
        if status == "failed" and error is not None:
            message = one_line(redact(getattr(error, "message", "") or "", self._api_key))
            code = getattr(error, "code", None)
            if code == "server_error" or code == "rate_limit_exceeded":
                raise ProviderUnavailableError(f"{self._who()}: the response failed ({code}): {message}")
            raise RequestRejectedError(f"{self._who()}: the response failed ({code}): {message}")
        refusal_reason = None
        if refusal is not None:
            refusal_reason = "refusal"
        elif incomplete == "content_filter":
            refusal_reason = "content_filter"
        usage = getattr(response, "usage", None)
        return Reply(
            text="".join(texts),
            finish_reason=incomplete or status,
            usage=TokenUsage(
                input_tokens=getattr(usage, "input_tokens", None),
                output_tokens=getattr(usage, "output_tokens", None),
                total_tokens=getattr(usage, "total_tokens", None),
                cached_tokens=getattr(getattr(usage, "input_tokens_details", None), "cached_tokens", None),
                reasoning_tokens=getattr(getattr(usage, "output_tokens_details", None), "reasoning_tokens", None),
            ),
            response_id=getattr(response, "id", None),
            model=getattr(response, "model", None),
            refusal=refusal,
            refusal_reason=refusal_reason,
        )

    # -- errors --

    def _who(self) -> str:
        if self.base_url:
            return f"{self.model} at {urlsplit(self.base_url).netloc}"
        return f"OpenAI {self.model}"

    def _map_error(self, exc: Exception) -> AssistantError:
        openai = self._openai
        who = self._who()
        retried = after_retries(self.max_retries)
        if isinstance(exc, openai.APITimeoutError):
            return ProviderUnavailableError(f"{who}: the request timed out ({self.timeout:g}s) {retried}")
        if isinstance(exc, openai.APIConnectionError):
            where = urlsplit(self.base_url).netloc if self.base_url else "the OpenAI API"
            unconnected, what = transport_failure(exc.__cause__)
            if unconnected:
                return ProviderUnavailableError(f"{who}: could not connect to {where} {retried}")
            return ProviderUnavailableError(f"{who}: {what} {retried}")
        if isinstance(exc, openai.APIStatusError) and 300 <= exc.status_code < 400:
            location = one_line(redact(exc.response.headers.get("location") or "?", self._api_key), 200)
            return RequestRejectedError(
                f"{who}: the server answered with a redirect (HTTP {exc.status_code} to {location}), which is not "
                "followed (it would send the key and the frames elsewhere): set base_url to the address the API "
                "is served at"
            )
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            body = exc.body if isinstance(exc.body, dict) else {}
            code = exc.code or (str(body.get("code")) if body.get("code") else None)
            message = one_line(redact(str(body.get("message") or exc.message), self._api_key))
            tag = f"HTTP {status}" + (f", {code}" if code else "")
            if status == 401:
                return AuthenticationFailedError(f"{who}: the API key was rejected ({tag}); check {self.api_key_env}")
            if status == 403:
                return AuthenticationFailedError(f"{who}: access denied ({tag}): {message}")
            if status == 413 or looks_too_long(message, code):
                where = urlsplit(self.base_url).netloc if self.base_url else "OpenAI"
                return too_long_error(where, self.model, message)
            if code in ("content_policy_violation", "content_filter") or "content policy" in message.lower():
                return AnswerRefusedError(
                    f"{who} refused the request ({tag}): {message}", reason=code or "content_policy"
                )
            if status == 429:
                return ProviderUnavailableError(f"{who}: rate limited ({tag}) {retried}: {message}")
            if status >= 500 or status in (408, 409):
                return ProviderUnavailableError(f"{who}: server error ({tag}) {retried}: {message}")
            return RequestRejectedError(f"{who}: the request was rejected ({tag}): {message}")
        return AssistantError(f"{who}: {type(exc).__name__}: {one_line(redact(str(exc), self._api_key))}")


def _cause(exc: Exception) -> Exception | None:
    """Keep the SDK error as the cause, except for authentication errors (their text may quote the key)."""
    name = type(exc).__name__
    return None if name in ("AuthenticationError", "PermissionDeniedError") else exc
