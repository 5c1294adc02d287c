"""The Gemini assistant, driving the real ``google-genai`` SDK against a local fake of the API."""

from __future__ import annotations

import base64
import logging

import pytest

from gens_tools.assistants import SYSTEM_INSTRUCTION, make_assistant
from gens_tools.assistants.gemini import DEFAULT_GEMINI_MODEL, GeminiAssistant
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
from gens_tools.testing import FakeGemini

from .conftest import GEMINI_KEY, make_selection

QUESTION = "When does the red car appear?"

# google-genai's async client subclasses aiohttp's session, which aiohttp warns about: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning")


def assistant(server: FakeGemini, model: str = "gemini-2.5-flash", **kw: object) -> GeminiAssistant:
    kw.setdefault("api_key", GEMINI_KEY)
    kw.setdefault("max_retries", 2)
    kw.setdefault("timeout", 10.0)
    kw.setdefault("retry_initial_delay", 0.01)
    kw.setdefault("retry_max_delay", 0.05)
    a = make_assistant(model, base_url=server.base_url, **kw)
    assert isinstance(a, GeminiAssistant)
    return a


def test_request_layout_and_answer(gemini_server: FakeGemini, selection16: FrameSelection) -> None:
    with assistant(gemini_server) as a:
        answer = a.answer(QUESTION, selection16)
    assert gemini_server.violations == []
    (req,) = gemini_server.requests
    assert req.path.endswith("/models/gemini-2.5-flash:generateContent")
    assert req.headers["x-goog-api-key"] == GEMINI_KEY
    body = req.body
    assert body["systemInstruction"]["parts"] == [{"text": SYSTEM_INSTRUCTION}]
    (content,) = body["contents"]
    assert content["role"] == "user"
    parts = content["parts"]
    assert len(parts) == 2 * 16 + 1
    assert [p["text"] for p in parts[0:-1:2]] == [f"[{f.label[:8]}]" for f in selection16.frames]
    images = parts[1:-1:2]
    for p in images:
        inline = p["inlineData"]
        assert inline.get("mimeType", inline.get("mime_type")) == "image/jpeg"
        raw = (
            base64.urlsafe_b64decode(inline["data"])
            if "-" in inline["data"] or "_" in inline["data"]
            else base64.b64decode(inline["data"])
        )
        assert raw[:3] == b"\xff\xd8\xff"
        assert "mediaResolution" not in p  # Gemini 2.x: no per-part level
    assert parts[-1] == {"text": f"Question: {QUESTION}"}
    assert req.size < 20 * 1024 * 1024
    # 640×360 frames: one 768-px tile each = 258 tokens, as the server priced them.
    assert [i["tokens"] for i in req.images] == [258] * 16
    assert answer.estimate["image_tokens"] == 258 * 16
    assert answer.usage.input_tokens == req.prompt_tokens
    assert req.prompt_tokens <= answer.estimate["input_tokens"] <= req.prompt_tokens * 1.1
    assert answer.citations == [5.0, selection16.frames[-1].timestamp]
    assert answer.model == "gemini-2.5-flash"
    assert answer.provider == "gemini"
    assert answer.finish_reason == "STOP"


def _levels(req: object) -> tuple[object, set[object]]:
    body = req.body  # type: ignore[attr-defined]
    parts = body["contents"][0]["parts"]
    per_part = {p.get("mediaResolution", {}).get("level") for p in parts if "inlineData" in p}
    return body.get("generationConfig", {}).get("mediaResolution"), per_part


def test_gemini3_media_resolution(gemini_server: FakeGemini, selection16: FrameSelection) -> None:
    answer = assistant(gemini_server, model=DEFAULT_GEMINI_MODEL).answer(QUESTION, selection16)
    assert answer.model == "gemini-3.8-flash"  # the alias resolved, as the server reported it
    req = gemini_server.requests[0]
    assert _levels(req) == ("MEDIA_RESOLUTION_LOW", {None})
    assert [i["tokens"] for i in req.images] == [280] * 16
    assert answer.estimate["image_tokens"] == 16 * 280
    high = assistant(gemini_server, model="gemini-3-flash-preview", media_resolution="high", max_frames=2)
    high.answer(QUESTION, selection16)
    assert _levels(gemini_server.requests[1]) == ("MEDIA_RESOLUTION_HIGH", {None})
    assert [i["tokens"] for i in gemini_server.requests[1].images] == [1120] * 2
    ultra = assistant(gemini_server, model="gemini-3-flash-preview", media_resolution="ultra_high", max_frames=2)
    ultra.answer(QUESTION, selection16)
    assert _levels(gemini_server.requests[2]) == (None, {"MEDIA_RESOLUTION_ULTRA_HIGH"})
    assert [i["tokens"] for i in gemini_server.requests[2].images] == [2240] * 2
    tight = assistant(
        gemini_server,
        model="gemini-3-flash-preview",
        budget={"start_level": "high", "context_window": 16 * 400 + 2000, "output_reserve": 2000},
    )
    answer = tight.answer(QUESTION, selection16)
    req = gemini_server.requests[3]
    assert _levels(req) == ("MEDIA_RESOLUTION_LOW", {None})
    assert answer.usage.input_tokens == req.prompt_tokens <= 16 * 400
    assert gemini_server.violations == []


def test_retries_with_backoff(gemini_server: FakeGemini, selection16: FrameSelection) -> None:
    gemini_server.push("429", "503")
    answer = assistant(gemini_server).answer(QUESTION, selection16)
    assert answer.text
    assert len(gemini_server.requests) == 3
    gemini_server.push("500", "500")
    with pytest.raises(ProviderUnavailableError, match="500"):
        assistant(gemini_server, max_retries=1).answer(QUESTION, selection16)
    assert len(gemini_server.requests) == 5


def test_timeouts_are_retried_then_reported(gemini_server: FakeGemini, selection16: FrameSelection) -> None:
    gemini_server.slow_seconds = 1.2
    gemini_server.push("timeout")
    answer = assistant(gemini_server, timeout=0.5, max_retries=1).answer(QUESTION, selection16)
    assert answer.text
    assert len(gemini_server.requests) == 2
    gemini_server.push("timeout", "timeout")
    with pytest.raises(ProviderUnavailableError, match="timed out"):
        assistant(gemini_server, timeout=0.5, max_retries=1).answer(QUESTION, selection16)


def test_context_too_long_shrinks_once(selection16: FrameSelection) -> None:
    server = FakeGemini(api_key=GEMINI_KEY, check_time_codes=True, context_limit=2500)
    try:
        answer = assistant(server).answer(QUESTION, selection16)
        server.push("too_long", "too_long")
        with pytest.raises(ContextTooLongError, match="still too long"):
            assistant(server).answer(QUESTION, selection16)
    finally:
        server.stop()
    assert server.violations == []
    first, second = server.requests[:2]
    assert first.status == 400
    assert second.status == 200
    assert second.prompt_tokens <= 2500 < first.prompt_tokens
    assert answer.attempts == 2
    assert answer.usage.input_tokens == second.prompt_tokens
    assert len(server.requests) == 4


def test_request_too_large_shrinks_once(gemini_server: FakeGemini, selection16: FrameSelection) -> None:
    a = assistant(gemini_server)
    a.answer(QUESTION, selection16)
    first_size = gemini_server.requests[0].size
    gemini_server.max_request_bytes = int(first_size * 0.7)  # the server now refuses that request (HTTP 413)
    answer = a.answer(QUESTION, selection16)
    rejected, accepted = gemini_server.requests[1:]
    assert rejected.status == 413
    assert accepted.status == 200
    assert accepted.size <= gemini_server.max_request_bytes
    assert answer.attempts == 2
    assert len(answer.frames) < 16


@pytest.mark.parametrize(
    ("fault", "error", "reason"),
    [
        ("refusal", AnswerRefusedError, "PROHIBITED_CONTENT"),
        ("content_filter", AnswerRefusedError, "SAFETY"),
        ("empty", EmptyAnswerError, "STOP"),
        ("truncated", EmptyAnswerError, "MAX_TOKENS"),
    ],
)
def test_blocks_and_empty_answers_are_errors(
    gemini_server: FakeGemini, fault: str, error: type[Exception], reason: str
) -> None:
    gemini_server.push(fault)
    with pytest.raises(error) as info:
        assistant(gemini_server).answer(QUESTION, make_selection([1.0, 2.0], None, size=(64, 36)))
    assert getattr(info.value, "reason", None) == reason
    assert reason in str(info.value)


def test_keys_from_env_and_never_leaked(
    gemini_server: FakeGemini,
    selection16: FrameSelection,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(MissingAPIKeyError) as info:
        GeminiAssistant()
    assert "GOOGLE_API_KEY" in str(info.value)
    assert "GEMINI_API_KEY" in str(info.value)
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    a = GeminiAssistant("gemini-2.5-flash", base_url=gemini_server.base_url, retry_initial_delay=0.01)
    monkeypatch.delenv("GEMINI_API_KEY")
    caplog.set_level(logging.DEBUG)
    assert a.answer(QUESTION, selection16).text
    assert gemini_server.requests[-1].headers["x-goog-api-key"] == GEMINI_KEY
    # GOOGLE_API_KEY wins when both are set, as in the SDK.
    wrong = "AIza-wrong-" + "7" * 30
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    monkeypatch.setenv("GOOGLE_API_KEY", wrong)
    b = GeminiAssistant("gemini-2.5-flash", base_url=gemini_server.base_url, retry_initial_delay=0.01)
    with pytest.raises(AuthenticationFailedError) as bad:
        b.answer(QUESTION, selection16)
    texts = [repr(a), repr(b), caplog.text]
    exc: BaseException | None = bad.value
    while exc is not None:
        texts += [str(exc), repr(exc)]
        exc = exc.__cause__ or exc.__context__
    for text in texts:
        assert wrong not in text
        assert GEMINI_KEY not in text
    assert "GOOGLE_API_KEY" in str(bad.value)


def test_openai_only_options_are_refused(gemini_server: FakeGemini) -> None:
    with pytest.raises(InvalidArgumentError, match="detail"):
        assistant(gemini_server, detail="low")


async def test_async_answer(gemini_server: FakeGemini, selection16: FrameSelection) -> None:
    gemini_server.push("429")
    a = assistant(gemini_server)
    answer = await a.aanswer(QUESTION, selection16)
    assert answer.text
    assert len(gemini_server.requests) == 2
    assert gemini_server.violations == []
    gemini_server.push("refusal")
    with pytest.raises(AnswerRefusedError):
        await a.aanswer(QUESTION, selection16)
    again = await a.aanswer(QUESTION, selection16)
    assert again.usage.input_tokens == gemini_server.requests[-1].prompt_tokens
