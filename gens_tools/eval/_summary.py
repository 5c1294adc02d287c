"""Results of an evaluation summed up per grid cell (sampler × assistant × K): JSON, a markdown table, a plot.

Accuracy counts every question with a known answer: an answer from which no letter could be read, and a
cell that failed (error), count as wrong, so a run with failures never looks better than it is (the
``errors`` and ``unparsed`` counts say how many). Frame recall and precision average the questions that have
annotated spans; tokens are the provider's reported input tokens (the planner's estimate where none was
reported); seconds are per question, selection plus answer.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from gens_tools.errors import BackendUnavailableError

Record = Mapping[str, Any]


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def _accuracy(records: Sequence[Record]) -> dict[str, Any]:
    graded = [r for r in records if r.get("answer") is not None]
    correct = sum(1 for r in graded if r.get("correct") is True)
    return {"n": len(graded), "correct": correct, "accuracy": correct / len(graded) if graded else None}


def _tokens(record: Record) -> float | None:
    value = record.get("input_tokens")
    if value is None:
        value = record.get("estimated_input_tokens")
    return None if value is None else float(value)


def _by(records: Sequence[Record], field: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        groups[str(r.get(field) or "-")].append(r)
    return {name: _accuracy(group) for name, group in sorted(groups.items())}


def summarize(records: Iterable[Record]) -> dict[str, Any]:
    """Per cell (sampler, assistant, K): question count, accuracy (overall, per category, per duration
    bucket), errors, unparsed answers, mean frame recall and precision, mean input tokens and seconds."""
    cells: dict[tuple[str, str, int], list[Record]] = defaultdict(list)
    for r in records:
        cells[(str(r["sampler"]), str(r["assistant"]), int(r["k"]))].append(r)
    out = []
    for (sampler, assistant, k), group in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        answered = assistant != "none"
        cell: dict[str, Any] = {
            "sampler": sampler,
            "assistant": assistant,
            "k": k,
            "questions": len(group),
            "errors": sum(1 for r in group if r.get("error")),
            "frame_recall": _mean(r.get("frame_recall") for r in group),
            "frame_precision": _mean(r.get("frame_precision") for r in group),
            "seconds": _mean(r.get("seconds") for r in group),
        }
        if answered:
            cell.update(_accuracy(group))
            cell["unparsed"] = sum(1 for r in group if r.get("response") and not r.get("predicted"))
            cell["input_tokens"] = _mean(_tokens(r) for r in group)
            cell["by_category"] = _by(group, "category")
            cell["by_duration"] = _by(group, "duration_bucket")
        out.append(cell)
    return {"cells": out}


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "pct":
        return f"{100 * value:.1f}"
    if kind == "int":
        return f"{value:,.0f}"
    if kind == "sec":
        return f"{value:.2f}"
    return str(value)


def markdown_table(summary: Mapping[str, Any]) -> str:
    """The summary as markdown: one row per cell, then accuracy per category and per duration bucket."""
    lines = [
        "| sampler | assistant | K | questions | accuracy % | frame recall % | frame precision % | input tokens "
        "| s / question | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    cells = summary["cells"]
    for c in cells:
        lines.append(
            f"| {c['sampler']} | {c['assistant']} | {c['k']} | {c['questions']} | {_fmt(c.get('accuracy'), 'pct')} "
            f"| {_fmt(c['frame_recall'], 'pct')} | {_fmt(c['frame_precision'], 'pct')} "
            f"| {_fmt(c.get('input_tokens'), 'int')} | {_fmt(c['seconds'], 'sec')} | {c['errors']} |"
        )
    for field, title in (("by_category", "category"), ("by_duration", "duration bucket")):
        answered = [c for c in cells if field in c]
        names = sorted({name for c in answered for name in c[field]})
        if not answered or not names:
            continue
        lines += ["", f"Accuracy % by {title}:", ""]
        lines.append("| sampler | assistant | K | " + " | ".join(names) + " |")
        lines.append("|---|---|---:|" + "---:|" * len(names))
        for c in answered:
            row = [_fmt(c[field].get(n, {}).get("accuracy"), "pct") for n in names]
            lines.append(f"| {c['sampler']} | {c['assistant']} | {c['k']} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def plot_summary(summary: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Plot accuracy and frame recall against K, one line per sampler × assistant, into an image file.

    Raises:
        BackendUnavailableError: matplotlib is not installed (the ``report`` extra).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise BackendUnavailableError("plotting needs matplotlib: pip install 'gens-tools[report]'") from exc
    series: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for c in summary["cells"]:
        series[(c["sampler"], c["assistant"])].append(c)
    panels = [("accuracy", "accuracy %"), ("frame_recall", "frame recall %")]
    panels = [p for p in panels if any(c.get(p[0]) is not None for c in summary["cells"])] or panels[:1]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, (key, title) in zip(axes[0], panels, strict=True):
        for (sampler, assistant), cells in sorted(series.items()):
            points = sorted((c["k"], c[key]) for c in cells if c.get(key) is not None)
            if points:
                label = sampler if assistant == "none" else f"{sampler} + {assistant}"
                ax.plot([p[0] for p in points], [100 * p[1] for p in points], marker="o", label=label)
        ax.set_xlabel("K (frames)")
        ax.set_ylabel(title)
        ax.set_xscale("log", base=2)
        ks = sorted({c["k"] for c in summary["cells"]})
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.minorticks_off()
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def write_summary(records: Iterable[Record], folder: str | os.PathLike[str], *, plot: bool = True) -> dict[str, Path]:
    """Write ``summary.json``, ``summary.md`` and (with ``plot``) ``summary.png`` into ``folder``; returns
    their paths by kind. A missing matplotlib raises :class:`BackendUnavailableError` after the other two are
    written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(records)
    paths = {"json": out / "summary.json", "markdown": out / "summary.md"}
    paths["json"].write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    paths["markdown"].write_text(markdown_table(summary), encoding="utf-8")
    if plot:
        paths["plot"] = plot_summary(summary, out / "summary.png")
    return paths
