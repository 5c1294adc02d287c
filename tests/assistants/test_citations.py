"""Reading cited timestamps from answer text, and pairing them with the frames sent."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gens_tools.assistants._citations import find_citations, match_citations, parse_citations
from gens_tools.frames import Frame, format_timestamp


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("The car appears at [00:12:31].", [751.0]),
        ("See 12:31 and 1:02:03.5.", [751.0, 3723.5]),
        ("Between [00:12:31–00:12:40] the door opens", [751.0, 760.0]),
        ("At 0:05, then 00:00:05 again, then [01:00:00]", [5.0, 3600.0]),
        ("timestamps (00:01:02.250)", [62.25]),
        ("first [00:00:07], last [00:59:59]", [7.0, 3599.0]),
    ],
)
def test_cited_times_are_read_in_order_without_duplicates(text: str, seconds: list[float]) -> None:
    assert parse_citations(text) == seconds


@pytest.mark.parametrize(
    "text",
    [
        "a 3:1 ratio",  # seconds need two digits
        "version 1.2.3 and 10.5",
        "12:61 is not a time",  # seconds >= 60
        "1:75:00 neither",  # minutes >= 60
        "no times here",
        "the score was 2:10:5",  # trailing single digit
        "ip 10:20:30:40",  # a longer colon run is not a time
    ],
)
def test_things_that_are_not_times_are_ignored(text: str) -> None:
    assert parse_citations(text) == []


@given(st.floats(min_value=0, max_value=86_000, allow_nan=False).map(lambda x: round(x, 1)))
def test_every_formatted_timestamp_reads_back(seconds: float) -> None:
    label = format_timestamp(seconds)
    assert parse_citations(f"It happens at [{label}], clearly.") == [pytest.approx(seconds, abs=1e-6)]
    assert find_citations(label)[0].text == label


def test_citations_match_the_nearest_sent_frame() -> None:
    frames = [Frame(10.0), Frame(20.0), Frame(30.4)]
    cited, unmatched = match_citations([30.0, 10.0, 10.2, 99.0], frames)
    assert [f.timestamp for f in cited] == [10.0, 30.4]
    assert unmatched == [99.0]
