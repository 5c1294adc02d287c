"""The one text a model reads about a frame selection (gens_tools.agent.describe_selection): times, scores, best
spans, and what went unscored."""

from __future__ import annotations

import re

from gens_tools import Frame, FrameSelection, ScoredSpan, WindowReport
from gens_tools.agent import describe_selection


def _selection(**overrides: object) -> FrameSelection:
    base: dict[str, object] = {
        "video": "/srv/videos/talk.mp4",
        "question": "When is the demo shown?",
        "frames": [
            Frame(46.0, score=5.0, index=46),
            Frame(47.0, score=5.0, index=47),
            Frame(3725.5, score=2.0, index=3725),
        ],
        "spans": [ScoredSpan(3720.0, 3730.0, 2.0), ScoredSpan(45.0, 81.0, 5.0), ScoredSpan(90.0, 92.0, 3.0)],
        "sampler": "gens-3b",
        "duration": 5400.0,
        "n_candidates": 5400,
        "windows": [WindowReport(0, 0.0, 255.0, 256, True), WindowReport(1, 256.0, 511.0, 256, True)],
    }
    base.update(overrides)
    return FrameSelection(**base)  # type: ignore[arg-type]


def test_lists_every_frame_with_seconds_clock_time_and_score() -> None:
    text = describe_selection(_selection(), video_label="talk.mp4")
    assert text.splitlines()[0] == 'Frames of talk.mp4 for "When is the demo shown?" (sampler: gens-3b).'
    assert "Searched 0.0-5400.0s of a 5400.0s video at 1 fps: 5400 candidate frames." in text
    assert "- 46.0s [00:00:46.0] score 5" in text
    assert "- 47.0s [00:00:47.0] score 5" in text
    assert "- 3725.5s [01:02:05.5] score 2" in text
    assert "/srv/videos" not in text  # the label the model used, not the resolved path


def test_spans_come_best_first_with_seconds_the_model_can_reuse() -> None:
    text = describe_selection(_selection())
    spans = re.findall(r"^- ([\d.]+)-([\d.]+)s \[[^\]]+\] score (\d+)$", text, flags=re.M)
    assert spans == [("45.0", "81.0", "5"), ("90.0", "92.0", "3"), ("3720.0", "3730.0", "2")]
    assert "call again with start and end" in text


def test_long_span_lists_are_cut_and_counted() -> None:
    many = [ScoredSpan(float(i * 10), float(i * 10 + 2), float(1 + i % 5)) for i in range(30)]
    text = describe_selection(_selection(spans=many), max_spans=4)
    listed = re.findall(r"^- [\d.]+-[\d.]+s ", text, flags=re.M)
    assert len(listed) == 4
    assert "(26 more spans not shown)" in text
    assert listed[0].startswith("- 40.0-42.0s")  # the first of the score-5 spans, in time order


def test_range_of_a_zoomed_call_is_stated() -> None:
    text = describe_selection(_selection(start=40.0, end=90.0, n_candidates=50))
    assert "Searched 40.0-90.0s of a 5400.0s video at 1 fps: 50 candidate frames." in text


def test_uniform_sampling_says_frames_are_not_scored() -> None:
    sel = _selection(
        sampler="uniform",
        frames=[Frame(10.0, index=10), Frame(30.0, index=30)],
        spans=[],
        windows=[WindowReport(0, 0.0, 59.0, 60, False)],
    )
    text = describe_selection(sel)
    assert "- 10.0s [00:00:10.0] unscored" in text
    assert "does not score frames: they are evenly spaced" in text
    assert "Relevant spans" not in text


def test_failed_windows_and_lost_spans_are_reported() -> None:
    windows = [
        WindowReport(0, 0.0, 255.0, 256, True),
        WindowReport(1, 256.0, 511.0, 256, False, repaired=True, issues=("bad json",)),
    ]
    text = describe_selection(_selection(windows=windows, lost_spans=[(300.0, 312.5)]))
    assert "Not scored: 1 of 2 windows" in text
    assert "Could not be decoded: 300.0-312.5s." in text
    none_scored = describe_selection(_selection(windows=[WindowReport(0, 0.0, 9.0, 10, False)], spans=[]))
    assert "could not score any of 1 windows" in none_scored


def test_short_range_returns_everything_unscored() -> None:
    sel = _selection(frames=[Frame(0.0, index=0), Frame(1.0, index=1)], spans=[], windows=[], n_candidates=2)
    assert "Every candidate frame in the range is returned" in describe_selection(sel)


def test_nothing_relevant_is_said_plainly() -> None:
    sel = _selection(spans=[], frames=[Frame(5.0, score=0.0, index=5)])
    text = describe_selection(sel)
    assert "No frame was scored as relevant." in text
    assert "- 5.0s [00:00:05.0] score 0" in text


def test_notices_are_told_to_the_model() -> None:
    notice = "GenS is not installed, so the frames are evenly spaced (uniform sampling)"
    lines = describe_selection(_selection(notices=[notice])).splitlines()
    assert lines[1] == f"Note: {notice}"
    assert lines[2].startswith("Searched ")
