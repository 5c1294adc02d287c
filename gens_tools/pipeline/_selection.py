"""Choosing K frames from merged scores, deterministically and fairly over time.

GenS scores are whole numbers from 1 to 5, so equal scores are the normal case, and a rule that breaks ties
by time (as a plain sort does) piles every frame into the first relevant spans of a long video. Here:

1. Higher scores always come first: every frame of a score level is considered before any of a lower one.
2. Within a level, the frames are grouped into spans (runs of consecutive grid positions). Every span gets one
   frame (its middle) before any span gets a second, so a question like "how many times…" sees every
   occurrence; when there are more spans than places, the spans are chosen spread over time (farthest-point
   order). Further frames of the level go where they are farthest from every frame already chosen.
3. A frame closer than the minimum gap to a chosen one is skipped.
4. When the sampler found fewer than K relevant frames, the remaining places are filled where coverage is
   thinnest: the uncovered stretches (between chosen frames, and from the ends of the range to the nearest
   chosen frame) get fill frames in proportion to their length, evenly spaced inside them. With nothing
   scored this is K evenly spaced frames (the centres of K equal bins).

Everything is deterministic: remaining ties are broken by time.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence

from gens_tools._checks import non_negative_int, positive_int


def uniform_positions(n: int, k: int) -> list[int]:
    """``k`` evenly spread positions in ``range(n)`` (the centre of each of ``k`` equal bins)."""
    if k <= 0 or n <= 0:
        return []
    if k >= n:
        return list(range(n))
    return [min(n - 1, int((j + 0.5) * n / k)) for j in range(k)]


class _Picker:
    """The chosen positions so far, with the availability and minimum-gap rules.

    ``dist[i]`` is the distance from position ``i`` to the nearest chosen one (infinite while nothing is
    chosen), kept up to date on every pick, so checks cost O(1)."""

    def __init__(self, n: int, ok: list[bool], gap: int) -> None:
        self.n = n
        self.ok = ok
        self.gap = gap
        self.chosen: list[int] = []
        self.dist = [float("inf")] * n

    def fits(self, i: int, gap: int | None = None) -> bool:
        g = self.gap if gap is None else gap
        if not (0 <= i < self.n) or not self.ok[i] or self.dist[i] == 0:
            return False
        return g <= 0 or self.dist[i] >= g

    def take(self, i: int) -> None:
        self.chosen.append(i)
        # The distance field is 1-Lipschitz: walk outward only while the new position is nearer.
        j = i
        while j >= 0 and i - j < self.dist[j]:
            self.dist[j] = i - j
            j -= 1
        j = i + 1
        while j < self.n and j - i < self.dist[j]:
            self.dist[j] = j - i
            j += 1


def _spans(positions: Sequence[int]) -> list[list[int]]:
    """Runs of consecutive positions (``positions`` sorted)."""
    runs: list[list[int]] = []
    for p in positions:
        if runs and p == runs[-1][-1] + 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return runs


def _nearest_fitting(picker: _Picker, members: Sequence[int], target: int) -> int | None:
    """The member closest to ``target`` that fits (ties: the earlier one)."""
    best: int | None = None
    for p in members:
        if picker.fits(p) and (best is None or abs(p - target) < abs(best - target)):
            best = p
    return best


def _farthest_first(picker: _Picker, candidates: list[int], budget: int) -> None:
    """Take up to ``budget`` of ``candidates``, each time the one farthest from every chosen position (the
    first pick, with nothing chosen, is the candidate nearest the middle of their extent); ties by time."""
    remaining = [c for c in candidates if picker.fits(c)]
    while budget > 0 and remaining:
        if picker.chosen:
            best = max(remaining, key=lambda c: (picker.dist[c], -c))
        else:
            middle = (remaining[0] + remaining[-1]) / 2
            best = min(remaining, key=lambda c: (abs(c - middle), c))
        picker.take(best)
        budget -= 1
        remaining = [c for c in remaining if picker.fits(c)]


def _take_level(picker: _Picker, positions: list[int], budget: int) -> None:
    """Take up to ``budget`` frames of one score level: one per span first, then the farthest."""
    spans = _spans(positions)
    middles = [run[(len(run) - 1) // 2] for run in spans]
    if len(spans) <= budget:
        for run, middle in zip(spans, middles, strict=True):
            pick = _nearest_fitting(picker, run, middle)
            if pick is not None:
                picker.take(pick)
    else:
        _farthest_first(picker, middles, budget)
    members = set(positions)
    left = budget - sum(1 for p in picker.chosen if p in members)
    if left > 0:
        _farthest_first(picker, positions, left)


def _fill_places(n: int, chosen: Sequence[int], count: int) -> list[tuple[float, int, int]]:
    """Where ``count`` fill frames go, as ``(position, lo, hi)``: a point in grid coordinates (position ``i``
    covers ``[i, i + 1)``) and the index range of the stretch it fills.

    Each uncovered stretch gets frames in proportion to how uncovered it is: a stretch between two chosen
    frames with ``a`` fill frames leaves points at most ``L / (2(a + 1))`` from a frame, a stretch from an end
    of the range ``E / (2a + 1)``, the whole range (nothing chosen) ``n / 2a``; frames go one by one to the
    stretch that is worst off, then evenly inside it."""
    centres = sorted(i + 0.5 for i in chosen)
    stretches: list[tuple[str, float, float]] = []  # (kind, start, end) in grid coordinates
    if not centres:
        stretches.append(("whole", 0.0, float(n)))
    else:
        stretches.append(("left", 0.0, centres[0]))
        stretches.extend(("inner", a, b) for a, b in itertools.pairwise(centres))
        stretches.append(("right", centres[-1], float(n)))

    def radius(kind: str, length: float, a: int) -> float:
        if kind == "inner":
            return length / (2 * (a + 1))
        if kind == "whole":
            return length / (2 * a) if a else float("inf")
        return length / (2 * a + 1)

    given = [0] * len(stretches)
    heap = [(-radius(kind, b - a, 0), i) for i, (kind, a, b) in enumerate(stretches)]
    heapq.heapify(heap)
    for _ in range(count):
        _, i = heapq.heappop(heap)
        given[i] += 1
        kind, a, b = stretches[i]
        heapq.heappush(heap, (-radius(kind, b - a, given[i]), i))

    places: list[tuple[float, int, int]] = []
    for (kind, a, b), m in zip(stretches, given, strict=True):
        length = b - a
        lo, hi = int(a), min(n - 1, int(b))
        for j in range(m):
            if kind == "inner":
                x = a + length * (j + 1) / (m + 1)
            elif kind == "whole":
                x = a + length * (2 * j + 1) / (2 * m)
            elif kind == "left":  # from the start of the range: the first frame half a spacing in
                x = a + length * (2 * j + 1) / (2 * m + 1)
            else:  # towards the end of the range: a full spacing after the chosen frame, then on
                x = a + length * 2 * (j + 1) / (2 * m + 1)
            places.append((x, lo, hi))
    return places


def _fill(picker: _Picker, k: int, gap: int) -> None:
    """Add fill frames where coverage is thinnest until ``k`` are chosen or nothing more fits."""
    while len(picker.chosen) < k:
        before = len(picker.chosen)
        for x, lo, hi in _fill_places(picker.n, picker.chosen, k - len(picker.chosen)):
            target = min(picker.n - 1, max(0, int(x)))
            # The free position nearest the ideal place, inside the stretch it fills (ties: the earlier one).
            for d in range(max(target - lo, hi - target) + 1):
                hit = next((p for p in (target - d, target + d) if lo <= p <= hi and picker.fits(p, gap)), None)
                if hit is not None:
                    picker.take(hit)
                    break
            if len(picker.chosen) >= k:
                break
        if len(picker.chosen) == before:
            return


def select_indices(
    scores: Sequence[float | None],
    k: int,
    *,
    min_gap_frames: int = 0,
    available: Sequence[bool] | None = None,
) -> list[int]:
    """Pick up to ``k`` grid positions, returned in time order (see the module documentation for the rule).

    Args:
        scores: per grid position, the merged relevance (``None`` or 0: not relevant or not scored).
        k: how many positions to pick.
        min_gap_frames: fewest grid steps between two picked positions; relaxed only for fill frames when
            there is no other way to reach ``k``.
        available: ``available[i]`` false excludes position ``i`` (e.g. a frame that could not be decoded).

    Returns:
        ``min(k, available positions)`` positions, sorted.
    """
    positive_int("k", k)
    non_negative_int("min_gap_frames", min_gap_frames)
    n = len(scores)
    ok = [True] * n if available is None else [bool(a) for a in available]
    if len(ok) != n:
        raise ValueError("available must have one entry per score")
    picker = _Picker(n, ok, min_gap_frames)

    levels: dict[float, list[int]] = {}
    for i, s in enumerate(scores):
        if s is not None and s > 0 and ok[i]:
            levels.setdefault(float(s), []).append(i)
    for level in sorted(levels, reverse=True):
        budget = k - len(picker.chosen)
        if budget <= 0:
            break
        _take_level(picker, levels[level], budget)

    if len(picker.chosen) < k:
        _fill(picker, k, min_gap_frames)
        if len(picker.chosen) < k and min_gap_frames > 0:
            _fill(picker, k, 0)  # the gap cannot be kept everywhere: fill the rest without it
    return sorted(picker.chosen)
