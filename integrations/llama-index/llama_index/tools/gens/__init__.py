"""LlamaIndex integration of gens-tools: GenS-chosen, timestamped video frames for agents, retrievers and query
engines.

A thin adapter over the framework-free agent layer :mod:`gens_tools.agent`, which owns the tool names, argument
declarations, descriptions, checks and the text the model reads — shared word for word with the LangChain
integration (``langchain_gens``).

* :class:`GenSToolSpec` — the tool spec for agents such as ``FunctionAgent``: ``video_frames`` (text +
  ``ImageBlock`` s, :class:`GenSVideoFramesTool`) and, with an answering model, ``ask_video``
  (:class:`GenSAskVideoTool`); both check the model's arguments against an :class:`gens_tools.AccessPolicy`.
* :class:`GenSFunctionAgent` — a ``FunctionAgent`` whose model sees the frames tools return on every chat API:
  OpenAI Chat Completions drops images from tool messages, so they move to a user message after them.
* :class:`GenSVideoRetriever` — a query about a video returns one ``ImageNode`` per relevant frame.
* :class:`GenSVideoQueryEngine` — a multimodal LLM (or a gens-tools assistant) answers from those frames,
  within the model's limits; ``source_nodes`` are the frames it saw.

Sampling is configured with :class:`gens_tools.SamplingOptions` (``options=``) or its fields as keyword
arguments, on the spec, the retriever and the engine alike.
"""

from llama_index.tools.gens.agent import FRAMES_NOTE, GenSFunctionAgent, frames_as_user_message
from llama_index.tools.gens.llm_assistant import LlamaIndexAssistant, build_messages
from llama_index.tools.gens.nodes import frame_blocks, frame_node, selection_nodes
from llama_index.tools.gens.query_engine import GenSVideoQueryEngine
from llama_index.tools.gens.retriever import GenSVideoRetriever, VideoQueryBundle
from llama_index.tools.gens.tools import (
    FrameToolResult,
    GenSAskVideoTool,
    GenSToolSpec,
    GenSVideoFramesTool,
)

__all__ = [
    "FRAMES_NOTE",
    "FrameToolResult",
    "GenSAskVideoTool",
    "GenSFunctionAgent",
    "GenSToolSpec",
    "GenSVideoFramesTool",
    "GenSVideoQueryEngine",
    "GenSVideoRetriever",
    "LlamaIndexAssistant",
    "VideoQueryBundle",
    "build_messages",
    "frame_blocks",
    "frame_node",
    "frames_as_user_message",
    "selection_nodes",
]
