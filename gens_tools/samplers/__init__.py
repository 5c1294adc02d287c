"""Frame samplers: every way of scoring windows of frames for a question, behind one interface.

- :class:`FrameSampler`, :class:`Window`, :class:`WindowScores`: the interface (``_base``), and cutting a grid
  into windows and merging their scores (``_windows``).
- The GenS prompt and output parser, shared by every GenS backend (``_prompt``, ``_parser``).
- The samplers: :mod:`.uniform`, :mod:`.gens_3b` (GenS-3B in-process), :mod:`.gens_aria` (GenS on Aria
  in-process), :mod:`.similarity` (CLIP/SigLIP), :mod:`.remote` (GenS behind an OpenAI-compatible endpoint).
- :func:`make_sampler` builds one by its registered name; :func:`register_sampler` adds one (a class
  decorator, a call, or the entry-point group ``gens_tools.samplers`` of another package); a sampler's
  options are its constructor's, described by :meth:`FrameSampler.describe_options` (:class:`SamplerOption`).

Only the core samplers are imported here; the others are imported when the registry is first asked for a
name, and load torch, transformers or openai only when one is built.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gens_tools.samplers._base import FrameSampler, Window, WindowScores
from gens_tools.samplers._describe import SamplerOption
from gens_tools.samplers._parser import ParsedOutput, format_gens_output, parse_gens_output
from gens_tools.samplers._prompt import GENS_INSTRUCTION, build_prompt_text, split_prompt
from gens_tools.samplers._registry import (
    ENTRY_POINT_GROUP,
    make_sampler,
    register_sampler,
    registered_sampler,
    sampler_class,
    sampler_names,
    unregister_sampler,
)
from gens_tools.samplers._windows import merge_window_scores, plan_windows
from gens_tools.samplers.uniform import UniformSampler

if TYPE_CHECKING:
    from gens_tools.samplers.gens_3b import GenS3BSampler
    from gens_tools.samplers.gens_aria import GenSAriaSampler
    from gens_tools.samplers.remote import RemoteGenSSampler
    from gens_tools.samplers.similarity import SimilaritySampler

__all__ = [
    "ENTRY_POINT_GROUP",
    "GENS_INSTRUCTION",
    "FrameSampler",
    "GenS3BSampler",
    "GenSAriaSampler",
    "ParsedOutput",
    "RemoteGenSSampler",
    "SamplerOption",
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
    "register_sampler",
    "registered_sampler",
    "sampler_class",
    "sampler_names",
    "split_prompt",
    "unregister_sampler",
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
