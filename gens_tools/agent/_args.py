"""Checking what an LLM passes to a frame tool, and wording the errors it gets back.

A tool called by a model receives untrusted, loosely typed arguments: a path it should not open, ``k`` as
``"8"`` or ``8.0``, times as ``"12:34"``. :func:`validate_frame_request` turns them into a checked
:class:`FrameRequest` before anything is opened, or raises a typed gens-tools error; the
:class:`~gens_tools.agent._access.AccessPolicy` decides which videos may be opened and caps ``k`` and the length of
the range. :func:`tool_error_text` words any error for the model in one line.

Every integration (LangChain, LlamaIndex) runs these same checks (through :mod:`gens_tools.agent._tools`),
so their tools accept and refuse the same arguments with the same messages. The module has no framework
imports: a framework's own schema errors (pydantic's ``ValidationError``) are recognised by shape, not by type.
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gens_tools import _checks as checks
from gens_tools._timeparse import parse_time
from gens_tools.agent._access import AccessPolicy
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
from gens_tools.samplers import FrameSampler
from gens_tools.samplers._prompt import validate_question

__all__ = [
    "AGENT_ERRORS",
    "DEFAULT_K",
    "TIME_FORMAT_HELP",
    "FrameRequest",
    "check_image_options",
    "check_k",
    "check_range",
    "coerce_k",
    "error_kind",
    "parse_optional_time",
    "resolve_sampler",
    "tool_error_text",
    "validate_frame_request",
]

#: Frames a tool returns when neither the model nor the tool's configuration says how many.
DEFAULT_K = 8

#: How tools describe the time formats they accept (for argument descriptions the model reads).
TIME_FORMAT_HELP = "seconds (e.g. 754.5) or [hh:]mm:ss (e.g. '12:34')"

#: Errors caused by what the caller asked for (a path it may not open, bad arguments, an unreadable video).
#: A tool hands them back to the model as readable output, worded by :func:`tool_error_text`, so it can try
#: again differently. Other errors (a missing backend, a model that cannot load, a server that is down) are
#: deployment problems and propagate.
AGENT_ERRORS: tuple[type[Exception], ...] = (AccessDeniedError, InvalidArgumentError, VideoError)


@dataclass(frozen=True, slots=True)
class FrameRequest:
    """A checked request for frames: what a tool passes on to :func:`gens_tools.sample_frames`.

    Attributes:
        video: the source; normalised (a resolved path, or the URL) when a policy checked it.
        question: the question, stripped.
        k: frames wanted (a positive int within the policy's ``max_k``).
        start, end: the range in seconds, or ``None`` for the start/end of the video.
    """

    video: str
    question: str
    k: int
    start: float | None = None
    end: float | None = None


# --- single arguments ---------------------------------------------------------------------------------------


def _bad_k(k: object) -> InvalidArgumentError:
    return InvalidArgumentError(f"k must be a positive whole number of frames, got {k!r}")


def coerce_k(k: object) -> int | None:
    """``k`` as an int, accepting what models send: ints, integral floats (``8.0``) and digit strings
    (``"8"``, ``" 12 "``). ``None`` stays ``None``.

    Raises:
        InvalidArgumentError: ``k`` is not a positive whole number (``0``, ``2.5``, ``"eight"``, ``True``…).
    """
    if k is None:
        return None
    if isinstance(k, bool):
        raise _bad_k(k)
    if isinstance(k, numbers.Integral | float):  # ints (numpy's too) and whole floats such as 8.0
        if isinstance(k, float) and not (math.isfinite(k) and k.is_integer()):
            raise _bad_k(k)
        value = int(k)
    elif isinstance(k, str) and k.strip().isascii() and k.strip().isdigit():
        value = int(k.strip())
    else:
        raise _bad_k(k)
    if value <= 0:
        raise _bad_k(k)
    return value


def check_k(k: object, *, default_k: int = DEFAULT_K, policy: AccessPolicy | None = None) -> int:
    """``k`` (``default_k`` when ``None``) as a positive int, within the policy's ``max_k`` when given.

    Raises:
        InvalidArgumentError: ``k`` is not a positive whole number, or more than the policy allows.
    """
    value = coerce_k(k)
    if value is None:
        value = coerce_k(default_k)
        if value is None:  # default_k=None: a configuration mistake, not the model's
            raise InvalidArgumentError("default_k must be a positive whole number of frames, got None")
    if policy is not None:
        checked = policy.check_k(value)
        assert checked is not None
        value = checked
    return value


def parse_optional_time(value: object, name: str) -> float | None:
    """Seconds from ``None`` (or an empty string), a number, or a ``[hh:]mm:ss[.s]`` string.

    Raises:
        TimeRangeError: anything else, or a negative or non-finite time; the message names the argument.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TimeRangeError(f"{name} must be {TIME_FORMAT_HELP}, got {value!r}")
    try:
        return parse_time(value)
    except InvalidArgumentError as exc:
        raise TimeRangeError(f"{name}: {exc}") from None


def check_range(start: object, end: object, *, policy: AccessPolicy | None = None) -> tuple[float | None, float | None]:
    """Parse ``start``/``end``; check that the range is ordered and, when both are given, no longer than the
    policy's ``max_duration``.

    Whether the range lies inside the video (and the cap when one end is open) is checked by
    :func:`gens_tools.sample_frames` once the video is open.

    Raises:
        TimeRangeError: a bad time, a reversed or empty range, or a range longer than the policy allows.
    """
    s = parse_optional_time(start, "start")
    e = parse_optional_time(end, "end")
    if s is not None and e is not None and e <= s:
        raise TimeRangeError(f"end={e:g}s must be after start={s:g}s")
    limit = policy.max_duration if policy is not None else None
    if limit is not None and s is not None and e is not None and e - s > limit + 1e-6:
        raise TimeRangeError(
            f"the range {s:g}s-{e:g}s is {e - s:g}s long; this tool processes at most {limit:g}s per call: "
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
    default_k: int = DEFAULT_K,
    policy: AccessPolicy | None = None,
) -> FrameRequest:
    """Check a frame request before anything is opened.

    Args:
        video: a path or URL (from the model, or bound by the developer).
        question: what the frames should show.
        k: frames wanted (an int, ``8.0`` or ``"8"``); ``None`` uses ``default_k``.
        start, end: optional range, seconds or ``[hh:]mm:ss`` strings.
        default_k: frames when ``k`` is not given (also checked against the policy's ``max_k``).
        policy: when given, the video must be allowed by it and ``k``/the range are capped by it. Without a
            policy the video is taken as is (a developer's own call, not a model's).

    Raises:
        AccessDeniedError: the video is outside what the policy allows.
        InvalidArgumentError: no video, an empty question, a bad ``k``; :class:`TimeRangeError` for a bad
            range.
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


# --- tool configuration (given by the developer) ---------------------------------------------------------------


def resolve_sampler(sampler: FrameSampler | str | None, options: Mapping[str, Any] | None = None) -> FrameSampler:
    """The :class:`FrameSampler` a tool uses: the instance given, one built from a registered name
    (``"auto"``, ``"gens-3b"``, ``"remote"``, ``"uniform"``… with ``options``), or ``"auto"`` for ``None``:
    GenS when it can run here, else uniform sampling with a notice the model reads.

    Raises:
        InvalidArgumentError: an unknown name, or something that is neither a sampler nor a name.
    """
    if isinstance(sampler, FrameSampler):
        if options:
            raise InvalidArgumentError("sampler options apply only when the sampler is given by name")
        return sampler
    if isinstance(sampler, str):
        from gens_tools.samplers import make_sampler

        return make_sampler(sampler, **dict(options or {}))
    if sampler is None:
        from gens_tools.samplers import make_sampler

        return make_sampler("auto", **dict(options or {}))
    raise InvalidArgumentError(f"sampler must be a FrameSampler or a sampler name, got {sampler!r}")


def check_image_options(jpeg_quality: object, image_max_side: object, *, max_side_name: str = "image_max_side") -> None:
    """Reject JPEG settings for the images sent to a model that would only fail later, mid-run.

    ``max_side_name`` is how the caller's own option is called, for the message.

    Raises:
        InvalidArgumentError: ``jpeg_quality`` outside 1-95, or the longer side below 16 px.
    """
    checks.jpeg_quality("jpeg_quality", jpeg_quality)
    checks.image_side(max_side_name, image_max_side)


# --- error text ---------------------------------------------------------------------------------------------------

#: The kind named in front of an error's message; the first matching class wins (subclasses first).
_KINDS: tuple[tuple[type[GensToolsError], str], ...] = (
    (AccessDeniedError, "Access denied"),
    (TimeRangeError, "Invalid time range"),
    (InvalidArgumentError, "Invalid argument"),
    (VideoNotFoundError, "Video not found"),
    (NotAVideoError, "Not a video"),
    (EmptyVideoError, "Empty video"),
    (UnsupportedCodecError, "Unsupported video codec"),
    (VideoError, "Cannot read the video"),
)


def _schema_errors(exc: BaseException) -> list[dict[str, Any]] | None:
    """The per-field errors of a pydantic ``ValidationError`` (recognised by shape), else ``None``."""
    errors = getattr(exc, "errors", None)
    if type(exc).__name__ != "ValidationError" or not callable(errors):
        return None
    try:
        items = errors()
    except Exception:
        return None
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        return None
    return [dict(i) for i in items]


def _schema_message(items: list[dict[str, Any]]) -> str:
    # Group by argument: a value refused by every member of a union (``float | str``) gives one error each.
    problems: dict[str, list[str]] = {}
    for item in items:
        loc = item.get("loc") or ()
        name = str(loc[0]) if loc else "arguments"
        msg = str(item.get("msg") or "invalid")
        if msg not in problems.setdefault(name, []):
            problems[name].append(msg)
    return "; ".join(f"{name}: {' or '.join(msgs)}" for name, msgs in problems.items())


def error_kind(exc: BaseException) -> str:
    """The kind of problem ``exc`` is, as named to the model: ``"Access denied"``, ``"Invalid argument"``,
    ``"Invalid time range"``, ``"Video not found"``, ``"Not a video"``… (``"Error"`` for anything else)."""
    if _schema_errors(exc) is not None:
        return "Invalid argument"
    for cls, name in _KINDS:
        if isinstance(exc, cls):
            return name
    return "Error"


def tool_error_text(exc: BaseException) -> str:
    """One line for a failed tool call, written for the model, e.g.
    ``"Access denied: '/etc/x.mp4' is outside the allowed folders (/srv/videos)"``.

    It names the kind of problem (:func:`error_kind`) and repeats the library's message, which says what to
    change. A framework's schema error (pydantic ``ValidationError``) reads
    ``"Invalid argument: k: Input should be a valid integer"``, one ``name: problem`` per argument.
    """
    items = _schema_errors(exc)
    message = _schema_message(items) if items else str(exc)
    message = re.sub(r"\s*\n\s*", " ", message).strip() or type(exc).__name__
    return f"{error_kind(exc)}: {message}"
