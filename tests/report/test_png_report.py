"""The static PNG report: the same timeline and a contact sheet, checked on its pixels (no browser needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gens_tools import FrameSelection
from gens_tools.report import _style as style
from gens_tools.report import save_report

from .conftest import DURATION, answer_citing
from .screens import color_mask, frames_of, lane_rows, runs_of, time_in, to_time, x_extent


def test_png_shows_timeline_marks_and_contact_sheet(selection: FrameSelection, tmp_path: Path) -> None:
    answer = answer_citing(selection, [16.0], "It is on screen at [00:00:16].")
    path = save_report(tmp_path / "report.png", selection, answer=answer)
    with Image.open(path) as img:
        assert img.format == "PNG"
        assert img.width == 1200
        pixels = np.asarray(img.convert("RGB"))

    chosen = lane_rows(pixels, style.LANE_BG, gap=30)[0]
    left, right = x_extent(pixels, chosen, [style.LANE_BG])
    assert right - left > 900
    cols = np.flatnonzero(color_mask(pixels[chosen.start : chosen.stop], style.SCORED).any(axis=0))
    marks = [round(to_time((r.start + r[-1]) / 2, left, right, DURATION)) for r in runs_of(cols) if len(r) >= 4]
    assert marks == [round(f.timestamp) for f in selection.frames if f.origin == "scored"]
    stars = np.flatnonzero(color_mask(pixels[chosen.start : chosen.stop], style.CITED).any(axis=0))
    assert to_time(stars.mean(), left, right, DURATION) == pytest.approx(16.0, abs=0.4)

    top = max(r.stop for r in lane_rows(pixels, style.LANE_BG))
    boxes = frames_of(pixels, [style.SCORED, style.FILL], top=top)
    assert [time_in(pixels, b, inset=3) for b in boxes] == pytest.approx(selection.timestamps, abs=0.01)
    (ring,) = frames_of(pixels, [style.CITED], top=top)
    assert time_in(pixels, ring, inset=8) == pytest.approx(16.0, abs=0.01)
