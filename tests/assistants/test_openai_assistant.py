"""The OpenAI assistant, driving the real ``openai`` SDK against a local fake of the API."""

from __future__ import annotations

import logging
import time

import pytest

from gens_tools.assistants import SYSTEM_INSTRUCTION, estimate_image_tokens, make_assistant
from gens_tools.assistants.openai import OpenAIAssistant
from gens_tools.errors import (
    AnswerRefusedError,
    AuthenticationFailedError,
    ContextTooLongError,
    EmptyAnswerError,
    InvalidArgumentError,
    MissingAPIKeyError,
    ProviderUnavailableError,
)
from gens_tools.frames import FrameSelection
from gens_tools.testing import FakeOpenAI

from .conftest import OPENAI_KEY, make_selection

QUESTION = "When does the red car appear?"


def assistant(server: FakeOpenAI, **kw: object) -> OpenAIAssistant:
    kw.setdefault("api_key", OPENAI_KEY)
    kw.setdefault("max_retries", 2)
    kw.setdefault("timeout", 10.0)
    a = make_assistant(str(kw.pop("model", "gpt-4o")), base_url=server.base_url, **kw)
    assert isinstance(a, OpenAIAssistant)
    return a


def _user_parts(body: dict) -> list[dict]:
    users = [m for m in body["messages"] if m["role"] == "user"]
    assert len(users) == 1
    return users[0]["content"]


def test_chat_request_layout_and_answer(openai_server: FakeOpenAI, selection16: FrameSelection) -> None:
    with assistant(openai_server) as a:
        answer = a.answer(QUESTION, selection16)
    assert openai_server.violations == []
    (req,) = openai_server.requests
    assert req.path == "/v1/chat/completions"
    body = req.body
    assert body["model"] == "gpt-4o"
    assert body["messages"][0] == {"role": "system", "content": SYSTEM_INSTRUCTION}
    parts = _user_parts(body)
    # [label] then image for each frame, in time order, then the question.
    assert len(parts) == 2 * 16 + 1
    labels = [p["text"] for p in parts[0:-1:2]]
    assert all(p["type"] == "text" for p in parts[0:-1:2])
    assert all(p["type"] == "image_url" for p in parts[1:-1:2])
    assert labels == [f"[{f.label[:8]}]" for f in selection16.frames]
    assert parts[-1] == {"type": "text", "text": f"Question: {QUESTION}"}
    assert {p["image_url"]["detail"] for p in parts[1:-1:2]} == {"high"}
    # The server read each image's painted time and found it matched its label (no violations above).
    assert len(req.images) == 16
    # The answer: text, citations parsed from it, frames sent, usage as reported, the estimate.
    assert answer.text.startswith("I was shown 16 frames")
    assert answer.citations == [5.0, selection16.frames[-1].timestamp]
    assert [f.timestamp for f in answer.cited_frames] == answer.citations
    assert answer.unmatched_citations == []
    assert [f.timestamp for f in answer.frames] == [f.timestamp for f in selection16.frames]
    assert answer.usage.input_tokens == req.prompt_tokens
    assert answer.usage.output_tokens
    assert answer.usage.total_tokens == req.prompt_tokens + answer.usage.output_tokens
    assert answer.model == "gpt-4o-2024-08-06"
    assert answer.provider == "openai"
    assert answer.finish_reason == "stop"
    assert answer.attempts == 1
    est = answer.estimate["input_tokens"]
    # The image part of the estimate is exactly the server's pricing; text is estimated conservatively.
    assert answer.estimate["image_tokens"] == sum(i["tokens"] for i in req.images)
    assert req.prompt_tokens <= est <= req.prompt_tokens * 1.1
    assert set(answer.timings) >= {"plan", "request", "total"}
    d = answer.to_dict()
    assert d["answer"] == answer.text
    assert d["usage"]["input_tokens"] == req.prompt_tokens
    assert d["cited_labels"] == ["00:00:05", selection16.frames[-1].label[:8]]


def test_responses_api_layout(openai_server: FakeOpenAI, selection16: FrameSelection) -> None:
    with assistant(openai_server, api="responses", detail="low", max_output_tokens=300) as a:
        answer = a.answer(QUESTION, selection16)
    assert openai_server.violations == []
    (req,) = openai_server.requests
    assert req.path == "/v1/responses"
    assert req.body["instructions"] == SYSTEM_INSTRUCTION
    assert req.body["store"] is False
    assert req.body["max_output_tokens"] == 300
    content = req.body["input"][0]["content"]
    assert req.body["input"][0]["role"] == "user"
    assert [c["type"] for c in content] == ["input_text", "input_image"] * 16 + ["input_text"]
    assert {c["detail"] for c in content if c["type"] == "input_image"} == {"low"}
    assert all(c["image_url"].startswith("data:image/jpeg;base64,") for c in content if c["type"] == "input_image")
    assert [i["tokens"] for i in req.images] == [85] * 16
    assert answer.usage.input_tokens == req.prompt_tokens
    assert answer.citations[0] == 5.0


def test_retries_rate_limits_and_server_errors(openai_server: FakeOpenAI, selection16: FrameSelection) -> None:
    openai_server.push("429", "500")
    with assistant(openai_server, max_retries=2) as a:
        answer = a.answer(QUESTION, selection16)
    assert len(openai_server.requests) == 3
    assert [r.headers.get("x-stainless-retry-count") for r in openai_server.requests] == ["0", "1", "2"]
    assert answer.text
    assert openai_server.violations == []


def test_rate_limit_that_outlasts_the_retries_is_one_clear_error(
    openai_server: FakeOpenAI, selection16: FrameSelection
) -> None:
    openai_server.push("429", "429", "429")
    with assistant(openai_server, max_retries=1) as a, pytest.raises(ProviderUnavailableError) as info:
        a.answer(QUESTION, selection16)
    assert len(openai_server.requests) == 2
    message = str(info.value)
    assert "429" in message
    assert "rate limited" in message
    assert "\n" not in message


def test_timeouts_are_retried_then_reported(openai_server: FakeOpenAI, selection16: FrameSelection) -> None:
    openai_server.slow_seconds = 1.5
    openai_server.push("timeout")
    with assistant(openai_server, timeout=0.6, max_retries=1) as a:
        t0 = time.perf_counter()
        answer = a.answer(QUESTION, selection16)
        assert time.perf_counter() - t0 < 10
    assert answer.text
    assert len(openai_server.requests) == 2
    openai_server.push("timeout", "timeout")
    with (
        assistant(openai_server, timeout=0.6, max_retries=1) as a,
        pytest.raises(ProviderUnavailableError, match="timed out"),
    ):
        a.answer(QUESTION, selection16)


def test_context_too_long_shrinks_once_and_succeeds(selection16: FrameSelection) -> None:
    server = FakeOpenAI(api_key=OPENAI_KEY, check_time_codes=True, context_limit=3000)
    try:
        with assistant(server) as a:
            answer = a.answer(QUESTION, selection16)
    finally:
        server.stop()
    assert server.violations == []
    first, second = server.requests
    assert first.status == 400
    assert first.prompt_tokens > 3000
    assert second.status == 200
    assert second.prompt_tokens <= 3000
    assert answer.attempts == 2
    assert answer.usage.input_tokens == second.prompt_tokens
    assert any("too long" in note for note in answer.estimate["notes"])
    # Highest-scored frames survive the shrink (scores 5 at positions 3, 4 and 11).
    kept = {f.timestamp for f in answer.frames}
    assert {selection16.frames[i].timestamp for i in (3, 4, 11)} <= kept


def test_context_too_long_twice_fails_clearly(openai_server: FakeOpenAI, selection16: FrameSelection) -> None:
    openai_server.push("too_long", "too_long", "too_long")
    with assistant(openai_server) as a, pytest.raises(ContextTooLongError) as info:
        a.answer(QUESTION, selection16)
    assert len(openai_server.requests) == 2
    assert "too long" in str(info.value)
    assert "\n" not in str(info.value)
    assert info.value.limit == 128_000


@pytest.mark.parametrize(
    ("fault", "error", "reason"),
    [
        ("refusal", AnswerRefusedError, "refusal"),
        ("content_filter", AnswerRefusedError, "content_filter"),
        ("policy", AnswerRefusedError, "content_policy_violation"),
        ("empty", EmptyAnswerError, "stop"),
        ("truncated", EmptyAnswerError, "length"),
    ],
)
@pytest.mark.parametrize("api", ["chat", "responses"])
def test_refusals_and_empty_answers_are_errors_not_answers(
    openai_server: FakeOpenAI, fault: str, error: type[Exception], reason: str, api: str
) -> None:
    sel = make_selection([1.0, 2.0], None, size=(64, 36))
    openai_server.push(fault)
    with assistant(openai_server, api=api) as a, pytest.raises(error) as info:
        a.answer(QUESTION, sel)
    expected = {
        "truncated": "max_output_tokens" if api == "responses" else "length",
        "empty": "stop" if api == "chat" else "completed",
    }.get(fault, reason)
    assert getattr(info.value, "reason", None) == expected
    if fault == "refusal":
        assert "can't help" in str(info.value)
    assert len(openai_server.requests) == 1


def test_missing_key_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MissingAPIKeyError) as info:
        OpenAIAssistant("gpt-4o")
    message = str(info.value)
    assert "OPENAI_API_KEY" in message
    assert "\n" not in message
    monkeypatch.setenv("MY_KEY", "")
    with pytest.raises(MissingAPIKeyError, match="MY_KEY"):
        OpenAIAssistant("gpt-4o", api_key_env="MY_KEY")


def test_key_read_from_env_at_construction(
    openai_server: FakeOpenAI, selection16: FrameSelection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    a = OpenAIAssistant("gpt-4o", base_url=openai_server.base_url)
    monkeypatch.delenv("OPENAI_API_KEY")
    assert a.answer(QUESTION, selection16).text
    assert openai_server.requests[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"
    monkeypatch.setenv("OTHER_KEY", OPENAI_KEY)
    b = OpenAIAssistant("gpt-4o", base_url=openai_server.base_url, api_key_env="OTHER_KEY")
    assert b.answer(QUESTION, selection16).text


def test_key_never_in_errors_logs_or_repr(
    openai_server: FakeOpenAI, selection16: FrameSelection, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "sk-wrong-" + "9" * 40
    caplog.set_level(logging.DEBUG)
    a = assistant(openai_server, api_key=wrong)
    with pytest.raises(AuthenticationFailedError) as info:
        a.answer(QUESTION, selection16)
    # The fake server quoted the key it was sent in its error body; none of it may come through.
    exc: BaseException | None = info.value
    texts = [repr(a), str(a)]
    while exc is not None:
        texts += [str(exc), repr(exc)]
        exc = exc.__cause__ or exc.__context__
    texts.append(caplog.text)
    for text in texts:
        assert wrong not in text
        assert wrong[-8:] not in text
    assert "OPENAI_API_KEY" in str(info.value)
    assert "401" in str(info.value)
    ok = assistant(openai_server)
    ok.answer(QUESTION, selection16)
    assert OPENAI_KEY not in caplog.text
    assert OPENAI_KEY not in repr(ok)


def test_compatible_server_without_key(selection16: FrameSelection) -> None:
    server = FakeOpenAI(api_key="no-key")
    try:
        a = OpenAIAssistant("my-vlm", base_url=server.base_url, max_retries=0)
        answer = a.answer(QUESTION, selection16)
    finally:
        server.stop()
    assert answer.text
    # Unknown model: the conservative default budget still sent all 16 frames (under its 50-image cap).
    assert len(server.requests[0].images) == 16


def test_bad_arguments_are_typed_errors(openai_server: FakeOpenAI, selection16: FrameSelection) -> None:
    a = assistant(openai_server)
    with pytest.raises(InvalidArgumentError):
        a.answer("   ", selection16)
    with pytest.raises(InvalidArgumentError):
        a.answer(QUESTION, [f for f in selection16.frames])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        a.answer(QUESTION, FrameSelection(video="v", question="q", frames=[]))
    for bad in (
        {"api": "graphql"},
        {"timeout": 0},
        {"max_retries": -1},
        {"detail": "ultra"},
        {"max_side": 4},
        {"jpeg_quality": 0},
        {"media_resolution": "huge"},
        {"max_frames": 0},
    ):
        with pytest.raises(InvalidArgumentError):
            assistant(openai_server, **bad)
    assert openai_server.requests == []


def test_detail_and_size_options_reach_the_request(openai_server: FakeOpenAI, selection16: FrameSelection) -> None:
    with assistant(openai_server, max_side=512, max_frames=4) as a:
        answer = a.answer(QUESTION, selection16)
    (req,) = openai_server.requests
    assert [(i["width"], i["height"], i["detail"]) for i in req.images] == [(512, 288, "high")] * 4
    assert [i["tokens"] for i in req.images] == [estimate_image_tokens("gpt-4o", 512, 288, "high")] * 4
    assert len(answer.frames) == 4


async def test_async_answer_with_retry(openai_server: FakeOpenAI, selection16: FrameSelection) -> None:
    openai_server.push("503")
    a = assistant(openai_server)
    answer = await a.aanswer(QUESTION, selection16)
    assert answer.text
    assert len(openai_server.requests) == 2
    assert openai_server.violations == []
    openai_server.push("policy")
    with pytest.raises(AnswerRefusedError):
        await a.aanswer(QUESTION, selection16)
    await a.aclose()
