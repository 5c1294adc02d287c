"""How well chosen frames cover the annotated relevant spans of a question.

A frame at time ``t`` *hits* a span ``[start, end)`` when ``start <= t < end``. A span shorter than one step of
the sampling grid is first widened to one step around its middle, so that a grid can hit it at all.

- **frame recall**: the share of a question's spans hit by at least one chosen frame;
- **frame precision**: the share of chosen frames that hit some span.

Both are ``None`` for questions without annotated spans.
"""

from __future__ import annotations

from collections.abc import Sequence


def _widened(spans: Sequence[tuple[float, float]], step: float) -> list[tuple[float, float]]:
    out = []
    for a, b in spans:
        if b - a < step:
            mid = (a + b) / 2
            a, b = mid - step / 2, mid + step / 2
        out.append((a, b))
    return out


def _hits(t: float, span: tuple[float, float]) -> bool:
    return span[0] - 1e-6 <= t < span[1] - 1e-9


def frame_recall(timestamps: Sequence[float], spans: Sequence[tuple[float, float]], step: float = 1.0) -> float | None:
    """The share of ``spans`` that at least one of ``timestamps`` falls in (``None`` without spans)."""
    if not spans:
        return None
    wide = _widened(spans, step)
    return sum(any(_hits(t, s) for t in timestamps) for s in wide) / len(wide)


def frame_precision(
    timestamps: Sequence[float], spans: Sequence[tuple[float, float]], step: float = 1.0
) -> float | None:
    """The share of ``timestamps`` that fall in some span (``None`` without spans or without frames)."""
    if not spans or not timestamps:
        return None
    wide = _widened(spans, step)
    return sum(any(_hits(t, s) for s in wide) for t in timestamps) / len(timestamps)
