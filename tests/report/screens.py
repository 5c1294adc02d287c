"""Looking at a report the way a person does: open it in headless Chromium, take a screenshot, and find on it
the timeline's lanes, the frame markers and the thumbnails by their colours.

The report draws every kind of mark in its own solid colour (:mod:`gens_tools.report._style`), so the inside of
a marker or a border has exactly that colour on screen; edges may be blended, which the tolerances allow for.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from gens_tools.synthetic import read_time_code

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) on PATH, if any."""
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def screenshot(chromium: str, page: Path, out: Path, *, width: int = 1280, height: int = 2400) -> Image.Image:
    """Open ``page`` in headless Chromium (no network, a throw-away profile) and return its screenshot."""
    with tempfile.TemporaryDirectory(prefix="gens-report-chromium-") as profile:
        cmd = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--user-data-dir={profile}",
            f"--screenshot={out}",
            f"--window-size={width},{height}",
            page.resolve().as_uri(),
        ]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=120, check=False, env={**os.environ, "HOME": profile}
        )
    assert proc.returncode == 0, f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}"
    assert out.is_file(), f"chromium wrote no screenshot: {proc.stderr[-2000:]}"
    with Image.open(out) as img:
        return img.convert("RGB")


def rgb(color: str) -> np.ndarray:
    """``#rrggbb`` as an RGB array."""
    c = color.lstrip("#")
    return np.array([int(c[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.int16)


def color_mask(pixels: np.ndarray, color: str, tol: int = 3) -> np.ndarray:
    """Where ``pixels`` (H×W×3) have ``color`` (each channel within ``tol``)."""
    return np.all(np.abs(pixels.astype(np.int16) - rgb(color)) <= tol, axis=-1)


def lane_rows(pixels: np.ndarray, background: str, *, min_width: int = 300, gap: int = 1) -> list[range]:
    """The bands of rows whose background is ``background`` over at least ``min_width`` pixels (bands up to
    ``gap`` rows apart are one band)."""
    counts = color_mask(pixels, background, tol=1).sum(axis=1)
    return runs_of(np.flatnonzero(counts >= min_width), gap=gap)


def rows_with(
    pixels: np.ndarray, colors: Sequence[str], *, tol: int = 3, min_width: int = 300, gap: int = 1
) -> list[range]:
    """The bands of rows where ``colors`` together cover at least ``min_width`` pixels."""
    mask = np.zeros(pixels.shape[:2], dtype=bool)
    for color in colors:
        mask |= color_mask(pixels, color, tol)
    return runs_of(np.flatnonzero(mask.sum(axis=1) >= min_width), gap=gap)


def runs_of(indices: Iterable[int], *, gap: int = 1) -> list[range]:
    """Consecutive integers grouped into ranges (a step of up to ``gap`` continues a run)."""
    out: list[range] = []
    for i in indices:
        i = int(i)
        if out and i - out[-1][-1] <= gap:
            out[-1] = range(out[-1].start, i + 1)
        else:
            out.append(range(i, i + 1))
    return out


def x_extent(pixels: np.ndarray, rows: range, backgrounds: Sequence[str]) -> tuple[int, int]:
    """The leftmost and rightmost columns that are one of ``backgrounds`` in most of ``rows``: a lane's left
    and right edges (a stray pixel of text that happens to have the colour does not count)."""
    band = pixels[rows.start : rows.stop]
    mask = np.zeros(band.shape[:2], dtype=bool)
    for color in backgrounds:
        mask |= color_mask(band, color, tol=1)
    cols = np.flatnonzero(mask.mean(axis=0) >= 0.6)
    return int(cols[0]), int(cols[-1])


def marker_centers(pixels: np.ndarray, rows: range, color: str, *, min_width: int = 4) -> list[float]:
    """Horizontal centres of the marks of ``color`` in ``rows`` (marks at least ``min_width`` wide)."""
    cols = np.flatnonzero(color_mask(pixels[rows.start : rows.stop], color).any(axis=0))
    return [(r.start + r.stop - 1) / 2 for r in runs_of(cols) if len(r) >= min_width]


@dataclass(frozen=True)
class Box:
    """A rectangle on the screenshot: inclusive pixel bounds."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0 + 1

    @property
    def height(self) -> int:
        return self.y1 - self.y0 + 1


def frames_of(pixels: np.ndarray, colors: Sequence[str], *, min_side: int = 40, top: int = 0) -> list[Box]:
    """Hollow rectangles (picture frames, rings) drawn in any of ``colors`` below row ``top``, in reading order.

    Found as connected shapes of the colour whose bounding box is at least ``min_side`` each way and whose
    inside is not that colour (so filled badges and markers are left out).
    """
    mask = np.zeros(pixels.shape[:2], dtype=bool)
    for color in colors:
        mask |= color_mask(pixels, color, tol=6)
    mask[:top] = False
    boxes = []
    seen = np.zeros_like(mask)
    height, width = mask.shape
    for y, x in np.argwhere(mask):
        if seen[y, x]:
            continue
        stack = [(int(y), int(x))]
        seen[y, x] = True
        ys: list[int] = []
        xs: list[int] = []
        while stack:
            cy, cx = stack.pop()
            ys.append(cy)
            xs.append(cx)
            for ny, nx in ((cy + 1, cx), (cy - 1, cx), (cy, cx + 1), (cy, cx - 1)):
                if 0 <= ny < height and 0 <= nx < width and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        box = Box(min(xs), min(ys), max(xs), max(ys))
        hollow = len(ys) < 0.5 * box.width * box.height
        if box.width >= min_side and box.height >= min_side and hollow:
            boxes.append(box)
    rows = sorted(boxes, key=lambda b: (b.y0, b.x0))
    # Reading order: group boxes whose tops are within a few pixels into one row, left to right.
    out: list[Box] = []
    for row in runs_of(sorted({b.y0 for b in rows}), gap=8):
        out += sorted((b for b in rows if b.y0 in row), key=lambda b: b.x0)
    return out


def time_in(pixels: np.ndarray, box: Box, inset: int) -> float:
    """The time painted into the picture inside ``box`` (its border ``inset`` pixels thick)."""
    crop = pixels[box.y0 + inset : box.y1 - inset + 1, box.x0 + inset : box.x1 - inset + 1]
    return read_time_code(Image.fromarray(crop.astype(np.uint8), "RGB"))


def to_time(x: float, left: int, right: int, duration: float) -> float:
    """A column on the timeline as seconds, the lane running from 0 (``left``) to ``duration`` (``right``)."""
    return (x - left) / (right - left) * duration
