"""The gens-tools command line as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gens_tools.cli._main import main
from gens_tools.synthetic import read_time_code


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
    code, out, err = run(capsys, "sample", str(video_40s), "What?", "-k", "3", "--start", "0:10", "--end", "40",
                         "--json", "--out", str(out_dir))
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
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert [round(f["timestamp"]) for f in json.loads(proc.stdout)["frames"]] == [10, 30]
    bad = subprocess.run(
        [sys.executable, "-m", "gens_tools", "sample", "/nonexistent/v.mp4", "q"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1
    assert "Traceback" not in bad.stderr
