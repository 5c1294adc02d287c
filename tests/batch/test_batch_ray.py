"""``run_batch`` on a local Ray instance: the same rows as the local run, row for row."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gens_tools.batch import BatchJob, Spec, read_records, run_batch
from gens_tools.cli import main
from gens_tools.errors import BackendUnavailableError

from .test_batch_local import UNIFORM, comparable

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_run_matches_the_local_run(ray_instance: Any, manifest: Path, tmp_path: Path) -> None:
    local = run_batch(manifest, tmp_path / "local.jsonl", UNIFORM, workers=1)
    on_ray = run_batch(manifest, tmp_path / "ray.jsonl", UNIFORM, ray=True, workers=2)
    assert (on_ray.ok, on_ray.errors, on_ray.executor) == (local.ok, local.errors, "ray") == (12, 3, "ray")
    assert comparable(tmp_path / "ray.jsonl") == comparable(tmp_path / "local.jsonl")
    workers = {r["worker"] for r in read_records(tmp_path / "ray.jsonl") if r["status"] == "ok"}
    assert len(workers) == 2  # two actors shared the rows
    assert ray_instance.is_initialized()  # a run joins the caller's instance and leaves it running


def test_ray_run_resumes(ray_instance: Any, manifest: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    run_batch(manifest, out, BatchJob(Spec("uniform"), k=2), workers=1)
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[:6]) + "\n")  # as if stopped after six rows
    report = run_batch(manifest, out, BatchJob(Spec("uniform"), k=2), ray=True)
    assert (report.skipped, report.ok + report.errors) == (6, 9)
    assert len({r["id"] for r in read_records(out)}) == 15


def test_batch_command_on_ray(
    ray_instance: Any, manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["batch", str(manifest), "--out", str(tmp_path / "r.jsonl"), "--ray", "-q"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("12 rows done, 3 failed")
    assert "rows/s, ray)" in printed


def test_without_ray_installed(monkeypatch: pytest.MonkeyPatch, manifest: Path, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(BackendUnavailableError, match=r"gens-tools\[ray\]"):
        run_batch(manifest, tmp_path / "r.jsonl", UNIFORM, ray=True)
