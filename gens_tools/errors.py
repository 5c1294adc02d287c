"""Typed errors raised by gens-tools.

Every error the library raises on bad input derives from :class:`GensToolsError`, so callers (and the CLI,
which prints one line per error) can catch them all at once. Each message is written for a person or an
LLM agent to read: it names what was wrong and, where possible, what to do instead.
"""

from __future__ import annotations


class GensToolsError(Exception):
    """Base class of every error gens-tools raises on purpose."""


class InvalidArgumentError(GensToolsError, ValueError):
    """An argument is out of range or malformed (empty question, ``k <= 0``, bad fps…)."""


class VideoError(GensToolsError):
    """Base class of errors about a video source."""


class VideoNotFoundError(VideoError, FileNotFoundError):
    """The file or folder does not exist."""


class NotAVideoError(VideoError):
    """The input exists but is not a readable video (garbage, an image, a text file…)."""


class EmptyVideoError(VideoError):
    """The container holds no video frames (zero length, audio only)."""


class UnsupportedCodecError(VideoError):
    """The video stream's codec cannot be decoded by the selected backend."""


class TimeRangeError(InvalidArgumentError):
    """The requested ``start``/``end`` lie outside the video or are reversed."""


class AccessDeniedError(GensToolsError, PermissionError):
    """A path or URL lies outside what the user allowed this tool to open."""


class BackendUnavailableError(GensToolsError, ImportError):
    """An optional dependency (decord, torch, openai…) is not installed."""


class ModelUnavailableError(GensToolsError):
    """Model weights are missing locally and cannot be downloaded (offline, or not found)."""


class SamplerError(GensToolsError):
    """A frame sampler failed in a way that is not a property of the input."""


class FrameCacheError(GensToolsError):
    """The frame cache cannot be used (its folder is not writable, the disk is full…)."""


class CacheMissError(FrameCacheError, LookupError):
    """The requested frames are not (or no longer) in the cache; decode them again."""


# --- assistants (GPT-4o, Gemini) ---------------------------------------------------------------------------


class AssistantError(GensToolsError):
    """A request to an assistant's provider failed (after the SDK's own retries, where they apply)."""


class MissingAPIKeyError(AssistantError):
    """No API key was given and none is set in the environment."""


class AuthenticationFailedError(AssistantError):
    """The provider rejected the API key or the account's access to the model."""


class ContextTooLongError(AssistantError):
    """The request did not fit the model's context (or request size), even after shrinking once.

    ``limit`` and ``requested`` are the provider's figures when its message gave them.
    """

    def __init__(self, message: str, *, limit: int | None = None, requested: int | None = None) -> None:
        super().__init__(message)
        self.limit = limit
        self.requested = requested


class AnswerRefusedError(AssistantError):
    """The provider refused to answer (content policy, safety filters); ``reason`` says which."""

    def __init__(self, message: str, *, reason: str | None = None, refusal: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.refusal = refusal


class EmptyAnswerError(AssistantError):
    """The provider answered with no text (``reason``: the finish reason, e.g. the output token limit)."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class ProviderUnavailableError(AssistantError):
    """Rate limits, server errors, timeouts or connection failures that outlasted the retries."""


class RequestRejectedError(AssistantError):
    """The provider rejected the request as invalid (a 4xx other than the cases above)."""


# --- warnings -----------------------------------------------------------------------------------------------


class FallbackWarning(UserWarning):
    """Something ran in place of what was asked for, e.g. uniform sampling because GenS is not available
    here. The same sentence is in the selection's ``notices``."""
