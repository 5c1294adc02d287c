"""Manifest rows and the resumable results file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gens_tools.batch import BadRow, ResultLog, Row, Spec, read_manifest, read_records
from gens_tools.batch._jsonl import _repair_tail
from gens_tools.errors import InvalidArgumentError
from gens_tools.options import SamplingOptions

from .conftest import write_manifest


def test_rows_and_their_errors(tmp_path: Path) -> None:
    path = write_manifest(
        tmp_path,
        [
            {"video": "a.mp4", "question": "q1"},
            {
                "id": 7,
                "video": "/abs/b.mp4",
                "question": "q2",
                "k": 4,
                "start": 1,
                "end": 9.5,
                "options": {"fps": 2, "max_side": 224},
                "meta": {"x": [1]},
            },
            {"video": "https://example.com/v.mp4", "question": "q3"},
            "",
            {"id": "u", "video": "a.mp4", "question": "q", "options": {"fpz": 1}},
            {"id": "v", "video": "a.mp4", "question": "q", "qestion": "typo"},
            {"id": "w", "video": "a.mp4", "question": " "},
            {"id": "x", "video": "a.mp4", "question": "q", "k": 0},
            {"id": 7, "video": "a.mp4", "question": "again"},
            "[1, 2]",
            "{oops",
        ],
    )
    rows = list(read_manifest(path))
    good = [r for r in rows if isinstance(r, Row)]
    bad = {r.id: r.error for r in rows if isinstance(r, BadRow)}
    assert [r.id for r in good] == ["1", "7", "3"]
    assert good[0].video == str(tmp_path / "a.mp4")  # relative to the manifest
    assert good[1] == Row(
        id="7",
        video="/abs/b.mp4",
        question="q2",
        k=4,
        start=1.0,
        end=9.5,
        options={"fps": 2, "max_side": 224},
        meta={"x": [1]},
        line=2,
    )
    assert good[2].video == "https://example.com/v.mp4"
    assert "unknown sampling option(s) fpz" in bad["u"]
    assert "unknown key(s) qestion" in bad["v"]
    assert "question must be a non-empty string" in bad["w"]
    assert "k must be a positive integer" in bad["x"]
    assert "duplicate id '7'" in bad["7@line9"]
    assert "must be a JSON object" in bad["10"]
    assert "not JSON" in bad["11"]
    # An option out of range is a row error too (checked against the run's own options).
    path2 = write_manifest(tmp_path, [{"video": "a.mp4", "question": "q", "options": {"fps": -1}}], "m2.jsonl")
    (only,) = read_manifest(path2, SamplingOptions(fps=2.0))
    assert isinstance(only, BadRow)
    assert "fps" in only.error
    with pytest.raises(InvalidArgumentError, match="manifest not found"):
        list(read_manifest(tmp_path / "none.jsonl"))


def test_result_log_resumes_and_repairs_a_cut_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with ResultLog(path, lambda r: r["id"]) as log:
        log.append({"id": "a", "v": 1})
        log.append({"id": "b", "v": 1})
    with path.open("a") as f:
        f.write('{"id": "c", "v"')  # interrupted mid-write
    with ResultLog(path, lambda r: r["id"]) as log:
        assert set(log.done) == {"a", "b"}
        log.append({"id": "a", "v": 2})  # a later record of the same key wins
        assert log.done["a"]["v"] == 2
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == ["a", "b", "a"]
    assert [r["v"] for r in read_records(path)] == [1, 1, 2]
    one = tmp_path / "one.jsonl"
    one.write_text('{"partial')
    _repair_tail(one)
    assert one.read_text() == ""


def test_specs() -> None:
    spec = Spec.parse("remote:base_url=http://127.0.0.1:8000/v1,model=gens,concurrency=4,strict=true")
    assert spec.name == "remote"
    assert spec.options == {"base_url": "http://127.0.0.1:8000/v1", "model": "gens", "concurrency": 4, "strict": True}
    assert spec.label == "remote:base_url=http://127.0.0.1:8000/v1,model=gens,concurrency=4,strict=true"
    assert Spec.parse("uniform") == Spec("uniform")
    for bad in ("", ":x=1", "uniform:window_size"):
        with pytest.raises(InvalidArgumentError):
            Spec.parse(bad)
