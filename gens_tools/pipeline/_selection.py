"""Choosing K frames from merged scores: top-K by score, deterministic ties, optional minimum gap, uniform
fill when the model found fewer than K relevant frames."""

from __future__ import annotations

from collections.abc import Sequence

from gens_tools._checks import non_negative_int, positive_int


def uniform_positions(n: int, k: int) -> list[int]:
    """``k`` evenly spread positions in ``range(n)`` (the centre of each of ``k`` equal bins)."""
    if k <= 0 or n <= 0:
        return []
    if k >= n:
        return list(range(n))
    return [min(n - 1, int((j + 0.5) * n / k)) for j in range(k)]


def select_indices(
    scores: Sequence[float | None],
    k: int,
    *,
    min_gap_frames: int = 0,
    available: Sequence[bool] | None = None,
) -> list[int]:
    """Pick up to ``k`` positions, returned in time order.

    1. Frames with a positive score, highest first; equal scores in time order (deterministic, unlike the
       official code's shuffle).
    2. A frame closer than ``min_gap_frames`` positions to one already chosen is skipped.
    3. If fewer than ``k`` were chosen, fill with evenly spread frames (respecting the gap when possible, then
       without it), so the caller always gets ``min(k, available frames)`` frames.

    ``available[i]`` false excludes position ``i`` (e.g. a frame that could not be decoded).
    """
    positive_int("k", k)
    non_negative_int("min_gap_frames", min_gap_frames)
    n = len(scores)
    ok = [True] * n if available is None else [bool(a) for a in available]
    if len(ok) != n:
        raise ValueError("available must have one entry per score")
    chosen: list[int] = []
    taken = [False] * n

    def fits(i: int, gap: int) -> bool:
        if taken[i] or not ok[i]:
            return False
        return gap <= 0 or all(abs(i - j) >= gap for j in chosen)

    positive = {i: s for i, s in enumerate(scores) if s is not None and s > 0}
    ranked = sorted(positive, key=lambda i: (-positive[i], i))
    for i in ranked:
        if len(chosen) >= k:
            break
        if fits(i, min_gap_frames):
            chosen.append(i)
            taken[i] = True

    if len(chosen) < k:
        candidates = [i for i in range(n) if ok[i]]
        for gap in (min_gap_frames, 0) if min_gap_frames > 0 else (0,):
            # Try progressively finer uniform grids so fill frames spread over the gaps left by the top-K.
            m = k
            while len(chosen) < k:
                for pos in uniform_positions(len(candidates), m):
                    i = candidates[pos]
                    if len(chosen) >= k:
                        break
                    if fits(i, gap):
                        chosen.append(i)
                        taken[i] = True
                if m >= len(candidates):
                    break
                m = min(len(candidates), m * 2)
            if len(chosen) >= k:
                break
    return sorted(chosen)
