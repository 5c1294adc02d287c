"""Loading a GenS folder onto transformers' native Aria, as the official loader would: its weights
(safetensors or ``.bin``, remapped from the published yi_vl layout while they stream in), its vision feature
strategy, its tokenizer (the slow sentencepiece one, see :mod:`._tokenizer`) and its ``generation_config.json``;
after checking that the weights fit in the memory free where they go.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gens_tools.errors import ModelUnavailableError, SamplerError
from gens_tools.progress import ProgressCallback, emit
from gens_tools.samplers._local.device import require_transformers
from gens_tools.samplers._local.memory import check_fits, count_parameters
from gens_tools.samplers._local.weights import iter_file_tensors, weight_files
from gens_tools.samplers.gens_aria._convert import (
    UnsupportedCheckpointError,
    aria_config_from_yi_vl,
    checkpoint_kind,
    config_as_dict,
    iter_converted_tensors,
    patches_per_frame,
)
from gens_tools.samplers.gens_aria._features import (
    CONVERTED_MARKER,
    apply_feature_strategy,
    dropped_patches,
    model_strategy,
)
from gens_tools.samplers.gens_aria._inputs import GENS_IMAGE_SIZE
from gens_tools.samplers.gens_aria._tokenizer import load_tokenizer

if TYPE_CHECKING:
    import torch

__all__ = ["load_gens_model", "load_tokenizer", "tokens_per_image"]

#: How GenS is named in messages.
GENS_NAME = "GenS"
#: What to suggest instead when GenS does not fit.
SMALLER_SAMPLER = "the 3 B sampler (--sampler gens-3b)"


def tokens_per_image(config: Any) -> int:
    """Projector queries per frame of a native Aria config: its query count for the patches of a
    490-px frame that its feature strategy keeps (1225 or 1224 with 14-px patches)."""
    patches = patches_per_frame(int(config.vision_config.patch_size)) - dropped_patches(model_strategy(config))
    table = {int(k): int(v) for k, v in dict(config.projector_patch_to_query_dict).items()}
    if patches not in table:
        raise UnsupportedCheckpointError(
            f"the projector has no query count for {patches} patches (a {GENS_IMAGE_SIZE}-px frame under the "
            f"{model_strategy(config)!r} feature strategy); projector_patch_to_query_dict is {table}"
        )
    return table[patches]


def _empty_model(config: Any, *, device: torch.device, dtype: torch.dtype, attn_implementation: str) -> Any:
    """An ``AriaForConditionalGeneration`` allocated on ``device`` in ``dtype``, without running weight
    initialisation (every weight is overwritten by the checkpoint next)."""
    import torch
    from transformers import AriaForConditionalGeneration

    skip_init: contextlib.AbstractContextManager[Any]
    try:
        from transformers.initialization import no_init_weights

        skip_init = no_init_weights()
    except ImportError:  # another layout: initialise normally (slower, same result once loaded)
        skip_init = contextlib.nullcontext()
    with torch.device(device), skip_init:
        return AriaForConditionalGeneration._from_config(config, dtype=dtype, attn_implementation=attn_implementation)


def _fill_model(model: Any, items: Iterable[tuple[str, Any]]) -> None:
    """Copy streamed ``(key, tensor)`` pairs into ``model``'s weights; every weight must be filled once."""
    import torch

    state = model.state_dict()
    loaded: set[str] = set()
    with torch.no_grad():
        for key, tensor in items:
            target = state.get(key)
            if target is None:
                raise UnsupportedCheckpointError(f"checkpoint weight {key!r} has no place in the model")
            if tuple(target.shape) != tuple(tensor.shape):
                raise UnsupportedCheckpointError(
                    f"checkpoint weight {key!r} has shape {tuple(tensor.shape)}, the config implies "
                    f"{tuple(target.shape)}"
                )
            target.copy_(tensor)
            loaded.add(key)
    missing = sorted(set(state) - loaded)
    if getattr(model.config, "tie_word_embeddings", False) and "lm_head.weight" in missing:
        missing.remove("lm_head.weight")
        model.tie_weights()
    if missing:
        raise UnsupportedCheckpointError(
            f"the checkpoint lacks {len(missing)} weight(s) the model needs (first: {missing[0]})"
        )


def _iter_native_tensors(folder: Path, *, device: torch.device, dtype: torch.dtype) -> Iterator[tuple[str, Any]]:
    for path in weight_files(folder):
        for key, tensor in iter_file_tensors(path, device=str(device)):
            yield key, tensor.to(dtype) if tensor.is_floating_point() else tensor


def _from_pretrained(folder: Path, *, device: torch.device, dtype: torch.dtype, attn_implementation: str) -> Any:
    """Any other native Aria folder, through transformers (straight to the GPU when accelerate is there)."""
    import importlib.util

    from transformers import AriaForConditionalGeneration

    options: dict[str, Any] = {"dtype": dtype, "attn_implementation": attn_implementation}
    direct = device.type != "cpu" and importlib.util.find_spec("accelerate") is not None
    if direct:
        options["device_map"] = {"": str(device)}
    try:
        model: Any = AriaForConditionalGeneration.from_pretrained(os.fspath(folder), **options)
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(f"cannot load the Aria checkpoint in {os.fspath(folder)!r}: {exc}") from exc
    return model if direct else model.to(device)


def load_generation_config(folder: Path, model: Any) -> bool:
    """Give ``model`` the generation settings saved in ``folder/generation_config.json`` (a repetition penalty,
    stop tokens…), as ``from_pretrained`` does; returns whether there was one. An unreadable file is announced
    with a warning and the model keeps the settings derived from its config."""
    if not (folder / "generation_config.json").is_file():
        return False
    from transformers import GenerationConfig

    try:
        model.generation_config = GenerationConfig.from_pretrained(os.fspath(folder))
    except (OSError, ValueError, TypeError) as exc:
        warnings.warn(
            f"ignoring the unreadable generation_config.json of {os.fspath(folder)!r} ({exc}); generating with the "
            "settings derived from config.json",
            stacklevel=3,
        )
        return False
    return True


def _check_memory(config: Any, *, device: torch.device, dtype: torch.dtype) -> None:
    from transformers import AriaForConditionalGeneration

    n_params = count_parameters(AriaForConditionalGeneration, config)
    check_fits(GENS_NAME, n_params, dtype, device, alternative=SMALLER_SAMPLER)


def load_gens_model(
    path: str | os.PathLike[str],
    *,
    device: torch.device,
    dtype: torch.dtype,
    attn_implementation: str = "sdpa",
    progress: ProgressCallback | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Load a GenS folder as ``AriaForConditionalGeneration`` in eval mode.

    A yi_vl folder (the published layout) is checked and remapped while its shards (safetensors or ``.bin``)
    stream in, one at a time, straight onto ``device``; a folder written by ``gens-tools convert`` streams in
    the same way without remapping; any other native Aria folder goes through ``from_pretrained``. Before any
    weight is allocated, the parameter count of the config and ``dtype`` are checked against the memory free
    on ``device``. The checkpoint's vision feature strategy is applied around the model, and its
    ``generation_config.json`` becomes the model's generation config.

    Returns:
        The model and facts about the checkpoint: ``kind`` (``"yi_vl"``/``"aria"``),
        ``use_image_start_end`` (whether images are written ``<fim_prefix><|img|><fim_suffix>``),
        ``vision_feature_select_strategy`` (``"full"``/``"default"``).

    Raises:
        SamplerError: the weights do not fit in the memory free on ``device`` (with the figures).
    """
    require_transformers()
    from transformers import AriaConfig

    folder = Path(path)
    raw = config_as_dict(folder)
    kind = checkpoint_kind(raw)
    native = kind == "yi_vl" or CONVERTED_MARKER in raw
    config = aria_config_from_yi_vl(raw) if kind == "yi_vl" else AriaConfig.from_pretrained(os.fspath(folder))
    tokens_per_image(config)  # fail now, not after loading the weights
    _check_memory(config, device=device, dtype=dtype)
    with _loading_oom_guard(device):
        if native:
            model = _empty_model(config, device=device, dtype=dtype, attn_implementation=attn_implementation)
            if kind == "yi_vl":

                def shard_done(done: int, total: int, name: str) -> None:
                    emit(progress, "open", done, total, f"loading {name}")

                stream = iter_converted_tensors(folder, device=str(device), dtype=dtype, progress=shard_done)
            else:  # written by `gens-tools convert`: the names are the model's own
                stream = _iter_native_tensors(folder, device=device, dtype=dtype)
            _fill_model(model, stream)
            load_generation_config(folder, model)
        else:
            model = _from_pretrained(folder, device=device, dtype=dtype, attn_implementation=attn_implementation)
    if kind == "yi_vl":
        use_start_end = bool(raw.get("mm_use_im_start_end", True))
    else:
        use_start_end = bool(raw.get(CONVERTED_MARKER, {}).get("mm_use_im_start_end", True))
    model.eval()
    strategy = apply_feature_strategy(model)
    tokens_per_image(model.config)
    return model, {"kind": kind, "use_image_start_end": use_start_end, "vision_feature_select_strategy": strategy}


@contextlib.contextmanager
def _loading_oom_guard(device: torch.device) -> Iterator[None]:
    """Out of memory while loading → a :class:`SamplerError` saying what the model needs."""
    try:
        yield
    except (RuntimeError, MemoryError) as exc:
        import torch

        oom = isinstance(exc, MemoryError | torch.OutOfMemoryError) or "out of memory" in str(exc).lower()
        if not oom:
            raise
        if device.type == "cuda":
            torch.cuda.empty_cache()
        raise SamplerError(
            f"not enough memory on {device} to load GenS: the 25 B model needs about 51 GB in bfloat16 (plus "
            "10-17 GB while scoring a 256-frame window), i.e. one 80 GB GPU; use a larger GPU, or the 3 B "
            "sampler (--sampler gens-3b)"
        ) from exc
