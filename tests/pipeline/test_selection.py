"""Choosing K frames: top-K, deterministic ties, minimum gap, uniform fill; windows and merging."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gens_tools.errors import InvalidArgumentError
from gens_tools.pipeline._selection import select_indices
from gens_tools.samplers._base import WindowScores
from gens_tools.samplers._windows import merge_window_scores, plan_windows


def test_top_k_by_score_then_sorted_by_time() -> None:
    scores = [0, 0, 3, 0, 5, 0, 4, 0, 5, 1]
    assert select_indices(scores, 3) == [4, 6, 8]


def test_equal_scores_in_one_span_are_spread_over_it_deterministically() -> None:
    scores = [2.0] * 10
    assert select_indices(scores, 1) == [4]  # the middle of the span
    assert select_indices(scores, 3) == [0, 4, 9]  # then as far as possible from what is chosen
    assert select_indices(scores, 3) == select_indices(list(scores), 3)


def test_min_gap_skips_neighbours() -> None:
    scores = [0, 5, 5, 5, 5, 0, 0, 0, 0, 0, 4, 4]
    chosen = select_indices(scores, 3, min_gap_frames=3)
    assert len(chosen) == 3
    assert {1, 2, 3, 4} & set(chosen)  # the best span is represented
    assert {10, 11} & set(chosen)  # and so is the next level's
    assert all(b - a >= 3 for a, b in itertools.pairwise(chosen))


def _largest_uncovered(n: int, chosen: list[int]) -> float:
    """The longest time (grid steps) any point of ``range(n)`` is from the nearest chosen position."""
    return max(min(abs(i - c) for c in chosen) for i in range(n))


def test_fill_goes_where_coverage_is_thinnest() -> None:
    scores: list[float | None] = [0.0] * 100
    scores[50] = 5
    chosen = select_indices(scores, 4)
    assert 50 in chosen
    assert len(chosen) == 4
    # Three fill frames around one chosen frame: nothing is much farther from a frame than 100 / 8.
    assert _largest_uncovered(100, chosen) <= 17


def test_unscored_everywhere_is_uniform() -> None:
    assert select_indices([None] * 100, 5) == [10, 30, 50, 70, 90]


def test_unavailable_frames_are_never_chosen() -> None:
    scores = [5, 5, 5, 0, 0, 0]
    chosen = select_indices(scores, 4, available=[False, True, True, True, False, True])
    assert 0 not in chosen
    assert 4 not in chosen
    assert len(chosen) == 4


@pytest.mark.parametrize("k", [0, -1, 1.5, True, "3"])
def test_bad_k_is_refused(k: object) -> None:
    with pytest.raises(InvalidArgumentError):
        select_indices([1.0, 2.0], k)  # type: ignore[arg-type]


@given(
    st.lists(st.one_of(st.none(), st.integers(0, 5).map(float)), min_size=1, max_size=400),
    st.integers(1, 64),
    st.integers(0, 10),
)
@settings(max_examples=300, deadline=None)
def test_selection_properties(scores: list[float | None], k: int, gap: int) -> None:
    chosen = select_indices(scores, k, min_gap_frames=gap)
    assert chosen == sorted(set(chosen))
    assert len(chosen) == min(k, len(scores))
    assert select_indices(scores, k, min_gap_frames=gap) == chosen  # deterministic
    if gap == 0:
        # Higher scores always come first: the chosen relevant frames carry the best scores there are.
        best = sorted((s for s in scores if s), reverse=True)[:k]
        got = sorted((scores[i] for i in chosen if scores[i]), reverse=True)  # type: ignore[misc]
        assert got == best


def test_plan_windows_is_balanced_and_covers_everything() -> None:
    plan = plan_windows(3600, 256)
    assert len(plan) == 15
    assert {len(r) for r in plan} == {240}
    assert [i for r in plan for i in r] == list(range(3600))
    plan = plan_windows(513, 256)
    assert [len(r) for r in plan] == [171, 171, 171]
    assert plan_windows(0, 256) == []
    with pytest.raises(InvalidArgumentError):
        plan_windows(10, 0)


@given(st.integers(1, 5000), st.integers(1, 300))
def test_plan_windows_properties(n: int, size: int) -> None:
    plan = plan_windows(n, size)
    lengths = [len(r) for r in plan]
    assert sum(lengths) == n
    assert max(lengths) <= size
    assert max(lengths) - min(lengths) <= 1


def test_merge_maps_local_scores_to_grid_positions() -> None:
    results = [
        ([0, 1, 2], WindowScores(0, [0.0, 5.0, 1.0])),
        ([3, 4], WindowScores(1, None)),
        ([5, 6], WindowScores(2, [2.0, 0.0])),
    ]
    assert merge_window_scores(7, results) == [0.0, 5.0, 1.0, None, None, 2.0, 0.0]
    with pytest.raises(ValueError, match="scores for"):
        merge_window_scores(3, [([0, 1], WindowScores(0, [1.0]))])


# --- fairness over long videos ---------------------------------------------------------------------------------


def _spans_at(n: int, starts: list[int], length: int, score: float = 5.0) -> list[float | None]:
    scores: list[float | None] = [0.0] * n
    for a in starts:
        for i in range(a, a + length):
            scores[i] = score
    return scores


@pytest.mark.parametrize("gap", [0, 60])
def test_equally_relevant_spans_across_two_hours_are_all_represented_and_spread(gap: int) -> None:
    # A 2-hour video where every 240-frame window found one equally relevant 5-second span (29 spans).
    n = 7200
    starts = [100 + int(w * n / 29) for w in range(29)]
    chosen = select_indices(_spans_at(n, starts, 5), 16, min_gap_frames=gap)
    assert len(chosen) == 16
    spans_hit = {next(j for j, a in enumerate(starts) if a <= c < a + 5) for c in chosen}
    assert len(spans_hit) == 16  # one frame per span, never several from the same span
    # Spread over the whole video, not piled at its start: every quarter has chosen frames.
    assert {c * 4 // n for c in chosen} == {0, 1, 2, 3}
    assert max(b - a for a, b in itertools.pairwise(chosen)) <= 2 * n / 16


def test_every_occurrence_gets_a_frame_before_any_gets_a_second() -> None:
    n = 1800
    starts = [60, 400, 730, 1100, 1500, 1750]
    chosen = select_indices(_spans_at(n, starts, 20), 6)
    assert [next(j for j, a in enumerate(starts) if a <= c < a + 20) for c in chosen] == list(range(6))
    twelve = select_indices(_spans_at(n, starts, 20), 12)
    per_span = [sum(a <= c < a + 20 for c in twelve) for a in starts]
    assert per_span == [2] * 6


def test_higher_scores_come_before_spreading() -> None:
    n = 3600
    scores = _spans_at(n, [100, 1200, 2400], 10, score=3.0)
    scores[3000] = 5.0
    chosen = select_indices(scores, 4)
    assert 3000 in chosen
    assert len([c for c in chosen if c != 3000]) == 3  # one per score-3 span


def test_fill_frames_cover_the_stretches_the_sampler_left_empty() -> None:
    # 180 s with 5 relevant frames: the 3 fill frames go to the longest uncovered stretches.
    scores: list[float | None] = [0.0] * 180
    for i in (20, 21, 22, 100, 101):
        scores[i] = 5.0
    chosen = select_indices(scores, 8)
    assert {20, 21, 22, 100, 101} <= set(chosen)
    fill = sorted(set(chosen) - {20, 21, 22, 100, 101})
    assert any(22 < f < 100 for f in fill)
    assert any(f > 101 for f in fill)
    # Relevant frames at 1000 s and 2000 s of 3600 s: the last ten minutes are covered too.
    scores = [0.0] * 3600
    scores[1000] = scores[2000] = 5.0
    chosen = select_indices(scores, 11)
    assert max(chosen) > 3000
    assert _largest_uncovered(3600, chosen) <= 3600 / 11
