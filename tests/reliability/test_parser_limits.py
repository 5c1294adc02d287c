"""Regressions: model output never crashes a window, and what a hostile output costs is bounded."""

from __future__ import annotations

import json
import time

import pytest

from gens_tools.samplers._parser import MAX_ISSUES, MAX_OUTPUT_CHARS, parse_gens_output


@pytest.mark.parametrize(
    "text",
    [
        '{"' + "1" * 400 + '": 3}',  # a key over 308 digits reads as infinity
        '{"1-' + "9" * 400 + '": 3}',
        '{"' + "9" * 400 + '-2": 3}',
        '{"3": ' + "9" * 400 + "}",  # an integer score >= 1e309
        '{"3": ' + "9" * 4000 + "}",
        "{'3': " + "9" * 400 + "}",  # through the lenient path
        '{"3": 1e999, "4": -1e999, "5": NaN, "6": Infinity}',
        '{"1e400": 3}',
    ],
)
def test_huge_numbers_never_raise(text: str) -> None:
    parsed = parse_gens_output(text, 10)
    assert parsed.issues
    if parsed.scores is not None:
        assert all(0.0 <= s <= 5.0 for s in parsed.scores)


def test_a_huge_range_is_clipped_to_the_window() -> None:
    parsed = parse_gens_output('{"2-' + "9" * 60 + '": 4}', 10)
    assert parsed.scores == [0, 0, 4, 4, 4, 4, 4, 4, 4, 4]


def test_out_of_window_keys_keep_a_bounded_number_of_issues() -> None:
    # The adversarial pass saw 1.68 GB and 46 s: every out-of-window key added an issue string.
    text = json.dumps({str(1000 + i): 3 for i in range(200_000)})
    t0 = time.perf_counter()
    parsed = parse_gens_output(text, 60)
    elapsed = time.perf_counter() - t0
    assert len(parsed.issues) <= MAX_ISSUES + 1
    assert "more" in parsed.issues[-1]
    assert elapsed < 10  # a generous bound that catches the quadratic behaviour, not a speed assertion


def test_long_output_is_cut_and_said() -> None:
    text = '{"1": 5, ' + '"2": 1, ' * 300_000 + '"3": 4}'
    parsed = parse_gens_output(text, 10)
    assert parsed.scores is not None
    assert parsed.scores[1] == 5
    assert any(f"{MAX_OUTPUT_CHARS:,}" in issue for issue in parsed.issues)


def test_whole_window_ranges_repeated_cost_little() -> None:
    text = "{" + ", ".join(f'"0-255": {1 + i % 5}' for i in range(20_000)) + "}"
    t0 = time.perf_counter()
    parsed = parse_gens_output(text, 256)
    assert time.perf_counter() - t0 < 10
    assert parsed.scores == [5.0] * 256


@pytest.mark.parametrize(
    "text",
    [
        "{a" + " " * 90_000 + "x",
        "{'1'" + " " * 90_000 + ":x",
        '{"1": ' + "1" * 90_000 + "x",
        "1:" * 50_000,
        "{" * 90_000,
        '{"1": ' + "[" * 50_000 + "1" + "]" * 50_000 + "}",
        "```" * 30_000,
        '{"' + "1 " * 40_000 + '": 3}',
    ],
    ids=["spaces", "quoted-spaces", "digits", "colons", "braces", "nesting", "fences", "long-key"],
)
def test_pathological_texts_parse_quickly(text: str) -> None:
    t0 = time.perf_counter()
    parsed = parse_gens_output(text, 256)
    assert time.perf_counter() - t0 < 5
    assert parsed.repaired


def test_issue_lines_quote_keys_and_scores_briefly() -> None:
    parsed = parse_gens_output(json.dumps({"k" * 100_000: 3, "2": "x" * 100_000}), 10)
    assert parsed.scores is None
    assert all(len(issue) < 200 for issue in parsed.issues)


def test_overlaps_still_keep_the_highest_score() -> None:
    parsed = parse_gens_output('{"0-9": 1, "3-5": 4, "4": 2, "8-12": 3}', 10)
    assert parsed.scores == [1, 1, 1, 4, 4, 4, 1, 1, 3, 3]
