"""What the chat model reads: a compact text account of a frame selection, and frames as v1 content blocks.

The text names every chosen frame by its time (seconds and ``hh:mm:ss.s``) and score, and the best scored
spans, so a model can reason about *when* things happen and ask again for a narrower ``start``/``end``.
"""

from __future__ import annotations

from typing import Any

from gens_tools.frames import Frame, FrameSelection, ScoredSpan, format_timestamp
from langchain_core.messages.content import create_image_block, create_text_block

#: Spans listed in the tool's text, best first; the rest are counted.
DEFAULT_MAX_SPANS = 12
#: JPEG quality of frames sent to the chat model.
DEFAULT_JPEG_QUALITY = 85


def _score_text(score: float | None) -> str:
    return "unscored" if score is None else f"score {score:g}"


def frame_line(frame: Frame) -> str:
    """One frame as ``46.0s [00:00:46.0] score 5``."""
    return f"{frame.timestamp:.1f}s [{frame.label}] {_score_text(frame.score)}"


def span_line(span: ScoredSpan) -> str:
    """One span as ``45.0-81.0s [00:00:45.0-00:01:21.0] score 5``."""
    return (
        f"{span.start:.1f}-{span.end:.1f}s [{format_timestamp(span.start)}-{format_timestamp(span.end)}] "
        f"score {span.score:g}"
    )


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
    selection: FrameSelection, *, video_label: str | None = None, max_spans: int = DEFAULT_MAX_SPANS
) -> str:
    """A compact, model-readable account of ``selection``: range searched, frames, spans, gaps.

    Args:
        selection: the result of :func:`gens_tools.sample_frames`.
        video_label: how to name the video (default: ``selection.video``).
        max_spans: most spans to list (best first); the rest are counted.
    """
    name = video_label if video_label is not None else selection.video
    lines = [
        f'Frames of {name} for "{selection.question}" (sampler: {selection.sampler}).',
        _range_line(selection),
        f"{len(selection.frames)} frames in time order (relevance 0-5, 0 = not relevant):",
    ]
    lines.extend(f"- {frame_line(f)}" for f in selection.frames)
    lines.extend(_scoring_lines(selection, max_spans))
    if selection.lost_spans:
        lost = ", ".join(f"{a:.1f}-{b:.1f}s" for a, b in selection.lost_spans)
        lines.append(f"Could not be decoded: {lost}.")
    lines.append("To look closer, call again with start and end (seconds) around a span.")
    return "\n".join(lines)


def frame_blocks(
    selection: FrameSelection,
    *,
    jpeg_quality: int = DEFAULT_JPEG_QUALITY,
    max_side: int | None = None,
) -> list[dict[str, Any]]:
    """The chosen frames as v1 content blocks: for each frame a text block with its time and score, then an
    image block (base64 JPEG)."""
    blocks: list[dict[str, Any]] = []
    for frame in selection.frames:
        blocks.append(dict(create_text_block(f"Frame at {frame_line(frame)}")))
        data = frame.to_base64(quality=jpeg_quality, max_side=max_side)
        blocks.append(dict(create_image_block(base64=data, mime_type="image/jpeg")))
    return blocks
