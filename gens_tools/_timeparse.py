"""Parsing times given by people: ``90``, ``90.5``, ``1:30``, ``01:02:03.5``."""

from __future__ import annotations

import math
import re

from gens_tools.errors import InvalidArgumentError

_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


def parse_time(text: str | float | int) -> float:
    """Seconds from a number or a ``[hh:]mm:ss[.s]`` string."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
    else:
        s = str(text).strip()
        m = _CLOCK.match(s)
        if m:
            hours, minutes, seconds = m.groups()
            if int(minutes) >= 60 or float(seconds) >= 60:
                raise InvalidArgumentError(f"invalid time {s!r}: minutes and seconds must be below 60")
            value = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
        else:
            try:
                value = float(s.removesuffix("s"))
            except ValueError:
                raise InvalidArgumentError(
                    f"invalid time {s!r}: use seconds (90.5) or [hh:]mm:ss (1:30, 01:02:03.5)"
                ) from None
    if not math.isfinite(value) or value < 0:
        raise InvalidArgumentError(f"invalid time {text!r}: must be a finite number of seconds >= 0")
    return value
