"""What a failed request means: a reason to leave the window unscored, or a :class:`SamplerError` when the
user must fix something (a server that cannot be reached at all, a rejected API key, an unknown model)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gens_tools._chat import one_line
from gens_tools._chat import redact as mask_secrets
from gens_tools._http import transport_failure
from gens_tools.errors import SamplerError
from gens_tools.samplers.remote._reply import Redact
from gens_tools.samplers.remote._transport import display_url, import_openai

if TYPE_CHECKING:
    from openai import AsyncOpenAI

#: Sent when no API key is configured: local servers (vLLM without ``--api-key``) accept any key.
PLACEHOLDER_API_KEY = "EMPTY"


def redact(text: str, key: str, limit: int) -> str:
    """``text`` on one line, with ``key`` masked (the rule of :func:`gens_tools._chat.redact`) and cut to at
    most ``limit`` characters."""
    return one_line(mask_secrets(text, None if key == PLACEHOLDER_API_KEY else key), limit)


@dataclass(slots=True)
class CallState:
    """What the windows of one scoring call learnt together."""

    #: The server answered at least once (even with an error status): a lost connection is then a failure of
    #: that window, no longer a sign of a wrong URL.
    reached: bool = False


def is_too_large(exc: Exception) -> bool:
    """Whether ``exc`` is the server's (or a proxy's) HTTP 413: the request body was too large."""
    openai = import_openai()
    return isinstance(exc, openai.APIStatusError) and exc.status_code == 413


@dataclass(frozen=True, slots=True)
class FailureReport:
    """Words for failed requests to one server and model; ``redact`` masks the key in server text."""

    server: str
    model: str
    api_key_env: str
    timeout: float
    max_retries: int
    redact: Redact

    async def describe(self, exc: Exception, client: AsyncOpenAI, call: CallState) -> str:
        """Why a request that raised ``exc`` (an ``openai`` error, after the SDK's retries) leaves its window
        unscored; raises :class:`SamplerError` instead when the user must fix something."""
        openai = import_openai()
        if isinstance(exc, openai.APITimeoutError):
            return f"request timed out after {self.timeout:g}s overall (retried {self.max_retries} times)"
        if isinstance(exc, openai.APIConnectionError):
            unconnected, what = transport_failure(exc.__cause__)
            if unconnected and not call.reached:
                cause = self.redact(str(exc.__cause__ or exc), 200) or what
                raise SamplerError(
                    f"cannot reach the GenS server at {self.server} (model {self.model!r}): {cause}. Is it "
                    "running, and does the base URL look like http://host:8000/v1?"
                ) from exc
            call.reached = call.reached or not unconnected
            return f"connection to {self.server} failed: {what} (retried {self.max_retries} times)"
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            raise SamplerError(
                f"the server at {self.server} refused the API key for model {self.model!r} "
                f"(HTTP {exc.status_code}: {self.status_detail(exc)}); pass api_key= or set ${self.api_key_env}"
            ) from None
        if isinstance(exc, openai.NotFoundError):
            served = await _served_models(client, self.timeout)
            hint = f"; it serves: {', '.join(served)}" if served else ""
            raise SamplerError(
                f"the server at {self.server} has no model {self.model!r} or no chat completions endpoint "
                f"(HTTP 404: {self.status_detail(exc)}){hint}. Check the model name and that the base URL ends "
                "with /v1."
            ) from None
        if isinstance(exc, openai.APIStatusError):
            call.reached = True
            if 300 <= exc.status_code < 400:
                location = self.redact(display_url(exc.response.headers.get("location") or "") or "?", 200)
                return (
                    f"server answered with a redirect (HTTP {exc.status_code} to {location}), which is not "
                    f"followed: set base_url to the address the API is served at"
                )
            return f"server answered HTTP {exc.status_code}: {self.status_detail(exc)}"
        return f"request failed: {self.redact(str(exc), 200)}"

    def status_detail(self, exc: Any) -> str:
        """The server's own message in an error response (redacted)."""
        body = getattr(exc, "body", None)
        message: object = None
        if isinstance(body, dict):
            err = body.get("error")
            message = err.get("message") if isinstance(err, dict) else err or body.get("message")
        if not message:
            message = getattr(exc, "message", None) or str(exc)
        return self.redact(str(message), 240)


async def _served_models(client: AsyncOpenAI, timeout: float) -> list[str]:
    """Up to 20 model names the server lists (best effort: only used to improve an error message)."""
    try:
        page = await client.models.list(timeout=min(timeout, 10.0))
        return sorted({str(m.id) for m in page.data})[:20]
    except Exception:
        return []
