"""LangChain integration of gens-tools: GenS frame sampling as a tool, a retriever and agent middleware.

A thin adapter over the framework-free agent layer :mod:`gens_tools.agent`, which owns the tool's name
(``video_frames``), arguments, description, checks and the text the model reads — shared word for word with
the LlamaIndex integration (``llama_index.tools.gens``).

- :class:`GenSVideoFramesTool` — the ``video_frames`` tool: an agent calls it with a video, a question and an
  optional time range; it returns a text list of timestamps, scores and spans (content) and the frames
  (artifact).
- :class:`GenSVideoRetriever` — a retriever bound to one video; a query returns one Document per frame.
- :func:`frames_message` / :func:`with_frame_messages` — turn the tool's frames into a user message of v1
  image blocks (for chat models that accept images only there).
- :class:`GenSFramesMiddleware` — does that inside ``langchain.agents.create_agent`` (needs ``langchain``).
- :func:`selection_from_dict` — rebuild a FrameSelection from the tool's ``artifact_format="json"`` artifact.

Sampling is configured with :class:`gens_tools.SamplingOptions` (``options=``) or its fields as keyword
arguments, on the tool and the retriever alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_gens.artifacts import selection_from_dict
from langchain_gens.formatting import frame_blocks
from langchain_gens.messages import frames_message, selection_of, with_frame_messages
from langchain_gens.retrievers import GenSVideoRetriever
from langchain_gens.tools import GenSVideoFramesTool

if TYPE_CHECKING:
    from langchain_gens.middleware import GenSFramesMiddleware

__version__ = "0.2.0"

__all__ = [
    "GenSFramesMiddleware",
    "GenSVideoFramesTool",
    "GenSVideoRetriever",
    "__version__",
    "frame_blocks",
    "frames_message",
    "selection_from_dict",
    "selection_of",
    "with_frame_messages",
]


def __getattr__(name: str) -> Any:
    # The middleware needs the optional `langchain` package; import it only when asked for.
    if name == "GenSFramesMiddleware":
        from langchain_gens.middleware import GenSFramesMiddleware

        globals()[name] = GenSFramesMiddleware
        return GenSFramesMiddleware
    raise AttributeError(f"module 'langchain_gens' has no attribute {name!r}")
