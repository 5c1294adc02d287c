"""Turning a :class:`~gens_tools.FrameSelection` into LlamaIndex objects: image nodes and content blocks.

Every text here is the core's (:mod:`gens_tools.agent`): the selection's description, each frame's caption
and a retrieved frame's text are word for word those of the LangChain integration.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from gens_tools import Frame, FrameSelection
from gens_tools.agent import frame_caption, frame_text
from gens_tools.assistants import FramePlan
from llama_index.core.base.llms.types import ContentBlock, ImageBlock, TextBlock
from llama_index.core.schema import ImageNode, NodeWithScore

__all__ = [
    "FRAME_MIMETYPE",
    "frame_blocks",
    "frame_node",
    "plan_note",
    "selection_nodes",
]

#: Frames are sent and stored as JPEG.
FRAME_MIMETYPE = "image/jpeg"

# Metadata the LLM does not need to read next to each frame (it is in the node text already).
_HIDDEN_FROM_LLM = ["start", "end", "span_start", "span_end", "frame_index", "sampler", "fps", "label"]
_HIDDEN_FROM_EMBED = [*_HIDDEN_FROM_LLM, "source", "score"]


def frame_node(
    frame: Frame,
    selection: FrameSelection,
    *,
    jpeg_quality: int = 85,
    image_max_side: int | None = None,
) -> NodeWithScore:
    """One frame as a :class:`NodeWithScore` holding an :class:`ImageNode`.

    The node carries the base64 JPEG and its mimetype, the frame's text (:func:`gens_tools.agent.frame_text`:
    video, time, score, span), and metadata
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
        text=frame_text(selection, frame),
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


def plan_note(plan: FramePlan) -> str:
    """Why a model-sized plan shows fewer frames than were chosen: ``fit gpt-4o: …``."""
    return f"to fit {plan.model}" + (": " + "; ".join(plan.notes) if plan.notes else "")


def frame_blocks(
    selection: FrameSelection,
    text: str,
    *,
    include_images: bool = True,
    jpeg_quality: int = 85,
    image_max_side: int | None = 768,
    plan: FramePlan | None = None,
) -> list[ContentBlock]:
    """Tool output blocks: ``text`` (the selection's description), then for each frame (time order) its
    caption (``Frame at 46.0s [00:00:46.0] score 5``) and, when ``include_images``, the JPEG as an
    :class:`ImageBlock`.

    With a ``plan`` (from :func:`gens_tools.assistants.plan_frames`) only the planned frames are shown, with
    the planned JPEGs and OpenAI ``detail``.
    """
    blocks: list[ContentBlock] = [TextBlock(text=text)]
    if plan is not None:
        for image in sorted(plan.images, key=lambda im: im.timestamp):
            blocks.append(TextBlock(text=frame_caption(image.frame)))
            if include_images:
                blocks.append(ImageBlock(image=image.jpeg, image_mimetype=image.mime_type, detail=image.detail))
        return blocks
    for frame in sorted(selection.frames, key=lambda f: f.timestamp):
        blocks.append(TextBlock(text=frame_caption(frame)))
        if include_images:
            jpeg = frame.to_jpeg(quality=jpeg_quality, max_side=image_max_side)
            blocks.append(ImageBlock(image=jpeg, image_mimetype=FRAME_MIMETYPE))
    return blocks
