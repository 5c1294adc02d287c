"""``gens-tools eval`` as a user runs it: a benchmark file in, results, summary and table out; resumable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gens_tools.cli import main
from gens_tools.testing import FakeOpenAI


def test_eval_command_runs_resumes_and_summarises(
    needles: Path, fake_gpt: FakeOpenAI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    gpt = f"gpt-4o:base_url={fake_gpt.base_url},api_key={fake_gpt.api_key}"
    argv = [
        "eval",
        "jsonl",
        str(needles),
        "--sampler",
        "uniform",
        "--assistant",
        gpt,
        "-k",
        "4",
        "-k",
        "8",
        "--out",
        str(out),
        "--limit",
        "3",
        "--rag",
        "-q",
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("| sampler | assistant | K |")
    assert "| uniform | gpt-4o:base_url=" in printed
    assert fake_gpt.api_key not in printed
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 3 * 2
    assert len(fake_gpt.requests) == 6
    assert {p.name for p in out.iterdir()} >= {"results.jsonl", "summary.json", "summary.md", "summary.png", "rag"}
    # Run again: nothing left to ask.
    assert main(argv) == 0
    assert len(fake_gpt.requests) == 6
    assert len((out / "results.jsonl").read_text().splitlines()) == 6
    capsys.readouterr()
    assert main(["eval", "jsonl", str(needles), "--out", str(out), "--summary-only", "--no-plot"]) == 0
    assert "| uniform |" in capsys.readouterr().out
    cells = json.loads((out / "summary.json").read_text())["cells"]
    assert [c["k"] for c in cells] == [4, 8]


def test_category_filter(needles: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert (
        main(["eval", "jsonl", str(needles), "--category", "order", "-k", "2", "--out", str(out), "-q", "--no-plot"])
        == 0
    )
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 2
    assert {r["category"] for r in records} == {"order"}


def test_eval_command_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "mlvu", str(tmp_path / "nothing.json"), "--out", str(tmp_path / "o")]) == 1
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert main(["eval", "jsonl", str(tmp_path / "x"), "--out", str(tmp_path / "o"), "--summary-only"]) == 1
