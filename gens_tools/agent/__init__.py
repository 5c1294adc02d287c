"""The agent-facing layer, free of any agent framework.

- :class:`VideoFramesTool` (``video_frames``) and :class:`AskVideoTool` (``ask_video``): the tools, configured
  once by the developer (sampler, :class:`~gens_tools.SamplingOptions`, :class:`AccessPolicy`, ``default_k``,
  an optional bound video), each with a name, a generated description, an argument declaration
  (:class:`ToolArguments`, with ``json_schema()``) and ``run``/``arun``.
- :class:`AccessPolicy`: what a model may open, and the caps on ``k`` and the range length.
- The checks on a model's arguments (:func:`validate_frame_request`…) and the one wording of its errors
  (:func:`tool_error_text`; :data:`AGENT_ERRORS` are the errors a tool hands back to the model).
- The one text a model reads about a selection (:func:`describe_selection`), the caption next to each image
  (:func:`frame_caption`) and a retrieved frame's text (:func:`frame_text`).
- :class:`VideoAgent`: a multi-step video QA agent — look, answer with a confidence, look again more closely
  where the assistant is unsure — with its budget (:class:`AgentBudget`) and trace (:class:`AgentResult`,
  :class:`AgentStep`).

LangChain (``langchain_gens``), LlamaIndex (``llama_index.tools.gens``) and MCP adapters are thin wrappers
over it, so every integration has the same tool names, arguments, defaults, descriptions and wording.
"""

from gens_tools.agent._access import AccessPolicy
from gens_tools.agent._agent_reply import AGENT_REPLY_SCHEMA, AgentReply, LookNext, parse_agent_reply
from gens_tools.agent._agent_trace import AgentBudget, AgentResult, AgentStep, SeenFrame, StopReason
from gens_tools.agent._args import (
    AGENT_ERRORS,
    DEFAULT_K,
    TIME_FORMAT_HELP,
    FrameRequest,
    check_image_options,
    check_k,
    check_range,
    coerce_k,
    error_kind,
    parse_optional_time,
    resolve_sampler,
    tool_error_text,
    validate_frame_request,
)
from gens_tools.agent._spec import ArgumentKind, ToolArgument, ToolArguments
from gens_tools.agent._text import (
    DEFAULT_MAX_SPANS,
    describe_answer,
    describe_selection,
    frame_caption,
    frame_line,
    frame_text,
    span_line,
    video_name,
)
from gens_tools.agent._tools import (
    AskResult,
    AskVideoTool,
    FramesResult,
    VideoFramesTool,
    asample_request,
    ask_arguments,
    ask_description,
    sample_request,
)
from gens_tools.agent._video_agent import StepCallback, VideoAgent

__all__ = [
    "AGENT_ERRORS",
    "AGENT_REPLY_SCHEMA",
    "DEFAULT_K",
    "DEFAULT_MAX_SPANS",
    "TIME_FORMAT_HELP",
    "AccessPolicy",
    "AgentBudget",
    "AgentReply",
    "AgentResult",
    "AgentStep",
    "ArgumentKind",
    "AskResult",
    "AskVideoTool",
    "FrameRequest",
    "FramesResult",
    "LookNext",
    "SeenFrame",
    "StepCallback",
    "StopReason",
    "ToolArgument",
    "ToolArguments",
    "VideoAgent",
    "VideoFramesTool",
    "asample_request",
    "ask_arguments",
    "ask_description",
    "check_image_options",
    "check_k",
    "check_range",
    "coerce_k",
    "describe_answer",
    "describe_selection",
    "error_kind",
    "frame_caption",
    "frame_line",
    "frame_text",
    "parse_agent_reply",
    "parse_optional_time",
    "resolve_sampler",
    "sample_request",
    "span_line",
    "tool_error_text",
    "validate_frame_request",
    "video_name",
]
