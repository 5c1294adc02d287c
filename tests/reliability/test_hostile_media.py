"""Every file of the hostile-media corpus (``hostile_media.py``) gives a typed error or correct frames, within a
per-file time bound and bounded memory: no hang, no raw exception, no empty success, no duplicate frames
without a reason, no frame showing another time than its timestamp, and nothing opened outside the allowed
folder.

The corpus is built and run in processes of their own (``media_runner.py``): a case that hangs is killed after
:data:`CASE_SECONDS` and reported, and the run goes on with the next case.
"""

from __future__ import annotations

import importlib.util
import json
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
RUNNER = HERE / "media_runner.py"
#: Seconds one case may take (a generous bound that catches hangs, not a speed assertion).
CASE_SECONDS = 60.0
#: Peak memory of the process that opens the whole corpus, in MiB (an 8K frame is ~100 MB decoded).
PEAK_RSS_MIB = 1536
K = 8


def _corpus() -> Any:
    spec = importlib.util.spec_from_file_location("hostile_media", HERE / "hostile_media.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


CASES = {case.name: case for case in _corpus().cases()}


def _run(work: Path, first: int, log: Any) -> tuple[dict[str, dict[str, Any]], dict[str, Any] | None, int | None]:
    """Run the corpus from case ``first``: the records, the case that hung (if one did) and the exit status."""
    proc = subprocess.Popen(
        [sys.executable, str(RUNNER), "run", str(work), str(first)],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    records: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    while True:
        try:
            line = lines.get(timeout=CASE_SECONDS)
        except queue.Empty:
            proc.kill()
            proc.wait(timeout=30)
            return records, current, None
        if line is None:
            return records, current, proc.wait(timeout=30)
        event = json.loads(line)
        if event["event"] == "start":
            current = event
        else:
            records[event["case"]] = event
            current = None


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    work = tmp_path_factory.mktemp("hostile-media")
    with (work / "build.log").open("w") as log:
        subprocess.run(
            [sys.executable, str(RUNNER), "build", str(work)], check=True, timeout=600, stdout=log, stderr=log
        )
    records: dict[str, dict[str, Any]] = {}
    first = 0
    with (work / "run.log").open("w") as log:
        for _ in range(len(CASES)):
            got, stuck, status = _run(work, first, log)
            records.update(got)
            if stuck is None:
                break
            # The case that was running hung (killed) or took the runner down: record it, go on after it.
            records[stuck["case"]] = {"hung": status is None, "exit_status": status}
            first = stuck["index"] + 1
    return records


def _facts(record: dict[str, Any], name: str) -> dict[str, Any] | None:
    return record.get(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_hostile_media(results: dict[str, dict[str, Any]], name: str) -> None:
    case = CASES[name]
    record = results.get(name)
    assert record is not None, "the runner never reached this case"
    if "skipped" in record:
        pytest.skip(record["skipped"])
    assert "build_error" not in record, record["build_error"]
    assert not record.get("hung"), f"hung for more than {CASE_SECONDS:g}s"
    assert "exit_status" not in record, f"took the process down (exit status {record['exit_status']})"
    assert record["opened"] == [], f"opened what it must not: {record['opened']}"
    assert record["peak_rss_mib"] < PEAK_RSS_MIB, f"peak memory {record['peak_rss_mib']} MiB"
    for pass_name in ("uniform", "scored"):
        facts = record.get(pass_name)
        if facts is None:
            continue
        assert "raw" not in facts, f"{pass_name}: raw {facts['raw']}: {facts['message']}\n{facts.get('traceback')}"
        if "error" in facts:
            assert case.expect != "frames", f"{pass_name}: expected frames, got {facts['error']}: {facts['message']}"
            if case.errors:
                assert facts["error"] in case.errors, f"{pass_name}: {facts['error']}: {facts['message']}"
            assert "\n" not in facts["message"]
            continue
        assert case.expect != "error", f"{pass_name}: expected a typed error, got {facts['n']} frames"
        assert facts["n"] >= 1, f"{pass_name}: an empty success (0 frames, no error)"
        assert facts["distinct"] == facts["n"], f"{pass_name}: {facts['n'] - facts['distinct']} duplicate frames"
        assert facts["wrong"] == [], f"{pass_name}: frames showing other times: {facts['wrong']}"
        stamps = facts["timestamps"]
        assert stamps == sorted(stamps)
        assert all(0 <= t <= facts["duration"] + 1e-6 for t in stamps), stamps
        if facts["n"] < K:
            assert facts["notices"], f"{pass_name}: {facts['n']} of {K} frames and no notice saying why"
