"""What the in-process samplers share: finding and placing the weights, option checks, building from parts.

Nothing here imports torch or transformers at import time; :func:`plan_load` imports them when called.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Self

from gens_tools.errors import InvalidArgumentError, SamplerError
from gens_tools.samplers._base import FrameSampler, Window
from gens_tools.samplers._local.device import pick_attn_implementation, pick_device_and_dtype, require_transformers
from gens_tools.samplers._local.loading import check_options, resolve_model_path
from gens_tools.samplers._local.prefix_cache import DEFAULT_MAX_BYTES, PrefixCache

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """Where a sampler's weights are and how to load them."""

    transformers: ModuleType
    path: Path
    device: torch.device
    dtype: torch.dtype
    attn_implementation: str


def plan_load(
    model: str | os.PathLike[str],
    *,
    revision: str | None = None,
    device: str | None = None,
    dtype: str | None = None,
    attn_implementation: str | None = None,
) -> LoadPlan:
    """Check the backend, find the model folder and pick device, dtype and attention, before loading weights.

    Raises:
        BackendUnavailableError: torch/transformers (or huggingface_hub for a hub id) is not installed.
        ModelUnavailableError: the model cannot be found locally nor fetched.
        InvalidArgumentError: an unknown or unavailable device, dtype or attention implementation.
    """
    transformers = require_transformers()
    path = resolve_model_path(model, revision=revision)
    dev, dt = pick_device_and_dtype(device, dtype)
    attn = pick_attn_implementation(attn_implementation, device=dev, dtype=dt)
    return LoadPlan(transformers, path, dev, dt, attn)


def is_positive_int(value: object) -> bool:
    """Whether ``value`` is an ``int`` (not a ``bool``) greater than zero."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def check_positive_int(label: str, value: object) -> None:
    """Raise :class:`InvalidArgumentError` naming ``label`` unless ``value`` is a positive integer."""
    if not is_positive_int(value):
        raise InvalidArgumentError(f"{label} must be a positive integer, got {value!r}")


def optional_cache(value: PrefixCache | bool, max_bytes: int = DEFAULT_MAX_BYTES) -> PrefixCache | None:
    """A cache option: a :class:`PrefixCache` to share as is, ``True`` for a private one bounded by
    ``max_bytes``, ``False`` for none."""
    if isinstance(value, PrefixCache):
        return value
    return PrefixCache(max_bytes) if value else None


class LocalSampler(FrameSampler):
    """A sampler around a model, tokenizer and image processor configured by a keyword-only ``_setup``.

    Subclasses define ``_setup(model, tokenizer, image_processor, *, model_id, **options)``; its keyword-only
    parameters are the sampler's options, checked by name before any weights are loaded."""

    _setup: Callable[..., None]
    window_size: int
    _closed: bool

    @classmethod
    def from_components(
        cls, model: Any, tokenizer: Any, image_processor: Any, *, model_id: str | None = None, **options: Any
    ) -> Self:
        """Build the sampler around an already loaded model, tokenizer and image processor.

        ``model_id`` names the model in cache keys (default: the model's ``name_or_path``, else an id unique
        to this object). Other options as in the constructor (except loading options)."""
        check_options(cls._setup, options)
        self = cls.__new__(cls)
        name = model_id or getattr(model, "name_or_path", "") or f"in-memory-{id(model):x}"
        self._setup(model.eval(), tokenizer, image_processor, model_id=name, **options)
        return self

    def _check_window(self, window: Window) -> None:
        """Refuse a window once closed, an empty one, or one larger than ``window_size``."""
        if self._closed:
            raise SamplerError("this sampler was closed")
        if len(window) == 0:
            raise InvalidArgumentError("a window needs at least one frame")
        if len(window) > self.window_size:
            raise InvalidArgumentError(
                f"window {window.index} has {len(window)} frames; this sampler takes at most {self.window_size}"
            )
