"""Agent-supplied arguments that used to slip through or fail badly: ``k: true``, a time of ``true``, a path
component over 255 bytes, a 100,000-character path; and CLI errors that named Python arguments instead of the
flags the user typed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gens_tools import AccessPolicy
from gens_tools.agent import VideoFramesTool, tool_error_text
from gens_tools.cli._main import main
from gens_tools.errors import GensToolsError, VideoNotFoundError
from gens_tools.synthetic import make_test_video

langchain_gens = pytest.importorskip("langchain_gens")
llama_gens = pytest.importorskip("llama_index.tools.gens")

BAD = [{"k": True}, {"k": False}, {"start": True}, {"end": False}]


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_video(tmp_path_factory.mktemp("args") / "clip.mp4", duration=6.0, fps=5.0, size=(96, 54))


def _call(video: Path, extra: dict[str, Any]) -> dict[str, Any]:
    return {"video": str(video), "question": "What happens?", **extra}


@pytest.mark.parametrize("extra", BAD, ids=str)
def test_true_is_not_a_number_in_any_integration(video: Path, extra: dict[str, Any]) -> None:
    from gens_tools.mcp._tools import VideoTools

    policy = AccessPolicy.allow([video.parent])
    core = VideoFramesTool(policy=policy, sampler="uniform", cache=False)
    with pytest.raises(GensToolsError) as caught:
        core.run(_call(video, extra))
    texts = {"core": tool_error_text(caught.value)}

    lang = langchain_gens.GenSVideoFramesTool(policy=policy, sampler="uniform", cache=False)
    msg = lang.invoke({"type": "tool_call", "id": "c1", "name": lang.name, "args": _call(video, extra)})
    assert msg.status == "error"
    texts["langchain"] = msg.content

    (llama,) = llama_gens.GenSToolSpec(policy, sampler="uniform", cache=False).to_tool_list()
    out = llama.call(**_call(video, extra))
    assert out.is_error
    texts["llama-index"] = out.content

    result = VideoTools(core).call("video_frames", _call(video, extra))
    assert result.is_error
    texts["mcp"] = result.content[0].text

    for where, text in texts.items():
        assert text.startswith(("Invalid argument", "Invalid time range")), (where, text)
        assert next(iter(extra)) in text, (where, text)


def test_a_name_over_255_bytes_is_not_found_in_one_line(tmp_path: Path) -> None:
    policy = AccessPolicy.allow([tmp_path])
    with pytest.raises(VideoNotFoundError, match="at most 255 bytes") as caught:
        policy.check(str(tmp_path / ("a" * 300 + ".mp4")))
    assert len(str(caught.value)) < 300
    with pytest.raises(VideoNotFoundError):
        policy.check("é" * 200)  # 400 bytes in UTF-8


def test_a_huge_path_is_refused_with_a_short_message(tmp_path: Path) -> None:
    policy = AccessPolicy.allow([tmp_path])
    with pytest.raises(GensToolsError) as caught:
        policy.check("/etc/" + "x/" * 50_000)
    assert len(str(caught.value)) < 400


def test_cli_a_name_over_255_bytes_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["info"], ["sample"]):
        args = [*command, str(tmp_path / ("a" * 300 + ".mp4"))] + (["q"] if command == ["sample"] else [])
        assert main(args) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        assert err[0].startswith("gens-tools: error:")
        assert "Traceback" not in err[0]
        assert len(err[0]) < 300


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--max-side", "8"], "--max-side must be"),
        (["--fps", "0"], "--fps must be"),
        (["--min-gap", "-1"], "--min-gap must be"),
        (["-k", "0"], "-k must be"),
        (
            ["--sampler", "remote", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--remote-max-side", "8"],
            "--remote-max-side must be",
        ),
        (
            ["--sampler", "remote", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--concurrency", "0"],
            "--concurrency must be",
        ),
        (["--sampler", "remote", "--base-url", "ftp://x", "--model", "m"], "--base-url must be"),
    ],
)
def test_cli_errors_name_the_flags(
    video: Path, flags: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sample", str(video), "q", "-q", *flags]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"gens-tools: error: {said}"), line
    assert "max_side" not in line
    assert "min_gap" not in line
