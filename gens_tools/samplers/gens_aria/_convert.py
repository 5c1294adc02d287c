"""Remapping the published GenS checkpoint (custom "yi_vl" code) onto transformers' native Aria.

``yaolily/GenS`` is an Aria model saved under its authors' own classes: a SigLIP NaViT vision tower, a
one-layer cross-attention resampler and a DeepSeek-V1 MoE decoder. The same weights run in transformers'
``AriaForConditionalGeneration`` after renaming and packing them:

* ``vision_tower.vision_model.*`` → ``model.vision_tower.*`` (plus an identity ``post_layernorm``, which native
  Aria never applies to the features it uses);
* ``multi_modal_projector.*`` → ``model.multi_modal_projector.*`` with ``ln_kv`` → ``layer_norm_kv``,
  ``ln_ffn`` → ``layer_norm``, ``ffn`` → ``feed_forward``;
* ``language_model.model.*`` → ``model.language_model.*``, ``language_model.lm_head`` → ``lm_head``;
  per layer ``mlp.gate`` → ``mlp.router`` and the routed experts packed into ``mlp.experts.gate_up_proj``
  ``(E, H, 2I)`` = ``[gate_projᵀ | up_projᵀ]`` and ``mlp.experts.down_proj`` ``(E, I, H)`` = ``down_projᵀ``.

The result computes the same function only under conditions on the checkpoint's config, which
:func:`check_gens_config` verifies (and every entry point calls): top-k weights renormalised, every decoder
layer MoE, and so on. Which patches reach the resampler (all 1225 of a 490-px frame, or 1224 under the
official default ``vision_feature_select_strategy``) is applied around the native model by
:mod:`._features`; the converted config records it.

:func:`convert_checkpoint` writes a native checkpoint once, streaming one source shard at a time;
:func:`iter_converted_tensors` is the same stream for loading in memory without writing anything.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gens_tools.errors import InvalidArgumentError, ModelUnavailableError, SamplerError
from gens_tools.progress import ProgressCallback, emit
from gens_tools.samplers._local.weights import iter_file_tensors, weight_files
from gens_tools.samplers.gens_aria._features import (
    CONVERTED_MARKER,
    OFFICIAL_DEFAULT_STRATEGY,
    STRATEGY_KEY,
    dropped_patches,
    source_strategy,
    strategy_problem,
)
from gens_tools.samplers.gens_aria._inputs import GENS_IMAGE_SIZE, IMAGE_TOKEN_ID

if TYPE_CHECKING:
    import torch

#: Hub id of the published GenS (Aria-based) checkpoint.
GENS_MODEL_ID = "yaolily/GenS"
#: Default largest output shard (bytes) written by :func:`convert_checkpoint`.
DEFAULT_SHARD_BYTES = 5 * 1024**3

#: Files copied next to the converted weights (tokenizer, chat template, generation defaults, licence).
COPIED_FILE_PATTERNS = (
    "tokenizer.json",
    "tokenizer_config.json",
    "tokenizer.model",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
    "chat_template.json",
    "chat_template.jinja",
    "generation_config.json",
    "LICENSE*",
    "README*",
)

_VISION_KEYS = (
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_channels",
    "image_size",
    "patch_size",
    "hidden_act",
    "layer_norm_eps",
    "attention_dropout",
)

_EXPERT_KEY = re.compile(
    r"^language_model\.model\.layers\.(\d+)\.mlp\.experts\.(\d+)\.(gate_proj|up_proj|down_proj)\.weight$"
)
_PROJECTOR_RENAMES = (
    (".cross_attn.ln_kv.", ".cross_attn.layer_norm_kv."),
    (".ln_ffn.", ".layer_norm."),
    (".ffn.", ".feed_forward."),
)


class UnsupportedCheckpointError(SamplerError, InvalidArgumentError):
    """A checkpoint whose config breaks a condition under which the Aria mapping is exact (or that is not a
    GenS/Aria checkpoint at all). The message lists every violated condition."""


# --------------------------------------------------------------------------------------------- configs


def _sub(config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = config.get(name)
    if isinstance(value, Mapping):
        return value
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else {}


def config_as_dict(config: Mapping[str, Any] | Any) -> dict[str, Any]:
    """A config given as a dict, a transformers config object or a path to ``config.json``, as a dict."""
    if isinstance(config, str | os.PathLike):
        path = Path(config)
        if path.is_dir():
            path = path / "config.json"
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ModelUnavailableError(f"no config.json at {str(path)!r}") from exc
        except (OSError, ValueError) as exc:
            raise UnsupportedCheckpointError(f"cannot read {str(path)!r}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise UnsupportedCheckpointError(f"{str(path)!r} does not hold a JSON object")
        return loaded
    if isinstance(config, Mapping):
        return dict(config)
    to_dict = getattr(config, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    raise InvalidArgumentError(f"expected a config dict, object or path, got {type(config).__name__}")


def checkpoint_kind(config: Mapping[str, Any] | Any) -> str:
    """``"yi_vl"`` for the published GenS layout, ``"aria"`` for a native Aria checkpoint.

    Raises :class:`UnsupportedCheckpointError` for anything else."""
    cfg = config_as_dict(config)
    model_type = cfg.get("model_type")
    if model_type in ("yi_vl", "aria"):
        return str(model_type)
    raise UnsupportedCheckpointError(
        f"this is not a GenS checkpoint: model_type is {model_type!r}, expected 'yi_vl' (the published "
        f"{GENS_MODEL_ID}) or 'aria' (a converted one)"
    )


def patches_per_frame(patch_size: int, image_size: int = GENS_IMAGE_SIZE) -> int:
    """Vision patches of one padded ``image_size`` frame (1225 for 490 px and 14-px patches)."""
    return (image_size // patch_size) ** 2


def gens_config_violations(config: Mapping[str, Any] | Any) -> list[str]:
    """Every reason the yi_vl → Aria mapping would not be exact for ``config`` (empty when it is)."""
    cfg = config_as_dict(config)
    problems: list[str] = []
    if cfg.get("model_type") != "yi_vl":
        problems.append(f"model_type is {cfg.get('model_type')!r}, expected 'yi_vl'")
    if cfg.get("mm_projector", "mlp") != "resampler":
        problems.append(
            f"mm_projector is {cfg.get('mm_projector', 'mlp')!r}; only the cross-attention 'resampler' maps to Aria"
        )
    strategy_issue = strategy_problem(cfg.get(STRATEGY_KEY, OFFICIAL_DEFAULT_STRATEGY))
    if strategy_issue is not None:
        problems.append(strategy_issue)
    queries = cfg.get("tokens_per_image", 128)
    if isinstance(queries, bool) or not isinstance(queries, int) or queries <= 0:
        problems.append(f"tokens_per_image is {queries!r}; a single positive query count is required")
    image_token = cfg.get("image_token_index", IMAGE_TOKEN_ID)
    if image_token != IMAGE_TOKEN_ID:
        problems.append(
            f"image_token_index is {image_token!r}; the GenS prompt joins pieces with token {IMAGE_TOKEN_ID}"
        )

    vision = _sub(cfg, "vision_config")
    if not vision:
        problems.append("vision_config is missing")
    else:
        for key in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "patch_size"):
            if not isinstance(vision.get(key), int):
                problems.append(f"vision_config.{key} is missing")
        patch = vision.get("patch_size")
        if isinstance(patch, int) and patch > 0 and GENS_IMAGE_SIZE % patch:
            problems.append(f"vision_config.patch_size {patch} does not divide the {GENS_IMAGE_SIZE}-px frame")
        hidden, heads = vision.get("hidden_size"), vision.get("num_attention_heads")
        if isinstance(hidden, int) and isinstance(heads, int) and heads > 0 and hidden % heads:
            problems.append("vision_config.hidden_size is not a multiple of num_attention_heads")

    text = _sub(cfg, "text_config")
    if not text:
        problems.append("text_config is missing")
        return problems
    if text.get("model_type", "deepseek") != "deepseek":
        problems.append(f"text_config.model_type is {text.get('model_type')!r}, expected 'deepseek'")
    experts = text.get("n_routed_experts")
    if not isinstance(experts, int) or experts <= 0:
        problems.append("text_config.n_routed_experts is not set: the decoder must be MoE")
    topk = text.get("num_experts_per_tok")
    if not isinstance(topk, int) or topk < 2:
        problems.append(
            f"text_config.num_experts_per_tok is {topk!r}; at least 2 is required (DeepSeek-V1 does not "
            "renormalise a single expert's weight, native Aria does)"
        )
    elif isinstance(experts, int) and topk > experts:
        problems.append(f"text_config.num_experts_per_tok {topk} exceeds n_routed_experts {experts}")
    if text.get("norm_topk_prob", False) is not True:
        problems.append(
            f"text_config.norm_topk_prob is {text.get('norm_topk_prob', False)!r}; it must be true (native Aria "
            "renormalises the top-k routing weights)"
        )
    if text.get("scoring_func", "softmax") != "softmax":
        problems.append(f"text_config.scoring_func is {text.get('scoring_func')!r}, expected 'softmax'")
    if text.get("first_k_dense_replace", 0) != 0:
        problems.append(
            f"text_config.first_k_dense_replace is {text.get('first_k_dense_replace')!r}; every layer must be MoE (0)"
        )
    if text.get("moe_layer_freq", 1) != 1:
        problems.append(f"text_config.moe_layer_freq is {text.get('moe_layer_freq')!r}; every layer must be MoE (1)")
    shared = text.get("n_shared_experts")
    if not isinstance(shared, int) or shared <= 0:
        problems.append(f"text_config.n_shared_experts is {shared!r}; native Aria needs at least one")
    if text.get("hidden_act", "silu") != "silu":
        problems.append(
            f"text_config.hidden_act is {text.get('hidden_act')!r}; native Aria's routed experts use 'silu'"
        )
    if text.get("rope_scaling") not in (None, {}):
        problems.append(f"text_config.rope_scaling is {text.get('rope_scaling')!r}; only plain RoPE maps")
    for key in ("hidden_size", "moe_intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size"):
        if not isinstance(text.get(key), int):
            problems.append(f"text_config.{key} is missing")
    return problems


def check_gens_config(config_dict: Mapping[str, Any] | Any) -> None:
    """Raise :class:`UnsupportedCheckpointError` listing every violated condition, if any.

    The conditions under which native Aria computes exactly what the official GenS code computes:
    ``model_type`` ``yi_vl`` with the ``resampler`` projector and a single ``tokens_per_image``;
    ``vision_feature_select_strategy`` ``full`` or ``default`` (absent = ``default``, as in the official
    config class; see :mod:`._features`); image token 9; a DeepSeek MoE decoder with ``norm_topk_prob`` true,
    top-k ≥ 2, softmax scoring, every layer MoE (``first_k_dense_replace`` 0, ``moe_layer_freq`` 1), shared
    experts, SiLU and plain RoPE. (No pixel mask is the third condition; it is about inputs, and the sampler
    never passes one unless asked.)
    """
    problems = gens_config_violations(config_dict)
    if problems:
        listed = "; ".join(problems)
        raise UnsupportedCheckpointError(
            f"cannot map this checkpoint onto transformers' Aria exactly ({len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}): {listed}"
        )


def convert_config(config_dict: Mapping[str, Any] | Any) -> dict[str, Any]:
    """The native Aria ``config.json`` (as a dict) for a yi_vl GenS config (checked first)."""
    cfg = config_as_dict(config_dict)
    check_gens_config(cfg)
    vision = dict(_sub(cfg, "vision_config"))
    text = dict(_sub(cfg, "text_config"))
    queries = int(cfg.get("tokens_per_image", 128))
    patch = int(vision["patch_size"])
    strategy = source_strategy(cfg)

    vision_out: dict[str, Any] = {"model_type": "idefics3_vision"}
    for key in _VISION_KEYS:
        if key in vision:
            vision_out[key] = vision[key]
    vision_out.setdefault("image_size", GENS_IMAGE_SIZE)

    text_out: dict[str, Any] = {
        "model_type": "aria_text",
        "vocab_size": text["vocab_size"],
        "hidden_size": text["hidden_size"],
        "intermediate_size": text["moe_intermediate_size"],
        "num_hidden_layers": text["num_hidden_layers"],
        "num_attention_heads": text["num_attention_heads"],
        "num_key_value_heads": text.get("num_key_value_heads") or text["num_attention_heads"],
        "hidden_act": "silu",
        "max_position_embeddings": text.get("max_position_embeddings", 2048),
        "rms_norm_eps": text.get("rms_norm_eps", 1e-6),
        "rope_parameters": {"rope_type": "default", "rope_theta": float(text.get("rope_theta", 10000.0))},
        "attention_bias": bool(text.get("attention_bias", False)),
        "moe_num_experts": text["n_routed_experts"],
        "moe_topk": text["num_experts_per_tok"],
        "moe_num_shared_experts": text["n_shared_experts"],
        "bos_token_id": text.get("bos_token_id", 1),
        "eos_token_id": text.get("eos_token_id", 2),
        "pad_token_id": text.get("pad_token_id", cfg.get("pad_token_id")),
        "tie_word_embeddings": bool(text.get("tie_word_embeddings", False)),
    }
    out: dict[str, Any] = {
        "model_type": "aria",
        "architectures": ["AriaForConditionalGeneration"],
        "vision_config": vision_out,
        "text_config": text_out,
        "projector_patch_to_query_dict": {str(patches_per_frame(patch) - dropped_patches(strategy)): queries},
        "image_token_index": IMAGE_TOKEN_ID,
        "vision_feature_layer": -1,
        "tie_word_embeddings": bool(text.get("tie_word_embeddings", False)),
        CONVERTED_MARKER: {
            "source_model_type": "yi_vl",
            "image_size": GENS_IMAGE_SIZE,
            "tokens_per_image": queries,
            "mm_use_im_start_end": bool(cfg.get("mm_use_im_start_end", True)),
            STRATEGY_KEY: strategy,
        },
    }
    dtype = cfg.get("torch_dtype") or cfg.get("dtype") or text.get("torch_dtype")
    if isinstance(dtype, str):
        out["dtype"] = dtype
    return out


def aria_config_from_yi_vl(config_dict: Mapping[str, Any] | Any) -> Any:
    """A transformers ``AriaConfig`` for a yi_vl GenS config (checked first)."""
    from transformers import AriaConfig

    native = convert_config(config_dict)
    native.pop("architectures", None)
    native.pop("model_type", None)
    return AriaConfig(**native)


# ---------------------------------------------------------------------------------------- state dicts


def convert_key(key: str) -> str | None:
    """The native Aria name of a non-expert yi_vl weight, or ``None`` for weights native Aria does not use
    (the vision tower's unused head/post-layernorm, position-id and rotary buffers).

    Raises :class:`UnsupportedCheckpointError` for a key that has no place in native Aria."""
    if key.endswith((".position_ids", "rotary_emb.inv_freq")):
        return None  # index/rotary buffers some savers include; the model rebuilds them
    if key.startswith("vision_tower.vision_model."):
        rest = key[len("vision_tower.vision_model.") :]
        if rest.startswith(("head.", "post_layernorm.")):
            return None
        if rest.startswith(("embeddings.", "encoder.")):
            return "model.vision_tower." + rest
    elif key.startswith("multi_modal_projector."):
        rest = key[len("multi_modal_projector.") :]
        if rest.startswith(("self_attn.", "layers.", "vit_norm.")):
            raise UnsupportedCheckpointError(
                f"checkpoint weight {key!r} belongs to a projector native Aria does not have"
            )
        name = "." + rest
        for old, new in _PROJECTOR_RENAMES:
            name = name.replace(old, new)
        return "model.multi_modal_projector" + name
    elif key.startswith("language_model."):
        if key == "language_model.lm_head.weight":
            return "lm_head.weight"
        if key.startswith("language_model.model."):
            rest = key[len("language_model.model.") :]
            if ".mlp.experts." in rest:
                raise UnsupportedCheckpointError(
                    f"checkpoint weight {key!r}: routed experts map only as gate/up/down_proj weights, packed by "
                    "convert_state_dict"
                )
            rest = re.sub(r"^(layers\.\d+\.mlp)\.gate\.weight$", r"\1.router.weight", rest)
            if re.match(r"^layers\.\d+\.mlp\.(gate|up|down)_proj\.", rest):
                raise UnsupportedCheckpointError(f"checkpoint weight {key!r} is a dense MLP; native Aria is all-MoE")
            return "model.language_model." + rest
    raise UnsupportedCheckpointError(f"checkpoint weight {key!r} has no counterpart in native Aria")


def pack_experts(
    gate: list[torch.Tensor], up: list[torch.Tensor], down: list[torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack per-expert ``nn.Linear`` weights into native Aria's ``gate_up_proj`` ``(E, H, 2I)`` and
    ``down_proj`` ``(E, I, H)`` (Linear stores ``(out, in)``; Aria multiplies ``x @ W`` with ``(in, out)``)."""
    import torch

    gate_up = torch.stack([torch.cat([g.t(), u.t()], dim=-1) for g, u in zip(gate, up, strict=True)])
    down_t = torch.stack([d.t() for d in down])
    return gate_up.contiguous(), down_t.contiguous()


class _ExpertPacker:
    """Collects a layer's routed-expert weights as they stream in and packs the layer once complete."""

    def __init__(self, n_experts: int) -> None:
        self.n_experts = n_experts
        self.pending: dict[int, dict[tuple[int, str], Any]] = {}

    def add(self, layer: int, expert: int, proj: str, tensor: Any) -> list[tuple[str, Any]]:
        if not 0 <= expert < self.n_experts:
            raise UnsupportedCheckpointError(
                f"layer {layer} has routed expert {expert}, but the config says {self.n_experts} experts"
            )
        slot = self.pending.setdefault(layer, {})
        slot[(expert, proj)] = tensor
        if len(slot) < 3 * self.n_experts:
            return []
        del self.pending[layer]
        gate = [slot[(e, "gate_proj")] for e in range(self.n_experts)]
        up = [slot[(e, "up_proj")] for e in range(self.n_experts)]
        down = [slot[(e, "down_proj")] for e in range(self.n_experts)]
        gate_up, down_t = pack_experts(gate, up, down)
        prefix = f"model.language_model.layers.{layer}.mlp.experts."
        return [(prefix + "gate_up_proj", gate_up), (prefix + "down_proj", down_t)]

    def check_done(self) -> None:
        if self.pending:
            layer, slot = next(iter(self.pending.items()))
            raise UnsupportedCheckpointError(
                f"layer {layer} has only {len(slot)} of {3 * self.n_experts} routed-expert weights"
            )


def _identity_post_layernorm(vision_hidden: int, like: Any) -> list[tuple[str, Any]]:
    import torch

    kwargs = {"dtype": like.dtype, "device": like.device}
    return [
        ("model.vision_tower.post_layernorm.weight", torch.ones(vision_hidden, **kwargs)),
        ("model.vision_tower.post_layernorm.bias", torch.zeros(vision_hidden, **kwargs)),
    ]


def _convert_stream(items: Iterator[tuple[str, Any]], config: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    text = _sub(config, "text_config")
    vision = _sub(config, "vision_config")
    packer = _ExpertPacker(int(text["n_routed_experts"]))
    like: Any = None
    for key, tensor in items:
        like = tensor
        m = _EXPERT_KEY.match(key)
        if m:
            yield from packer.add(int(m.group(1)), int(m.group(2)), m.group(3), tensor)
            continue
        new = convert_key(key)  # an unused source post_layernorm is dropped; an identity is added below
        if new is not None:
            yield new, tensor
    packer.check_done()
    if like is not None:
        yield from _identity_post_layernorm(int(vision["hidden_size"]), like)


def convert_state_dict(yi_vl_sd: Mapping[str, torch.Tensor], config: Mapping[str, Any] | Any) -> dict[str, Any]:
    """The native Aria state dict for a yi_vl GenS state dict (config checked first).

    Routed experts are packed per layer; the vision tower gets an identity ``post_layernorm``. Raises
    :class:`UnsupportedCheckpointError` for weights that have no place in native Aria or incomplete experts."""
    cfg = config_as_dict(config)
    check_gens_config(cfg)
    return dict(_convert_stream(iter(yi_vl_sd.items()), cfg))


# ---------------------------------------------------------------------------------- checkpoint folders


def iter_converted_tensors(
    src: str | os.PathLike[str],
    *,
    device: str | None = None,
    dtype: torch.dtype | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> Iterator[tuple[str, Any]]:
    """Stream ``(native_key, tensor)`` pairs from a yi_vl GenS folder, reading one shard at a time.

    Only the shard being read and the experts of a layer split across shards are held at once. ``progress``
    is called with ``(shards_done, shards_total, shard_name)`` after each shard."""
    cfg = config_as_dict(src)
    check_gens_config(cfg)
    files = weight_files(src)

    def source() -> Iterator[tuple[str, Any]]:
        for i, path in enumerate(files, start=1):
            for key, tensor in iter_file_tensors(path, device=device or "cpu"):
                yield key, tensor if dtype is None else tensor.to(dtype)
            if progress is not None:
                progress(i, len(files), path.name)

    yield from _convert_stream(source(), cfg)


def _copy_side_files(src: Path, dst: Path) -> list[str]:
    copied: list[str] = []
    for pattern in COPIED_FILE_PATTERNS:
        for path in sorted(src.glob(pattern)):
            if path.is_file() and not (dst / path.name).exists():
                shutil.copy2(path, dst / path.name)
                copied.append(path.name)
    return copied


def _preprocessor_config(tokens_per_image: int) -> dict[str, Any]:
    return {
        "image_processor_type": "AriaImageProcessor",
        "max_image_size": GENS_IMAGE_SIZE,
        "min_image_size": 336,
        "split_image": False,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
        "resample": 3,
        "do_convert_rgb": True,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        CONVERTED_MARKER: {"tokens_per_image": tokens_per_image},
    }


def _check_destination(dst: Path, overwrite: bool) -> None:
    if dst.exists():
        if not dst.is_dir():
            raise InvalidArgumentError(f"destination {str(dst)!r} exists and is not a folder")
        if any(dst.iterdir()) and not overwrite:
            raise InvalidArgumentError(
                f"destination {str(dst)!r} is not empty; choose a new folder (or pass overwrite=True)"
            )


def convert_checkpoint(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    progress: ProgressCallback | None = None,
    max_shard_bytes: int = DEFAULT_SHARD_BYTES,
    overwrite: bool = False,
) -> Path:
    """Write a native Aria checkpoint of the yi_vl GenS checkpoint in ``src`` to the folder ``dst``.

    Streams the source one shard at a time (never the whole model in memory) and writes sharded safetensors
    with an index, ``config.json``, a ``preprocessor_config.json`` for 490-px frames and the tokenizer,
    chat-template and generation files. Everything is written to a temporary folder beside ``dst`` first, so
    a failure leaves no half-written checkpoint. Reports ``write`` progress per source shard.

    Returns:
        ``dst`` as a :class:`~pathlib.Path`.

    Raises:
        ModelUnavailableError: ``src`` is not a readable checkpoint folder.
        UnsupportedCheckpointError: the checkpoint breaks a condition of the exact mapping.
        InvalidArgumentError: ``dst`` exists and is not empty (without ``overwrite``), or not enough disk.
    """
    from safetensors.torch import save_file

    src_path = Path(src).expanduser()
    dst_path = Path(dst).expanduser()
    if not src_path.is_dir():
        raise ModelUnavailableError(f"source checkpoint {str(src_path)!r} is not a folder")
    if max_shard_bytes <= 0:
        raise InvalidArgumentError("max_shard_bytes must be positive")
    if src_path.resolve() == dst_path.resolve():
        raise InvalidArgumentError("source and destination are the same folder")
    _check_destination(dst_path, overwrite)
    native_config = convert_config(src_path)
    files = weight_files(src_path)
    need = sum(f.stat().st_size for f in files)
    parent = dst_path.parent
    parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(parent).free
    if free < need:
        raise InvalidArgumentError(
            f"not enough disk space in {str(parent)!r}: the converted checkpoint needs about "
            f"{need / 1e9:.1f} GB, {free / 1e9:.1f} GB are free"
        )

    tmp = Path(tempfile.mkdtemp(prefix=f".{dst_path.name}.partial-", dir=parent))
    try:
        emit(progress, "write", 0, len(files), "converting")

        def shard_done(done: int, total: int, name: str) -> None:
            emit(progress, "write", done, total, name)

        weight_map: dict[str, str] = {}
        shard_names: list[str] = []
        buffer: dict[str, Any] = {}
        buffered = 0
        total_size = 0

        def flush() -> None:
            nonlocal buffer, buffered
            if not buffer:
                return
            name = f"model-part-{len(shard_names) + 1:05d}.safetensors"
            save_file(buffer, str(tmp / name), metadata={"format": "pt"})
            for key in buffer:
                weight_map[key] = name
            shard_names.append(name)
            buffer, buffered = {}, 0

        for key, tensor in iter_converted_tensors(src_path, progress=shard_done):
            size = tensor.numel() * tensor.element_size()
            if buffer and buffered + size > max_shard_bytes:
                flush()
            buffer[key] = tensor.contiguous()
            buffered += size
            total_size += size
        flush()

        final = {
            old: f"model-{i:05d}-of-{len(shard_names):05d}.safetensors" for i, old in enumerate(shard_names, start=1)
        }
        for old, new in final.items():
            (tmp / old).rename(tmp / new)
        index = {
            "metadata": {"total_size": total_size},
            "weight_map": {k: final[v] for k, v in sorted(weight_map.items())},
        }
        (tmp / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
        (tmp / "config.json").write_text(json.dumps(native_config, indent=2) + "\n", encoding="utf-8")
        queries = int(native_config[CONVERTED_MARKER]["tokens_per_image"])
        (tmp / "preprocessor_config.json").write_text(
            json.dumps(_preprocessor_config(queries), indent=2) + "\n", encoding="utf-8"
        )
        _copy_side_files(src_path, tmp)

        if dst_path.exists():
            shutil.rmtree(dst_path)
        tmp.rename(dst_path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dst_path
