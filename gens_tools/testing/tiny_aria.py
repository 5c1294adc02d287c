"""Tiny GenS-shaped checkpoints for tests: a locally trained tokenizer, a yi_vl-style config and random state
dict with the published key names, native Aria models, and a "scripted" model whose greedy output is fixed.

Nothing here touches the network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image

from gens_tools.frames import Frame
from gens_tools.samplers._base import Window
from gens_tools.samplers._prompt import GENS_INSTRUCTION

#: Special tokens in id order; ``<|img|>`` must land on id 9 like in the real vocabulary.
SPECIAL_TOKENS = [
    "<unk>",
    "<s>",
    "</s>",
    "<pad>",
    "<|im_start|>",
    "<|im_end|>",
    "<fim_prefix>",
    "<fim_middle>",
    "<fim_suffix>",
    "<|img|>",
]
CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_CORPUS = [
    GENS_INSTRUCTION,
    "user assistant Question: What is the man holding? When does the dog jump into the pool?",
    "Where is the red car parked? Who opens the door? What happens after the chart is shown?",
    '{"11-12": 5, "16-21": 4, "28-30": 4, "46-49": 4, "22-27": 3, "33": 2} {"0-3": 1} {}',
    " ".join(f"[{i}]" for i in range(64)),
    "0123456789 - , : { } [ ] \" ' \n",
]

#: Tiny sizes (the real GenS: vision 1152×27 layers, text 2560×28 layers, 64 experts top-6, 128 queries).
VISION = {"hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4}
TEXT = {
    "hidden_size": 32,
    "moe_intermediate_size": 16,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "n_routed_experts": 4,
    "num_experts_per_tok": 2,
    "n_shared_experts": 2,
}
QUERIES = 8
#: Tiny vision patches (14×14 = 196 per 490-px frame) keep the tests fast; the real tower uses 14 px (1225).
PATCH = 35


def build_tokenizer(*, add_bos: bool = True) -> Any:
    """A byte-level BPE tokenizer with the Aria/GenS special tokens (``<|img|>`` = 9) and a ChatML template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=360,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 3, trainer=trainer)
    if add_bos:
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>", "<fim_prefix>", "<fim_suffix>", "<|img|>"],
    )
    wrapped.chat_template = CHATML
    return wrapped


def yi_vl_config(vocab_size: int, **changes: Any) -> dict[str, Any]:
    """A config.json dict laid out like the published GenS one (tiny sizes); ``changes`` override top-level
    keys, ``text__key``/``vision__key`` override sub-config keys."""
    text = {
        "model_type": "deepseek",
        "vocab_size": vocab_size,
        "intermediate_size": 64,
        "max_position_embeddings": 4096,
        "num_key_value_heads": TEXT["num_attention_heads"],
        "norm_topk_prob": True,
        "scoring_func": "softmax",
        "first_k_dense_replace": 0,
        "moe_layer_freq": 1,
        "hidden_act": "silu",
        "rope_theta": 10000.0,
        "rms_norm_eps": 1e-6,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "pad_token_id": 3,
        "tie_word_embeddings": False,
        **TEXT,
    }
    vision = {
        "model_type": "custom_siglip_vision_model",
        "image_size": 490,
        "patch_size": PATCH,
        "num_channels": 3,
        "hidden_act": "gelu_pytorch_tanh",
        "layer_norm_eps": 1e-6,
        **VISION,
    }
    cfg: dict[str, Any] = {
        "model_type": "yi_vl",
        "architectures": ["YiVLForConditionalGeneration"],
        "mm_projector": "resampler",
        "tokens_per_image": QUERIES,
        "vision_feature_select_strategy": "full",
        "vision_feature_layer": -2,
        "image_token_index": 9,
        "mm_use_im_start_end": True,
        "torch_dtype": "float32",
        "vision_config": vision,
        "text_config": text,
    }
    for key, value in changes.items():
        if key.startswith("text__"):
            text[key[6:]] = value
        elif key.startswith("vision__"):
            vision[key[8:]] = value
        else:
            cfg[key] = value
    return cfg


def real_gens_config() -> dict[str, Any]:
    """The published GenS sizes (Aria's), as the reference lists them; config only, never instantiated."""
    cfg = yi_vl_config(100352)
    cfg["tokens_per_image"] = 128
    cfg["vision_config"].update(
        patch_size=14, hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16
    )
    cfg["text_config"].update(
        hidden_size=2560,
        moe_intermediate_size=1664,
        num_hidden_layers=28,
        num_attention_heads=20,
        num_key_value_heads=20,
        n_routed_experts=64,
        num_experts_per_tok=6,
        n_shared_experts=2,
        max_position_embeddings=65536,
    )
    return cfg


def yi_vl_state_dict(cfg: dict[str, Any], *, seed: int = 0) -> dict[str, Any]:
    """Random weights with the published checkpoint's names and shapes (projector, vision tower, MoE LM)."""
    import torch

    g = torch.Generator().manual_seed(seed)

    def rnd(*shape: int, scale: float = 0.2) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * scale

    v, t = cfg["vision_config"], cfg["text_config"]
    vh, vi, th = v["hidden_size"], v["intermediate_size"], t["hidden_size"]
    ti, n_exp = t["moe_intermediate_size"], t["n_routed_experts"]
    sd: dict[str, torch.Tensor] = {}
    pre = "vision_tower.vision_model."
    side = v["image_size"] // v["patch_size"]
    sd[pre + "embeddings.patch_embedding.weight"] = rnd(vh, 3, v["patch_size"], v["patch_size"], scale=0.05)
    sd[pre + "embeddings.patch_embedding.bias"] = rnd(vh)
    sd[pre + "embeddings.position_embedding.weight"] = rnd(side * side, vh)
    for i in range(v["num_hidden_layers"]):
        p = f"{pre}encoder.layers.{i}."
        for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
            sd[p + f"self_attn.{name}.weight"] = rnd(vh, vh)
            sd[p + f"self_attn.{name}.bias"] = rnd(vh)
        for name in ("layer_norm1", "layer_norm2"):
            sd[p + f"{name}.weight"] = 1 + rnd(vh, scale=0.1)
            sd[p + f"{name}.bias"] = rnd(vh, scale=0.1)
        sd[p + "mlp.fc1.weight"], sd[p + "mlp.fc1.bias"] = rnd(vi, vh), rnd(vi)
        sd[p + "mlp.fc2.weight"], sd[p + "mlp.fc2.bias"] = rnd(vh, vi), rnd(vh)
    pj = "multi_modal_projector."
    sd[pj + "query"] = rnd(cfg["tokens_per_image"], vh, scale=1.0)
    for name in ("q_proj", "k_proj", "v_proj"):
        sd[pj + f"cross_attn.{name}.weight"] = rnd(vh, vh)
    sd[pj + "cross_attn.multihead_attn.in_proj_weight"] = rnd(3 * vh, vh)
    sd[pj + "cross_attn.multihead_attn.in_proj_bias"] = rnd(3 * vh)
    sd[pj + "cross_attn.multihead_attn.out_proj.weight"] = rnd(vh, vh)
    sd[pj + "cross_attn.multihead_attn.out_proj.bias"] = rnd(vh)
    sd[pj + "cross_attn.linear.weight"], sd[pj + "cross_attn.linear.bias"] = rnd(vh, vh), rnd(vh)
    for name in ("cross_attn.layer_norm", "cross_attn.ln_kv", "ln_ffn"):
        sd[pj + f"{name}.weight"] = 1 + rnd(vh, scale=0.1)
        sd[pj + f"{name}.bias"] = rnd(vh, scale=0.1)
    sd[pj + "ffn.linear_in.weight"] = rnd(th, vh)
    sd[pj + "ffn.linear_out.weight"] = rnd(th, th)
    lm = "language_model."
    sd[lm + "model.embed_tokens.weight"] = rnd(t["vocab_size"], th, scale=1.0)
    for i in range(t["num_hidden_layers"]):
        p = f"{lm}model.layers.{i}."
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            sd[p + f"self_attn.{name}.weight"] = rnd(th, th)
        sd[p + "input_layernorm.weight"] = 1 + rnd(th, scale=0.1)
        sd[p + "post_attention_layernorm.weight"] = 1 + rnd(th, scale=0.1)
        sd[p + "mlp.gate.weight"] = rnd(n_exp, th, scale=1.0)
        for e in range(n_exp):
            sd[p + f"mlp.experts.{e}.gate_proj.weight"] = rnd(ti, th)
            sd[p + f"mlp.experts.{e}.up_proj.weight"] = rnd(ti, th)
            sd[p + f"mlp.experts.{e}.down_proj.weight"] = rnd(th, ti)
        shared = ti * t["n_shared_experts"]
        sd[p + "mlp.shared_experts.gate_proj.weight"] = rnd(shared, th)
        sd[p + "mlp.shared_experts.up_proj.weight"] = rnd(shared, th)
        sd[p + "mlp.shared_experts.down_proj.weight"] = rnd(th, shared)
    sd[lm + "model.norm.weight"] = 1 + rnd(th, scale=0.1)
    sd[lm + "lm_head.weight"] = rnd(t["vocab_size"], th, scale=1.0)
    return sd


def write_yi_vl_checkpoint(
    folder: Path,
    cfg: dict[str, Any],
    sd: dict[str, Any],
    tokenizer: Any,
    *,
    shard_bytes: int = 16_000,
    weights: str = "safetensors",
    generation_config: dict[str, Any] | None = None,
) -> Path:
    """Save ``sd`` sharded with an index (in key order, so a layer's experts span shards), the config and the
    tokenizer, the way the published checkpoint is laid out.

    ``weights``: ``"safetensors"`` (``model-0000i-of-0000n.safetensors``), ``"bin"`` (PyTorch pickles
    ``pytorch_model-0000i-of-0000n.bin`` with ``pytorch_model.bin.index.json``) or ``"bin-single"`` (one
    ``pytorch_model.bin``). ``generation_config``: written as ``generation_config.json`` when given."""
    import torch
    from safetensors.torch import save_file

    if weights not in ("safetensors", "bin", "bin-single"):
        raise ValueError(f"unknown weights format {weights!r}")
    folder.mkdir(parents=True, exist_ok=True)
    shards: list[dict[str, Any]] = [{}]
    size = 0
    for key, tensor in sd.items():
        nbytes = tensor.numel() * tensor.element_size()
        if shards[-1] and size + nbytes > shard_bytes and weights != "bin-single":
            shards.append({})
            size = 0
        shards[-1][key] = tensor.contiguous()
        size += nbytes
    weight_map = {}
    for i, shard in enumerate(shards, start=1):
        if weights == "safetensors":
            name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
            save_file(shard, str(folder / name), metadata={"format": "pt"})
        else:
            name = "pytorch_model.bin" if weights == "bin-single" else f"pytorch_model-{i:05d}-of-{len(shards):05d}.bin"
            torch.save(shard, folder / name)
        weight_map.update(dict.fromkeys(shard, name))
    if weights != "bin-single":
        index = {
            "metadata": {"total_size": sum(t.numel() * t.element_size() for t in sd.values())},
            "weight_map": weight_map,
        }
        index_name = "model.safetensors.index.json" if weights == "safetensors" else "pytorch_model.bin.index.json"
        (folder / index_name).write_text(json.dumps(index), encoding="utf-8")
    (folder / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    if generation_config is not None:
        (folder / "generation_config.json").write_text(json.dumps(generation_config), encoding="utf-8")
    tokenizer.save_pretrained(str(folder))
    return folder


def write_sentencepiece_tokenizer(folder: Path, *, legacy: bool | None = True) -> Path:
    """A Llama-style slow tokenizer trained locally with sentencepiece (BPE with byte fallback) on the GenS
    prompt's words: ``tokenizer.model`` plus a ``tokenizer_config.json`` declaring ``LlamaTokenizer``, the
    special tokens at ids 0–9 (``<|img|>`` = 9, as in GenS's vocabulary), ``legacy`` (omitted when ``None``)
    and a ChatML chat template. No ``tokenizer.json``: a fast tokenizer is converted from the model."""
    import io

    import sentencepiece as spm

    folder.mkdir(parents=True, exist_ok=True)
    lines = [line for text in _CORPUS * 5 for line in text.split("\n")]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=500,
        model_type="bpe",
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=3,
        pad_piece="<pad>",
        user_defined_symbols=SPECIAL_TOKENS[4:],
        byte_fallback=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        minloglevel=2,
    )
    (folder / "tokenizer.model").write_bytes(model.getvalue())
    added = {
        str(i): {
            "content": token,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "single_word": False,
            "special": True,
        }
        for i, token in enumerate(SPECIAL_TOKENS)
    }
    config: dict[str, Any] = {
        "tokenizer_class": "LlamaTokenizer",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "add_bos_token": True,
        "add_eos_token": False,
        "additional_special_tokens": SPECIAL_TOKENS[4:],
        "added_tokens_decoder": added,
        "chat_template": CHATML,
    }
    if legacy is not None:
        config["legacy"] = legacy
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def native_model(cfg: dict[str, Any], sd: dict[str, Any]) -> Any:
    """A native ``AriaForConditionalGeneration`` (float32, eval) holding the converted ``sd``, with the
    config's vision feature strategy applied."""
    from transformers import AriaForConditionalGeneration

    from gens_tools.samplers.gens_aria._convert import aria_config_from_yi_vl, convert_state_dict
    from gens_tools.samplers.gens_aria._features import apply_feature_strategy

    model = AriaForConditionalGeneration(aria_config_from_yi_vl(cfg))
    model.load_state_dict(convert_state_dict(sd, cfg), strict=True)
    apply_feature_strategy(model)
    return model.eval()


def scripted_parts(pieces: list[str], *, seed: int = 0) -> tuple[Any, Any]:
    """(model, tokenizer): a native Aria whose greedy answer to any GenS prompt is ``"".join(pieces)``
    followed by ``<|im_end|>``, and a tokenizer with each piece added as one token.

    Every layer's output projections are zero, so the last hidden state is the current token's embedding
    and the next token is a fixed function of the current one: the prompt's last token, then each piece in
    turn, then ``<|im_end|>``. The chain's embeddings are orthogonal and ``lm_head`` maps each to its
    successor. Everything else (vision tower, projector, attention) runs with random weights."""
    import torch

    from gens_tools.samplers.gens_aria._inputs import build_window_ids

    tokenizer = build_tokenizer()
    tokenizer.add_tokens(pieces)
    answer_ids = [tokenizer.convert_tokens_to_ids(p) for p in pieces]
    last = build_window_ids(tokenizer, 2, "What is the man holding?", tokens_per_image=QUERIES).input_ids[-1]
    chain = [last, *answer_ids]
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if len(set(chain)) != len(chain) or end in chain:
        raise ValueError("the pieces must be distinct new tokens")
    cfg = yi_vl_config(len(tokenizer))
    model = native_model(cfg, yi_vl_state_dict(cfg, seed=seed))
    hidden = model.config.text_config.hidden_size
    lm = model.model.language_model
    with torch.no_grad():
        for layer in lm.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.experts.down_proj.zero_()
            layer.mlp.shared_experts.down_proj.weight.zero_()
        lm.norm.weight.fill_(1.0)
        model.lm_head.weight.zero_()
        for i, tok in enumerate(chain):
            basis = torch.zeros(hidden)
            basis[i] = 1.0
            lm.embed_tokens.weight[tok] = basis
            successor = chain[i + 1] if i + 1 < len(chain) else end
            model.lm_head.weight[successor] = 10.0 * basis
    return model, tokenizer


def picture(seed: int, size: tuple[int, int] = (64, 36)) -> Image.Image:
    """A random RGB picture made of coloured blocks."""
    import numpy as np

    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(3, 4, 3), dtype=np.uint8)
    pixels = np.kron(blocks, np.ones((size[1] // 3 + 1, size[0] // 4 + 1, 1), dtype=np.uint8))
    return Image.fromarray(pixels[: size[1], : size[0]])


def window(n: int, *, index: int = 0, start: float = 0.0, seed: int = 0, video_key: str | None = "video-a") -> Window:
    """A window of ``n`` frames at 1 fps from ``start`` with distinct pictures, keyed as the pipeline keys it."""
    frames = [Frame(timestamp=start + i, image=picture(seed * 1000 + i), index=int(start) + i) for i in range(n)]
    return Window(index=index, frames=frames, video_key=video_key)
