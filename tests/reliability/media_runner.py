"""Runs the hostile-media corpus (``hostile_media.py``) in a process of its own, so that a hang can be killed and
memory is measured for this work alone. For each case it prints a ``start`` line, then a ``done`` line with what
happened, as JSON.

Each case is opened the way an agent tool opens a video: ``sample_frames`` with the uniform sampler (through an
``AccessPolicy`` allowing only the case's folder, unless the case says otherwise), then, when frames came back, a
scoring run whose sampler prefers the later part of the video (the part a lying or held video gets wrong).

Usage: ``python media_runner.py build WORKDIR`` writes every case's input (and ``WORKDIR/built.json``);
``python media_runner.py run WORKDIR [FIRST_INDEX [NAMES]]`` opens them, from case ``FIRST_INDEX`` on (only the
comma-separated ``NAMES`` when given). Building in a process of its own keeps the encoders' memory out of the
measured run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import resource
import shutil
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, ClassVar

sys.path.insert(0, str(Path(__file__).parent))

from hostile_media import Case, cases

from gens_tools import AccessPolicy, FrameSampler, SamplingOptions, Window, WindowScores
from gens_tools.errors import GensToolsError
from gens_tools.pipeline import sample_frames
from gens_tools.synthetic import read_time_code
from gens_tools.testing import peak_rss_mib
from gens_tools.video import FrameCache

K = 8


class LaterIsBetter(FrameSampler):
    """Scores each frame by its time: the later, the more relevant (so a held or missing end is what it picks)."""

    name: ClassVar[str] = "later"
    needs_images = False

    def score_window(self, window: Window, question: str) -> WindowScores:
        return WindowScores(window.index, [min(5.0, 1.0 + f.timestamp / 10.0) for f in window.frames])


class Witness:
    """Watches FIFOs: opening one for writing without blocking succeeds only while someone has it open to read."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = [p for p in paths if p.exists()]
        self.opened: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            for path in self.paths:
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
                except OSError:
                    continue
                self.opened.add(path.name)
                os.close(fd)  # the reader now sees the end of the file and moves on
            self._stop.wait(0.01)

    def __enter__(self) -> Witness:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _selection_facts(selection: Any, case: Case) -> dict[str, Any]:
    digests = [hashlib.sha256(f.require_image().tobytes()).hexdigest() for f in selection.frames]
    wrong = []
    held = case.notes.get("held_from")
    offset = float(case.notes.get("offset", 0.0))
    if case.coded:
        for frame in selection.frames:
            try:
                painted = read_time_code(frame.require_image())
            except ValueError:
                wrong.append(f"{frame.timestamp:.2f}s shows no time code")
                continue
            if held is not None and frame.timestamp >= held and abs(painted - held) <= 0.05:
                continue  # the held picture, shown from `held` on
            if abs(painted - offset - frame.timestamp) > 0.55:
                wrong.append(f"{frame.timestamp:.2f}s shows {painted:.2f}s")
    return {
        "n": len(selection.frames),
        "timestamps": [round(f.timestamp, 3) for f in selection.frames],
        "distinct": len(set(digests)),
        "wrong": wrong,
        "notices": list(selection.notices),
        "lost_spans": [list(s) for s in selection.lost_spans],
        "duration": selection.duration,
    }


def case_folder(case: Case, work: Path) -> Path:
    return work / case.name.replace("/", "_")


def build(work: Path) -> None:
    """Write every case's input; ``built.json`` maps each case to its video argument or why it was not built."""
    built: dict[str, dict[str, str]] = {}
    for case in cases():
        if case.skip:
            built[case.name] = {"skipped": case.skip}
            continue
        base = case_folder(case, work)
        (base / "allowed").mkdir(parents=True, exist_ok=True)
        (base / "outside").mkdir(parents=True, exist_ok=True)
        try:
            built[case.name] = {"video": case.make(base / "allowed")}
        except Exception as exc:
            built[case.name] = {"build_error": f"{type(exc).__name__}: {exc}"}
    (work / "built.json").write_text(json.dumps(built, indent=1), encoding="utf-8")


def run_case(case: Case, video: str, work: Path) -> dict[str, Any]:
    base = case_folder(case, work)
    allowed = base / "allowed"
    record: dict[str, Any] = {"case": case.name}
    shutil.rmtree(base / "cache", ignore_errors=True)  # a run never reads what an earlier run cached
    policy = AccessPolicy.allow([allowed], max_duration=case.max_duration) if case.policy else None
    options = SamplingOptions(
        fps=1.0, backend=case.backend, frame_rate=case.frame_rate, cache=FrameCache(base / "cache")
    )
    t0 = time.perf_counter()
    with Witness([base / w for w in case.witnesses]) as witness:
        for pass_name, sampler in (("uniform", "uniform"), ("scored", LaterIsBetter())):
            try:
                selection = sample_frames(video, "What is shown?", sampler=sampler, k=K, options=options, policy=policy)
            except GensToolsError as exc:
                record[pass_name] = {"error": type(exc).__name__, "message": str(exc)[:500]}
                break
            except BaseException as exc:  # what must never happen: a raw exception
                record[pass_name] = {
                    "raw": type(exc).__name__,
                    "message": str(exc)[:500],
                    "traceback": traceback.format_exc()[-2000:],
                }
                break
            record[pass_name] = _selection_facts(selection, case)
    record["seconds"] = round(time.perf_counter() - t0, 2)
    record["opened"] = sorted(witness.opened)
    record["peak_rss_mib"] = round(peak_rss_mib(), 1)
    return record


def run(work: Path, first: int, only: set[str] | None) -> None:
    built = json.loads((work / "built.json").read_text(encoding="utf-8"))
    for index, case in enumerate(cases()):
        if index < first or (only is not None and case.name not in only):
            continue
        print(json.dumps({"event": "start", "index": index, "case": case.name}), flush=True)
        made = built.get(case.name, {"build_error": "not built"})
        record: dict[str, Any] = (
            {"case": case.name, **made} if "video" not in made else run_case(case, made["video"], work)
        )
        print(json.dumps({"event": "done", "index": index, **record}), flush=True)


def main() -> None:
    command, work = sys.argv[1], Path(sys.argv[2])
    if command == "build":
        build(work)
    else:
        first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
        only = set(sys.argv[4].split(",")) if len(sys.argv) > 4 else None
        run(work, first, only)


if __name__ == "__main__":
    # A runaway allocation fails here instead of taking the machine's memory.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (6 * 1024**3, 6 * 1024**3))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
