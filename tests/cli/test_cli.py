"""The gens-tools command line as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gens_tools.cli._main import main
from gens_tools.samplers import registered_sampler
from gens_tools.synthetic import read_time_code
from tests.samplers.toy import ToySampler


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_sample_prints_a_table(video_40s: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "sample", str(video_40s), "What happens?", "-k", "4")
    assert code == 0, err
    assert "4 frames" in out
    for label in ["00:00:05.0", "00:00:15.0", "00:00:25.0", "00:00:35.0"]:
        assert label in out


def test_sample_json_and_out(video_40s: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "frames"
    code, out, err = run(
        capsys,
        "sample",
        str(video_40s),
        "What?",
        "-k",
        "3",
        "--start",
        "0:10",
        "--end",
        "40",
        "--json",
        "--out",
        str(out_dir),
    )
    assert code == 0, err
    data = json.loads(out)
    assert [round(f["timestamp"]) for f in data["frames"]] == [15, 25, 35]
    assert data["question"] == "What?"
    assert "timings" in data
    assert "spans" in data
    from PIL import Image

    for f in data["frames"]:
        path = Path(f["path"])
        assert path.parent == out_dir
        assert path.suffix == ".jpg"
        with Image.open(path) as img:
            assert abs(read_time_code(img) - f["timestamp"]) < 1e-3
    manifest = json.loads((out_dir / "selection.json").read_text())
    assert manifest["frames"] == data["frames"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sample", "{missing}", "q"], "not found"),
        (["sample", "{missing}", "q", "--sampler", "gens-3b"], "not found"),  # before any model loads
        (["sample", "{video}", ""], "question is empty"),
        (["sample", "{video}", "q", "-k", "0"], "k must be a positive integer"),
        (["sample", "{video}", "q", "--start", "100"], "past the end"),
        (["sample", "{garbage}", "q"], "not"),
        (["sample", "{video}", "q", "--sampler", "remote"], "--base-url"),
        (
            ["sample", "{video}", "q", "--sampler", "gens-3b", "--concurrency", "4"],
            "--concurrency does not apply to --sampler gens-3b (an option of: remote)",
        ),
        (["sample", "{video}", "q", "--window-size", "many"], "--window-size expects a whole number, got 'many'"),
    ],
)
def test_errors_are_one_line(
    argv: list[str], message: str, video_40s: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(os.urandom(4096))
    subs = {"{missing}": str(tmp_path / "missing.mp4"), "{video}": str(video_40s), "{garbage}": str(garbage)}
    code, out, err = run(capsys, *[subs.get(a, a) for a in argv])
    assert code == 1
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("gens-tools: error: ")
    assert message in lines[0]
    assert "Traceback" not in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["sample", "video.mp4", "q", "--start", "soon"])
    assert exc.value.code == 2
    assert "invalid time" in capsys.readouterr().err
    assert main([]) == 2


def test_progress_bars_on_stderr(video_40s: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, "sample", str(video_40s), "q", "-k", "2", "--no-cache", "--progress")
    assert code == 0
    assert "decoding frames" in err


def test_info_and_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo = tmp_path / "demo.mp4"
    code, out, _ = run(capsys, "demo", str(demo), "--duration", "12")
    assert code == 0
    assert demo.exists()
    code, out, _ = run(capsys, "info", str(demo), "--json")
    assert code == 0
    info = json.loads(out)
    assert info["duration"] == pytest.approx(12.0, abs=0.2)
    assert info["codec"] == "h264"


def test_console_script_runs_as_a_process(video_40s: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gens_tools", "sample", str(video_40s), "q", "-k", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert [round(f["timestamp"]) for f in json.loads(proc.stdout)["frames"]] == [10, 30]
    bad = subprocess.run(
        [sys.executable, "-m", "gens_tools", "sample", "/nonexistent/v.mp4", "q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1
    assert "Traceback" not in bad.stderr


@pytest.fixture
def toy() -> Iterator[None]:
    """The toy sampler of tests/samplers/toy.py, registered from outside gens-tools."""
    with registered_sampler("toy", ToySampler):
        yield


def test_a_registered_sampler_gets_its_flags_from_its_constructor(
    toy: None, video_40s: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys,
        "sample",
        str(video_40s),
        "q",
        "-k",
        "3",
        "--json",
        "--sampler",
        "toy",
        "--toy-option",
        "30",
        "--width",
        "1",
        "--mode",
        "flat",
        "--window-size",
        "8",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["sampler"] == "toy"
    assert [(round(f["timestamp"]), f["score"]) for f in data["frames"]] == [(29, 5.0), (30, 5.0), (31, 5.0)]
    assert max(w["n_frames"] for w in data["windows"]) <= 8  # --window-size, a flag it shares, reached it


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--sampler", "toy", "--concurrency", "2"],
            "--concurrency does not apply to --sampler toy (an option of: remote)",
        ),
        (
            ["--sampler", "uniform", "--toy-option", "3"],
            "--toy-option does not apply to --sampler uniform (an option of: toy)",
        ),
        (["--sampler", "toy", "--toy-option", "soon"], "--toy-option expects a number, got 'soon'"),
        (["--sampler", "toy", "--width", "-1"], "--width must be >= 0, got -1"),
    ],
)
def test_a_flag_the_sampler_does_not_take_is_refused_in_one_line(
    argv: list[str], message: str, toy: None, video_40s: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "sample", str(video_40s), "q", *argv)
    assert (code, out) == (1, "")
    assert err.strip().splitlines() == [f"gens-tools: error: {message}"]


def test_a_choice_the_sampler_does_not_offer_is_a_usage_error(toy: None, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["sample", "v.mp4", "q", "--sampler", "toy", "--mode", "loud"])
    assert exc.value.code == 2
    assert "--mode: invalid choice: 'loud'" in capsys.readouterr().err


def test_each_flag_appears_once_and_secrets_never(toy: None, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    help_text = capsys.readouterr().out
    assert help_text.count("--window-size") == 2  # once in the usage line, once in the list
    assert "--toy-option" in help_text
    assert "--api-key " not in help_text
    assert "--on-window" not in help_text
    code, out, _ = run(capsys, "samplers", "toy")
    assert code == 0
    assert out.splitlines()[0] == "toy  (from tests.samplers.toy)"
    assert "--toy-option" in out
    assert "the second of video this sampler looks for." in out
    assert "Python API only: api_key, on_window" in out
    code, out, _ = run(capsys, "samplers", "--json")
    listed = {item["name"]: item for item in json.loads(out)}
    assert {"uniform", "gens-3b", "gens", "remote", "similarity", "toy"} <= set(listed)
    assert [o["flag"] for o in listed["remote"]["options"]][:2] == ["--base-url", "--model"]


def test_a_flag_the_command_has_stays_its_own(video_40s: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # `sample --max-side` is the decoding size; the remote sampler's max_side is --remote-max-side there.
    code, _, err = run(capsys, "sample", str(video_40s), "q", "-k", "2", "--max-side", "64", "--remote-max-side", "64")
    assert (code, err.strip()) == (
        1,
        "gens-tools: error: --remote-max-side does not apply to --sampler auto (an option of: remote)",
    )
    # `ask --timeout` is the assistant's; the remote sampler's is --remote-timeout there.
    with pytest.raises(SystemExit):
        main(["ask", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--timeout TIMEOUT seconds per request attempt" in help_text
    assert "--remote-timeout X remote: seconds one HTTP request may take" in help_text
