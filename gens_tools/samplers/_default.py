"""Which sampler runs when none is named (``"auto"``): GenS whenever it can, uniform sampling otherwise.

In order:

1. GenS served by an endpoint, when one is configured (:data:`GENS_URL_ENV`, with the served model's name in
   :data:`GENS_MODEL_ENV`);
2. GenS-3B in-process, when the ``local`` extra is installed and its weights are in the Hugging Face cache or
   can be downloaded (downloads are not switched off);
3. otherwise uniform sampling — and then the reason and the way to get GenS are said every time: the sampler
   carries a :attr:`~gens_tools.samplers.FrameSampler.notice` that the pipeline turns into a warning and a
   notice in the selection, the CLI into a line on stderr and the agent tools into a sentence the model reads.

Everything is decided before torch or transformers are imported, from the installed packages and the files in
the Hugging Face cache, so a machine without GenS falls back at once. A sampler the user names explicitly never
falls back: it works or fails with a clear error.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Environment variable naming the base URL of a served GenS (an OpenAI-compatible endpoint, e.g. vLLM's).
GENS_URL_ENV = "GENS_TOOLS_GENS_URL"
#: Environment variable naming the model the endpoint serves (default: the GenS-3B hub id).
GENS_MODEL_ENV = "GENS_TOOLS_GENS_MODEL"
#: The checkpoint ``auto`` runs in-process.
GENS_3B_ID = "yaolily/GenS-qwen2d5-vl-3b"
#: What ``auto`` tells users to do to get GenS.
HOW_TO_GET_GENS = (
    "to let GenS choose the frames, install the local extra (pip install 'gens-tools[local]'; GenS-3B is a "
    f"one-time ≈7.5 GB download) or serve GenS and set {GENS_URL_ENV}"
)

_LOCAL_PACKAGES = ("torch", "transformers", "huggingface_hub")
_TRUE = {"1", "on", "yes", "true"}


@dataclass(frozen=True, slots=True)
class DefaultChoice:
    """What ``auto`` resolved to.

    Attributes:
        name: the registered sampler to build (``"remote"``, ``"gens-3b"`` or ``"uniform"``).
        options: its constructor options.
        notice: why GenS does not run and how to get it (``None`` when GenS runs).
        info: something worth telling the user although GenS runs (a first download, say).
    """

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    notice: str | None = None
    info: str | None = None


def fallback_notice(reason: str) -> str:
    """The sentence said whenever ``auto`` falls back to uniform sampling."""
    return f"uniform sampling (the question is ignored): {reason}; {HOW_TO_GET_GENS}"


def downloads_off(environ: Mapping[str, str] | None = None) -> bool:
    """Whether Hugging Face downloads are switched off (``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE``)."""
    env = os.environ if environ is None else environ
    return any(env.get(v, "").strip().lower() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def weights_in_cache(model_id: str, *, cache_dir: str | os.PathLike[str] | None = None) -> bool:
    """Whether the Hugging Face cache (default: the user's) holds ``model_id``'s config and every weight file
    it lists. Reads only the cache's files (no network, no torch)."""
    import json

    from huggingface_hub import try_to_load_from_cache

    def cached(filename: str) -> str | None:
        path = try_to_load_from_cache(model_id, filename, cache_dir=None if cache_dir is None else os.fspath(cache_dir))
        return path if isinstance(path, str) else None

    if cached("config.json") is None:
        return False
    for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        index = cached(index_name)
        if index is None:
            continue
        try:
            with open(index, encoding="utf-8") as fh:
                shards = set(json.load(fh)["weight_map"].values())
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return False
        return all(cached(shard) is not None for shard in shards)
    return cached("model.safetensors") is not None or cached("pytorch_model.bin") is not None


def choose_default_sampler(
    *,
    model_id: str = GENS_3B_ID,
    environ: Mapping[str, str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> DefaultChoice:
    """Decide what ``auto`` runs (see the module documentation), without importing torch or transformers.

    ``environ`` defaults to the process environment, ``cache_dir`` to the user's Hugging Face cache."""
    env = os.environ if environ is None else environ
    url = env.get(GENS_URL_ENV, "").strip()
    if url:
        served = env.get(GENS_MODEL_ENV, "").strip() or model_id
        return DefaultChoice("remote", {"base_url": url, "model": served})
    missing = [name for name in _LOCAL_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        return DefaultChoice(
            "uniform", notice=fallback_notice(f"the local extra is not installed ({', '.join(missing)} missing)")
        )
    if weights_in_cache(model_id, cache_dir=cache_dir):
        return DefaultChoice("gens-3b", {"model": model_id})
    if downloads_off(env):
        return DefaultChoice(
            "uniform",
            notice=fallback_notice(
                f"{model_id} is not in the Hugging Face cache and downloads are switched off (HF_HUB_OFFLINE)"
            ),
        )
    return DefaultChoice(
        "gens-3b",
        {"model": model_id},
        info=f"downloading {model_id} (≈7.5 GB, once) into the Hugging Face cache",
    )
