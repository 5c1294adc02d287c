"""The report's colours and sizes: one place, shared by the chart, the HTML page and the PNG.

Marker and border colours are solid and distinct, so a frame's kind reads at a glance (and tests can find
each kind by its colour in a screenshot).
"""

from __future__ import annotations

#: A frame the sampler scored relevant.
SCORED = "#c2255c"
#: A frame that fills a place the sampler left open.
FILL = "#748ffc"
#: A frame returned because the range held no more candidates than K.
ALL = "#2b8a3e"
#: A frame the answer cites.
CITED = "#f08c00"
#: Stretches that could not be decoded.
LOST = "#e03131"
LOST_BG = "#ffc9c9"
#: Grid points nobody scored.
UNSCORED_BG = "#e9ecef"
UNSCORED_HATCH = "#adb5bd"
#: Relevant spans, shaded behind the scores.
SPAN_BG = "#fff3bf"
#: Outside the requested time range.
OUTSIDE_BG = "#dee2e6"
#: Scoring windows (alternating), and windows that failed or had their output repaired.
WINDOW = ("#d0ebff", "#a5d8ff")
WINDOW_FAILED = "#ff8787"
WINDOW_REPAIRED = "#ffd43b"
#: The coarse ranking of a hybrid strategy, and the points it passed on.
COARSE = "#b197fc"
PASSED = "#5f3dc4"
#: Agent steps' time ranges.
AGENT = "#20c997"
#: Lane backgrounds: the relevance plot and the thinner lanes (markers, windows…).
PLOT_BG = "#f8f9fa"
LANE_BG = "#f1f3f5"
#: The relevance scores, light (low) to dark (high): one colour per score 1–5 (GenS's integer scale).
SCORE_COLORS = ("#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#0c2c84")

ORIGIN_COLORS = {"scored": SCORED, "fill": FILL, "all": ALL}
ORIGIN_LABELS = {
    "scored": "chosen: scored relevant",
    "fill": "chosen: fill (coverage)",
    "all": "chosen: every candidate",
}

#: Longest side (px) of the thumbnails embedded in the page, by number of frames: smaller for many frames,
#: so a page stays light (a few MB at most).
THUMB_SIDES = ((16, 200), (48, 160), (160, 128), (400, 112), (10**9, 96))
THUMB_QUALITY = 72
#: Frames seen by agent steps: small thumbnails.
STEP_THUMB_SIDE = 96
#: Chart width in inches (at 100 dpi: the PNG's width in pixels / 100).
CHART_WIDTH = 12.0


def thumb_side(n_frames: int) -> int:
    """The thumbnail side for a page of ``n_frames`` chosen frames."""
    return next(side for limit, side in THUMB_SIDES if n_frames <= limit)


def score_color(score: float) -> str:
    """The colour of a positive relevance score."""
    return SCORE_COLORS[score_bin(score)]


def score_bin(score: float) -> int:
    """Which of the five score colours a positive score takes (scores above 5 take the darkest)."""
    return min(max(int(-(-score // 1)) - 1, 0), len(SCORE_COLORS) - 1)
