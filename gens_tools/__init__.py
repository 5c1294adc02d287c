"""gens-tools: relevant, timestamped frames of long videos for LLM agents, chosen by GenS.

The main entry point is :func:`sample_frames`::

    from gens_tools import sample_frames
    selection = sample_frames("talk.mp4", "When is the demo shown?", k=16)
    for frame in selection.frames:
        print(frame.label, frame.score)

Everything a user needs is importable from here: the entry points (:func:`sample_frames`,
:func:`asample_frames`, :class:`VideoQA`), their :class:`SamplingOptions`, the samplers and assistants by name
(:func:`make_sampler`, :func:`make_assistant`) and :func:`register_sampler` for your own, the data model
(:class:`Frame`, :class:`FrameSelection`…), the access policy for agent tools and the errors. Submodules
whose names start with ``_`` are internal.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gens_tools.agent import AccessPolicy
from gens_tools.errors import (
    AccessDeniedError,
    AnswerRefusedError,
    AssistantError,
    AuthenticationFailedError,
    BackendUnavailableError,
    CacheMissError,
    ContextTooLongError,
    EmptyAnswerError,
    EmptyVideoError,
    FallbackWarning,
    FrameCacheError,
    GensToolsError,
    InvalidArgumentError,
    MissingAPIKeyError,
    ModelUnavailableError,
    NotAVideoError,
    ProviderUnavailableError,
    RequestRejectedError,
    SamplerError,
    TimeRangeError,
    UnsupportedCodecError,
    VideoError,
    VideoNotFoundError,
)
from gens_tools.frames import Frame, FrameOrigin, FrameSelection, ScoredSpan, Timeline, WindowReport, format_timestamp
from gens_tools.options import SamplingOptions
from gens_tools.progress import ProgressCallback, ProgressEvent
from gens_tools.samplers import (
    FrameSampler,
    ParsedOutput,
    UniformSampler,
    Window,
    WindowScores,
    make_sampler,
    parse_gens_output,
    register_sampler,
    sampler_names,
)

if TYPE_CHECKING:
    from gens_tools.assistants import Answer, Assistant, make_assistant
    from gens_tools.pipeline import asample_frames, sample_frames
    from gens_tools.qa import VideoQA
    from gens_tools.video import FrameCache, VideoInfo, open_video

__version__ = "0.2.0"

__all__ = [
    "AccessDeniedError",
    "AccessPolicy",
    "Answer",
    "AnswerRefusedError",
    "Assistant",
    "AssistantError",
    "AuthenticationFailedError",
    "BackendUnavailableError",
    "CacheMissError",
    "ContextTooLongError",
    "EmptyAnswerError",
    "EmptyVideoError",
    "FallbackWarning",
    "Frame",
    "FrameCache",
    "FrameCacheError",
    "FrameOrigin",
    "FrameSampler",
    "FrameSelection",
    "GensToolsError",
    "InvalidArgumentError",
    "MissingAPIKeyError",
    "ModelUnavailableError",
    "NotAVideoError",
    "ParsedOutput",
    "ProgressCallback",
    "ProgressEvent",
    "ProviderUnavailableError",
    "RequestRejectedError",
    "SamplerError",
    "SamplingOptions",
    "ScoredSpan",
    "TimeRangeError",
    "Timeline",
    "UniformSampler",
    "UnsupportedCodecError",
    "VideoError",
    "VideoInfo",
    "VideoNotFoundError",
    "VideoQA",
    "Window",
    "WindowReport",
    "WindowScores",
    "__version__",
    "asample_frames",
    "format_timestamp",
    "make_assistant",
    "make_sampler",
    "open_video",
    "parse_gens_output",
    "register_sampler",
    "sample_frames",
    "sampler_names",
]

# Imported on first use: the pipeline and readers pull in PyAV, the assistants their planner.
_LAZY = {
    "sample_frames": "gens_tools.pipeline",
    "asample_frames": "gens_tools.pipeline",
    "VideoQA": "gens_tools.qa",
    "Answer": "gens_tools.assistants",
    "Assistant": "gens_tools.assistants",
    "make_assistant": "gens_tools.assistants",
    "open_video": "gens_tools.video",
    "VideoInfo": "gens_tools.video",
    "FrameCache": "gens_tools.video",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gens_tools' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
