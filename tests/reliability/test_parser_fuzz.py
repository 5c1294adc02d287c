"""Property-based fuzzing of the GenS output parser with hostile outputs: huge numbers, infinities, NaN, giant
ranges, deep nesting, wrong types, broken JSON and prose around it.

The default run checks a few hundred examples per property; ``python -m pytest -m fuzz tests/reliability``
checks 20,000 (a few minutes each).
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gens_tools.samplers._parser import MAX_ISSUES, MAX_SCORE, parse_gens_output

#: Examples per property in the default run (CI) and in the marked fuzzing run.
CI_EXAMPLES = 300
FUZZ_EXAMPLES = 20_000
#: A generous bound per output that catches hangs and quadratic blow-ups (the machine may be busy), not a speed
#: assertion.
SECONDS_PER_OUTPUT = 5.0

huge_int = st.one_of(
    st.integers(-(10**6), 10**6),
    st.integers(-(10**400), 10**400),
    st.integers(0, 9).map(lambda d: int("9" * (300 + 300 * d))),  # up to 3,000 digits
)
number_text = st.one_of(
    huge_int.map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["inf", "-inf", "nan", "NaN", "Infinity", "1e309", "1e-400", "0x1F", "1_000", "٣", "１２"]),
)
key = st.one_of(
    number_text,
    st.tuples(number_text, st.sampled_from(["-", "–", " to ", "~", ":", "--"]), number_text).map("".join),
    st.tuples(huge_int, huge_int).map(lambda ab: f"{ab[0]}s-{ab[1]}s"),
    st.tuples(huge_int, huge_int).map(lambda ab: f"[{ab[0]}]-[{ab[1]}]"),
    st.text(max_size=80),
)
leaf = st.one_of(
    huge_int,
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=40),
    number_text,
)
# Nested values two levels deep (deeper nesting comes from the wrapper in hostile_output); built without
# st.recursive, whose leaf budget makes long runs replay inconsistently.
_nested = st.one_of(leaf, st.lists(leaf, max_size=4), st.dictionaries(st.text(max_size=8), leaf, max_size=4))
value = st.one_of(_nested, st.lists(_nested, max_size=3), st.dictionaries(st.text(max_size=8), _nested, max_size=3))


def _json(v: Any) -> str:
    try:
        return json.dumps(v)
    except ValueError:  # an int over Python's digit limit for str()
        return "9" * 5000


@st.composite
def hostile_output(draw: st.DrawFn) -> str:
    pairs = draw(st.lists(st.tuples(key, value), max_size=30))
    quote = draw(st.sampled_from(['"', "'", ""]))
    body = ", ".join(f"{quote}{k}{quote}: {_json(v)}" for k, v in pairs)
    text = "{" + body + "}"
    depth = draw(st.sampled_from([0] * 9 + [50, 2_000, 20_000]))
    if depth:
        text = "{" + '"1": ' + "[" * depth + text + "]" * draw(st.integers(0, depth)) + "}"
    if draw(st.booleans()):
        text = (
            draw(st.sampled_from(["```json\n", "```", "Here:", "Sure!\n\n"]))
            + text
            + draw(st.sampled_from(["\n```", "", " hope this helps", "```\n```{"]))
        )
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, max(0, len(text))))]
    if draw(st.integers(0, 19)) == 0:
        text = text * draw(st.integers(2, 2_000))  # long repeated output
    return text


def check(text: str, n: int) -> None:
    t0 = time.perf_counter()
    parsed = parse_gens_output(text, n)
    assert time.perf_counter() - t0 < SECONDS_PER_OUTPUT
    assert len(parsed.issues) <= MAX_ISSUES + 1
    assert parsed.repaired == bool(parsed.issues) or parsed.scores is None
    if parsed.scores is None:
        assert parsed.issues
        return
    assert len(parsed.scores) == n
    assert all(math.isfinite(s) and 0.0 <= s <= MAX_SCORE for s in parsed.scores)
    for first, last, score in parsed.entries:
        assert 0 <= first <= last < n
        assert 0.0 <= score <= MAX_SCORE
        assert all(parsed.scores[i] >= score for i in range(first, last + 1))


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )


frames = st.integers(1, 512)


@given(hostile_output(), frames)
@_settings(CI_EXAMPLES)
def test_hostile_outputs(text: str, n: int) -> None:
    check(text, n)


@given(st.text(max_size=2_000), frames)
@_settings(CI_EXAMPLES)
def test_arbitrary_text(text: str, n: int) -> None:
    check(text, n)


@pytest.mark.fuzz
@pytest.mark.timeout(3600)  # minutes, not the suite's per-test bound
@given(hostile_output(), frames)
@_settings(FUZZ_EXAMPLES)
def test_hostile_outputs_long_run(text: str, n: int) -> None:
    check(text, n)


@pytest.mark.fuzz
@pytest.mark.timeout(3600)
@given(st.text(max_size=2_000), frames)
@_settings(FUZZ_EXAMPLES)
def test_arbitrary_text_long_run(text: str, n: int) -> None:
    check(text, n)
