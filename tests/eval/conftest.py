"""A small needle benchmark (generated once per session) and a fake GPT-4o that answers from the frames."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gens_tools.synthetic import make_needle_benchmark, needle_answer
from gens_tools.testing import FakeOpenAI


@pytest.fixture(scope="session")
def needles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """items.jsonl of 2 videos (240 s and 660 s, 2 needles each: 6 questions), videos beside it."""
    return make_needle_benchmark(tmp_path_factory.mktemp("needles"), videos=2, durations=(240.0, 660.0), seed=3)


@pytest.fixture
def fake_gpt() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(answer=needle_answer, check_time_codes=True)
    yield server
    server.stop()
