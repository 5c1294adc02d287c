"""Fixtures for the report tests: a generated video, a sampler that scores what it sees, real selections,
an assistant's answer, and headless Chromium to look at the pages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gens_tools import FrameSelection, sample_frames
from gens_tools.assistants import Answer, TokenUsage
from gens_tools.samplers import FrameSampler, Window, WindowScores
from gens_tools.synthetic import make_test_video, read_time_code

from .screens import find_chromium

QUESTION = "When is the results slide on screen?"
DURATION = 80.0


class SeeingSampler(FrameSampler):
    """Scores each frame by the time painted into it, as a GenS that understood the question would: 12–18 s
    very relevant (5), 30–33 s relevant (3), 50–52 s barely (1). Window 2 fails; window 1's output is repaired.
    """

    name = "seeing"
    window_size = 16

    def score_window(self, window: Window, question: str) -> WindowScores:
        if window.index == 2:
            return WindowScores(window.index, None, issues=["output is not JSON"])
        scores = []
        for frame in window.frames:
            assert frame.image is not None
            t = read_time_code(frame.image)
            scores.append(5.0 if 12 <= t < 18 else 3.0 if 30 <= t < 33 else 1.0 if 50 <= t < 52 else 0.0)
        repaired = window.index == 1
        return WindowScores(
            window.index, scores, repaired=repaired, issues=["closed a truncated JSON object"] if repaired else []
        )


@pytest.fixture(scope="session")
def video_80s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """80 s at 5 fps, 320×180, every frame painted with its own time."""
    return make_test_video(
        tmp_path_factory.mktemp("report-videos") / "talk.mp4", duration=DURATION, fps=5.0, size=(320, 180)
    )


@pytest.fixture
def selection(video_80s: Path) -> FrameSelection:
    """K=14 frames of the 80 s video: 10 scored relevant (window 2, 32–47 s, unscored), 4 filling in."""
    return sample_frames(video_80s, QUESTION, sampler=SeeingSampler(), k=14)


def answer_citing(selection: FrameSelection, times: list[float], text: str) -> Answer:
    """An assistant's answer about ``selection`` that cites ``times`` (as an assistant returns it)."""
    return Answer(
        question=selection.question,
        text=text,
        citations=times,
        frames=list(selection.frames),
        model="gpt-4o-2024-08-06",
        provider="openai",
        usage=TokenUsage(input_tokens=4210, output_tokens=57),
    )


@pytest.fixture(scope="session")
def chromium() -> str:
    """Headless Chromium; skipped when missing outside CI (in CI, .ci/run installs it and it must run)."""
    path = find_chromium()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install -y chromium); the screenshot tests need it")
    return path
