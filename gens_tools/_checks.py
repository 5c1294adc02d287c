"""The one set of argument checks: every public function and constructor validates with these, so the same
kind of value has the same rule and the same message everywhere.

Each check returns the value (normalised) or raises :class:`~gens_tools.errors.InvalidArgumentError` naming the
argument. ``bool`` is never accepted where a number is expected (``True`` is not ``1`` frame).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import TypeVar

from gens_tools._sources import HTTP_SCHEMES, url_scheme
from gens_tools.errors import InvalidArgumentError

T = TypeVar("T")

#: Smallest image side (px) accepted anywhere: below it a frame shows nothing a model can use.
MIN_IMAGE_SIDE = 16
#: JPEG quality range (PIL advises against values above 95: larger files, no visible gain).
JPEG_QUALITY_RANGE = (1, 95)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def positive_int(name: str, value: object, *, maximum: int | None = None) -> int:
    """``value`` if it is a whole number >= 1 (and <= ``maximum`` when given)."""
    if not _is_int(value) or value <= 0:  # type: ignore[operator]
        raise InvalidArgumentError(f"{name} must be a positive whole number, got {value!r}")
    assert isinstance(value, int)
    if maximum is not None and value > maximum:
        raise InvalidArgumentError(f"{name}={value} is more than the maximum of {maximum}")
    return value


def optional_positive_int(name: str, value: object, *, maximum: int | None = None) -> int | None:
    """``None``, or :func:`positive_int`."""
    return None if value is None else positive_int(name, value, maximum=maximum)


def non_negative_int(name: str, value: object) -> int:
    """``value`` if it is a whole number >= 0."""
    if not _is_int(value) or value < 0:  # type: ignore[operator]
        raise InvalidArgumentError(f"{name} must be a whole number >= 0, got {value!r}")
    assert isinstance(value, int)
    return value


def positive_number(name: str, value: object) -> float:
    """``value`` as a float if it is a finite number > 0."""
    if not _is_number(value) or not math.isfinite(value) or value <= 0:  # type: ignore[arg-type,operator]
        raise InvalidArgumentError(f"{name} must be a positive number, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def optional_positive_number(name: str, value: object) -> float | None:
    """``None``, or :func:`positive_number`."""
    return None if value is None else positive_number(name, value)


def non_negative_number(name: str, value: object) -> float:
    """``value`` as a float if it is a finite number >= 0."""
    if not _is_number(value) or not math.isfinite(value) or value < 0:  # type: ignore[arg-type,operator]
        raise InvalidArgumentError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def image_side(name: str, value: object) -> int | None:
    """``None`` (keep the size), or a whole number of pixels >= :data:`MIN_IMAGE_SIDE`."""
    if value is None:
        return None
    if not _is_int(value) or value < MIN_IMAGE_SIDE:  # type: ignore[operator]
        raise InvalidArgumentError(f"{name} must be a whole number of pixels >= {MIN_IMAGE_SIDE}, got {value!r}")
    assert isinstance(value, int)
    return value


def jpeg_quality(name: str, value: object) -> int:
    """A JPEG quality from 1 to 95."""
    low, high = JPEG_QUALITY_RANGE
    if not _is_int(value) or not low <= value <= high:  # type: ignore[operator]
        raise InvalidArgumentError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    assert isinstance(value, int)
    return value


def choice(name: str, value: object, options: Collection[T]) -> T:
    """``value`` if it is one of ``options``."""
    if value not in options:
        raise InvalidArgumentError(f"{name} must be one of {', '.join(map(str, options))}, got {value!r}")
    return value  # type: ignore[return-value]


def optional_choice(name: str, value: object, options: Collection[T]) -> T | None:
    """``None``, or :func:`choice`."""
    return None if value is None else choice(name, value, options)


def non_empty_str(name: str, value: object) -> str:
    """``value`` stripped, if it is a string with something in it."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"{name} must be a non-empty string, got {value!r}")
    return value.strip()


def http_url(name: str, value: object) -> str:
    """``value`` if it is an http(s) URL with a host and, when one is written, a valid port (a server's base
    URL). Messages never repeat a user:password part."""
    from urllib.parse import urlsplit

    if not isinstance(value, str) or url_scheme(value) not in HTTP_SCHEMES or not urlsplit(value.strip()).hostname:
        raise InvalidArgumentError(f"{name} must be an http(s) URL with a host, got {_without_credentials(value)!r}")
    try:
        urlsplit(value.strip()).port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise InvalidArgumentError(
            f"{name} {_without_credentials(value)!r} has an invalid port (expected e.g. http://127.0.0.1:8000/v1)"
        ) from None
    return value.strip()


def api_root(name: str, value: object) -> str:
    """An API's root URL (:func:`http_url`) without trailing slashes, e.g. ``http://127.0.0.1:8000/v1``."""
    return http_url(name, value).rstrip("/")


def _without_credentials(value: object) -> object:
    """``value`` with any ``user:password@`` part of a URL left out, for messages."""
    if isinstance(value, str) and "@" in value:
        scheme, sep, rest = value.partition("://")
        return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else value.rpartition("@")[2]
    return value


def int_in_range(name: str, value: object, low: int, high: int | None = None) -> int:
    """``value`` if it is a whole number from ``low`` to ``high`` (no upper bound when ``high`` is ``None``)."""
    if not _is_int(value) or value < low or (high is not None and value > high):  # type: ignore[operator]
        bound = f"from {low} to {high}" if high is not None else f">= {low}"
        raise InvalidArgumentError(f"{name} must be a whole number {bound}, got {value!r}")
    assert isinstance(value, int)
    return value


def number_in_range(name: str, value: object, low: float, high: float) -> float:
    """``value`` as a float if it is a finite number from ``low`` to ``high``."""
    if not _is_number(value) or not math.isfinite(value) or not low <= value <= high:  # type: ignore[arg-type,operator]
        raise InvalidArgumentError(f"{name} must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def finite_number(name: str, value: object) -> float:
    """``value`` as a float if it is a finite number."""
    if not _is_number(value) or not math.isfinite(value):  # type: ignore[arg-type]
        raise InvalidArgumentError(f"{name} must be a finite number, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def optional_non_negative_number(name: str, value: object) -> float | None:
    """``None``, or :func:`non_negative_number`."""
    return None if value is None else non_negative_number(name, value)
