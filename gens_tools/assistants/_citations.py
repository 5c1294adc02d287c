"""Reading the timestamps an assistant cites in its answer.

Answers are asked to cite frames as ``[hh:mm:ss]`` (the labels they were shown), but models also write
``12:31``, ``1:02:03.5`` or ranges such as ``[00:12:31–00:12:40]``. :func:`parse_citations` finds all of
them, in order of first appearance, as seconds. A clock-like token is only taken when its minutes and
seconds are below 60 and its seconds have two digits (so ratios like ``3:1`` and versions like ``1.2.3``
are not read as times).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from gens_tools.frames import Frame, format_timestamp

# [h]h:mm:ss(.f) or m:ss / mm:ss(.f); not inside a longer run of digits, colons or dots.
_CLOCK = re.compile(
    r"(?<![\d:.])"
    r"(?:(?P<h>\d{1,2}):(?P<m1>\d{2})|(?P<m2>\d{1,2}))"
    r":(?P<s>\d{2})(?:\.(?P<f>\d{1,3}))?"
    r"(?![\d:]|\.\d)"
)


@dataclass(frozen=True, slots=True)
class Citation:
    """One timestamp found in an answer: ``seconds`` from the video start and the ``text`` as written."""

    seconds: float
    text: str

    @property
    def label(self) -> str:
        """The time as ``hh:mm:ss`` (with tenths when the citation had a fraction)."""
        return format_timestamp(self.seconds, decimals=1 if self.seconds % 1 else 0)


def find_citations(text: str) -> list[Citation]:
    """Every timestamp written in ``text``, in order, duplicates included."""
    if not isinstance(text, str):
        return []
    found: list[Citation] = []
    for m in _CLOCK.finditer(text):
        hours = int(m.group("h") or 0)
        minutes = int(m.group("m1") or m.group("m2"))
        seconds = int(m.group("s"))
        if minutes >= 60 or seconds >= 60:
            continue
        fraction = float("0." + m.group("f")) if m.group("f") else 0.0
        found.append(Citation(hours * 3600 + minutes * 60 + seconds + fraction, m.group(0)))
    return found


def parse_citations(text: str) -> list[float]:
    """The distinct timestamps (seconds) cited in ``text``, in order of first appearance."""
    seen: set[float] = set()
    out: list[float] = []
    for c in find_citations(text):
        key = round(c.seconds, 3)
        if key not in seen:
            seen.add(key)
            out.append(key)
    return out


def match_citations(
    citations: Sequence[float], frames: Sequence[Frame], *, tolerance: float = 1.0
) -> tuple[list[Frame], list[float]]:
    """Pair cited times with the frames that were sent.

    Returns ``(cited_frames, unmatched)``: for each citation, the sent frame nearest in time if it lies
    within ``tolerance`` seconds (each frame listed once, in time order), and the citations that match no
    sent frame (a model citing a time it was never shown).
    """
    cited: dict[int, Frame] = {}
    unmatched: list[float] = []
    for t in citations:
        best: Frame | None = None
        best_gap = tolerance
        for f in frames:
            gap = abs(f.timestamp - t)
            if gap <= best_gap + 1e-9:
                best, best_gap = f, gap
        if best is None:
            unmatched.append(t)
        else:
            cited[id(best)] = best
    return sorted(cited.values(), key=lambda f: f.timestamp), unmatched
