"""Checking the arguments a model (or a user) passes to a frame tool, and wording tool errors.

A tool called by an LLM receives untrusted, loosely typed arguments: a path it should not open, ``k`` as
``"8"`` or ``8.0``, times as ``"1:30"``. :func:`validate_frame_request` turns them into a checked
:class:`FrameRequest` or raises a typed gens-tools error whose message the model can act on; the
:class:`~gens_tools.AccessPolicy` decides which videos may be opened and caps ``k`` and the range length.

This logic is framework-neutral (no LlamaIndex imports) so it can move into the gens-tools core and be shared
with the LangChain integration.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from gens_tools.access import AccessPolicy
from gens_tools.errors import (
    AccessDeniedError,
    EmptyVideoError,
    GensToolsError,
    InvalidArgumentError,
    NotAVideoError,
    TimeRangeError,
    UnsupportedCodecError,
    VideoError,
    VideoNotFoundError,
)
from gens_tools.sampling.prompt import validate_question
from gens_tools.timeparse import parse_time

__all__ = [
    "FrameRequest",
    "check_k",
    "check_range",
    "coerce_k",
    "parse_optional_time",
    "tool_error_text",
    "validate_frame_request",
]


@dataclass(frozen=True, slots=True)
class FrameRequest:
    """A checked request for frames: what a tool passes on to :func:`gens_tools.sample_frames`.

    ``video`` is normalised (a resolved path or the URL) when a policy checked it.
    """

    video: str
    question: str
    k: int
    start: float | None = None
    end: float | None = None


def coerce_k(k: object) -> int | None:
    """``k`` as an int: accepts ints, integral floats (``8.0``) and digit strings (``"8"``), as models send
    them; ``None`` stays ``None``. Anything else raises :class:`InvalidArgumentError`."""
    if k is None:
        return None
    if isinstance(k, bool):
        raise InvalidArgumentError(f"k must be a positive whole number of frames, got {k!r}")
    if isinstance(k, int):
        value = k
    elif isinstance(k, float) and math.isfinite(k) and k.is_integer():
        value = int(k)
    elif isinstance(k, str) and k.strip().isdigit():
        value = int(k.strip())
    else:
        raise InvalidArgumentError(f"k must be a positive whole number of frames, got {k!r}")
    if value <= 0:
        raise InvalidArgumentError(f"k must be a positive whole number of frames, got {k!r}")
    return value


def parse_optional_time(value: object, name: str) -> float | None:
    """Seconds from ``None``, a number or a ``[hh:]mm:ss[.s]`` string; the error names the argument."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TimeRangeError(f"{name} must be seconds (90.5) or [hh:]mm:ss (1:30), got {value!r}")
    try:
        return parse_time(value)
    except InvalidArgumentError as exc:
        raise TimeRangeError(f"{name}: {exc}") from None


def check_k(k: object, *, default_k: int = 8, policy: AccessPolicy | None = None) -> int:
    """``k`` (or ``default_k`` when ``None``) as a positive int, within the policy's ``max_k``."""
    value = coerce_k(k)
    if value is None:
        value = coerce_k(default_k)
        assert value is not None
    if policy is not None:
        checked = policy.check_k(value)
        assert checked is not None
        value = checked
    return value


def check_range(start: object, end: object, *, policy: AccessPolicy | None = None) -> tuple[float | None, float | None]:
    """Parse ``start``/``end`` and check that the range is ordered and not longer than the policy allows.

    Whether the range lies inside the video is checked once the video is open.
    """
    s = parse_optional_time(start, "start")
    e = parse_optional_time(end, "end")
    if s is not None and e is not None and e <= s:
        raise TimeRangeError(f"end ({e:g}s) must be after start ({s:g}s)")
    limit = policy.max_duration if policy is not None else None
    if limit is not None and s is not None and e is not None and e - s > limit + 1e-6:
        raise TimeRangeError(
            f"the range {s:g}s-{e:g}s is {e - s:.0f}s long; this tool looks at most {limit:.0f}s per call: "
            "narrow start/end"
        )
    return s, e


def validate_frame_request(
    video: object,
    question: object,
    *,
    k: object = None,
    start: object = None,
    end: object = None,
    default_k: int = 8,
    policy: AccessPolicy | None = None,
) -> FrameRequest:
    """Check a frame request before anything is opened.

    Args:
        video: a path or URL (from the model, or bound by the developer).
        question: what the frames should show.
        k: frames wanted; ``None`` uses ``default_k``.
        start, end: optional range, seconds or ``[hh:]mm:ss`` strings.
        default_k: frames when ``k`` is not given (also checked against the policy's ``max_k``).
        policy: when given, the video must be allowed by it and ``k``/the range are capped by it. Without a
            policy the video is taken as is (a developer's own call, not a model's).

    Raises:
        AccessDeniedError: the video is outside what the policy allows.
        InvalidArgumentError: empty question, bad ``k``; :class:`TimeRangeError` for a bad range.
    """
    if video is None or (isinstance(video, str) and not video.strip()):
        raise InvalidArgumentError("video is required: pass the path or URL of the video to look at")
    if isinstance(video, os.PathLike):
        video = os.fspath(video)
    if not isinstance(video, str):
        raise InvalidArgumentError(f"video must be a path or URL string, got {type(video).__name__}")
    source = policy.check(video) if policy is not None else video.strip()
    text = validate_question(question)
    k_value = check_k(k, default_k=default_k, policy=policy)
    s, e = check_range(start, end, policy=policy)
    return FrameRequest(video=source, question=text, k=k_value, start=s, end=e)


_KINDS: tuple[tuple[type[GensToolsError], str], ...] = (
    (AccessDeniedError, "Access denied"),
    (TimeRangeError, "Invalid time range"),
    (InvalidArgumentError, "Invalid argument"),
    (VideoNotFoundError, "Video not found"),
    (NotAVideoError, "Not a video"),
    (EmptyVideoError, "Empty video"),
    (UnsupportedCodecError, "Unsupported video"),
    (VideoError, "Video error"),
)


def tool_error_text(exc: BaseException) -> str:
    """One readable line for a failed tool call, e.g. ``"Access denied: '/etc/x.mp4' is outside …"``.

    Written for the model: it says what kind of problem it was and repeats the library's message, which names
    what to change. Nothing was opened when access was denied.
    """
    kind = "Error"
    for cls, name in _KINDS:
        if isinstance(exc, cls):
            kind = name
            break
    message = str(exc).strip() or type(exc).__name__
    return f"{kind}: {message}"
