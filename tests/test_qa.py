"""VideoQA end to end: a generated video, the uniform sampler, and the real SDKs against local fake APIs.

The fake servers read the time painted into every image and check it against the ``[hh:mm:ss]`` label the
image was sent under, so these tests show the whole chain — decode, select, plan, label, send — is right.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gens_tools.agent._access import AccessPolicy
from gens_tools.assistants import make_assistant
from gens_tools.errors import AccessDeniedError, InvalidArgumentError, TimeRangeError
from gens_tools.qa import VideoQA
from gens_tools.samplers.uniform import UniformSampler
from gens_tools.testing import FakeGemini, FakeOpenAI

KEY = "sk-qa-test-key-0123456789"


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    server = FakeOpenAI(api_key=KEY, check_time_codes=True)
    try:
        yield server
    finally:
        server.stop()


def test_ask_end_to_end_with_uniform_sampler(video_40s: Path, openai_server: FakeOpenAI) -> None:
    assistant = make_assistant("gpt-4o", api_key=KEY, base_url=openai_server.base_url, max_retries=0)
    with VideoQA("uniform", assistant, k=8) as qa:
        answer = qa.ask(video_40s, "What is shown on screen?")
    assert openai_server.violations == []  # every image showed the time of its label, in time order
    (req,) = openai_server.requests
    assert len(req.images) == 8
    times = [f.timestamp for f in answer.frames]
    assert times == sorted(times)
    assert len(times) == 8
    assert times[0] < 5
    assert times[-1] > 35
    assert answer.video == str(video_40s)
    assert answer.sampler == "uniform"
    assert answer.citations == [pytest.approx(times[0], abs=0.5), pytest.approx(times[-1], abs=0.5)]
    assert answer.usage.input_tokens == req.prompt_tokens
    assert {"sample_total", "plan", "request", "total"} <= set(answer.timings)
    assert answer.timings["total"] >= answer.timings["request"]


def test_k_none_lets_the_planner_choose(video_40s: Path, openai_server: FakeOpenAI) -> None:
    assistant = make_assistant(
        "gpt-4o", api_key=KEY, base_url=openai_server.base_url, budget={"context_window": 9000, "output_reserve": 1000}
    )
    qa = VideoQA(UniformSampler(), assistant)
    k = qa.choose_k("What is shown?")
    assert 1 <= k < 32  # fewer than gpt-4o's default of 32: the overridden context would not hold them
    answer = qa.ask(video_40s, "What is shown?", start=10, end=30)
    assert len(answer.frames) == min(k, 20)
    assert all(10 <= f.timestamp < 30 for f in answer.frames)
    assert openai_server.requests[0].prompt_tokens <= 8000
    assert openai_server.violations == []


def test_policy_and_arguments_are_checked_before_any_request(
    video_40s: Path, openai_server: FakeOpenAI, tmp_path: Path
) -> None:
    assistant = make_assistant("gpt-4o", api_key=KEY, base_url=openai_server.base_url)
    qa = VideoQA("uniform", assistant, policy=AccessPolicy.allow([tmp_path], max_k=4))
    with pytest.raises(AccessDeniedError):
        qa.ask(video_40s, "What?")
    open_qa = VideoQA("uniform", assistant)
    with pytest.raises(TimeRangeError):
        open_qa.ask(video_40s, "What?", start=50)
    with pytest.raises(InvalidArgumentError):
        open_qa.ask(video_40s, "  ")
    with pytest.raises(InvalidArgumentError):
        VideoQA("uniform", assistant, k=0)
    with pytest.raises(InvalidArgumentError):
        VideoQA("uniform", object())  # type: ignore[arg-type]
    assert openai_server.requests == []
    assert VideoQA("uniform", assistant, policy=AccessPolicy.allow([tmp_path], max_k=4)).choose_k("q") == 4


@pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning")
async def test_aask_with_gemini(video_40s: Path) -> None:
    server = FakeGemini(api_key=KEY, check_time_codes=True)
    try:
        assistant = make_assistant("gemini-2.5-flash", api_key=KEY, base_url=server.base_url)
        answer = await VideoQA("uniform", assistant, k=5).aask(video_40s, "What is shown?")
    finally:
        server.stop()
    assert server.violations == []
    assert len(answer.frames) == 5
    assert answer.provider == "gemini"
    assert answer.usage.input_tokens == server.requests[0].prompt_tokens
