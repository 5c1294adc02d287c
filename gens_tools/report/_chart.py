"""The relevance timeline, drawn with matplotlib: SVG for the HTML page, PNG for the static report.

One figure, stacked lanes sharing the time axis (the whole video, 0 to its duration):

- ``chosen``: a marker per chosen frame, coloured by why it was chosen; a star above each frame the answer cites;
- ``relevance``: every grid point's score (bar height and colour), relevant spans shaded, points nobody scored
  hatched grey, undecodable stretches hatched red, and a thin line down from each chosen frame;
- ``windows``: the scoring windows (red: not scored, yellow: output repaired), when there were windows;
- ``coarse``: a hybrid strategy's coarse ranking and ticks at the points it passed on, when present;
- ``agent``: each agent step's time range, numbered, when steps were given.

matplotlib is imported here only, on first use; without it :class:`~gens_tools.errors.BackendUnavailableError`
names the extra to install.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gens_tools.errors import BackendUnavailableError
from gens_tools.frames import format_timestamp
from gens_tools.report import _style as style
from gens_tools.report._data import ReportData, card_id, merge_spans, runs

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Grids longer than this are drawn at this many points (each the highest score of its stretch): the chart is
#: about a thousand pixels wide, so nothing visible is lost, and the page stays small.
MAX_DRAWN_POINTS = 2400
#: Up to this many chosen frames, a thin line runs down from each marker through the relevance plot (more
#: would hide the scores).
MAX_GUIDE_LINES = 64
_NICE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200)
_RC = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica", "sans-serif"],
    "font.size": 8.5,
    "svg.fonttype": "none",  # text stays text: smaller, selectable, drawn by the browser
    "svg.hashsalt": "gens-tools-report",  # the same selection gives the same page
    "hatch.linewidth": 0.6,
}


def require_matplotlib() -> Any:
    """Import matplotlib, or raise the error that names the ``report`` extra."""
    try:
        import matplotlib
    except ImportError:
        raise BackendUnavailableError("the visual report needs matplotlib: pip install 'gens-tools[report]'") from None
    return matplotlib


@dataclass(frozen=True, slots=True)
class _Lane:
    name: str
    height: float  # inches


def timeline_svg(data: ReportData) -> str:
    """The timeline as an ``<svg>`` element to inline in a page (no XML prologue, scales to its container)."""
    mpl = require_matplotlib()
    fig = timeline_figure(data)
    buf = io.StringIO()
    with mpl.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    # CSS sizes the chart (width: 100 %, height from the viewBox); the fixed width/height would not scale.
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", svg, count=1)
    svg = svg.replace("<svg", '<svg class="chart" role="img" aria-label="relevance timeline"', 1)
    return re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)


def timeline_png(data: ReportData, *, dpi: int = 100) -> bytes:
    """The timeline as PNG bytes (``CHART_WIDTH`` inches wide: 1200 px at 100 dpi)."""
    mpl = require_matplotlib()
    fig = timeline_figure(data)
    buf = io.BytesIO()
    with mpl.rc_context(_RC):
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def timeline_figure(data: ReportData) -> Figure:
    """Draw the timeline into a new matplotlib figure (no pyplot, no global state)."""
    mpl = require_matplotlib()
    from matplotlib.figure import Figure

    lanes = _lanes(data)
    handles: list[Any] = []
    width = style.CHART_WIDTH
    left, right, bottom, gap = 1.0, 0.25, 0.45, 0.06
    with mpl.rc_context(_RC):
        # The legend's rows are known once its handles are: the top margin is set again at the end.
        top = 0.5
        body = sum(lane.height for lane in lanes) + gap * (len(lanes) - 1)
        height = body + top + bottom
        fig = Figure(figsize=(width, height), dpi=100, facecolor="white")
        grid = fig.add_gridspec(
            nrows=len(lanes),
            ncols=1,
            height_ratios=[lane.height for lane in lanes],
            left=left / width,
            right=1 - right / width,
            top=1 - top / height,
            bottom=bottom / height,
            hspace=gap / (body / len(lanes)),
        )
        x0, x1 = data.extent
        axes: dict[str, Axes] = {}
        shared: Axes | None = None
        for i, lane in enumerate(lanes):
            ax = fig.add_subplot(grid[i, 0], sharex=shared)
            shared = shared or ax
            axes[lane.name] = ax
            _frame_lane(ax, lane.name)
        for ax in axes.values():
            ax.set_xlim(x0, x1)
        _draw_outside_range(data, list(axes.values()), handles)
        _draw_relevance(data, axes["relevance"], handles)
        _draw_chosen(data, axes["chosen"], axes["relevance"], handles)
        if "windows" in axes:
            _draw_windows(data, axes["windows"], handles)
        if "coarse" in axes:
            _draw_coarse(data, axes["coarse"], handles)
        if "agent" in axes:
            _draw_agent(data, axes["agent"], handles)
        last = axes[lanes[-1].name]
        ticks = nice_ticks(x0, x1)
        last.set_xticks(ticks, [_tick_label(t, x1) for t in ticks])
        last.tick_params(axis="x", labelbottom=True, length=3)
        last.set_xlabel(f"time (video: {format_timestamp(x1, decimals=0)})", labelpad=2)
        for ax in axes.values():
            if ax is not last:
                ax.tick_params(axis="x", labelbottom=False, length=0)
        if handles:
            ncol = min(len(handles), 5)
            top = 0.2 * math.ceil(len(handles) / ncol) + 0.12
            height = body + top + bottom
            fig.set_size_inches(width, height)
            grid.update(top=1 - top / height, bottom=bottom / height)
            fig.legend(
                handles=handles,
                loc="upper center",
                bbox_to_anchor=(0.5 + (left - right) / 2 / width, 1.0),
                ncol=ncol,
                frameon=False,
                fontsize=8,
                handlelength=1.6,
                columnspacing=1.4,
            )
    return fig


def _lanes(data: ReportData) -> list[_Lane]:
    lanes = [_Lane("chosen", 0.62 if data.answer is not None else 0.4), _Lane("relevance", 1.7)]
    if data.selection.windows:
        lanes.append(_Lane("windows", 0.26))
    tl = data.timeline
    if tl is not None and (tl.coarse_scores is not None or tl.passed is not None):
        lanes.append(_Lane("coarse", 0.55))
    if data.steps:
        lanes.append(_Lane("agent", 0.1 + 0.2 * min(len(data.steps), _MAX_AGENT_ROWS)))
    return lanes


_LANE_LABELS = {
    "chosen": "chosen",
    "relevance": "relevance\n(score 0–5)",
    "windows": "windows",
    "coarse": "coarse\nranking",
    "agent": "agent\nsteps",
}
_MAX_AGENT_ROWS = 12


def _frame_lane(ax: Axes, name: str) -> None:
    ax.set_facecolor(style.PLOT_BG if name == "relevance" else style.LANE_BG)
    ax.set_ylabel(_LANE_LABELS[name], rotation=0, ha="right", va="center", labelpad=8, fontsize=8.5)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color("#ced4da")
    if name != "relevance":
        ax.set_yticks([])
    ax.tick_params(axis="both", colors="#495057", labelsize=8)
    ax.set_axisbelow(True)


def _patch(**kwargs: Any) -> Any:
    from matplotlib.patches import Patch

    return Patch(**kwargs)


def _draw_outside_range(data: ReportData, axes: list[Axes], handles: list[Any]) -> None:
    sel = data.selection
    x0, x1 = data.extent
    gaps = []
    if sel.start is not None and sel.start > x0:
        gaps.append((x0, sel.start - x0))
    if sel.end is not None and sel.end < x1:
        gaps.append((sel.end, x1 - sel.end))
    if not gaps:
        return
    for ax in axes:
        ax.broken_barh(gaps, (0, 1), transform=ax.get_xaxis_transform(), facecolor=style.OUTSIDE_BG, zorder=0.2)
    handles.append(_patch(facecolor=style.OUTSIDE_BG, label="outside the range asked"))


def _draw_relevance(data: ReportData, ax: Axes, handles: list[Any]) -> None:
    sel = data.selection
    tl = data.timeline
    top = 5.0
    if tl is not None:
        top = max([top, *(s for s in tl.scores if s is not None)])
    elif sel.spans:
        top = max(top, max(s.score for s in sel.spans))
    ax.set_ylim(0, top * 1.04)
    ax.set_yticks(range(int(top) + 1))
    ax.grid(axis="y", color="white", linewidth=1.0)
    band = ax.get_xaxis_transform()  # x in seconds, y from 0 (bottom) to 1 (top) of the lane

    if sel.spans:
        spans = merge_spans([(s.start, s.end) for s in sel.spans])
        ax.broken_barh([(a, b - a) for a, b in spans], (0, 1), transform=band, facecolor=style.SPAN_BG, zorder=0.5)
        handles.append(_patch(facecolor=style.SPAN_BG, label="relevant span"))

    unscored: list[tuple[float, float]] = []
    undecoded: list[tuple[float, float]] = []
    if tl is not None and len(tl):
        scores, start, step = _drawn_points(tl.scores, tl.start, tl.step)
        edges_of = _edges(start, step)
        unscored = [edges_of(i, j) for i, j, s in runs([s is None for s in scores]) if s]
        if tl.decoded is not None:
            undecoded = [
                (tl.start + i * tl.step, tl.start + j * tl.step) for i, j, ok in runs(list(tl.decoded)) if not ok
            ]
        drew = False
        for b, color in enumerate(style.SCORE_COLORS):
            level = [s if (s is not None and s > 0 and style.score_bin(s) == b) else 0.0 for s in scores]
            if not any(level):
                continue
            value_runs = runs(level)
            edges = [edges_of(i, i)[0] for i, _, _ in value_runs] + [edges_of(0, len(level))[1]]
            ax.stairs([v for _, _, v in value_runs], edges, fill=True, color=color, linewidth=0, zorder=2)
            drew = True
        if drew:
            handles.append(_score_handle())
    elif sel.spans:
        # No per-point scores (an older selection): the spans' scores are all there is.
        for s in sel.spans:
            ax.bar(
                s.start,
                s.score,
                width=s.end - s.start,
                align="edge",
                color=style.score_color(s.score),
                linewidth=0,
                zorder=2,
            )
        handles.append(_score_handle())

    if unscored:
        ax.broken_barh(
            [(a, b - a) for a, b in unscored],
            (0, 1),
            transform=band,
            facecolor=style.UNSCORED_BG,
            edgecolor=style.UNSCORED_HATCH,
            hatch="///",
            linewidth=0,
            zorder=1,
        )
        everything = len(unscored) == 1 and _covers(unscored[0], tl)
        label = "not scored (this sampler scores nothing)" if everything and sel.sampler == "uniform" else "not scored"
        handles.append(_patch(facecolor=style.UNSCORED_BG, edgecolor=style.UNSCORED_HATCH, hatch="///", label=label))
    lost = merge_spans(list(sel.lost_spans) + undecoded)
    if lost:
        ax.broken_barh(
            [(a, max(b - a, 1e-9)) for a, b in lost],
            (0, 1),
            transform=band,
            facecolor=style.LOST_BG,
            edgecolor=style.LOST,
            hatch="xx",
            linewidth=0,
            zorder=3,
        )
        handles.append(_patch(facecolor=style.LOST_BG, edgecolor=style.LOST, hatch="xx", label="could not decode"))


def _score_handle() -> Any:
    return _patch(facecolor=style.SCORE_COLORS[3], label="score of each grid frame")


def _covers(span: tuple[float, float], tl: Any) -> bool:
    return bool(tl is not None and span[0] <= tl.start + 1e-6 and span[1] >= tl.start + len(tl) * tl.step - 1e-6)


def _drawn_points(values: Sequence[float | None], start: float, step: float) -> tuple[list[float | None], float, float]:
    """``values`` thinned to at most :data:`MAX_DRAWN_POINTS` (the highest of each stretch), with the grid of
    the result."""
    n = len(values)
    if n <= MAX_DRAWN_POINTS:
        return list(values), start, step
    per = math.ceil(n / MAX_DRAWN_POINTS)
    out: list[float | None] = []
    for i in range(0, n, per):
        chunk = [v for v in values[i : i + per] if v is not None]
        out.append(max(chunk) if chunk else None)
    return out, start, step * per


def _edges(start: float, step: float) -> Any:
    def edges_of(i: int, j: int) -> tuple[float, float]:
        return start + i * step, start + j * step

    return edges_of


def _draw_chosen(data: ReportData, lane: Axes, plot: Axes, handles: list[Any]) -> None:
    from matplotlib.lines import Line2D

    lane.set_ylim(0, 1.6 if data.answer is not None else 1.0)
    origins = data.origins
    ymax = plot.get_ylim()[1]
    # Scored frames last: where markers overlap (a long video), the scored ones stay visible.
    for origin in ("fill", "all", "scored"):
        picked = [n for n, o in enumerate(origins) if o == origin]
        if not picked:
            continue
        times = [data.frames[n].timestamp for n in picked]
        color = style.ORIGIN_COLORS[origin]
        if len(data.frames) <= MAX_GUIDE_LINES:
            plot.vlines(times, 0, ymax, colors=color, linewidth=0.8, alpha=0.45, zorder=4)
        marks = lane.scatter(
            times, [0.42] * len(times), marker="v", s=64, color=color, linewidths=0, zorder=5, clip_on=False
        )
        marks.set_urls([f"#{card_id(n)}" for n in picked])  # in the page, a marker links to its thumbnail
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="v",
                markersize=7,
                color=color,
                label=f"{style.ORIGIN_LABELS[origin]} ({len(times)})",
            )
        )
    if data.answer is not None:
        cited = [data.frames[i].timestamp for i in sorted(data.cited)]
        if cited:
            stars = lane.scatter(
                cited, [1.15] * len(cited), marker="*", s=110, color=style.CITED, linewidths=0, zorder=6, clip_on=False
            )
            stars.set_urls([f"#{card_id(n)}" for n in sorted(data.cited)])
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="*",
                markersize=9,
                color=style.CITED,
                label=f"cited by the answer ({len(cited)})",
            )
        )


def _draw_windows(data: ReportData, ax: Axes, handles: list[Any]) -> None:
    sel = data.selection
    step = 1.0 / sel.fps
    ax.set_ylim(0, 1)
    bars: dict[str, list[tuple[float, float]]] = {"a": [], "b": [], "failed": [], "repaired": []}
    scores = sel.sampler != "uniform"  # a sampler that scores nothing leaves every window unscored, rightly
    for n, w in enumerate(sorted(sel.windows, key=lambda w: w.start)):
        kind = "failed" if scores and not w.scored else "repaired" if w.repaired else ("a" if n % 2 == 0 else "b")
        bars[kind].append((w.start, max(w.end + step - w.start, step)))
    colors = {
        "a": style.WINDOW[0],
        "b": style.WINDOW[1],
        "failed": style.WINDOW_FAILED,
        "repaired": style.WINDOW_REPAIRED,
    }
    for kind, xs in bars.items():
        if xs:
            ax.broken_barh(xs, (0.12, 0.76), facecolor=colors[kind], edgecolor="white", linewidth=0.6, zorder=2)
    n = len(sel.windows)
    handles.append(_patch(facecolor=style.WINDOW[1], label=f"scoring window ({n})"))
    if bars["failed"]:
        handles.append(_patch(facecolor=style.WINDOW_FAILED, label=f"window not scored ({len(bars['failed'])})"))
    if bars["repaired"]:
        handles.append(_patch(facecolor=style.WINDOW_REPAIRED, label=f"output repaired ({len(bars['repaired'])})"))


def _draw_coarse(data: ReportData, ax: Axes, handles: list[Any]) -> None:
    tl = data.timeline
    assert tl is not None
    ax.set_ylim(0, 1.05)
    if tl.coarse_scores is not None:
        scores, start, step = _drawn_points(tl.coarse_scores, tl.start, tl.step)
        known = [s for s in scores if s is not None]
        if known:
            lo, hi = min(known), max(known)
            scale = (hi - lo) or 1.0
            level = [0.0 if s is None else 0.08 + 0.9 * (s - lo) / scale for s in scores]
            value_runs = runs(level)
            edges = [start + i * step for i, _, _ in value_runs] + [start + len(level) * step]
            ax.stairs([v for _, _, v in value_runs], edges, fill=True, color=style.COARSE, linewidth=0, zorder=2)
            handles.append(_patch(facecolor=style.COARSE, label="coarse similarity (scaled)"))
    if tl.passed is not None:
        times = [t for t, ok in zip(tl.times, tl.passed, strict=True) if ok]
        if times:
            ax.vlines(times, 0, 1.05, colors=style.PASSED, linewidth=0.7, zorder=3)
            from matplotlib.lines import Line2D

            handles.append(
                Line2D([], [], color=style.PASSED, linewidth=1.2, label=f"passed to the sampler ({len(times)})")
            )


def _draw_agent(data: ReportData, ax: Axes, handles: list[Any]) -> None:
    x0, x1 = data.extent
    rows = min(len(data.steps), _MAX_AGENT_ROWS)
    ax.set_ylim(rows, 0)
    for n, step in enumerate(data.steps[:rows]):
        a = x0 if step.start is None else step.start
        b = x1 if step.end is None else step.end
        ax.broken_barh([(a, max(b - a, (x1 - x0) / 400))], (n + 0.15, 0.7), facecolor=style.AGENT, zorder=2)
        ax.text(a, n + 0.5, f" {n + 1}", va="center", ha="left", fontsize=7, color="#212529", zorder=3)
    handles.append(_patch(facecolor=style.AGENT, label=f"agent step range ({len(data.steps)})"))


def nice_ticks(x0: float, x1: float, *, most: int = 12) -> list[float]:
    """Round-numbered tick times (seconds) between ``x0`` and ``x1``: at most ``most`` of them."""
    span = max(x1 - x0, 1e-9)
    step: float
    if span < 5:
        step = 0.5
    else:
        step = next((s for s in _NICE_STEPS if span / s <= most), 0)
        step = step or _NICE_STEPS[-1] * math.ceil(span / most / _NICE_STEPS[-1])
    first = math.ceil(x0 / step) * step
    out: list[float] = []
    t = first
    while t <= x1 + 1e-9:
        out.append(round(t, 6))
        t += step
    return out


def _tick_label(t: float, x1: float) -> str:
    text = format_timestamp(t, decimals=0 if float(t).is_integer() else 1)
    return text if x1 >= 3600 else text[3:]
