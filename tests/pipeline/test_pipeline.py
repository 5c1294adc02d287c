"""sample_frames end to end on generated videos: the frames returned are the frames shown at their
timestamps, the window labels map back to the right times, and bad input fails clearly."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from gens_tools import (
    AccessDeniedError,
    AccessPolicy,
    FrameSampler,
    InvalidArgumentError,
    TimeRangeError,
    VideoNotFoundError,
    Window,
    WindowScores,
    asample_frames,
    sample_frames,
)
from gens_tools.progress import ProgressEvent
from gens_tools.samplers._parser import format_gens_output, parse_gens_output
from gens_tools.synthetic import read_time_code
from gens_tools.video._cache import FrameCache
from gens_tools.video._pyav import PyAVReader


class TimeCodeGenS(FrameSampler):
    """Stands in for GenS: reads each frame's painted time and answers in GenS's own text format, marking
    the frames inside ``relevant`` (seconds) with score 5, so the whole text→parser→merge→select path runs."""

    name: ClassVar[str] = "timecode-gens"

    def __init__(self, relevant: tuple[float, float], window_size: int = 8, answer: str | None = None) -> None:
        self.relevant = relevant
        self.window_size = window_size
        self.answer = answer
        self.windows_seen: list[list[float]] = []
        self.labels_seen: list[int] = []

    def score_window(self, window: Window, question: str) -> WindowScores:
        assert window.video_key
        times = [read_time_code(f.require_image()) for f in window.frames]
        self.windows_seen.append(times)
        lo, hi = self.relevant
        local = [(i, i, 5) for i, t in enumerate(times) if lo <= t < hi]
        text = self.answer if self.answer is not None else "```json\n" + format_gens_output(local) + "\n```"
        return parse_gens_output(text, len(window)).to_window_scores(window.index, raw_output=text)


class ExplodingSampler(FrameSampler):
    name: ClassVar[str] = "exploding"

    def score_window(self, window: Window, question: str) -> WindowScores:
        raise AssertionError("the sampler must not run")


def assert_frames_are_true(selection) -> None:  # type: ignore[no-untyped-def]
    """Each returned frame shows the time it claims (the painted code equals its real PTS)."""
    for frame in selection.frames:
        painted = read_time_code(frame.require_image())
        assert abs(painted - frame.timestamp) < 1e-3, (painted, frame.timestamp)


def test_uniform_sampling_returns_true_evenly_spread_frames(video_40s: Path) -> None:
    sel = sample_frames(video_40s, "What happens?", k=4)
    assert sel.sampler == "uniform"
    assert len(sel.frames) == 4
    assert [round(f.timestamp) for f in sel.frames] == [5, 15, 25, 35]
    assert all(f.score is None for f in sel.frames)
    assert_frames_are_true(sel)
    assert sel.duration == pytest.approx(40.0, abs=0.2)
    assert sel.n_candidates == 40


def test_generative_sampler_finds_the_relevant_span_across_windows(video_40s: Path) -> None:
    sampler = TimeCodeGenS(relevant=(21.0, 25.0), window_size=8)
    sel = sample_frames(video_40s, "When is the thing shown?", sampler=sampler, k=4)
    # 40 grid frames in windows of 8: local labels [0..7] each time, mapped back to global time.
    assert len(sampler.windows_seen) == 5
    assert [round(t) for t in sampler.windows_seen[2]] == list(range(16, 24))
    assert [round(f.timestamp) for f in sel.frames] == [21, 22, 23, 24]
    assert all(f.score == 5 for f in sel.frames)
    assert_frames_are_true(sel)
    assert [(s.start, s.end, s.score) for s in sel.spans] == [(21.0, 25.0, 5.0)]
    assert all(w.scored and w.repaired for w in sel.windows)  # code fences were repaired
    assert sel.windows[2].start == pytest.approx(16.0, abs=0.11)
    data = json.loads(sel.to_json())
    assert [round(f["timestamp"]) for f in data["frames"]] == [21, 22, 23, 24]


def test_fewer_relevant_frames_than_k_are_filled_uniformly(video_40s: Path) -> None:
    sel = sample_frames(video_40s, "q", sampler=TimeCodeGenS(relevant=(30.0, 31.0)), k=4)
    times = [round(f.timestamp) for f in sel.frames]
    assert 30 in times
    assert len(times) == 4
    assert [f.score for f in sel.frames if round(f.timestamp) == 30] == [5]
    assert sorted(times) == times
    origins = {round(f.timestamp): f.origin for f in sel.frames}
    assert origins.pop(30) == "scored"
    assert list(origins.values()) == ["fill"] * 3
    # The timeline holds what the sampler saw at every grid point: 40 points, one of them relevant.
    assert sel.timeline is not None
    assert len(sel.timeline) == 40
    assert sel.timeline.times[:3] == [0.0, 1.0, 2.0]
    assert [i for i, s in enumerate(sel.timeline.scores) if s] == [30]
    assert sel.k == 4


def test_unparseable_output_leaves_windows_unscored(video_40s: Path) -> None:
    sampler = TimeCodeGenS(relevant=(0, 0), answer="I'm sorry, I can't help with that.")
    sel = sample_frames(video_40s, "q", sampler=sampler, k=4)
    assert len(sel.frames) == 4
    assert not any(w.scored for w in sel.windows)
    assert all(f.score is None for f in sel.frames)  # unscored, not all-relevant
    assert [round(f.timestamp) for f in sel.frames] == [5, 15, 25, 35]


def test_min_gap_and_time_range(video_40s: Path) -> None:
    sampler = TimeCodeGenS(relevant=(10.0, 20.0))
    sel = sample_frames(video_40s, "q", sampler=sampler, k=3, min_gap=3.0, start=8, end=22)
    times = [round(f.timestamp) for f in sel.frames]
    assert times == [10, 14, 19]  # the relevant span 10-19 s: its middle, then as far apart as possible
    assert all(8 <= t < 22 for t in times)
    assert sel.start == 8
    assert sel.end == 22


def test_second_question_reuses_decoded_frames(video_40s: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = PyAVReader.iter_frames

    def counting(self, targets, *, max_side=None) -> Iterator:  # type: ignore[no-untyped-def]
        calls.append(len(targets))
        return original(self, targets, max_side=max_side)

    monkeypatch.setattr(PyAVReader, "iter_frames", counting)
    first = sample_frames(video_40s, "first question", sampler=TimeCodeGenS((5.0, 7.0)), k=2)
    assert calls == [40]
    second = sample_frames(video_40s, "second question", sampler=TimeCodeGenS((30.0, 32.0)), k=2)
    assert calls == [40], "the second question must not decode again"
    assert [round(f.timestamp) for f in first.frames] == [5, 6]
    assert [round(f.timestamp) for f in second.frames] == [30, 31]
    assert_frames_are_true(second)


def test_no_cache_leaves_nothing_behind(video_40s: Path, isolated_frame_cache: Path) -> None:
    sel = sample_frames(video_40s, "q", sampler=TimeCodeGenS((5.0, 7.0)), k=2, cache=False)
    assert [round(f.timestamp) for f in sel.frames] == [5, 6]
    assert_frames_are_true(sel)
    assert not any(isolated_frame_cache.rglob("*.jpg"))


def test_explicit_cache_object(video_40s: Path, tmp_path: Path) -> None:
    cache = FrameCache(tmp_path / "c")
    sample_frames(video_40s, "q", sampler=TimeCodeGenS((5.0, 7.0)), k=2, cache=cache)
    assert any((tmp_path / "c").rglob("*.jpg"))


def test_short_range_skips_the_sampler(video_40s: Path) -> None:
    sel = sample_frames(video_40s, "q", sampler=ExplodingSampler(), k=8, start=10, end=15)
    assert [round(f.timestamp) for f in sel.frames] == [10, 11, 12, 13, 14]
    assert_frames_are_true(sel)
    assert {f.origin for f in sel.frames} == {"all"}
    assert sel.timeline is not None
    assert sel.timeline.scores == (None,) * 5
    assert sel.timeline.start == 10.0


def test_progress_events(video_40s: Path) -> None:
    events: list[ProgressEvent] = []
    sample_frames(video_40s, "q", sampler=TimeCodeGenS((5.0, 7.0)), k=2, progress=events.append)
    decode = [e for e in events if e.stage == "decode"]
    score = [e for e in events if e.stage == "score"]
    assert decode[-1].done == decode[-1].total == 40
    assert [e.done for e in score] == [1, 2, 3, 4, 5]
    assert score[-1].total == 5


def test_async_form(video_40s: Path) -> None:
    sel = asyncio.run(asample_frames(video_40s, "q", k=2))
    assert [round(f.timestamp) for f in sel.frames] == [10, 30]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"question": ""}, InvalidArgumentError),
        ({"question": "   "}, InvalidArgumentError),
        ({"k": 0}, InvalidArgumentError),
        ({"k": -3}, InvalidArgumentError),
        ({"k": 2.5}, InvalidArgumentError),
        ({"start": 50}, TimeRangeError),
        ({"start": 10, "end": 5}, TimeRangeError),
        ({"end": 99}, TimeRangeError),
        ({"fps": 0}, InvalidArgumentError),
        ({"min_gap": -1}, InvalidArgumentError),
        ({"max_side": 4}, InvalidArgumentError),
        ({"sampler": "nope"}, InvalidArgumentError),
    ],
)
def test_bad_arguments_fail_clearly(video_40s: Path, kwargs: dict, error: type[Exception]) -> None:
    args = {"question": "what?", **kwargs}
    question = args.pop("question")
    with pytest.raises(error):
        sample_frames(video_40s, question, **args)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VideoNotFoundError, match=r"nope\.mp4"):
        sample_frames(tmp_path / "nope.mp4", "q")


def test_policy_is_enforced(video_40s: Path, tmp_path: Path) -> None:
    with pytest.raises(AccessDeniedError):
        sample_frames(video_40s, "q", policy=AccessPolicy.allow([tmp_path]))
    policy = AccessPolicy.allow([video_40s.parent], max_k=4, max_duration=20)
    with pytest.raises(InvalidArgumentError, match=r"allows \(4\)"):
        sample_frames(video_40s, "q", k=5, policy=policy)
    with pytest.raises(InvalidArgumentError, match="narrow"):
        sample_frames(video_40s, "q", k=2, policy=policy)
    sel = sample_frames(os.fspath(video_40s.name), "q", k=2, start=0, end=20, policy=policy)
    assert len(sel.frames) == 2


def test_frame_folder_with_a_given_frame_rate(tmp_path: Path) -> None:
    from gens_tools.synthetic import make_frame_folder

    folder = make_frame_folder(tmp_path / "frames", 40, fps=4.0, size=(128, 72))
    with pytest.raises(InvalidArgumentError):
        sample_frames(folder, "q", k=2)  # names carry frame numbers only: the rate is needed
    sel = sample_frames(folder, "q", k=2, frame_rate=4.0, sampler=TimeCodeGenS((7.0, 9.0)))
    assert [f.timestamp for f in sel.frames] == [7.0, 8.0]
    assert_frames_are_true(sel)
    assert sel.duration == pytest.approx(10.0, abs=0.3)
    # Another rate gives other timestamps, so it must not be served from the first request's cache entry.
    sel2 = sample_frames(folder, "q", k=2, frame_rate=2.0, sampler=TimeCodeGenS((7.0, 8.0)))
    assert sel2.duration == pytest.approx(20.0, abs=0.6)


def test_sampler_built_from_a_name_is_closed(video_40s: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gens_tools.samplers.uniform import UniformSampler

    closed: list[bool] = []
    monkeypatch.setattr(UniformSampler, "close", lambda self: closed.append(True))
    sample_frames(video_40s, "q", sampler="uniform", k=2)
    assert closed == [True]
    mine = UniformSampler()
    sample_frames(video_40s, "q", sampler=mine, k=2)
    assert closed == [True], "a sampler passed in belongs to the caller and stays open"
