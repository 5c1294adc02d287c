"""What an agent reads about a frame selection: ONE wording, used by every integration (LangChain, LlamaIndex,
an MCP server).

The text names every chosen frame by its time (seconds and ``hh:mm:ss.s``) and score, the best scored spans,
what went unscored or could not be decoded, and how to zoom in (call again with ``start``/``end``), so a model
can reason about *when* things happen and ask again for a narrower range. The per-frame captions that go
next to each image and the one-line text of a retrieved frame come from here too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from gens_tools._sources import is_url
from gens_tools.frames import Frame, FrameSelection, ScoredSpan, format_timestamp

__all__ = [
    "DEFAULT_MAX_SPANS",
    "describe_answer",
    "describe_selection",
    "frame_caption",
    "frame_line",
    "frame_text",
    "span_line",
    "video_name",
]

#: Spans listed in the text, best first; the rest are counted.
DEFAULT_MAX_SPANS = 12


def video_name(source: str) -> str:
    """How a video is named to a model: a file's (or folder's) name, a URL's last path part."""
    text = source.rstrip("/\\")
    if is_url(source):
        return text.rsplit("/", 1)[-1] or source
    return os.path.basename(text) or source


def _score_text(score: float | None) -> str:
    return "unscored" if score is None else f"score {score:g}"


def frame_line(frame: Frame) -> str:
    """One frame as ``46.0s [00:00:46.0] score 5`` (``unscored`` when the sampler gave no score)."""
    return f"{frame.timestamp:.1f}s [{frame.label}] {_score_text(frame.score)}"


def frame_caption(frame: Frame) -> str:
    """The text placed just before a frame's image: ``Frame at 46.0s [00:00:46.0] score 5``."""
    return f"Frame at {frame_line(frame)}"


def span_line(span: ScoredSpan) -> str:
    """One span as ``45.0-81.0s [00:00:45.0-00:01:21.0] score 5``."""
    return (
        f"{span.start:.1f}-{span.end:.1f}s [{format_timestamp(span.start)}-{format_timestamp(span.end)}] "
        f"score {span.score:g}"
    )


def frame_text(selection: FrameSelection, frame: Frame) -> str:
    """One retrieved frame in a sentence (a retriever's document or node text):
    ``Frame of talk.mp4 at 46.0s [00:00:46.0] score 5, in the relevant span 45.0-81.0s […] score 5.``"""
    span = selection.span_of(frame)
    where = f", in the relevant span {span_line(span)}" if span is not None else ""
    return f"Frame of {video_name(selection.video)} at {frame_line(frame)}{where}."


def _range_line(selection: FrameSelection) -> str:
    start = selection.start if selection.start is not None else 0.0
    end = selection.end if selection.end is not None else selection.duration
    length = f" of a {selection.duration:.1f}s video" if selection.duration is not None else ""
    where = f"{start:.1f}-{end:.1f}s" if end is not None else f"from {start:.1f}s"
    return f"Searched {where}{length} at {selection.fps:g} fps: {selection.n_candidates} candidate frames."


def _scoring_lines(selection: FrameSelection, max_spans: int) -> list[str]:
    windows = selection.windows
    if not windows:
        return ["Every candidate frame in the range is returned, so none were scored."]
    scored = sum(1 for w in windows if w.scored)
    if scored == 0:
        if selection.sampler == "uniform":
            return [f"The sampler '{selection.sampler}' does not score frames: they are evenly spaced."]
        return [
            f"The sampler '{selection.sampler}' could not score any of {len(windows)} windows: "
            "the frames are evenly spaced instead."
        ]
    lines: list[str] = []
    if selection.spans:
        ranked = sorted(selection.spans, key=lambda s: (-s.score, s.start))
        lines.append("Relevant spans, best first:")
        lines.extend(f"- {span_line(s)}" for s in ranked[:max_spans])
        if len(ranked) > max_spans:
            lines.append(f"  ({len(ranked) - max_spans} more spans not shown)")
    else:
        lines.append("No frame was scored as relevant.")
    if scored < len(windows):
        lines.append(
            f"Not scored: {len(windows) - scored} of {len(windows)} windows (the sampler's output "
            "could not be read); their frames count as unscored."
        )
    return lines


def describe_selection(
    selection: FrameSelection,
    *,
    video_label: str | None = None,
    max_spans: int = DEFAULT_MAX_SPANS,
    shown: Sequence[Frame] | None = None,
    shown_note: str | None = None,
) -> str:
    """A compact, model-readable account of ``selection``: the sampler's notices (e.g. a fallback to uniform
    sampling), the range searched, every frame (seconds, ``hh:mm:ss.s``, score), the relevant spans best first,
    what went unscored or undecoded, and how to zoom in.

    Args:
        selection: the result of :func:`gens_tools.sample_frames`.
        video_label: how to name the video (default: its file name or the URL's last part); tools pass what
            the model called it, so no resolved server path is shown.
        max_spans: most spans to list (best first); the rest are counted.
        shown, shown_note: when only some frames' images are shown (a model's limits), the frames shown and
            why; the text then says ``Images shown: N of M frames (why).``
    """
    name = video_label if video_label is not None else video_name(selection.video)
    lines = [
        f'Frames of {name} for "{selection.question}" (sampler: {selection.sampler}).',
        *(f"Note: {notice}" for notice in selection.notices),
        _range_line(selection),
        f"{len(selection.frames)} frames in time order (relevance 0-5, 0 = not relevant):",
    ]
    lines.extend(f"- {frame_line(f)}" for f in selection.frames)
    lines.extend(_scoring_lines(selection, max_spans))
    if selection.lost_spans:
        lost = ", ".join(f"{a:.1f}-{b:.1f}s" for a, b in selection.lost_spans)
        lines.append(f"Could not be decoded: {lost}.")
    if shown is not None and len(shown) < len(selection.frames):
        why = f" ({shown_note})" if shown_note else ""
        lines.append(f"Images shown: {len(shown)} of {len(selection.frames)} frames{why}.")
    lines.append("To look closer, call again with start and end (seconds) around a span.")
    return "\n".join(lines)


def describe_answer(text: str, timestamps: Sequence[float]) -> str:
    """An answering tool's result: the answer, then the times of the frames it was based on
    (``Frames the answer was based on: 12.0s [00:00:12.0], …``)."""
    lines = [text]
    if timestamps:
        stamps = ", ".join(f"{t:.1f}s [{format_timestamp(t)}]" for t in sorted(timestamps))
        lines.append(f"Frames the answer was based on: {stamps}")
    return "\n".join(lines)
