"""``gens-tools ask --agent``: the steps printed as they happen, the final answer, ``--json`` with the trace."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gens_tools.cli._main import main
from gens_tools.testing import FakeOpenAI

KEY = "sk-cli-agent-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(api_key=KEY, check_time_codes=True)
    yield server
    server.stop()


def _reply(answer: str, confidence: float, look_next: object = None) -> str:
    return json.dumps({"answer": answer, "confidence": confidence, "look_next": look_next})


def _ask(capsys: pytest.CaptureFixture[str], video: Path, server: FakeOpenAI, *extra: str) -> tuple[int, str, str]:
    code = main(
        [
            "ask",
            str(video),
            "What happens at the end?",
            "--assistant-base-url",
            server.base_url,
            "-k",
            "4",
            "-q",
            "--no-cache",
            "--agent",
            *extra,
        ]
    )
    out, err = capsys.readouterr()
    return code, out, err


def test_agent_prints_each_step_then_the_answer(
    video_40s: Path, openai_server: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    openai_server.script(
        _reply("Something at [00:00:35].", 0.3, {"question": "what moves?", "start": 30, "end": 38}),
        _reply("It moves at [00:00:33.5].", 0.9),
    )
    code, out, err = _ask(capsys, video_40s, openai_server)
    assert code == 0, err
    assert openai_server.violations == []
    lines = out.splitlines()
    assert lines[0].startswith("step 1: the whole video at 1 fps: 4 frames: 00:00:05.0")
    assert lines[1] == "  answer (confidence 0.3): Something at [00:00:35]."
    assert lines[2] == '  wants to look at: "what moves?" in 30-38s'
    step2 = next(i for i, line in enumerate(lines) if line.startswith("step 2:"))
    assert lines[step2].startswith('step 2: 30.0-38.0s at 2 fps for "what moves?": ')
    assert "It moves at [00:00:33.5]." in lines
    assert "confident (0.9 >= 0.8) after 2 steps" in lines
    assert "cited: 00:00:33.5" in lines
    assert any(line.startswith("steps: 2; frames sent: ") for line in lines)
    assert KEY not in out + err


def test_agent_json_is_the_trace_and_budgets_come_from_flags(
    video_40s: Path, openai_server: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    unsure = _reply("No idea.", 0.1, {"question": "", "start": 0, "end": 10})
    openai_server.script(unsure, unsure, unsure)
    code, out, err = _ask(capsys, video_40s, openai_server, "--json", "--max-steps", "2", "--min-confidence", "0.5")
    assert code == 0, err
    data = json.loads(out)
    assert data["stopped"] == "steps"
    assert data["budget"]["max_steps"] == 2
    assert data["min_confidence"] == 0.5
    assert [s["index"] for s in data["steps"]] == [1, 2]
    assert [(s["start"], s["end"], s["fps"]) for s in data["steps"]] == [(None, None, 1.0), (0.0, 10.0, 2.0)]
    assert all(0 <= f["timestamp"] < 10 for f in data["steps"][1]["frames"])
    assert data["steps"][0]["tokens"]["input"] == openai_server.requests[0].prompt_tokens


def test_agent_flags_without_agent_are_refused(
    video_40s: Path, openai_server: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["ask", str(video_40s), "q", "--assistant-base-url", openai_server.base_url, "--max-steps", "2"])
    _out, err = capsys.readouterr()
    assert code == 1
    assert err.strip() == "gens-tools ask: error: --max-steps needs --agent"
    assert openai_server.requests == []


def test_agent_report_shows_the_steps_and_the_final_answer(
    video_40s: Path, openai_server: FakeOpenAI, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    openai_server.script(
        _reply("Something at [00:00:35].", 0.3, {"question": "what moves?", "start": 30, "end": 38}),
        _reply("It moves at [00:00:33.5].", 0.9),
    )
    report = tmp_path / "agent.html"
    code, out, err = _ask(capsys, video_40s, openai_server, "--report", str(report))
    assert code == 0, err
    assert f"wrote the report to {report}" in out
    page = report.read_text(encoding="utf-8")
    assert "It moves at" in page  # the final answer
    assert "not among the chosen frames" not in page  # what it cites is a frame of the second step
    assert "what moves?" in page  # the second step's question
    assert "00:00:30–00:00:38" in page  # and its range


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-steps", "0"], "--max-steps must be a positive whole number, got 0"),
        (["--max-total-frames", "0"], "--max-total-frames must be a positive whole number, got 0"),
        (["--min-confidence", "2"], "--min-confidence must be above 0 and at most 1, got 2.0"),
        (["--zoom-k", "0"], "--zoom-k must be a positive whole number, got 0"),
        (["--zoom-fps", "-1"], "--zoom-fps must be a positive number, got -1.0"),
        (["--max-seconds", "0"], "--max-seconds must be a positive number of seconds, got 0.0"),
    ],
)
def test_bad_agent_flags_are_named_and_refused_before_the_sampler_loads(
    video_40s: Path,
    openai_server: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    flags: list[str],
    message: str,
) -> None:
    import gens_tools.cli._main as cli_main

    def no_sampler(*args: object) -> None:
        raise AssertionError("the sampler was built before the settings were checked")

    monkeypatch.setattr(cli_main, "sampler_from_args", no_sampler)
    code, _out, err = _ask(capsys, video_40s, openai_server, *flags)
    assert code == 1
    assert err.strip() == f"gens-tools ask: error: {message}"
    assert openai_server.requests == []


def test_check_settings_has_the_constructors_defaults() -> None:
    """``VideoAgent.check_settings`` and the constructor declare the same settings with the same defaults."""
    import inspect

    from gens_tools.agent import VideoAgent

    own = inspect.signature(VideoAgent.check_settings).parameters
    ctor = inspect.signature(VideoAgent.__init__).parameters
    assert own, "no settings"
    for name, parameter in own.items():
        assert ctor[name].default == parameter.default, name
