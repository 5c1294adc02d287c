"""gens-tools: relevant, timestamped frames of long videos for LLM agents, chosen by GenS.

The main entry point is :func:`sample_frames`::

    from gens_tools import sample_frames
    selection = sample_frames("talk.mp4", "When is the demo shown?", k=16)
    for frame in selection.frames:
        print(frame.label, frame.score)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gens_tools.agent._access import AccessPolicy
from gens_tools.errors import (
    AccessDeniedError,
    BackendUnavailableError,
    EmptyVideoError,
    GensToolsError,
    InvalidArgumentError,
    ModelUnavailableError,
    NotAVideoError,
    SamplerError,
    TimeRangeError,
    UnsupportedCodecError,
    VideoError,
    VideoNotFoundError,
)
from gens_tools.frames import Frame, FrameSelection, ScoredSpan, WindowReport, format_timestamp
from gens_tools.progress import ProgressCallback, ProgressEvent
from gens_tools.samplers._base import FrameSampler, Window, WindowScores
from gens_tools.samplers._parser import ParsedOutput, parse_gens_output
from gens_tools.samplers._registry import make_sampler
from gens_tools.samplers.uniform import UniformSampler

if TYPE_CHECKING:
    from gens_tools.pipeline._sample import asample_frames, sample_frames
    from gens_tools.video import open_video

__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "AccessPolicy",
    "BackendUnavailableError",
    "EmptyVideoError",
    "Frame",
    "FrameSampler",
    "FrameSelection",
    "GensToolsError",
    "InvalidArgumentError",
    "ModelUnavailableError",
    "NotAVideoError",
    "ParsedOutput",
    "ProgressCallback",
    "ProgressEvent",
    "SamplerError",
    "ScoredSpan",
    "TimeRangeError",
    "UniformSampler",
    "UnsupportedCodecError",
    "VideoError",
    "VideoNotFoundError",
    "Window",
    "WindowReport",
    "WindowScores",
    "__version__",
    "asample_frames",
    "format_timestamp",
    "make_sampler",
    "open_video",
    "parse_gens_output",
    "sample_frames",
]

_LAZY = {
    "sample_frames": "gens_tools.pipeline._sample",
    "asample_frames": "gens_tools.pipeline._sample",
    "open_video": "gens_tools.video",
}


def __getattr__(name: str) -> Any:
    # The pipeline pulls in PyAV; import it on first use so `import gens_tools` stays light.
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gens_tools' has no attribute {name!r}")
