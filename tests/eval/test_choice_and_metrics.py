"""Reading the option letter out of free-text answers; frame recall and precision against annotated spans."""

from __future__ import annotations

import pytest

from gens_tools.eval import frame_precision, frame_recall, parse_choice

OPTIONS = ("red", "dark red", "blue", "green")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("B", "B"),
        ("(C)", "C"),
        ("D.", "D"),
        ("**A**", "A"),
        ("B. dark red", "B"),
        ("(C) blue", "C"),
        ("C) blue", "C"),
        ("The answer is C.", "C"),
        ("Answer: (D)", "D"),
        ("A red block is visible at [00:01:44]. The answer is C.", "C"),
        ("A frame shows it, so the correct option is B", "B"),
        ("Option A shows a car, but the answer is D.", "D"),
        ("I think it is (B), the dark one.", "B"),
        ("It is green.", "D"),
        ("It is dark red.", "B"),  # "red" inside "dark red" does not count on its own
        ("E", None),  # past the options
        ("The answer is E.", None),
        ("I cannot tell from these frames.", None),
        ("red or blue", None),  # two options named
        ("", None),
        ("A", "A"),
    ],
)
def test_parse_choice(text: str, expected: str | None) -> None:
    assert parse_choice(text, OPTIONS) == expected


def test_parse_choice_letters_follow_the_option_count() -> None:
    assert parse_choice("E", ("a", "b", "c", "d", "e")) == "E"
    assert parse_choice("I. seventh", tuple("abcdefghij")) == "I"


def test_frame_recall_and_precision() -> None:
    spans = [(10.0, 14.0), (100.0, 104.0)]
    assert frame_recall([11.0, 50.0], spans) == 0.5
    assert frame_recall([11.0, 103.0], spans) == 1.0
    assert frame_recall([14.0, 99.0], spans) == 0.0  # ends are exclusive
    assert frame_precision([11.0, 50.0, 60.0, 103.0], spans) == 0.5
    assert frame_recall([1.0], []) is None
    assert frame_precision([], spans) is None


def test_short_spans_are_widened_to_one_grid_step() -> None:
    # A 0.3 s span between two 1 fps grid points: the grid point nearest its middle hits it.
    assert frame_recall([10.0], [(10.2, 10.5)]) == 1.0
    assert frame_recall([11.0], [(10.2, 10.5)]) == 0.0
    assert frame_recall([20.0], [(20.2, 20.5)], step=2.0) == 1.0
