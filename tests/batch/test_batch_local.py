"""``run_batch`` on this machine: in-process and with a process pool; resumable; with an assistant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gens_tools.batch import BatchJob, Spec, read_records, run_batch
from gens_tools.cli import main
from gens_tools.progress import ProgressEvent
from gens_tools.samplers.precomputed import read_rag_file
from gens_tools.testing import FakeOpenAI

UNIFORM = BatchJob(sampler=Spec("uniform"), k=5)


def comparable(path: Path) -> dict[str, object]:
    """Each row's result without what legitimately differs between runs (timings, worker ids)."""
    out: dict[str, object] = {}
    for r in read_records(path):
        sel = r.get("selection") or {}
        out[str(r["id"])] = (
            r["status"],
            r["error"],
            r.get("k"),
            r.get("meta"),
            [(f["timestamp"], f["score"], f["origin"]) for f in sel.get("frames", [])],
            sel.get("fps"),
            sel.get("start"),
            sel.get("end"),
        )
    return out


def test_pool_of_two_gives_the_same_rows_as_one_worker(manifest: Path, tmp_path: Path) -> None:
    one = run_batch(manifest, tmp_path / "one.jsonl", UNIFORM, workers=1)
    two = run_batch(manifest, tmp_path / "two.jsonl", UNIFORM, workers=2)
    assert (one.ok, one.errors, two.ok, two.errors) == (12, 3, 12, 3)
    assert comparable(tmp_path / "one.jsonl") == comparable(tmp_path / "two.jsonl")
    rows = {r["id"]: r for r in read_records(tmp_path / "two.jsonl")}
    assert len({r["worker"] for r in rows.values() if r["status"] == "ok"}) == 2  # both workers ran rows
    assert [f["timestamp"] for f in rows["r0"]["selection"]["frames"]] == [3.0, 9.0, 15.0, 21.0, 27.0]
    assert len(rows["r1"]["selection"]["frames"]) == 3  # the row's own k
    assert rows["r2"]["selection"]["fps"] == 2.0  # the row's own options
    assert all(5.0 <= f["timestamp"] < 20.0 for f in rows["r3"]["selection"]["frames"])
    assert rows["r3"]["meta"] == {"source": "test"}
    assert "unknown sampling option(s) fpz" in rows["bad-option"]["error"]
    assert rows["missing-video"]["error"].startswith("VideoNotFoundError")
    assert "not JSON" in rows["15"]["error"]


def test_interrupted_batch_resumes(manifest: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    events: list[ProgressEvent] = []

    def stop_after_four(event: ProgressEvent) -> None:
        events.append(event)
        if event.done == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(manifest, out, UNIFORM, workers=1, progress=stop_after_four)
    assert len(out.read_text().splitlines()) == 4
    assert events[-1].stage == "write"
    assert events[-1].total == 15
    report = run_batch(manifest, out, UNIFORM, workers=2)
    assert (report.skipped, report.ok + report.errors) == (4, 11)
    assert len({r["id"] for r in read_records(out)}) == 15
    again = run_batch(manifest, out, UNIFORM, retry_errors=True)
    assert (again.skipped, again.errors, again.ok) == (12, 3, 0)


def test_assistant_answers_every_row(clips: Path, tmp_path: Path) -> None:
    server = FakeOpenAI(check_time_codes=True)
    try:
        rows = [{"id": i, "video": f"{clips}/clip{i % 3}.mp4", "question": f"What happens? ({i})"} for i in range(4)]
        path = tmp_path / "m.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        job = BatchJob(Spec("uniform"), Spec("gpt-4o", {"base_url": server.base_url, "api_key": server.api_key}), k=3)
        report = run_batch(path, tmp_path / "r.jsonl", job, workers=2, rag_out=tmp_path / "rag.jsonl")
        assert report.ok == 4
        assert server.violations == []
        assert len(server.requests) == 4
        for r in read_records(tmp_path / "r.jsonl"):
            assert r["answer"]["answer"].startswith("I was shown 3 frames")
            assert r["answer"]["usage"]["input_tokens"] > 0
        entries = read_rag_file(tmp_path / "rag.jsonl")
        assert sorted(e.question or "" for e in entries) == sorted(r["question"] for r in rows)
    finally:
        server.stop()


def test_precomputed_rows_are_bound_to_their_video(clips: Path, tmp_path: Path) -> None:
    rag = tmp_path / "rag.jsonl"
    rag.write_text(
        json.dumps({"video_path": "x/clip1.mp4", "rag_images": ["7.jpg", "30.jpg"], "rag_sim": [5, 4], "fps": 1}) + "\n"
    )
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"id": "a", "video": f"{clips}/clip1.mp4", "question": "q"}) + "\n")
    job = BatchJob(Spec.parse(f"precomputed:path={rag}"), k=2)
    report = run_batch(path, tmp_path / "r.jsonl", job, workers=2)
    assert report.ok == 1
    (row,) = read_records(tmp_path / "r.jsonl")
    assert [f["timestamp"] for f in row["selection"]["frames"]] == [7.0, 30.0]


def test_batch_command(manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.jsonl"
    assert main(["batch", str(manifest), "--out", str(out), "-k", "4", "--workers", "2", "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("12 rows done, 3 failed, 0 already done")
    assert "3 row(s) failed" in captured.err
    assert main(["batch", str(manifest), "--out", str(out), "--json", "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["skipped"] == 15
    assert main(["batch", str(manifest), "--out", str(out), "--sampler", "nope"]) == 1
    assert "unknown sampler 'nope'" in capsys.readouterr().err
