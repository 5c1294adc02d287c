"""Fixtures for the assistant tests: local fake OpenAI and Gemini servers, frame selections whose images
carry their own painted time, and an environment with no real keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gens_tools.frames import Frame, FrameSelection
from gens_tools.synthetic import paint_time_code
from gens_tools.testing import FakeGemini, FakeOpenAI

OPENAI_KEY = "sk-test-5ecretOpenAIKey-0123456789abcdef"
GEMINI_KEY = "AIzaTest-5ecretGeminiKey-0123456789abcdef"
KEY_ENVS = (
    "OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "OPENAI_BASE_URL",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
)


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's real keys or endpoints."""
    for name in KEY_ENVS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(api_key=OPENAI_KEY, check_time_codes=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def gemini_server() -> Iterator[FakeGemini]:
    server = FakeGemini(api_key=GEMINI_KEY, check_time_codes=True)
    try:
        yield server
    finally:
        server.stop()


def make_selection(
    times: list[float],
    scores: list[float | None] | None = None,
    *,
    size: tuple[int, int] = (640, 360),
    question: str = "When does the red car appear?",
) -> FrameSelection:
    """A selection of frames painted with their own time codes (the fake servers check them)."""
    scores = scores if scores is not None else [None] * len(times)
    frames = [
        Frame(timestamp=t, image=paint_time_code(t, size), score=s, index=i)
        for i, (t, s) in enumerate(zip(times, scores, strict=True))
    ]
    return FrameSelection(video="clip.mp4", question=question, frames=frames, sampler="test", duration=3600.0)


@pytest.fixture
def selection16() -> FrameSelection:
    """16 frames of 640×360 over an hour, with a few high scores."""
    times = [float(t) for t in range(5, 3600, 225)]
    scores: list[float | None] = [5.0 if i in (3, 4, 11) else 1.0 for i in range(len(times))]
    return make_selection(times, scores)
