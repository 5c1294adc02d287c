"""Pieces shared by the tool and the retriever: sampler resolution and agent-readable error text."""

from __future__ import annotations

from typing import Any

from gens_tools.errors import (
    AccessDeniedError,
    InvalidArgumentError,
    TimeRangeError,
    VideoError,
    VideoNotFoundError,
)
from gens_tools.sampling.base import FrameSampler

#: Errors caused by the arguments a model chose: they go back to the model as a tool message. Anything else
#: (a missing backend, a failed model server) is a deployment problem and propagates.
AGENT_ERRORS: tuple[type[Exception], ...] = (AccessDeniedError, InvalidArgumentError, VideoError)


def resolve_sampler(value: Any) -> FrameSampler:
    """A :class:`FrameSampler` from an instance or a registered name (``"uniform"``, ``"gens-3b"``…)."""
    if isinstance(value, FrameSampler):
        return value
    if isinstance(value, str):
        from gens_tools.sampling.registry import make_sampler

        return make_sampler(value)
    raise TypeError(f"sampler must be a gens_tools FrameSampler or a sampler name, got {value!r}")


def error_text(exc: Exception) -> str:
    """One line telling the model what went wrong and that it can try again differently."""
    if isinstance(exc, AccessDeniedError):
        kind = "Access denied"
    elif isinstance(exc, VideoNotFoundError):
        kind = "Video not found"
    elif isinstance(exc, TimeRangeError):
        kind = "Bad time range"
    elif isinstance(exc, VideoError):
        kind = "Cannot read the video"
    else:
        kind = "Invalid arguments"
    return f"{kind}: {exc}"
