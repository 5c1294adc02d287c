"""Frame samplers that run a model in-process with torch + transformers.

Importing this package is cheap: torch and transformers are imported only when a sampler (or a helper that
needs them) is first used, so ``import gens_tools`` works without the ``local`` extra.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gens_tools.models.aria_gens import GenSAriaSampler
    from gens_tools.models.device import (
        pick_attn_implementation,
        pick_device_and_dtype,
        require_torch,
        require_transformers,
    )
    from gens_tools.models.loading import guard_oom, resolve_model_path
    from gens_tools.models.prefix_cache import PrefixCache, PrefixState
    from gens_tools.models.qwen_gens import GenS3BSampler
    from gens_tools.models.similarity import SimilaritySampler

#: public name → module that defines it
_LAZY = {
    "pick_device_and_dtype": "gens_tools.models.device",
    "pick_attn_implementation": "gens_tools.models.device",
    "require_torch": "gens_tools.models.device",
    "require_transformers": "gens_tools.models.device",
    "resolve_model_path": "gens_tools.models.loading",
    "guard_oom": "gens_tools.models.loading",
    "PrefixCache": "gens_tools.models.prefix_cache",
    "PrefixState": "gens_tools.models.prefix_cache",
    "GenS3BSampler": "gens_tools.models.qwen_gens",
    "GenSAriaSampler": "gens_tools.models.aria_gens",
    "SimilaritySampler": "gens_tools.models.similarity",
}

__all__ = [
    "GenS3BSampler",
    "GenSAriaSampler",
    "PrefixCache",
    "PrefixState",
    "SimilaritySampler",
    "guard_oom",
    "pick_attn_implementation",
    "pick_device_and_dtype",
    "require_torch",
    "require_transformers",
    "resolve_model_path",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gens_tools.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
