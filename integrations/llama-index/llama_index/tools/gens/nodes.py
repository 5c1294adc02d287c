"""Turning a :class:`~gens_tools.FrameSelection` into LlamaIndex objects: image nodes, content blocks, text."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence

from gens_tools.assistants._budget import FramePlan
from gens_tools.frames import Frame, FrameSelection, format_timestamp
from llama_index.core.base.llms.types import ContentBlock, ImageBlock, TextBlock
from llama_index.core.schema import ImageNode, NodeWithScore

__all__ = [
    "FRAME_MIMETYPE",
    "frame_blocks",
    "frame_node",
    "frame_text",
    "selection_nodes",
    "selection_summary",
]

#: Frames are sent and stored as JPEG.
FRAME_MIMETYPE = "image/jpeg"

# Metadata the LLM does not need to read next to each frame (it is in the node text already).
_HIDDEN_FROM_LLM = ["start", "end", "span_start", "span_end", "frame_index", "sampler", "fps", "label"]
_HIDDEN_FROM_EMBED = [*_HIDDEN_FROM_LLM, "source", "score"]


def _score_text(score: float | None) -> str:
    if score is None:
        return "not scored"
    return f"relevance {score:g}/5"


def _video_name(source: str) -> str:
    if "://" in source[:16]:
        return source.rstrip("/").rsplit("/", 1)[-1] or source
    return os.path.basename(source.rstrip("/\\")) or source


def frame_text(frame: Frame, selection: FrameSelection) -> str:
    """The one-line caption of a frame: its timestamp, the video and its score."""
    return (
        f"Frame at [{frame.label}] ({frame.timestamp:.1f} s) of {_video_name(selection.video)}, "
        f"{_score_text(frame.score)}"
    )


def frame_node(
    frame: Frame,
    selection: FrameSelection,
    *,
    jpeg_quality: int = 85,
    image_max_side: int | None = None,
) -> NodeWithScore:
    """One frame as a :class:`NodeWithScore` holding an :class:`ImageNode`.

    The node carries the base64 JPEG and its mimetype, a caption with the timestamp, and metadata
    ``timestamp_s``, ``start``/``end`` (the stretch of video this grid frame stands for, seconds),
    ``score``, ``source`` (the video), plus ``label``, ``frame_index``, ``sampler`` and, when the frame lies in
    a scored span, ``span_start``/``span_end``. The node score is the frame's relevance score (``None`` when
    the sampler scored nothing, e.g. uniform sampling).
    """
    jpeg = frame.to_jpeg(quality=jpeg_quality, max_side=image_max_side)
    start, end = selection.frame_interval(frame)
    metadata: dict[str, object] = {
        "source": selection.video,
        "timestamp_s": round(frame.timestamp, 3),
        "label": frame.label,
        "start": round(start, 3),
        "end": round(end, 3),
        "score": frame.score,
        "frame_index": frame.index,
        "sampler": selection.sampler,
    }
    span = selection.span_of(frame)
    if span is not None:
        metadata["span_start"] = round(span.start, 3)
        metadata["span_end"] = round(span.end, 3)
    digest = hashlib.sha1(selection.video.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    node = ImageNode(
        id_=f"gens-frame:{digest}:{frame.timestamp:.3f}:{frame.index}",
        image=base64.b64encode(jpeg).decode("ascii"),
        image_mimetype=FRAME_MIMETYPE,
        text=frame_text(frame, selection),
        metadata=metadata,
        excluded_llm_metadata_keys=list(_HIDDEN_FROM_LLM),
        excluded_embed_metadata_keys=list(_HIDDEN_FROM_EMBED),
    )
    return NodeWithScore(node=node, score=frame.score)


def selection_nodes(
    selection: FrameSelection,
    frames: Sequence[Frame] | None = None,
    *,
    jpeg_quality: int = 85,
    image_max_side: int | None = None,
) -> list[NodeWithScore]:
    """Nodes for ``frames`` (default: every chosen frame of the selection), in time order."""
    chosen = selection.frames if frames is None else frames
    ordered = sorted(chosen, key=lambda f: f.timestamp)
    return [frame_node(f, selection, jpeg_quality=jpeg_quality, image_max_side=image_max_side) for f in ordered]


def selection_summary(selection: FrameSelection, *, max_spans: int = 12) -> str:
    """A compact text a model can reason over: the range looked at, each frame's time and score, and the
    most relevant spans the sampler found."""
    start = selection.start if selection.start is not None else 0.0
    end = selection.end if selection.end is not None else selection.duration
    where = f"{format_timestamp(start)}-{format_timestamp(end)}" if end is not None else "the whole video"
    lines = [
        f"{len(selection.frames)} frame{'' if len(selection.frames) == 1 else 's'} of "
        f"{_video_name(selection.video)} from {where} "
        f"(sampler {selection.sampler}, {selection.n_candidates} candidates) for: {selection.question}"
    ]
    if selection.duration is not None:
        lines.append(f"Video length: {format_timestamp(selection.duration)}")
    if selection.frames:
        lines.append("Frames: " + ", ".join(f"[{f.label}] {_score_text(f.score)}" for f in selection.frames))
    if selection.spans:
        best = sorted(selection.spans, key=lambda s: (-s.score, s.start))[:max_spans]
        best.sort(key=lambda s: s.start)
        lines.append(
            "Relevant spans: "
            + ", ".join(f"{format_timestamp(s.start)}-{format_timestamp(s.end)} ({s.score:g})" for s in best)
        )
    if selection.lost_spans:
        lines.append(
            "Could not decode: "
            + ", ".join(f"{format_timestamp(a)}-{format_timestamp(b)}" for a, b in selection.lost_spans)
        )
    return "\n".join(lines)


def frame_blocks(
    selection: FrameSelection,
    *,
    include_images: bool = True,
    jpeg_quality: int = 85,
    image_max_side: int | None = 768,
    plan: FramePlan | None = None,
) -> list[ContentBlock]:
    """Tool output blocks: the summary text, then for each frame (time order) its ``[hh:mm:ss.s]`` label
    and, when ``include_images``, the JPEG as an :class:`ImageBlock`.

    With a ``plan`` (from :func:`gens_tools.assistants._budget.plan_frames`) only the planned frames are
    listed, with the planned JPEGs and OpenAI ``detail``; the summary says how many were left out and why.
    """
    blocks: list[ContentBlock] = [TextBlock(text=selection_summary(selection))]
    if plan is not None:
        if plan.dropped or plan.notes:
            blocks.append(
                TextBlock(
                    text=f"Showing {len(plan.images)} of {len(selection.frames)} frames to fit {plan.model}: "
                    + "; ".join(plan.notes)
                )
            )
        for image in sorted(plan.images, key=lambda im: im.timestamp):
            blocks.append(TextBlock(text=f"[{image.frame.label}] {_score_text(image.frame.score)}"))
            if include_images:
                blocks.append(ImageBlock(image=image.jpeg, image_mimetype=image.mime_type, detail=image.detail))
        return blocks
    for frame in sorted(selection.frames, key=lambda f: f.timestamp):
        blocks.append(TextBlock(text=f"[{frame.label}] {_score_text(frame.score)}"))
        if include_images:
            jpeg = frame.to_jpeg(quality=jpeg_quality, max_side=image_max_side)
            blocks.append(ImageBlock(image=jpeg, image_mimetype=FRAME_MIMETYPE))
    return blocks
