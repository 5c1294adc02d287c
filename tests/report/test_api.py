"""The report's API: FrameSelection.to_html / save(report=True), saved-and-reloaded selections, agent-step
shapes, and clear errors (bad input, a missing ``report`` extra)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from gens_tools import FrameSelection, Timeline
from gens_tools.errors import BackendUnavailableError, InvalidArgumentError
from gens_tools.report import ReportStep, render_html, render_png, save_report
from gens_tools.report._data import as_step


def cards(html: str) -> list[tuple[str, str]]:
    """(card classes, time) of every contact-sheet card, in page order."""
    return re.findall(r'<figure class="card ([^"]+)" id="frame-\d+" data-t="([\d.]+)"', html)


def test_to_html_is_the_report(selection: FrameSelection) -> None:
    html = selection.to_html()
    assert html == render_html(selection)
    assert [float(t) for _, t in cards(html)] == selection.timestamps
    assert len(re.findall(r'<img src="data:image/jpeg;base64,', html)) == len(selection.frames)


def test_save_with_report_writes_frames_json_and_page(selection: FrameSelection, tmp_path: Path) -> None:
    manifest = selection.save(tmp_path / "out", report=True)
    assert manifest.name == "selection.json"
    page = tmp_path / "out" / "report.html"
    assert page.is_file()
    assert len(list((tmp_path / "out").glob("frame_*.jpg"))) == len(selection.frames)
    assert [float(t) for _, t in cards(page.read_text(encoding="utf-8"))] == selection.timestamps
    # Without report=True, no page.
    selection.save(tmp_path / "plain")
    assert not (tmp_path / "plain" / "report.html").exists()


def test_a_selection_reloaded_from_json_gives_the_same_report(selection: FrameSelection, tmp_path: Path) -> None:
    tl = selection.timeline
    assert tl is not None
    n = len(tl)
    selection.timeline = replace(
        tl, coarse_scores=tuple(i / n for i in range(n)), passed=tuple(i % 7 == 0 for i in range(n))
    )
    data = json.loads(selection.to_json(images="base64"))
    assert data["timeline"]["coarse_scores"][7] == pytest.approx(7 / n)
    again = FrameSelection.from_dict(data)
    assert again.timeline == selection.timeline  # the coarse ranking survives the round trip
    assert cards(render_html(again)) == cards(render_html(selection))
    # A selection saved without images still renders: each card says it has no image.
    bare = FrameSelection.from_dict(json.loads(selection.to_json(images="none")))
    html = render_html(bare)
    assert html.count(">no image</div>") == len(selection.frames)
    assert render_png(bare).startswith(b"\x89PNG")


def test_timeline_without_coarse_ranking_keeps_its_dict_form() -> None:
    tl = Timeline(start=0.0, step=1.0, scores=(0.0, None, 5.0))
    assert tl.to_dict() == {"start": 0.0, "step": 1.0, "scores": [0.0, None, 5.0]}
    assert Timeline.from_dict(tl.to_dict()) == tl


def test_agent_steps_accept_mappings_objects_and_step_records() -> None:
    step = as_step(
        {
            "question": "q",
            "start": 5,
            "end": 9,
            "frames": [3.0, {"timestamp": 4, "score": 2}],
            "tokens": {"input_tokens": 10, "output_tokens": 5},
            "seconds": 1.5,
        }
    )
    assert step == ReportStep(question="q", start=5.0, end=9.0, frames=step.frames, tokens=15, seconds=1.5)
    assert [(f.timestamp, f.score) for f in step.frames] == [(3.0, None), (4.0, 2.0)]
    assert step.range_label == "00:00:05–00:00:09"
    assert as_step({"question": "q", "tokens": {"total_tokens": 99, "input_tokens": 1}}).tokens == 99
    with pytest.raises(InvalidArgumentError, match="needs a question"):
        as_step({"start": 1})
    with pytest.raises(InvalidArgumentError, match="start must be a number of seconds"):
        as_step({"question": "q", "start": -1})
    with pytest.raises(InvalidArgumentError, match="tokens must be an integer"):
        as_step({"question": "q", "tokens": "many"})


def test_bad_input_gets_clear_errors(selection: FrameSelection, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="needs a FrameSelection"):
        render_html({"frames": []})  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="answer must be an Answer"):
        render_html(selection, answer="42")
    with pytest.raises(InvalidArgumentError, match="steps must be a sequence"):
        render_html(selection, steps="step one")
    with pytest.raises(InvalidArgumentError, match=r"a report is written as \.html, \.htm, \.png"):
        save_report(tmp_path / "r.pdf", selection)
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        save_report(tmp_path / "nowhere" / "r.html", selection)
    tl = selection.timeline
    assert tl is not None
    selection.timeline = replace(tl, passed=(True, False))
    with pytest.raises(InvalidArgumentError, match="timeline's passed has 2 entries"):
        render_html(selection)


_NO_MATPLOTLIB = """
import sys
sys.modules["matplotlib"] = None  # as if the report extra were not installed
from pathlib import Path
from gens_tools import Frame, FrameSelection
from gens_tools.errors import BackendUnavailableError
sel = FrameSelection(video="v.mp4", question="q", frames=[Frame(1.0)])
for call in (sel.to_html, lambda: sel.save(sys.argv[1], report=True)):
    try:
        call()
    except BackendUnavailableError as exc:
        print("ERROR", exc)
print("WROTE", sorted(p.name for p in Path(sys.argv[1]).glob("*")) if Path(sys.argv[1]).exists() else [])
"""


def test_a_missing_report_extra_is_named(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _NO_MATPLOTLIB, str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:2] == ["ERROR the visual report needs matplotlib: pip install 'gens-tools[report]'"] * 2
    assert lines[2] == "WROTE []"  # save(report=True) failed before writing anything
    assert issubclass(BackendUnavailableError, ImportError)


def test_importing_the_report_does_not_load_matplotlib() -> None:
    code = (
        "import sys, gens_tools, gens_tools.report, gens_tools.cli; gens_tools.cli.build_parser();"
        "print('matplotlib' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
