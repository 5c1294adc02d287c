"""The HTML report, opened in headless Chromium: what a person sees on the screenshot.

Each test samples a generated video (every frame shows its own time), writes the page, takes a screenshot, and
finds on it the timeline's lanes, the markers and the thumbnails by their colours: the timeline must run from 0
to the video's length, each chosen frame's marker must sit at its time, and the thumbnails must show the chosen
frames (their painted times read back from the screenshot's pixels) in time order.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from gens_tools import FrameSelection, sample_frames
from gens_tools.report import ReportStep, render_html, save_report
from gens_tools.report import _style as style

from .conftest import DURATION, QUESTION, SeeingSampler, answer_citing
from .screens import (
    color_mask,
    frames_of,
    lane_rows,
    marker_centers,
    rows_with,
    runs_of,
    screenshot,
    time_in,
    to_time,
    x_extent,
)

#: Half the width of a frame marker on screen (px), with a pixel to spare for blending.
HALF_MARK = 8


def shoot(chromium: str, selection: FrameSelection, tmp_path: Path, **kwargs: object) -> tuple[np.ndarray, str]:
    page = save_report(tmp_path / "report.html", selection, **kwargs)  # type: ignore[arg-type]
    html = page.read_text(encoding="utf-8")
    shot = screenshot(chromium, page, tmp_path / "shot.png")
    return np.asarray(shot), html


class Timeline:
    """The timeline as found on a screenshot: each lane by its colours, the time axis from the lanes' edges."""

    def __init__(self, pixels: np.ndarray, duration: float) -> None:
        self.pixels = pixels
        self.duration = duration
        # The markers' lane, on top (many markers may split its rows; the relevance plot lies below it).
        self.chosen = lane_rows(pixels, style.LANE_BG, gap=30)[0]
        # The relevance plot: white grid lines cross it, and its edges blend with its neighbours.
        self.plot = max(lane_rows(pixels, style.PLOT_BG, gap=6), key=len)
        assert self.chosen.stop <= self.plot.start, "the markers' lane is above the relevance plot"
        self.left, self.right = x_extent(pixels, self.chosen, [style.LANE_BG, style.OUTSIDE_BG])
        windows = rows_with(pixels, [*style.WINDOW, style.WINDOW_FAILED, style.WINDOW_REPAIRED])
        self.windows = windows[0] if windows else None
        self.bottom = max(r.stop for r in [self.plot, *lane_rows(pixels, style.LANE_BG), *windows])

    def x(self, t: float) -> float:
        return self.left + t / self.duration * (self.right - self.left)

    def t(self, x: float) -> float:
        return to_time(x, self.left, self.right, self.duration)

    def columns(self, rows: range, color: str, tol: int = 3) -> np.ndarray:
        return np.flatnonzero(color_mask(self.pixels[rows.start : rows.stop], color, tol).any(axis=0))

    def columns_mostly(self, rows: range, color: str, share: float = 0.5) -> np.ndarray:
        """Columns where ``color`` fills at least ``share`` of ``rows`` (hatching blends the rest)."""
        band = self.pixels[rows.start : rows.stop]
        return np.flatnonzero(color_mask(band, color, tol=1).mean(axis=0) >= share)

    def assert_marks_at(self, color: str, times: list[float], rows: range | None = None) -> None:
        """Marks of ``color`` cover each time's column, and every marked column is next to one of the times."""
        rows = rows or self.chosen
        cols = self.columns(rows, color)
        expected = [self.x(t) for t in times]
        for t, x in zip(times, expected, strict=True):
            assert np.any(np.abs(cols - x) <= 2), f"no {color} mark at {t} s (x={x:.0f})"
        stray = [c for c in cols if min((abs(c - x) for x in expected), default=1e9) > HALF_MARK]
        assert not stray, f"{color} marks where no frame is: {[round(self.t(c), 1) for c in stray[:10]]} s"


def test_timeline_spans_the_video_and_marks_each_frame_at_its_time(
    selection: FrameSelection, chromium: str, tmp_path: Path
) -> None:
    pixels, html = shoot(chromium, selection, tmp_path)
    tl = Timeline(pixels, DURATION)
    # The plot and every lane share one time axis, as wide as the page allows.
    assert tl.right - tl.left > 900
    plot_left, plot_right = x_extent(pixels, tl.plot, [style.PLOT_BG, style.SPAN_BG])
    assert abs(plot_left - tl.left) <= 2
    assert abs(plot_right - tl.right) <= 2

    scored = [f.timestamp for f in selection.frames if f.origin == "scored"]
    fill = [f.timestamp for f in selection.frames if f.origin == "fill"]
    assert len(scored) == 10
    assert len(fill) == 4
    tl.assert_marks_at(style.SCORED, scored)
    tl.assert_marks_at(style.FILL, fill)
    # Separate markers where frames are seconds apart: one per frame.
    centers = marker_centers(pixels, tl.chosen, style.SCORED)
    assert [round(tl.t(c)) for c in centers] == [round(t) for t in scored]

    # The windows lane runs from the start of the video to its end: the timeline spans the whole video.
    windows = tl.windows
    assert windows is not None
    assert windows.start > tl.plot.stop
    cols = np.unique(
        np.concatenate([tl.columns(windows, c) for c in (*style.WINDOW, style.WINDOW_FAILED, style.WINDOW_REPAIRED)])
    )
    assert abs(cols[0] - tl.left) <= 3
    assert abs(cols[-1] - tl.right) <= 3
    # Window 2 (32–47 s) failed: red in its lane, hatched "not scored" in the plot, nowhere else.
    for color, rows in ((style.WINDOW_FAILED, windows), (style.UNSCORED_BG, tl.plot)):
        (run,) = [r for r in runs_of(tl.columns(rows, color, tol=2), gap=12) if len(r) > 20]
        assert tl.t(run.start) == pytest.approx(32, abs=0.6)
        assert tl.t(run[-1]) == pytest.approx(48, abs=0.6)
    # Relevant spans are shaded: 12–18 s is dark with score-5 colour, 50–52 s the light score-1 colour.
    dark = runs_of(tl.columns(tl.plot, style.SCORE_COLORS[4]), gap=3)
    assert [(round(tl.t(r.start)), round(tl.t(r[-1]))) for r in dark if len(r) > 5] == [(12, 18)]
    light = runs_of(tl.columns(tl.plot, style.SCORE_COLORS[0]), gap=3)
    assert [(round(tl.t(r.start)), round(tl.t(r[-1]))) for r in light if len(r) > 5] == [(50, 52)]
    assert len(runs_of(tl.columns(tl.plot, style.SPAN_BG), gap=3)) >= 3

    # The axis says where it ends: the video's length.
    assert ">01:20<" in html


def test_contact_sheet_shows_the_k_frames_in_time_order(
    selection: FrameSelection, chromium: str, tmp_path: Path
) -> None:
    pixels, html = shoot(chromium, selection, tmp_path)
    tl = Timeline(pixels, DURATION)
    boxes = frames_of(pixels, [style.SCORED, style.FILL, style.ALL], top=tl.bottom)
    assert len(boxes) == len(selection.frames) == 14
    shown = [time_in(pixels, b, inset=3) for b in boxes]
    assert shown == pytest.approx([f.timestamp for f in selection.frames], abs=0.01)
    # Each picture is framed in its kind's colour: scored apart from fill.
    for box, frame in zip(boxes, selection.frames, strict=True):
        color = style.SCORED if frame.origin == "scored" else style.FILL
        edge = pixels[box.y0 + 1, (box.x0 + box.x1) // 2]
        assert color_mask(edge[None, None], color, tol=6).all(), (frame.timestamp, edge)
    # Captions give each frame's time and score, in the same order.
    captions = re.findall(r"<time>([^<]+)</time> · ([^<]+)<br>", html)
    assert captions == [(f.label, "not scored" if f.score is None else f"score {f.score:g}") for f in selection.frames]
    assert any(f.score is None for f in selection.frames)  # a fill frame from the window that failed


def test_header_names_question_sampler_k_timings_and_notices(
    selection: FrameSelection, chromium: str, tmp_path: Path
) -> None:
    selection.notices.append("GenS was unavailable: fell back to the similarity sampler")
    html = render_html(selection)
    text = re.sub(r"<[^>]+>", " ", html)
    text = " ".join(text.split())
    assert QUESTION in text
    assert "sampler seeing" in text
    assert "strategy windows" in text
    assert "K asked / chosen 14 / 14 (10 scored, 4 fill)" in text
    assert re.search(r"timings decode [\d.]+ s, score [\d.]+ s, select [\d.]+ s, total [\d.]+ s", text)
    assert "fell back to the similarity sampler" in text
    assert "Window 2 (00:00:32.0–00:00:47.0) could not be scored: output is not JSON" in text
    assert "Window 1 (00:00:16.0–00:00:31.0): closed a truncated JSON object" in text
    assert "windows 5 (1 not scored, 1 repaired)" in text


def test_page_is_self_contained_and_fetches_nothing(selection: FrameSelection) -> None:
    html = render_html(selection)
    assert html.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in html
    assert "default-src 'none'" in html
    assert "<script" not in html
    assert "@import" not in html
    assert "@font-face" not in html
    links = re.findall(r'(?:src|href|xlink:href)="([^"]*)"', html)
    assert links
    assert all(u.startswith(("data:image/jpeg;base64,", "#")) for u in links), set(links)
    assert not re.search(r"url\((?!#)", html)


def test_answer_and_cited_frames_are_highlighted(selection: FrameSelection, chromium: str, tmp_path: Path) -> None:
    answer = answer_citing(
        selection,
        [13.0, 30.0, 65.0],
        "The results slide is up at [00:00:13] and again at 00:00:30; nothing at [00:01:05].",
    )
    pixels, html = shoot(chromium, selection, tmp_path, answer=answer)
    tl = Timeline(pixels, DURATION)
    # Stars above the cited frames on the timeline…
    tl.assert_marks_at(style.CITED, [13.0, 30.0])
    # …and a ring around each cited thumbnail, whose picture is the cited time.
    rings = frames_of(pixels, [style.CITED], top=tl.bottom)
    assert [time_in(pixels, r, inset=8) for r in rings] == pytest.approx([13.0, 30.0], abs=0.01)
    # The citations link to their frames; the one that matches no chosen frame is marked as such.
    cards = dict(re.findall(r'id="(frame-\d+)" data-t="([\d.]+)"', html))
    linked = re.findall(r'<a class="cite" href="#(frame-\d+)">([^<]+)</a>', html)
    assert [(float(cards[i]), text) for i, text in linked] == [(13.0, "[00:00:13]"), (30.0, "00:00:30")]
    assert '<mark class="cite" title="not among the chosen frames">[00:01:05]</mark>' in html
    assert "Also cites 00:01:05, not among the chosen frames." in html
    assert "openai gpt-4o-2024-08-06" in html
    assert "4,210 / 57" in html


def test_agent_steps_are_listed_and_drawn_on_the_timeline(
    selection: FrameSelection, chromium: str, tmp_path: Path
) -> None:
    frames = selection.frames
    steps = [
        {
            "question": "Where are slides shown?",
            "frames": frames[:3],
            "seconds": 3.2,
            "action": "sample_frames",
            "tokens": {"input_tokens": 2100, "output_tokens": 40},
        },
        ReportStep(
            question="Which slide shows results?",
            start=10.0,
            end=20.0,
            frames=tuple(frames[2:5]),
            tokens=1800,
            seconds=2.1,
            action="sample_frames",
        ),
        SimpleNamespace(
            question="When is the results slide on screen?",
            start=None,
            end=None,
            frames=[{"timestamp": 13.0, "score": 5}],
            tokens=4267,
            seconds=4.0,
            action="answer",
            note="answered",
        ),
    ]
    pixels, html = shoot(chromium, selection, tmp_path, steps=steps)
    tl = Timeline(pixels, DURATION)
    bars = rows_with(pixels[: tl.bottom + 200], [style.AGENT], gap=2, min_width=20)
    assert len(bars) == 3
    assert bars[0].start > tl.windows.stop
    cols = tl.columns(bars[1], style.AGENT)
    assert tl.t(cols[0]) == pytest.approx(10, abs=0.3)
    assert tl.t(cols[-1]) == pytest.approx(20, abs=0.3)
    cols = tl.columns(bars[0], style.AGENT)
    assert abs(cols[0] - tl.left) <= 2
    assert abs(cols[-1] - tl.right) <= 2

    rows = re.findall(r"<tr><td class=num>(\d)</td><td>([^<]*)</td><td>(.*?)</td><td>([^<]*)</td>", html)
    assert [(n, a, r) for n, a, _, r in rows] == [
        ("1", "sample_frames", "start–end"),
        ("2", "sample_frames", "00:00:10–00:00:20"),
        ("3", "answer", "start–end"),
    ]
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "agent steps 3, 8,207 tokens, 9.30 s" in text
    assert "00:00:13.0 · 5" in text
    assert "2,140" in text


def test_lost_spans_and_the_range_asked_are_shown(video_80s: Path, chromium: str, tmp_path: Path) -> None:
    selection = sample_frames(video_80s, QUESTION, sampler=SeeingSampler(), k=6, start=8.0, end=64.0)
    selection.lost_spans = [(40.0, 44.0)]  # what the pipeline records for a stretch it could not decode
    pixels, html = shoot(chromium, selection, tmp_path)
    tl = Timeline(pixels, DURATION)
    # The axis still spans the whole video; outside the range asked is greyed.
    outside = runs_of(tl.columns_mostly(tl.plot, style.OUTSIDE_BG), gap=3)
    spans = [(round(tl.t(r.start)), round(tl.t(r[-1]))) for r in outside if len(r) > 20]
    assert spans == [(0, 8), (64, 80)]
    lost = runs_of(tl.columns(tl.plot, style.LOST_BG, tol=2), gap=12)
    assert [(round(tl.t(r.start)), round(tl.t(r[-1]))) for r in lost if len(r) > 5] == [(40, 44)]
    assert "Could not decode 00:00:40.0–00:00:44.0 of the video" in html
    assert "range asked" in html
    assert "00:00:08–00:01:04" in html


def test_hybrid_coarse_ranking_and_passed_frames_are_shown(
    selection: FrameSelection, chromium: str, tmp_path: Path
) -> None:
    tl_data = selection.timeline
    assert tl_data is not None
    n = len(tl_data)
    coarse = tuple(float((i * 37) % 11) for i in range(n))
    passed_at = {3, 12, 13, 14, 40, 66}
    selection.timeline = replace(tl_data, coarse_scores=coarse, passed=tuple(i in passed_at for i in range(n)))
    pixels, html = shoot(chromium, selection, tmp_path)
    tl = Timeline(pixels, DURATION)
    coarse_lane = max(rows_with(pixels, [style.PASSED], tol=40, min_width=1, gap=3), key=len)
    assert tl.windows is not None
    assert coarse_lane.start > tl.windows.stop
    ticks = runs_of(tl.columns(coarse_lane, style.PASSED, tol=40), gap=1)
    assert [round(tl.t((r.start + r[-1]) / 2)) for r in ticks] == sorted(passed_at)
    assert len(runs_of(tl.columns(coarse_lane, style.COARSE, tol=2), gap=3)) >= 1
    assert "strategy" in html
    assert "hybrid" in html
    assert "passed to the sampler (6)" in html


def test_two_hour_selection_stays_light(chromium: str, tmp_path: Path) -> None:
    sel = two_hour_selection(k=256)
    html = render_html(sel)
    size = len(html.encode("utf-8"))
    assert size < 3_000_000, f"{size / 1e6:.1f} MB"
    page = tmp_path / "long.html"
    page.write_text(html, encoding="utf-8")
    pixels = np.asarray(screenshot(chromium, page, tmp_path / "long.png", height=1400))
    tl = Timeline(pixels, 7200.0)
    # One pixel is about 7 s here: each marker is within a couple of pixels of its frame's time.
    cols = tl.columns(tl.chosen, style.SCORED)
    for f in sel.frames:
        if f.origin == "scored":
            assert np.any(np.abs(cols - tl.x(f.timestamp)) <= 2), f.timestamp
    assert ">02:00:00<" in html


def two_hour_selection(*, k: int) -> FrameSelection:
    """A 2-hour selection as the pipeline makes it (1 fps grid of 7200 points, 29 windows), with noisy
    640×360 pictures (the hardest to compress) for the chosen frames."""
    from PIL import Image

    from gens_tools.frames import Frame, Timeline, WindowReport, spans_from_scores

    rng = np.random.default_rng(7)
    n = 7200
    scores = [float(rng.choice([0, 1, 2, 3, 4, 5])) if (i // 40) % 6 == 0 else 0.0 for i in range(n)]
    chosen = sorted(rng.choice(n, size=k, replace=False).tolist())
    frames = [
        Frame(
            timestamp=float(i),
            score=scores[i],
            index=i,
            origin="scored" if scores[i] > 0 else "fill",
            image=Image.fromarray(rng.integers(0, 255, (360, 640, 3), dtype=np.uint8), "RGB"),
        )
        for i in chosen
    ]
    windows = [
        WindowReport(index=w, start=w * 256.0, end=min(n, (w + 1) * 256) - 1.0, n_frames=256, scored=True)
        for w in range(-(-n // 256))
    ]
    return FrameSelection(
        video="two_hours.mp4",
        question="When is the winner announced?",
        frames=frames,
        spans=spans_from_scores([float(i) for i in range(n)], scores, 1.0),
        sampler="gens",
        duration=7200.0,
        windows=windows,
        n_candidates=n,
        k=k,
        timeline=Timeline(0.0, 1.0, tuple(scores)),
    )
