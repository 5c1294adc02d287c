"""The agent-facing layer, free of any agent framework: what a model may open (:class:`AccessPolicy`), the
checks on its arguments, and the wording of errors it reads. LangChain, LlamaIndex and MCP adapters are thin
wrappers over it."""

from gens_tools.agent._access import AccessPolicy
from gens_tools.agent._args import (
    AGENT_ERRORS,
    DEFAULT_K,
    TIME_FORMAT_HELP,
    FrameRequest,
    asample_request,
    check_image_options,
    check_k,
    check_range,
    coerce_k,
    error_kind,
    parse_optional_time,
    resolve_sampler,
    sample_request,
    sampling_kwargs,
    tool_error_text,
    validate_frame_request,
)

__all__ = [
    "AGENT_ERRORS",
    "DEFAULT_K",
    "TIME_FORMAT_HELP",
    "AccessPolicy",
    "FrameRequest",
    "asample_request",
    "check_image_options",
    "check_k",
    "check_range",
    "coerce_k",
    "error_kind",
    "parse_optional_time",
    "resolve_sampler",
    "sample_request",
    "sampling_kwargs",
    "tool_error_text",
    "validate_frame_request",
]
