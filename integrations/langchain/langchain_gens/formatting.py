"""Frames as LangChain v1 content blocks: each frame's caption (time and score) then its image.

The text a model reads about a selection, and the caption of each frame, are the core's
(:func:`gens_tools.agent.describe_selection`, :func:`gens_tools.agent.frame_caption`), shared word for word
with the LlamaIndex integration.
"""

from __future__ import annotations

from typing import Any

from gens_tools import FrameSelection
from gens_tools.agent import frame_caption
from langchain_core.messages.content import create_image_block

__all__ = ["DEFAULT_JPEG_QUALITY", "frame_blocks"]

#: JPEG quality of frames sent to the chat model.
DEFAULT_JPEG_QUALITY = 85


def text_block(text: str) -> dict[str, Any]:
    """A v1 text block without the ``id`` that ``create_text_block`` adds: chat APIs reject unknown keys in a
    message's text parts (OpenAI Chat Completions answers 400), and langchain-openai forwards the ``id``."""
    return {"type": "text", "text": text}


def frame_blocks(
    selection: FrameSelection,
    *,
    jpeg_quality: int = DEFAULT_JPEG_QUALITY,
    max_side: int | None = None,
) -> list[dict[str, Any]]:
    """The chosen frames as v1 content blocks: for each frame a text block with its caption
    (``Frame at 46.0s [00:00:46.0] score 5``), then an image block (base64 JPEG)."""
    blocks: list[dict[str, Any]] = []
    for frame in selection.frames:
        blocks.append(text_block(frame_caption(frame)))
        data = frame.to_base64(quality=jpeg_quality, max_side=max_side)
        blocks.append(dict(create_image_block(base64=data, mime_type="image/jpeg")))
    return blocks
