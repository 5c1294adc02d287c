"""Frame samplers: every way of scoring windows of frames for a question, behind one interface.

- :class:`FrameSampler`, :class:`Window`, :class:`WindowScores`: the interface (``_base``), and cutting a grid
  into windows and merging their scores (``_windows``).
- The GenS prompt and output parser, shared by every GenS backend (``_prompt``, ``_parser``).
- The samplers: :mod:`.uniform`, :mod:`.gens_3b` (GenS-3B in-process), :mod:`.gens_aria` (GenS on Aria
  in-process), :mod:`.similarity` (CLIP/SigLIP), :mod:`.remote` (GenS behind an OpenAI-compatible endpoint).
- :func:`make_sampler` builds one by its registered name; :func:`register_sampler` adds one.

Only the core samplers are imported here; the model-backed ones load torch, transformers or openai when first
used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gens_tools.samplers._base import FrameSampler, Window, WindowScores
from gens_tools.samplers._parser import ParsedOutput, format_gens_output, parse_gens_output
from gens_tools.samplers._prompt import GENS_INSTRUCTION, build_prompt_text, split_prompt
from gens_tools.samplers._registry import make_sampler, sampler_class, sampler_names
from gens_tools.samplers._windows import merge_window_scores, plan_windows
from gens_tools.samplers.uniform import UniformSampler

if TYPE_CHECKING:
    from gens_tools.samplers.gens_3b import GenS3BSampler
    from gens_tools.samplers.gens_aria import GenSAriaSampler
    from gens_tools.samplers.remote import RemoteGenSSampler
    from gens_tools.samplers.similarity import SimilaritySampler

__all__ = [
    "GENS_INSTRUCTION",
    "FrameSampler",
    "GenS3BSampler",
    "GenSAriaSampler",
    "ParsedOutput",
    "RemoteGenSSampler",
    "SimilaritySampler",
    "UniformSampler",
    "Window",
    "WindowScores",
    "build_prompt_text",
    "format_gens_output",
    "make_sampler",
    "merge_window_scores",
    "parse_gens_output",
    "plan_windows",
    "sampler_class",
    "sampler_names",
    "split_prompt",
]

_LAZY = {
    "GenS3BSampler": "gens_tools.samplers.gens_3b",
    "GenSAriaSampler": "gens_tools.samplers.gens_aria",
    "RemoteGenSSampler": "gens_tools.samplers.remote",
    "SimilaritySampler": "gens_tools.samplers.similarity",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gens_tools.samplers' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
