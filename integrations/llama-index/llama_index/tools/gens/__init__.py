"""LlamaIndex integration of gens-tools: GenS-chosen, timestamped video frames for retrievers, query engines
and agents.

* :class:`GenSFrameRetriever` — a query about a video returns one ``ImageNode`` per relevant frame.
* :class:`VideoQueryEngine` — a multimodal LLM (or a gens-tools assistant) answers from those frames, within
  the model's limits; ``source_nodes`` are the frames it saw.
* :func:`make_frames_tool` (a ``FunctionTool`` returning text + ``ImageBlock`` s) and
  :func:`make_query_engine_tool` (a ``QueryEngineTool``) for agents such as ``FunctionAgent``; both check the
  model's arguments against an :class:`gens_tools.AccessPolicy`.

``FrameRequest``, ``validate_frame_request`` and ``tool_error_text`` are re-exported from
:mod:`gens_tools.agent._args`, the argument checks and error wording shared with the LangChain integration.
"""

from gens_tools.agent._args import FrameRequest, tool_error_text, validate_frame_request

from llama_index.tools.gens.llm_assistant import LlamaIndexAssistant, build_messages
from llama_index.tools.gens.nodes import frame_blocks, frame_node, selection_nodes, selection_summary
from llama_index.tools.gens.query_engine import VideoQueryEngine
from llama_index.tools.gens.retriever import GenSFrameRetriever, VideoQueryBundle
from llama_index.tools.gens.tools import (
    FrameToolResult,
    GenSFramesTool,
    VideoQueryEngineTool,
    make_frames_tool,
    make_query_engine_tool,
)

__all__ = [
    "FrameRequest",
    "FrameToolResult",
    "GenSFrameRetriever",
    "GenSFramesTool",
    "LlamaIndexAssistant",
    "VideoQueryBundle",
    "VideoQueryEngine",
    "VideoQueryEngineTool",
    "build_messages",
    "frame_blocks",
    "frame_node",
    "make_frames_tool",
    "make_query_engine_tool",
    "selection_nodes",
    "selection_summary",
    "tool_error_text",
    "validate_frame_request",
]
