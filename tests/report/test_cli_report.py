"""``gens-tools sample … --report out.html|out.png`` against a fake GenS server that reads each frame's time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gens_tools.cli import main
from gens_tools.report import _style as style
from gens_tools.testing import FakeGenSServer, FakeOpenAI

from .screens import frames_of, lane_rows, screenshot, time_in

# The fake GenS scores the frames whose painted time lies in the span the question names 5, their neighbours 2.
QUESTION = "What happens between 12 and 17 seconds?"
OPENAI_KEY = "sk-report-test-key-0123456789"


@pytest.fixture
def server() -> Iterator[FakeGenSServer]:
    with FakeGenSServer(lifetime=60.0) as s:
        yield s


def sample_argv(video: Path, server: FakeGenSServer, *extra: str) -> list[str]:
    return [
        "sample",
        str(video),
        QUESTION,
        "-k",
        "8",
        "--sampler",
        "remote",
        "--base-url",
        server.url,
        "--model",
        "gens-test",
        "--quiet",
        *extra,
    ]


def test_sample_writes_an_html_report(
    video_80s: Path, server: FakeGenSServer, chromium: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.html"
    assert main(sample_argv(video_80s, server, "--report", str(out))) == 0
    printed = capsys.readouterr().out
    assert f"wrote the report to {out}" in printed
    html = out.read_text(encoding="utf-8")
    assert QUESTION in html
    assert "sampler</dt><dd>remote" in html
    times = [float(t) for t in re.findall(r'data-t="([\d.]+)"', html)]
    assert times == [float(t) for t in range(11, 19)]  # 12–17 s scored 5, their neighbours 2, in time order

    pixels = np.asarray(screenshot(chromium, out, tmp_path / "shot.png"))
    top = max(r.stop for r in lane_rows(pixels, style.LANE_BG))
    boxes = frames_of(pixels, [style.SCORED, style.FILL, style.ALL], top=top)
    assert [time_in(pixels, b, inset=3) for b in boxes] == pytest.approx(times, abs=0.01)


def test_sample_writes_a_png_report_with_json_output(
    video_80s: Path, server: FakeGenSServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.png"
    assert main(sample_argv(video_80s, server, "--report", str(out), "--json")) == 0
    assert capsys.readouterr().out.lstrip().startswith("{")  # stdout stays pure JSON
    with Image.open(out) as img:
        pixels = np.asarray(img.convert("RGB"))
    top = max(r.stop for r in lane_rows(pixels, style.LANE_BG))
    boxes = frames_of(pixels, [style.SCORED, style.FILL, style.ALL], top=top)
    shown = [time_in(pixels, b, inset=3) for b in boxes]
    assert shown == pytest.approx([float(t) for t in range(11, 19)], abs=0.01)


@pytest.mark.parametrize(
    ("name", "message"),
    [("out.pdf", "a report is written as .html, .htm, .png"), ("missing/out.html", "does not exist")],
)
def test_bad_report_paths_are_refused_before_sampling(
    video_80s: Path,
    server: FakeGenSServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    message: str,
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(sample_argv(video_80s, server, "--report", str(tmp_path / name)))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert server.requests == []  # nothing was sampled


def test_ask_writes_a_report_with_the_answer_and_its_cited_frames(
    video_80s: Path,
    chromium: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    out = tmp_path / "answer.html"
    # The fake GPT-4o checks each image against its label and cites the first and the last frame it was shown.
    api = FakeOpenAI(api_key=OPENAI_KEY, check_time_codes=True)
    try:
        code = main(
            [
                "ask",
                str(video_80s),
                "What is on screen?",
                "--assistant",
                "gpt-4o",
                "--assistant-base-url",
                api.base_url,
                "--sampler",
                "uniform",
                "-k",
                "6",
                "-q",
                "--report",
                str(out),
            ]
        )
    finally:
        api.stop()
    assert api.violations == []
    printed = capsys.readouterr().out
    assert code == 0
    assert f"wrote the report to {out}" in printed
    html = out.read_text(encoding="utf-8")
    times = [float(t) for t in re.findall(r'data-t="([\d.]+)"', html)]
    assert len(times) == 6
    assert "I was shown 6 frames" in html
    cited = [float(t) for t in re.findall(r'<figure class="card [a-z]+ cited" id="frame-\d+" data-t="([\d.]+)"', html)]
    assert cited == [times[0], times[-1]]

    pixels = np.asarray(screenshot(chromium, out, tmp_path / "shot.png"))
    top = max(r.stop for r in lane_rows(pixels, style.LANE_BG))
    rings = frames_of(pixels, [style.CITED], top=top)
    assert [time_in(pixels, r, inset=8) for r in rings] == pytest.approx(cited, abs=0.01)
