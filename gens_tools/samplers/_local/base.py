"""What the in-process samplers share: finding and loading the weights, building from loaded parts, the window
checks and closing.

Nothing here imports torch or transformers at import time; :func:`plan_load` imports them when called.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar, Self

from gens_tools.errors import InvalidArgumentError, SamplerError
from gens_tools.progress import ProgressCallback
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


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A loaded model with what it reads its input through.

    Attributes:
        model: the network, in eval mode.
        tokenizer: its tokenizer.
        image_processor: its image processor.
        model_id: the name the model goes by in cache keys and messages.
        facts: what the sampler needs to know about the checkpoint (e.g. GenS's image markers).
    """

    model: Any
    tokenizer: Any
    image_processor: Any
    model_id: str
    facts: Mapping[str, Any] = field(default_factory=dict)


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
    path = resolve_model_path(model, revision=revision)  # first: a missing model fails before torch loads
    transformers = require_transformers()
    dev, dt = pick_device_and_dtype(device, dtype)
    attn = pick_attn_implementation(attn_implementation, device=dev, dtype=dt)
    return LoadPlan(transformers, path, dev, dt, attn)


def optional_cache(value: PrefixCache | bool, max_bytes: int = DEFAULT_MAX_BYTES) -> PrefixCache | None:
    """A cache option: a :class:`PrefixCache` to share as is, ``True`` for a private one bounded by
    ``max_bytes``, ``False`` for none."""
    if isinstance(value, PrefixCache):
        return value
    return PrefixCache(max_bytes) if value else None


class LocalSampler(FrameSampler):
    """A sampler around a model run in-process with transformers.

    Its options are the loading options of this constructor plus the keyword-only parameters of the
    subclass's ``_configure``, which checks and stores them before any weights are loaded (a typo or a value
    out of range costs no model load). Loading is the subclass's ``_load(plan, model_id, progress)``; wiring
    the loaded model in, its ``_attach(loaded)``; the caches to drop on :meth:`close`, its ``_caches()``.

    Args:
        model: a hub id or a local model folder (default: the sampler's ``DEFAULT_MODEL_ID``).
        revision: hub revision (branch, tag or commit; hub ids only).
        device: torch device: ``cuda``, ``cuda:N``, ``cpu`` or ``mps`` (default: CUDA when available, else CPU).
        dtype: torch dtype: ``bfloat16``, ``float16`` or ``float32`` (default: bfloat16 on CUDA, float32 on CPU).
        attn_implementation: attention kernel: ``sdpa``, ``flash_attention_2``, ``eager``… (default: flash
            attention when installed on CUDA, else sdpa).
        progress: called with ``open`` events while weights load (for samplers that report it).
    """

    DEFAULT_MODEL_ID: ClassVar[str]
    option_sources: ClassVar[tuple[str, ...]] = ("__init__", "_configure")

    window_size: int
    model: Any
    tokenizer: Any
    image_processor: Any
    model_id: str
    _closed: bool

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        revision: str | None = None,
        device: str | None = None,
        dtype: str | None = None,
        attn_implementation: str | None = None,
        progress: ProgressCallback | None = None,
        **options: Any,
    ) -> None:
        check_options(self._configure, options)
        self._configure(**options)
        model_id = os.fspath(model) if model is not None else self.DEFAULT_MODEL_ID
        plan = plan_load(
            model_id, revision=revision, device=device, dtype=dtype, attn_implementation=attn_implementation
        )
        self._start(self._load(plan, model_id, progress))

    @classmethod
    def from_components(
        cls, model: Any, tokenizer: Any, image_processor: Any = None, *, model_id: str | None = None, **options: Any
    ) -> Self:
        """Build the sampler around an already loaded model, tokenizer and image processor.

        ``model_id`` names the model in cache keys (default: the model's ``name_or_path``, else an id unique
        to this object). Other options as in the constructor (except loading options)."""
        name = model_id or getattr(model, "name_or_path", "") or f"in-memory-{id(model):x}"
        return cls._from_loaded(LoadedModel(model.eval(), tokenizer, image_processor, name), options)

    @classmethod
    def _from_loaded(cls, loaded: LoadedModel, options: dict[str, Any]) -> Self:
        check_options(cls._configure, options)
        self = cls.__new__(cls)
        self._configure(**options)
        self._start(loaded)
        return self

    # -- what subclasses define

    def _configure(self) -> None:
        """Check and store the sampler's own options (keyword-only parameters); no model yet."""

    def _load(self, plan: LoadPlan, model_id: str, progress: ProgressCallback | None) -> LoadedModel:
        """Load the model the plan points at."""
        raise NotImplementedError

    def _attach(self, loaded: LoadedModel) -> None:
        """Wire the loaded model in (after the shared attributes are set)."""

    def _caches(self) -> tuple[PrefixCache | None, ...]:
        """The caches :meth:`close` empties."""
        return ()

    # -- shared

    def _start(self, loaded: LoadedModel) -> None:
        import torch

        self.model = loaded.model
        self.tokenizer = loaded.tokenizer
        self.image_processor = loaded.image_processor
        self.model_id = loaded.model_id
        first = next(loaded.model.parameters())
        self._device: torch.device = first.device
        self._dtype: torch.dtype = first.dtype
        self._torch = torch
        self._lock = threading.RLock()
        self._closed = False
        self._attach(loaded)

    @property
    def device(self) -> torch.device:
        """Where the model runs."""
        return self._device

    def _check_open(self) -> None:
        if self._closed:
            raise SamplerError("this sampler was closed; make a new one")

    def _check_window(self, window: Window) -> None:
        """Refuse a window once closed, an empty one, or one larger than ``window_size``."""
        self._check_open()
        if len(window) == 0:
            raise InvalidArgumentError(f"window {window.index} has no frames")
        if len(window) > self.window_size:
            raise InvalidArgumentError(
                f"window {window.index} has {len(window)} frames; this sampler takes at most {self.window_size}"
            )

    def close(self) -> None:
        """Drop the model and the cached window state; on CUDA, release the cached GPU memory. Safe to call
        twice."""
        if getattr(self, "_closed", True):
            return
        with self._lock:
            self._closed = True
            for cache in self._caches():
                if cache is not None:
                    cache.clear()
            self.model = None
        if self._device.type == "cuda":
            self._torch.cuda.empty_cache()
