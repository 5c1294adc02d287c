"""The hybrid (coarse-to-fine) strategy on a generated 10-minute video: a coarse model ranks every frame, the
best ``pool`` go to GenS in one window labelled [0]…, and GenS's labels map back to the frames' real times."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from gens_tools import FrameSampler, InvalidArgumentError, Window, WindowScores, sample_frames
from gens_tools.samplers._parser import format_gens_output, parse_gens_output
from gens_tools.samplers.hybrid import HybridSampler
from gens_tools.synthetic import make_test_video, read_time_code

EVENT = (400.0, 410.0)  # seconds where the "answer" is


@pytest.fixture(scope="module")
def video_10min(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_video(tmp_path_factory.mktemp("hybrid") / "ten.mp4", duration=600.0, fps=1.0, size=(96, 54))


class Closeness(FrameSampler):
    """A stand-in for CLIP: frames score higher the nearer their painted time is to the event."""

    name: ClassVar[str] = "closeness"

    def __init__(self) -> None:
        self.window_size = 128
        self.frames_seen = 0

    def score_window(self, window: Window, question: str) -> WindowScores:
        self.frames_seen += len(window)
        times = [read_time_code(f.require_image()) for f in window.frames]
        return WindowScores(window.index, [max(0.0, 5.0 - abs(t - 405.0) / 60.0) for t in times])


class ReadsTimes(FrameSampler):
    """A stand-in for GenS: reads each frame's painted time, answers in GenS's format with local labels."""

    name: ClassVar[str] = "reads-times"

    def __init__(self, answer: str | None = None) -> None:
        self.window_size = 256
        self.calls: list[list[float]] = []
        self.answer = answer

    def score_window(self, window: Window, question: str) -> WindowScores:
        times = [read_time_code(f.require_image()) for f in window.frames]
        self.calls.append(times)
        text = self.answer or format_gens_output([(i, i, 5) for i, t in enumerate(times) if EVENT[0] <= t < EVENT[1]])
        return parse_gens_output(text, len(window)).to_window_scores(window.index, raw_output=text)


def test_gens_sees_only_the_best_frames_in_time_order_and_finds_the_event(video_10min: Path) -> None:
    coarse, fine = Closeness(), ReadsTimes()
    selection = sample_frames(video_10min, "When is the event?", sampler=HybridSampler(fine, coarse, pool=64), k=6)
    assert coarse.frames_seen == 600  # the coarse model looks at every frame
    assert len(fine.calls) == 1  # GenS runs once, on the pool
    passed = fine.calls[0]
    assert len(passed) == 64
    assert passed == sorted(passed)  # in time order
    assert all(abs(t - 405.0) <= 40 for t in passed)  # the 64 frames nearest the event
    chosen = [round(f.timestamp) for f in selection.frames]
    assert chosen == sorted(chosen)
    assert sum(EVENT[0] <= t < EVENT[1] for t in chosen) == 6
    for frame in selection.frames:  # each returned picture is the frame at its timestamp
        assert abs(read_time_code(frame.require_image()) - frame.timestamp) < 0.01
        assert frame.score == 5.0
    # What the coarse stage saw is in the selection's timeline, for the report.
    assert selection.sampler == "hybrid(closeness→reads-times)"
    timeline = selection.timeline
    assert timeline is not None
    assert timeline.coarse_scores is not None
    assert timeline.passed is not None
    assert sum(timeline.passed) == 64
    assert [round(t) for t, p in zip(timeline.times, timeline.passed, strict=True) if p] == [round(t) for t in passed]
    assert timeline.coarse_scores[405] == max(s for s in timeline.coarse_scores if s is not None)


def test_a_label_range_spans_passed_frames_not_seconds(video_10min: Path) -> None:
    # Frames passed on are every other second near 300 s; GenS says "11-12": the 11th and 12th passed frames.
    class EveryOther(Closeness):
        def score_window(self, window: Window, question: str) -> WindowScores:
            times = [read_time_code(f.require_image()) for f in window.frames]
            return WindowScores(window.index, [5.0 if 280 <= t < 320 and round(t) % 2 == 0 else 0.1 for t in times])

    fine = ReadsTimes(answer='{"11-12": 5}')
    sampler = HybridSampler(fine, EveryOther(), pool=20)
    results = list(
        sampler.score_windows([Window(0, frames, video_key="v") for frames in [_frames(video_10min, 260, 340)]], "q")
    )
    passed_times = fine.calls[0]
    assert passed_times == [float(t) for t in range(280, 320, 2)]
    (res,) = results
    assert res.scores is not None
    assert res.passed is not None
    assert res.coarse is not None
    relevant = [260 + i for i, s in enumerate(res.scores) if s]
    assert relevant == [302, 304]  # labels 11 and 12 of the pool, not 11-12 s, not the odd second between
    assert res.scores[303 - 260] == 0.0
    assert sum(res.passed) == 20


def _frames(video: Path, start: int, stop: int) -> list:  # type: ignore[type-arg]
    from gens_tools.video import open_video

    with open_video(video) as reader:
        return list(reader.iter_frames([float(t) for t in range(start, stop)], max_side=96))


def test_unreadable_gens_output_leaves_every_window_unscored(video_10min: Path) -> None:
    sampler = HybridSampler(ReadsTimes(answer="I cannot tell."), Closeness(), pool=32)
    selection = sample_frames(video_10min, "q", sampler=sampler, k=4)
    assert selection.windows
    assert not any(w.scored for w in selection.windows)
    assert {f.origin for f in selection.frames} == {"fill"}


def test_pool_must_fit_one_gens_window() -> None:
    with pytest.raises(InvalidArgumentError, match="pool"):
        HybridSampler(ReadsTimes(), Closeness(), pool=257)
    with pytest.raises(InvalidArgumentError, match="fine must be a FrameSampler"):
        HybridSampler("gens", Closeness())  # type: ignore[arg-type]
