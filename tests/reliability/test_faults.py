"""A local fault-injecting server against the served GenS sampler and both assistants: every fault on the wire
is retried where retrying helps, within a bounded total time, and surfaced as a clear, typed error (or, for the
sampler, as an unscored window with the reason)."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gens_tools._http import async_deadline_client, deadline_client
from gens_tools.assistants import make_assistant
from gens_tools.errors import (
    AssistantError,
    EmptyAnswerError,
    ProviderUnavailableError,
    RequestRejectedError,
)
from gens_tools.frames import Frame, FrameSelection
from gens_tools.samplers.remote import RemoteGenSSampler
from gens_tools.synthetic import paint_time_code
from gens_tools.testing import FakeGemini, FakeGenSServer, FakeOpenAI, Fault, coded_window

MODEL = "gens-test"
QUESTION = "What happens between 3 and 4 seconds?"
KEY = "sk-fault-5ecretKey-0123456789abcdef"
#: A generous bound on any one faulty call: it catches hangs (a dripped answer takes minutes), not speed.
BOUND = 20.0

#: What each fault leaves in the window's issues (the sampler) — and whether a retry gets past it.
SAMPLER_FAULTS = {
    "drip": ("timed out after 1s overall", True),
    "reset": ("connection was broken", True),
    "cut-body": ("closed the connection before its answer was complete", True),
    "429-wait": ("HTTP 429", True),
    "429-bare": ("HTTP 429", True),
    "not-json": ("not JSON", False),
    "html": ("not JSON", False),
    "redirect": ("redirect (HTTP 307", False),
    "no-choices": ("without any choice", False),
}


def window() -> Any:
    return coded_window(0, [float(i) for i in range(8)])


@pytest.fixture
def gens_server() -> Iterator[FakeGenSServer]:
    with FakeGenSServer(lifetime=60.0, drip_interval=0.25) as server:
        yield server


@pytest.mark.parametrize("kind", sorted(SAMPLER_FAULTS))
def test_sampler_fault_leaves_the_window_unscored_with_the_reason(gens_server: FakeGenSServer, kind: str) -> None:
    words, _ = SAMPLER_FAULTS[kind]
    gens_server.inject(*[Fault(kind)] * 3)
    t0 = time.perf_counter()
    with RemoteGenSSampler(gens_server.url, MODEL, timeout=1.0, max_retries=1) as sampler:
        result = sampler.score_window(window(), QUESTION)
    assert time.perf_counter() - t0 < BOUND
    assert result.scores is None
    assert any(words in issue for issue in result.issues), result.issues
    retried = SAMPLER_FAULTS[kind][1]
    assert len(gens_server.requests) == (2 if retried else 1)


@pytest.mark.parametrize("kind", sorted(k for k, (_, retried) in SAMPLER_FAULTS.items() if retried))
def test_sampler_fault_once_is_retried_and_scored(gens_server: FakeGenSServer, kind: str) -> None:
    gens_server.inject(Fault(kind))
    with RemoteGenSSampler(gens_server.url, MODEL, timeout=1.0, max_retries=2) as sampler:
        result = sampler.score_window(window(), QUESTION)
    assert result.scores is not None, result.issues
    assert {i for i, s in enumerate(result.scores) if s == 5} == {3, 4}
    assert len(gens_server.requests) == 2


def test_a_dripping_server_is_cut_off_at_the_timeout_overall(gens_server: FakeGenSServer) -> None:
    # ~400 bytes at 4 bytes a second would take minutes; every read is quick, so only an overall deadline ends it.
    gens_server.inject(Fault("drip"))
    t0 = time.perf_counter()
    with RemoteGenSSampler(gens_server.url, MODEL, timeout=1.5, max_retries=0) as sampler:
        result = sampler.score_window(window(), QUESTION)
    elapsed = time.perf_counter() - t0
    assert result.scores is None
    assert 1.5 <= elapsed < 1.5 + 5.0


async def test_a_dripping_server_is_cut_off_in_async_calls_too(gens_server: FakeGenSServer) -> None:
    gens_server.inject(Fault("drip"))
    sampler = RemoteGenSSampler(gens_server.url, MODEL, timeout=1.5, max_retries=0)
    t0 = time.perf_counter()
    result = await sampler.ascore_window(window(), QUESTION)
    assert result.scores is None
    assert time.perf_counter() - t0 < 1.5 + 5.0


def test_a_5xx_storm_ends_after_the_retries(gens_server: FakeGenSServer) -> None:
    gens_server.inject(*[Fault("status", 503)] * 20)
    t0 = time.perf_counter()
    with RemoteGenSSampler(gens_server.url, MODEL, timeout=1.0, max_retries=3, concurrency=2) as sampler:
        results = list(sampler.score_windows([window(), coded_window(1, [8.0, 9.0])], QUESTION))
    assert time.perf_counter() - t0 < BOUND
    assert all(r.scores is None and any("HTTP 503" in i for i in r.issues) for r in results)
    assert len(gens_server.requests) == 8  # 1 + 3 retries per window, no more


# --- assistants ---------------------------------------------------------------------------------------------


def selection() -> FrameSelection:
    frames = [Frame(timestamp=t, image=paint_time_code(t, (160, 90)), index=i) for i, t in enumerate([1.0, 2.0, 3.0])]
    return FrameSelection(video="clip.mp4", question="What?", frames=frames, sampler="test", duration=10.0)


ASSISTANT_FAULTS: dict[str, tuple[type[Exception], str]] = {
    "drip": (ProviderUnavailableError, "timed out"),
    "reset": (ProviderUnavailableError, "connection was broken"),
    "cut-body": (ProviderUnavailableError, "before its answer was complete"),
    "not-json": (ProviderUnavailableError, "not valid JSON"),
    "html": (ProviderUnavailableError, "not"),
    "redirect": (RequestRejectedError, "redirect (HTTP 307"),
    "429-wait": (ProviderUnavailableError, "rate limited"),
    "429-bare": (ProviderUnavailableError, "rate limited"),
    "no-choices": (EmptyAnswerError, "without any"),
    "503": (ProviderUnavailableError, "server error"),
}


def _assistant(provider: str, server: FakeOpenAI | FakeGemini) -> Any:
    settings: dict[str, Any] = {"api_key": KEY, "base_url": server.base_url, "timeout": 1.0, "max_retries": 1}
    if provider == "gemini":
        settings.update(retry_initial_delay=0.05, retry_max_delay=0.1)
        return make_assistant("gemini-2.5-flash", **settings)
    return make_assistant("gpt-4o", **settings)


@pytest.fixture(params=["openai", "gemini"])
def provider(request: pytest.FixtureRequest) -> Iterator[tuple[str, FakeOpenAI | FakeGemini]]:
    cls = FakeOpenAI if request.param == "openai" else FakeGemini
    server = cls(api_key=KEY, drip_interval=0.25, max_lifetime=60.0)
    try:
        yield request.param, server
    finally:
        server.stop()


@pytest.mark.parametrize("kind", sorted(ASSISTANT_FAULTS))
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_assistant_fault_is_a_clear_typed_error(provider: tuple[str, Any], kind: str, mode: str) -> None:
    name, server = provider
    error, words = ASSISTANT_FAULTS[kind]
    server.push(*[kind] * 3)
    assistant = _assistant(name, server)

    def ask() -> object:
        if mode == "sync":
            return assistant.answer("What?", selection())
        return asyncio.run(assistant.aanswer("What?", selection()))

    t0 = time.perf_counter()
    try:
        with pytest.raises(AssistantError) as caught:
            ask()
    finally:
        assistant.close()
    assert time.perf_counter() - t0 < BOUND
    assert isinstance(caught.value, error), caught.value
    message = str(caught.value)
    assert words in message
    assert "\n" not in message
    assert KEY not in message


def test_an_hour_of_retry_after_is_shortened_to_the_timeout(provider: tuple[str, Any]) -> None:
    name, server = provider
    server.push("429-wait")
    assistant = _assistant(name, server)
    t0 = time.perf_counter()
    try:
        answer = assistant.answer("What?", selection())
    finally:
        assistant.close()
    assert answer.text
    assert time.perf_counter() - t0 < BOUND


def test_cli_ask_reports_a_body_that_is_not_json_in_one_line(tmp_path: Path) -> None:
    import subprocess

    from gens_tools.synthetic import make_test_video

    video = make_test_video(tmp_path / "clip.mp4", duration=4.0, fps=5.0, size=(96, 54))
    server = FakeOpenAI(api_key=KEY, max_lifetime=60.0)
    server.push("not-json")
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "gens_tools",
                "ask",
                str(video),
                "What?",
                "--sampler",
                "uniform",
                "-k",
                "2",
                "--assistant",
                "gpt-4o",
                "--assistant-base-url",
                server.base_url,
                "--max-retries",
                "0",
                "-q",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**_env(), "OPENAI_API_KEY": KEY},
        )
    finally:
        server.stop()
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("gens-tools ask: error:"), done.stderr
    assert "not valid JSON" in lines[-1]
    assert "Traceback" not in done.stderr


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "GEMINI_", "GOOGLE_"))}


# --- the limits themselves -------------------------------------------------------------------------------------


class _Big(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"x" * 50_000
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def big_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Big)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_an_answer_over_the_size_cap_is_refused(big_server: str) -> None:
    import httpx

    with deadline_client(deadline=5.0, max_response_bytes=10_000) as client, pytest.raises(httpx.ReadError) as err:
        client.get(big_server)
    assert "larger than 10,000 bytes" in str(err.value)
    with deadline_client(deadline=5.0) as client:
        assert len(client.get(big_server).content) == 50_000


async def test_an_answer_over_the_size_cap_is_refused_async(big_server: str) -> None:
    import httpx

    async with async_deadline_client(deadline=5.0, max_response_bytes=10_000) as client:
        with pytest.raises(httpx.ReadError):
            await client.get(big_server)
