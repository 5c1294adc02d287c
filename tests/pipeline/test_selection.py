"""Choosing K frames: top-K, deterministic ties, minimum gap, uniform fill; windows and merging."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gens_tools.errors import InvalidArgumentError
from gens_tools.pipeline._selection import select_indices, uniform_positions
from gens_tools.samplers._base import WindowScores
from gens_tools.samplers._windows import merge_window_scores, plan_windows


def test_top_k_by_score_then_sorted_by_time() -> None:
    scores = [0, 0, 3, 0, 5, 0, 4, 0, 5, 1]
    assert select_indices(scores, 3) == [4, 6, 8]


def test_ties_break_in_time_order_deterministically() -> None:
    scores = [2.0] * 10
    assert select_indices(scores, 3) == [0, 1, 2]
    assert select_indices(scores, 3) == select_indices(list(scores), 3)


def test_min_gap_skips_neighbours() -> None:
    scores = [0, 5, 5, 5, 5, 0, 0, 0, 0, 0, 4, 4]
    chosen = select_indices(scores, 3, min_gap_frames=3)
    assert chosen == [1, 4, 10]
    assert all(b - a >= 3 for a, b in itertools.pairwise(chosen))


def test_fill_with_uniform_frames_when_few_are_scored() -> None:
    scores: list[float | None] = [0.0] * 100
    scores[50] = 5
    chosen = select_indices(scores, 4)
    assert 50 in chosen
    assert len(chosen) == 4
    assert set(chosen) - {50} <= set(uniform_positions(100, 4)) | set(uniform_positions(100, 8))


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
    # Every chosen positive frame outranks every unchosen positive frame that was free to be chosen.
    positives = [i for i, s in enumerate(scores) if s]
    if gap == 0:
        top = sorted(positives, key=lambda i: (-scores[i], i))[:k]  # type: ignore[operator]
        assert set(top) <= set(chosen)


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
