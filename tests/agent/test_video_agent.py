"""The multi-step VideoAgent driven through the real openai and google-genai SDKs against the local fake servers,
scripted for one, two and three steps, a model that never becomes confident, and malformed replies.

Every image a fake server receives is decoded here and its painted time read back, so the tests check that each
step shows the model the real frames of the range it asked for (and the server checks the label beside each).
"""

from __future__ import annotations

import base64
import io
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from gens_tools import AccessPolicy
from gens_tools.agent import AGENT_REPLY_SCHEMA, AgentBudget, AgentResult, AgentStep, VideoAgent
from gens_tools.assistants import Assistant, FramePlan, GeminiAssistant, OpenAIAssistant, Reply, TokenUsage
from gens_tools.errors import AccessDeniedError, InvalidArgumentError
from gens_tools.synthetic import read_time_code
from gens_tools.testing import FakeGemini, FakeOpenAI, Recorded

KEY = "sk-test-agent-0123456789"


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(api_key=KEY, check_time_codes=True)
    yield server
    server.stop()


@pytest.fixture
def gemini_server() -> Iterator[FakeGemini]:
    server = FakeGemini(api_key=KEY, check_time_codes=True)
    yield server
    server.stop()


def _gpt(server: FakeOpenAI, **options: Any) -> OpenAIAssistant:
    return OpenAIAssistant("gpt-4o", api_key=KEY, base_url=server.base_url, max_retries=0, **options)


def _gemini(server: FakeGemini) -> GeminiAssistant:
    return GeminiAssistant("gemini-2.5-flash", api_key=KEY, base_url=server.base_url, max_retries=0)


def _reply(answer: str, confidence: Any, look_next: Any = None) -> str:
    return json.dumps({"answer": answer, "confidence": confidence, "look_next": look_next})


def shown(rec: Recorded) -> list[float]:
    """The times painted into the images of a request, in the order sent (both providers' shapes)."""
    body = rec.body
    if "messages" in body:
        parts = body["messages"][-1]["content"]
        data = [p["image_url"]["url"].split(",", 1)[1] for p in parts if p["type"] == "image_url"]
    else:
        parts = body["contents"][-1]["parts"]
        data = [p["inlineData"]["data"] for p in parts if "inlineData" in p]
    times = []
    for item in data:
        raw = base64.b64decode(item + "=" * (-len(item) % 4), altchars=b"-_")  # Gemini: URL-safe, unpadded
        with Image.open(io.BytesIO(raw)) as img:
            times.append(round(read_time_code(img.convert("RGB")), 2))
    return times


def prompt_of(rec: Recorded) -> str:
    """The text that closes the request's user message (the question and the agent's instructions)."""
    return rec.texts[-1]


def _agent(assistant: Assistant, sampler: Any, **options: Any) -> VideoAgent:
    options.setdefault("k", 6)
    return VideoAgent(assistant, sampler, cache=False, **options)


# --- one, two and three steps ---------------------------------------------------------------------------------


def test_a_confident_first_answer_takes_one_step(openai_server: FakeOpenAI, video: Path, sampler: Any) -> None:
    openai_server.script(_reply("The ball bounces at [00:00:04] and [00:00:05].", 0.95))
    agent = _agent(_gpt(openai_server), sampler)
    seen: list[AgentStep] = []
    result = agent.ask(video, "When does the ball bounce?", on_step=seen.append)

    assert result.confident
    assert result.stopped == "confident"
    assert result.answer == "The ball bounces at [00:00:04] and [00:00:05]."
    assert result.cited == [4.0, 5.0]
    assert result.stop_message == "confident (0.95 >= 0.8) after 1 step"
    assert result.text == result.answer
    assert [s.index for s in seen] == [1]
    assert seen[0] is result.steps[0]
    (rec,) = openai_server.requests
    assert openai_server.violations == []
    # structured output, as OpenAI's strict json_schema (the fake checks the strict rules)
    assert rec.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "video_agent_step", "schema": AGENT_REPLY_SCHEMA.as_dict(), "strict": True},
    }
    step = result.steps[0]
    assert step.reply_format == "json"
    assert step.start is None
    assert step.end is None
    assert step.fps == 1.0
    assert [f.timestamp for f in step.frames] == shown(rec)
    assert {4.0, 5.0, 12.0, 13.0} <= {f.timestamp for f in step.frames}  # the sampler's hot seconds were chosen
    assert step.input_tokens == rec.prompt_tokens
    assert step.output_tokens
    assert "step 1 of at most 3" in prompt_of(rec)


def test_two_steps_zoom_into_the_range_the_model_names(openai_server: FakeOpenAI, video: Path, sampler: Any) -> None:
    openai_server.script(
        _reply(
            "Something moves around [00:00:04].",
            0.4,
            {"question": "Does the ball touch the floor?", "start": 3, "end": 7},
        ),
        _reply("It touches the floor at [00:00:04.5].", 0.9),
    )
    result = _agent(_gpt(openai_server), sampler).ask(video, "When does the ball bounce?")

    assert openai_server.violations == []
    assert [s.index for s in result.steps] == [1, 2]
    first, second = result.steps
    assert first.look_next is not None
    assert first.look_next.start == 3
    assert (second.start, second.end, second.fps) == (3.0, 7.0, 2.0)
    assert second.question == "Does the ball touch the floor?"
    # the second request shows the real frames of 3-7 s on a 0.5 s grid, plus the frame step 1 cited (4 s)
    rec = openai_server.requests[1]
    times = shown(rec)
    sampled = [f.timestamp for f in second.frames if not f.carried]
    assert all(3.0 <= t < 7.0 and (t * 2).is_integer() for t in sampled)
    assert any(not t.is_integer() for t in sampled)  # finer than the first step's 1 s grid
    assert times == sorted(f.timestamp for f in second.frames)
    prompt = prompt_of(rec)
    assert "step 2 of at most 3" in prompt
    assert "for: Does the ball touch the floor?" in prompt
    assert "Earlier steps:" in prompt
    assert "Something moves around [00:00:04]." in prompt
    assert result.confident
    assert result.cited == [4.5]
    data = json.loads(json.dumps(result.to_dict()))
    assert [s["fps"] for s in data["steps"]] == [1.0, 2.0]
    assert data["steps"][1]["frames"][0].keys() == {"timestamp", "label", "score", "origin", "sent", "carried"}
    assert data["tokens"] == sum(s["tokens"]["total"] for s in data["steps"]) > 0


def test_three_steps_on_gemini_look_ever_closer(gemini_server: FakeGemini, video: Path, sampler: Any) -> None:
    gemini_server.script(
        _reply("Maybe near [00:00:12].", 0.3, {"question": "", "start": 10, "end": 14}),
        _reply("Between [00:00:12] and [00:00:13].", 0.5, {"question": "", "start": 10, "end": 14}),
        _reply("At [00:00:12.75].", 0.85),
    )
    result = _agent(_gemini(gemini_server), sampler).ask(video, "When does the second event happen?")

    assert gemini_server.violations == []
    assert [(s.start, s.end, s.fps) for s in result.steps] == [(None, None, 1.0), (10.0, 14.0, 2.0), (10.0, 14.0, 4.0)]
    assert "10.0-14.0s was looked at at 2 fps: now at 4 fps" in result.steps[2].notes
    # the video has a frame every 0.1 s: a 4 fps grid shows frames closer together than the 2 fps one could
    third = sorted(f.timestamp for f in result.steps[2].frames if not f.carried)
    assert all(10.0 <= t < 14.0 for t in third)
    assert min(b - a for a, b in itertools.pairwise(third)) < 0.5
    assert shown(gemini_server.requests[2]) == sorted(f.timestamp for f in result.steps[2].frames)
    for rec in gemini_server.requests:
        config = rec.body["generationConfig"]
        assert config["responseMimeType"] == "application/json"
        assert config["responseJsonSchema"] == AGENT_REPLY_SCHEMA.as_dict()
    assert result.confident
    assert result.stop_message == "confident (0.85 >= 0.8) after 3 steps"
    assert result.cited == [12.75]


# --- budgets ------------------------------------------------------------------------------------------------


def _unsure(rec: Recorded) -> str:
    times = shown(rec)
    return _reply(f"Perhaps [00:00:{int(times[0]):02d}].", 0.2, {"question": "", "start": 2, "end": 9})


def test_a_model_that_never_becomes_confident_stops_at_the_step_budget(
    openai_server: FakeOpenAI, video: Path, sampler: Any
) -> None:
    openai_server.script(_unsure, _unsure, _unsure, _unsure)
    result = _agent(_gpt(openai_server), sampler, budget=AgentBudget(max_steps=3)).ask(video, "When?")

    assert len(openai_server.requests) == 3
    assert not result.confident
    assert result.stopped == "steps"
    assert result.stop_message == "not confident (0.2 < 0.8) after 3 steps: the step budget (3) is spent"
    assert result.text.endswith(
        "(Not confident: not confident (0.2 < 0.8) after 3 steps: the step budget (3) is spent.)"
    )
    assert "This is the last step" in prompt_of(openai_server.requests[2])
    assert "set look_next to what would settle it" in prompt_of(openai_server.requests[1])


def test_frame_token_and_time_budgets_stop_the_run(openai_server: FakeOpenAI, video: Path, sampler: Any) -> None:
    openai_server.script(*[_unsure] * 6)
    by_frames = _agent(_gpt(openai_server), sampler, budget={"max_steps": 5, "max_frames": 9}).ask(video, "When?")
    assert by_frames.stopped == "frames"
    assert by_frames.frames_sent <= 9
    assert len(by_frames.steps) == 2  # 6 frames, then the 3 left

    openai_server.script(*[_unsure] * 3)
    first_tokens = openai_server.requests[0].prompt_tokens
    by_tokens = _agent(_gpt(openai_server), sampler, budget={"max_steps": 5, "max_tokens": first_tokens + 100}).ask(
        video, "When?"
    )
    assert by_tokens.stopped == "tokens"
    assert len(by_tokens.steps) == 1
    assert "leaves no room for another step" in by_tokens.stop_message

    by_time = _agent(_gpt(openai_server), sampler, budget={"max_steps": 5, "max_seconds": 0.001}).ask(video, "When?")
    assert by_time.stopped == "seconds"
    assert len(by_time.steps) == 1


# --- malformed replies --------------------------------------------------------------------------------------


def test_malformed_look_next_ranges_are_repaired_and_noted(
    openai_server: FakeOpenAI, video: Path, sampler: Any
) -> None:
    openai_server.script(
        _reply("Unsure.", 0.1, {"question": "the bounce", "start": "0:09", "end": "0:05"}),  # reversed, mm:ss
        _reply("Unsure.", 0.1, {"question": "the bounce", "start": 18, "end": 95}),  # runs past the end
        _reply("Unsure.", 0.1, {"question": "the bounce", "start": 300, "end": 400}),  # outside the video
        _reply("Found it at [00:00:05].", 0.9),
    )
    result = _agent(_gpt(openai_server), sampler, budget={"max_steps": 4}).ask(video, "When does it bounce?")

    assert openai_server.violations == []
    assert [(s.start, s.end) for s in result.steps] == [(None, None), (5.0, 9.0), (16.0, 20.0), (None, None)]
    assert result.steps[1].notes == ["the range 9-5s was reversed: swapped"]
    assert result.steps[2].notes == [
        "the range 18-95s was cut to 18-20s (the video)",
        "the range 18-20s is shorter than 4s: widened to 16-20s",
    ]
    assert result.steps[3].notes == ["the range 300-400s lies outside the video (0-20s): looking at all of it"]
    third = shown(openai_server.requests[2])
    assert third == [f.timestamp for f in result.steps[2].frames]
    assert len(third) == 6
    assert all(16.0 <= t < 20.0 and (t * 2).is_integer() for t in third)
    assert result.confident


def test_unreadable_replies_fall_back_and_say_so(openai_server: FakeOpenAI, video: Path, sampler: Any) -> None:
    openai_server.script(
        # prose around a fenced JSON block, a percentage, a time that is not one
        'Here is my reply:\n```json\n{"answer": "Around [00:00:12].", "confidence": "40%", '
        '"look_next": {"question": "", "start": "soon", "end": null}}\n```',
        "I cannot tell from these frames.",  # no JSON at all
        "Still nothing.",
    )
    result = _agent(_gpt(openai_server), sampler).ask(video, "When is the second event?")

    first, second, third = result.steps
    assert first.reply_format == "lenient"
    assert first.confidence == 0.4
    assert "reply: look_next.start 'soon' is not a time; ignored" in first.notes
    # nothing usable to look at: the agent zooms into the best-scored span of the first look (4-6 s, score 5),
    # widened to the shortest range it samples (4 s), then into the next best one (13-14 s, score 4)
    assert (second.start, second.end, second.fps) == (3.0, 7.0, 2.0)
    assert second.notes == [
        "the assistant named nothing to look at next: looking closer at the best-scored span not looked at yet, "
        "4.0-6.0s",
        "the range 4-6s is shorter than 4s: widened to 3-7s",
        "reply: the reply was not JSON: its text is taken as the answer",
    ]
    assert second.reply_format == "text"
    assert second.confidence is None
    assert second.answer == "I cannot tell from these frames."
    assert (third.start, third.end) == (11.5, 15.5)
    assert result.stopped == "steps"
    assert openai_server.violations == []


def test_no_reply_and_nothing_scored_stops(openai_server: FakeOpenAI, video: Path) -> None:
    openai_server.script("I cannot tell from these frames.")
    result = _agent(_gpt(openai_server), "uniform").ask(video, "When is the second event?")
    assert len(result.steps) == 1
    assert result.stopped == "no_next_step"
    assert result.stop_message == (
        "not confident (unknown < 0.8) after 1 step: the assistant was unsure but its reply could not be read to "
        "look at next"
    )


def test_asking_again_for_the_finest_look_stops(openai_server: FakeOpenAI, video: Path, sampler: Any) -> None:
    again = _reply("Unsure.", 0.3, {"question": "", "start": 4, "end": 8})
    openai_server.script(again, again, again, again)
    result = _agent(_gpt(openai_server), sampler, budget={"max_steps": 6}, max_fps=4.0).ask(video, "When?")
    assert [s.fps for s in result.steps] == [1.0, 2.0, 4.0]
    assert result.stopped == "repeated"
    assert "asked again for 4.0-8.0s, already looked at at 4 fps" in result.stop_message


# --- providers without structured output, the Responses API, the policy ------------------------------------


class ScriptedAssistant(Assistant):
    """A provider without structured output: records the prompt it was given, answers from a script."""

    provider = "scripted"

    def __init__(self, replies: list[str]) -> None:
        super().__init__("gpt-4o")
        self.replies = replies
        self.prompts: list[str] = []

    def _request(self, plan: FramePlan, question: str) -> Reply:
        self.prompts.append(question)
        return Reply(text=self.replies.pop(0), usage=TokenUsage(input_tokens=plan.input_tokens, output_tokens=9))

    async def _arequest(self, plan: FramePlan, question: str) -> Reply:
        return self._request(plan, question)


def test_without_structured_output_the_schema_goes_in_the_prompt(video: Path, sampler: Any) -> None:
    assistant = ScriptedAssistant([_reply("At [00:00:04].", 1)])
    result = _agent(assistant, sampler).ask(video, "When?")
    assert result.confident
    (prompt,) = assistant.prompts
    assert prompt.startswith("When?\n\nYou are answering in steps")
    assert prompt.endswith(AGENT_REPLY_SCHEMA.prompt_text())


def test_the_responses_api_gets_the_schema_as_text_format(openai_server: FakeOpenAI, video: Path, sampler: Any) -> None:
    openai_server.script(_reply("At [00:00:04].", 0.99))
    result = _agent(_gpt(openai_server, api="responses"), sampler).ask(video, "When?")
    assert result.confident
    assert openai_server.violations == []
    fmt = openai_server.requests[0].body["text"]["format"]
    assert fmt == {
        "type": "json_schema",
        "name": "video_agent_step",
        "schema": AGENT_REPLY_SCHEMA.as_dict(),
        "strict": True,
    }


def test_the_policy_is_checked_before_anything_is_sent(openai_server: FakeOpenAI, video: Path, sampler: Any) -> None:
    agent = _agent(_gpt(openai_server), sampler, policy=AccessPolicy.allow([video.parent / "frames"]))
    with pytest.raises(AccessDeniedError):
        agent.ask(video, "When?")
    with pytest.raises(InvalidArgumentError):
        VideoAgent(_gpt(openai_server), sampler, min_confidence=1.5)
    assert openai_server.requests == []


async def test_aask_runs_the_same_loop(openai_server: FakeOpenAI, video: Path, sampler: Any) -> None:
    openai_server.script(_reply("At [00:00:13].", 0.9))
    result = await _agent(_gpt(openai_server), sampler).aask(video, "When?", start=10, end=20)
    assert isinstance(result, AgentResult)
    assert result.confident
    assert all(10.0 <= t < 20.0 for t in shown(openai_server.requests[0]))
