"""Samplers by name, for the CLI and for configuration files. Backends are imported only when asked for, so
the core never imports torch, transformers or openai."""

from __future__ import annotations

import importlib
from typing import Any

from gens_tools.errors import BackendUnavailableError, InvalidArgumentError
from gens_tools.samplers._base import FrameSampler

#: name → (module, class, extra that provides its dependencies)
SAMPLERS: dict[str, tuple[str, str, str | None]] = {
    "uniform": ("gens_tools.samplers.uniform", "UniformSampler", None),
    "gens-3b": ("gens_tools.samplers.gens_3b", "GenS3BSampler", "local"),
    "gens": ("gens_tools.samplers.gens_aria._sampler", "GenSAriaSampler", "local"),
    "similarity": ("gens_tools.samplers.similarity", "SimilaritySampler", "local"),
    "remote": ("gens_tools.samplers.remote", "RemoteGenSSampler", "openai"),
    "precomputed": ("gens_tools.samplers.precomputed", "PrecomputedSampler", None),
}


def sampler_names() -> list[str]:
    """Names accepted by :func:`make_sampler`."""
    return list(SAMPLERS)


def sampler_class(name: str) -> type[FrameSampler]:
    """The class registered under ``name``."""
    try:
        module_name, class_name, extra = SAMPLERS[name]
    except KeyError:
        raise InvalidArgumentError(
            f"unknown sampler {name!r}; choose one of: {', '.join(SAMPLERS)}"
        ) from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = f" (pip install 'gens-tools[{extra}]')" if extra else ""
        missing = exc.name or "a missing package"
        raise BackendUnavailableError(f"sampler {name!r} needs {missing}{hint}") from exc
    cls: type[FrameSampler] = getattr(module, class_name)
    return cls


def make_sampler(name: str, **options: Any) -> FrameSampler:
    """Build the sampler registered under ``name``; options set to ``None`` are left to the defaults."""
    cls = sampler_class(name)
    kwargs = {k: v for k, v in options.items() if v is not None}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise InvalidArgumentError(f"sampler {name!r} does not accept these options: {exc}") from exc
