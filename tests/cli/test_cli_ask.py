"""``gens-tools ask`` as a user runs it: a generated video, local fake APIs, keys from the environment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gens_tools.cli._main import main
from gens_tools.testing import FakeGemini, FakeOpenAI

KEY = "sk-cli-secret-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(api_key=KEY, check_time_codes=True)
    try:
        yield server
    finally:
        server.stop()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_prints_answer_citations_and_tokens(
    video_40s: Path, openai_server: FakeOpenAI, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    code, out, err = run(
        capsys,
        "ask",
        str(video_40s),
        "What is on screen?",
        "--assistant",
        "gpt-4o",
        "--assistant-base-url",
        openai_server.base_url,
        "-k",
        "4",
        "-q",
        "--no-cache",
    )
    assert code == 0, err
    assert openai_server.violations == []
    (req,) = openai_server.requests
    lines = out.splitlines()
    assert lines[0].startswith("I was shown 4 frames")
    assert "cited: 00:00:05, 00:00:35" in out
    assert "frames sent: 4 from 00:00:05.0 to 00:00:35.0" in out
    tokens_line = next(line for line in lines if line.startswith("tokens:"))
    assert f"actual {req.prompt_tokens:,} in" in tokens_line
    assert "estimated" in tokens_line
    assert KEY not in out + err


def test_ask_json_with_gemini(
    video_40s: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    server = FakeGemini(api_key=KEY, check_time_codes=True)
    try:
        code, out, err = run(
            capsys,
            "ask",
            str(video_40s),
            "What is on screen?",
            "--assistant",
            "gemini-2.5-flash",
            "--assistant-base-url",
            server.base_url,
            "-k",
            "3",
            "--json",
            "--start",
            "0:10",
            "--end",
            "40",
            "--no-cache",
        )
    finally:
        server.stop()
    assert code == 0, err
    data = json.loads(out)
    assert data["provider"] == "gemini"
    assert [round(f["timestamp"]) for f in data["frames"]] == [15, 25, 35]
    assert data["citations"] == [15.0, 35.0]
    assert data["usage"]["input_tokens"] == server.requests[0].prompt_tokens
    assert data["estimate"]["input_tokens"] >= data["usage"]["input_tokens"]
    assert data["estimate"]["n_frames"] == 3
    assert server.violations == []


def test_k_defaults_to_the_planner(
    video_40s: Path, openai_server: FakeOpenAI, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    code, out, err = run(
        capsys,
        "ask",
        str(video_40s),
        "What?",
        "--assistant-base-url",
        openai_server.base_url,
        "--json",
        "--no-cache",
        "--context-window",
        "6000",
        "--detail",
        "low",
    )
    assert code == 0, err
    data = json.loads(out)
    n = len(openai_server.requests[0].images)
    assert data["estimate"]["n_frames"] == n
    assert 1 <= n <= 40
    assert data["estimate"]["context_window"] == 6000
    assert {i["detail"] for i in openai_server.requests[0].images} == {"low"}


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        ([], {}, "OPENAI_API_KEY"),  # no key at all
        (["--assistant", "gemini-2.5-flash"], {}, "GEMINI_API_KEY"),
        (["--assistant", "gemini-2.5-flash", "--detail", "low"], {"GEMINI_API_KEY": KEY}, "--detail"),
        (["--max-retries", "-1"], {"OPENAI_API_KEY": KEY}, "--max-retries"),
    ],
)
def test_errors_are_one_line_on_stderr(
    video_40s: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    needle: str,
) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    code, out, err = run(capsys, "ask", str(video_40s), "What?", *args)
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert needle in err
    assert KEY not in err


def test_bad_video_and_rejected_key_are_one_line(
    tmp_path: Path,
    video_40s: Path,
    openai_server: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    code, out, err = run(
        capsys, "ask", str(tmp_path / "missing.mp4"), "What?", "--assistant-base-url", openai_server.base_url
    )
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert openai_server.requests == []
    wrong = "sk-wrong-cli-" + "5" * 30
    monkeypatch.setenv("OPENAI_API_KEY", wrong)
    code, out, err = run(
        capsys, "ask", str(video_40s), "What?", "--assistant-base-url", openai_server.base_url, "-k", "2", "--no-cache"
    )
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "401" in err
    assert "OPENAI_API_KEY" in err
    assert wrong not in err
    assert wrong[-8:] not in err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-frames", "0"], "--max-frames must be a positive whole number, got 0"),
        (["--context-window", "-5"], "--context-window must be a positive whole number, got -5"),
        (["--max-output-tokens", "0"], "--max-output-tokens must be a positive whole number, got 0"),
        (["--timeout", "-1"], "--timeout must be a positive number, got -1.0"),
        (["--max-retries", "-1"], "--max-retries must be a whole number >= 0, got -1"),
        (["--image-side", "3"], "--image-side must be a whole number of pixels >= 16, got 3"),
    ],
)
def test_bad_assistant_flags_are_named_by_their_flag(
    video_40s: Path,
    openai_server: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    flags: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    code, _out, err = run(
        capsys, "ask", str(video_40s), "q", "--assistant-base-url", openai_server.base_url, "--no-cache", *flags
    )
    assert code == 1
    assert err.strip() == f"gens-tools ask: error: {message}"
    assert openai_server.requests == []
