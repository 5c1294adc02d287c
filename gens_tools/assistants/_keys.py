"""API keys: read once, at construction, from the argument or the environment; never shown."""

from __future__ import annotations

import os
from collections.abc import Sequence

from gens_tools.errors import MissingAPIKeyError


def read_api_key(explicit: str | None, env_names: Sequence[str], provider: str) -> str:
    """The key passed in, else the first of ``env_names`` set in the environment; else a clear error.

    The error names the variables to set and never contains a key.
    """
    if explicit is not None:
        if not isinstance(explicit, str) or not explicit.strip():
            raise MissingAPIKeyError(f"the {provider} API key passed in is empty")
        return explicit.strip()
    for name in env_names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    names = " or ".join(env_names)
    raise MissingAPIKeyError(f"no {provider} API key: set {names} in the environment (or pass api_key=…)")


def env_has(name: str) -> bool:
    """Whether the environment variable ``name`` holds something other than white space."""
    return bool(os.environ.get(name, "").strip())
