"""Cutting a long sampling grid into windows that fit the sampler, and merging their scores back."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from gens_tools.errors import InvalidArgumentError
from gens_tools.samplers._base import WindowScores


def plan_windows(n_frames: int, size: int) -> list[range]:
    """Split ``n_frames`` grid positions into the fewest windows of at most ``size`` frames, balanced.

    3600 frames with ``size=256`` give 15 windows of 240 frames rather than 14 full ones and a stub of 16:
    every window then gives the model comparable context.
    """
    if size <= 0:
        raise InvalidArgumentError(f"window size must be positive, got {size}")
    if n_frames <= 0:
        return []
    count = math.ceil(n_frames / size)
    base, extra = divmod(n_frames, count)
    out: list[range] = []
    start = 0
    for w in range(count):
        length = base + (1 if w < extra else 0)
        out.append(range(start, start + length))
        start += length
    return out


def merge_window_scores(
    n_frames: int,
    results: Iterable[tuple[Sequence[int], WindowScores]],
) -> list[float | None]:
    """Per-grid-position scores from window results.

    ``results`` pairs each window's grid positions (in the order its frames were labelled) with its scores.
    Positions of unscored windows stay ``None``. GenS's 1–5 scale is absolute, so scores from different
    windows are comparable as they are; where windows overlap the higher score wins.
    """
    merged: list[float | None] = [None] * n_frames
    for positions, result in results:
        if result.scores is None:
            continue
        if len(result.scores) != len(positions):
            raise ValueError(f"window {result.window_index}: {len(result.scores)} scores for {len(positions)} frames")
        for pos, score in zip(positions, result.scores, strict=True):
            prev = merged[pos]
            merged[pos] = score if prev is None else max(prev, score)
    return merged
