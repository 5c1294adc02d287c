"""The GenS output parser: exact on well-formed output, and recovering what is valid from messy output."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gens_tools.samplers._parser import format_gens_output, parse_gens_output

OFFICIAL_EXAMPLE = '{"11-12": 5, "16-21": 4, "28-30": 4, "46-49": 4, "22-27": 3, "33": 2}'


def expected_scores(entries: list[tuple[int, int, int]], n: int) -> list[float]:
    out = [0.0] * n
    for a, b, s in entries:
        for i in range(a, b + 1):
            out[i] = max(out[i], float(s))
    return out


def test_official_readme_example_parses_exactly() -> None:
    parsed = parse_gens_output(OFFICIAL_EXAMPLE, 51)
    assert not parsed.repaired
    assert parsed.issues == []
    assert parsed.scores is not None
    assert parsed.scores[11] == parsed.scores[12] == 5
    assert parsed.scores[10] == 0
    assert parsed.scores[13] == 0
    assert parsed.scores[16:22] == [4.0] * 6
    assert parsed.scores[22:28] == [3.0] * 6
    assert parsed.scores[33] == 2
    assert parsed.scores[50] == 0
    assert sum(1 for s in parsed.scores if s > 0) == 2 + 6 + 3 + 4 + 6 + 1


@pytest.mark.parametrize(
    ("text", "expect", "issue_word"),
    [
        ('```json\n{"1-2": 5, "3": 2}\n```', {1: 5, 2: 5, 3: 2}, "code fence"),
        ('Sure, here you go:\n{"4": 3}\nHope this helps!', {4: 3}, "before"),
        ('{"30s-35s": 4, "25s": 3}', {25: 3, 30: 4, 35: 4}, None),
        ('{"9-5": 3}', {5: 3, 9: 3}, "reversed"),
        ('{"11-12": 5, "16-21": 4, "28-3', {11: 5, 12: 5, 16: 4, 21: 4, 28: 0}, "truncated"),
        ("{'3': '4', '7-8': 2}", {3: 4, 7: 2, 8: 2}, "not valid JSON"),
        ('{"[12]": 4}', {12: 4}, None),
        ('{"3": 9}', {3: 5}, "clipped"),
        ('{"2 - 4": 1, "6~7": 2, "9 to 10": 3}', {2: 1, 4: 1, 6: 2, 7: 2, 9: 3, 10: 3}, None),
    ],
)
def test_messy_outputs_are_recovered(text: str, expect: dict[int, int], issue_word: str | None) -> None:
    parsed = parse_gens_output(text, 40)
    assert parsed.scores is not None
    for index, score in expect.items():
        assert parsed.scores[index] == score, (index, parsed.scores[index])
    if issue_word is not None:
        assert parsed.repaired
        assert any(issue_word in issue for issue in parsed.issues), parsed.issues


def test_indices_past_the_window_are_dropped_or_clamped() -> None:
    parsed = parse_gens_output('{"70": 2, "45-60": 1, "3": 4}', 50)
    assert parsed.scores is not None
    assert len(parsed.scores) == 50
    assert parsed.scores[3] == 4
    assert parsed.scores[45:50] == [1.0] * 5  # range clipped to the last frame
    assert parsed.repaired
    assert any("'70'" in i and "past" in i for i in parsed.issues)
    strict = parse_gens_output('{"45-60": 1}', 50, clamp_ranges=False)
    assert strict.scores == [0.0] * 50


def test_overlapping_ranges_keep_the_highest_score() -> None:
    parsed = parse_gens_output('{"0-9": 2, "4-5": 5, "5-6": 3}', 10)
    assert parsed.scores == [2, 2, 2, 2, 5, 5, 3, 2, 2, 2]


@pytest.mark.parametrize("text", ["", "I cannot tell.", "[1, 2, 3]", '{"a": 1, "b": 2}', "{", "null", "{{{{"])
def test_unusable_output_leaves_the_window_unscored(text: str) -> None:
    parsed = parse_gens_output(text, 10)
    assert parsed.scores is None
    assert not parsed.ok
    assert parsed.repaired
    ws = parsed.to_window_scores(3, raw_output=text)
    assert ws.scores is None
    assert ws.window_index == 3
    assert ws.raw_output == text


def test_empty_object_means_nothing_relevant() -> None:
    parsed = parse_gens_output("{}", 5)
    assert parsed.scores == [0.0] * 5
    assert not parsed.repaired


def test_non_text_output_does_not_raise() -> None:
    parsed = parse_gens_output(None, 5)  # type: ignore[arg-type]
    assert parsed.scores is None


# ---------------------------------------------------------------- properties
entry = st.tuples(st.integers(0, 299), st.integers(0, 30), st.integers(1, 5)).map(lambda t: (t[0], t[0] + t[1], t[2]))


@given(st.lists(entry, max_size=25), st.integers(1, 300))
@settings(max_examples=200, deadline=None)
def test_roundtrip_of_wellformed_output(entries: list[tuple[int, int, int]], n: int) -> None:
    """Any well-formed GenS answer parses to exactly the scores it states (clipped to the window)."""
    text = format_gens_output(entries)
    parsed = parse_gens_output(text, n)
    assert parsed.scores is not None
    clipped = [(a, min(b, n - 1), s) for a, b, s in entries if a < n]
    # duplicate keys in `entries` collapse in a JSON object: the last one wins, like json.loads
    by_key: dict[str, tuple[int, int, int]] = {}
    for a, b, s in entries:
        by_key[str(a) if a == b else f"{a}-{b}"] = (a, b, s)
    clipped = [(a, min(b, n - 1), s) for a, b, s in by_key.values() if a < n]
    assert parsed.scores == expected_scores(clipped, n)
    in_window = all(b < n for _a, b, _s in by_key.values())
    assert parsed.repaired == (not in_window)


@given(st.lists(entry, min_size=1, max_size=20), st.data())
@settings(max_examples=200, deadline=None)
def test_truncated_output_keeps_only_complete_pairs(entries: list[tuple[int, int, int]], data: st.DataObject) -> None:
    """Output cut at any character yields a subset of the true scores, never a wrong score."""
    text = format_gens_output(entries)
    cut = data.draw(st.integers(0, len(text)))
    truth = parse_gens_output(text, 400).scores
    assert truth is not None
    parsed = parse_gens_output(text[:cut], 400)
    if parsed.scores is not None:
        for got, want in zip(parsed.scores, truth, strict=True):
            assert got in (0.0, want) or got <= want


@given(st.text(max_size=300), st.integers(1, 300))
@settings(max_examples=300, deadline=None)
def test_never_raises_on_arbitrary_text(text: str, n: int) -> None:
    parsed = parse_gens_output(text, n)
    if parsed.scores is not None:
        assert len(parsed.scores) == n
        assert all(0.0 <= s <= 5.0 for s in parsed.scores)


@given(
    st.lists(entry, min_size=1, max_size=10),
    st.sampled_from(["Here is the answer: ", "```json\n", "Relevant frames:\n", ""]),
    st.sampled_from(["", "\n```", "\nThese frames show the event.", " Done."]),
)
@settings(max_examples=100, deadline=None)
def test_wrapped_output_recovers_all_entries(entries: list[tuple[int, int, int]], before: str, after: str) -> None:
    text = format_gens_output(entries)
    truth = parse_gens_output(text, 400).scores
    assert parse_gens_output(before + text + after, 400).scores == truth


def test_format_gens_output_matches_official_style() -> None:
    assert json.loads(format_gens_output([(11, 12, 5), (33, 33, 2)])) == {"11-12": 5, "33": 2}
