"""Which frames matter most: higher score first, and frames of equal score spread evenly over time (so that
any prefix of the ranking covers the video's span)."""

from __future__ import annotations

from collections.abc import Sequence

from gens_tools.frames import Frame


def _van_der_corput(i: int) -> float:
    x, denom = 0.0, 1.0
    while i:
        denom *= 2
        i, bit = divmod(i, 2)
        x += bit / denom
    return x


def spread_order(n: int) -> list[int]:
    """Positions 0..n-1 ordered so that every prefix is spread evenly over the range."""
    order: list[int] = []
    taken = [False] * n
    i = 0
    while len(order) < n and i < 4 * n + 4:
        p = min(n - 1, int(_van_der_corput(i) * n))
        if not taken[p]:
            taken[p] = True
            order.append(p)
        i += 1
    order.extend(p for p in range(n) if not taken[p])
    return order


def rank_frames(frames: Sequence[Frame]) -> list[Frame]:
    """Frames by importance: higher score first; equal scores (or no scores) spread evenly over time."""
    by_time = sorted(frames, key=lambda f: f.timestamp)
    groups: dict[float, list[Frame]] = {}
    for f in by_time:
        groups.setdefault(float(f.score or 0.0), []).append(f)
    ranked: list[Frame] = []
    for score in sorted(groups, reverse=True):
        group = groups[score]
        ranked.extend(group[p] for p in spread_order(len(group)))
    return ranked
