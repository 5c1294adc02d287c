"""Tiny random-weight models and locally built tokenizers, shaped like the real ones (no hub access).

Shared by the tests in this folder and by ``benchmarks/reuse.py``.
"""

from __future__ import annotations

from typing import Any

from gens_tools.samplers._prompt import GENS_INSTRUCTION

QWEN_SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

_CORPUS = [
    GENS_INSTRUCTION,
    "You are a helpful assistant.",
    "system user assistant Question: What is the man holding? When does the dog jump into the pool?",
    "Where is the red car parked? Who opens the door? What happens after the speaker shows the chart?",
    '{"11-12": 5, "16-21": 4, "28-30": 4, "46-49": 4, "22-27": 3, "33": 2} {"0-3": 1} {}',
    " ".join(f"[{i}]" for i in range(300)),
    "0123456789 - , : { } [ ] \" ' \n",
]


def build_bpe_tokenizer(special_tokens: list[str], *, vocab_size: int = 400, **kwargs: Any) -> Any:
    """A byte-level BPE tokenizer trained in memory on a few sentences, wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 3, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, **kwargs)


def build_qwen_tokenizer() -> Any:
    """A Qwen2.5-VL-style tokenizer: ChatML and vision special tokens, byte-level BPE."""
    return build_bpe_tokenizer(
        QWEN_SPECIAL_TOKENS,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>"},
    )


def build_qwen_model(
    tokenizer: Any,
    *,
    hidden_size: int = 64,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int = 2,
    vision_hidden: int = 32,
    vision_depth: int = 2,
    vision_heads: int = 2,
    intermediate_size: int | None = None,
    rope_theta: float = 1000000.0,
    attention_scale: float = 1.0,
    seed: int = 0,
) -> Any:
    """A random-weight ``Qwen2_5_VLForConditionalGeneration`` (float32, eval mode) matching ``tokenizer``.

    ``rope_theta``, ``attention_scale``: with the real model's 10⁶ and small random weights, attention is
    nearly uniform and positions barely matter at these sizes; a small theta (e.g. 10) and query/key weights
    scaled up (e.g. 20×) make the output depend on them, for tests of rotary positions."""
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    head_dim = hidden_size // heads
    half = head_dim // 2
    hw = half * 3 // 8  # the real model's split is [16, 24, 24] of 64
    mrope = [half - 2 * hw, hw, hw]
    ids = tokenizer.convert_tokens_to_ids
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": hidden_size,
            "intermediate_size": intermediate_size or hidden_size * 2,
            "num_hidden_layers": layers,
            "num_attention_heads": heads,
            "num_key_value_heads": kv_heads,
            "max_position_embeddings": 32768,
            "rope_parameters": {"rope_type": "default", "rope_theta": rope_theta, "mrope_section": mrope},
            "bos_token_id": ids("<|endoftext|>"),
            "eos_token_id": ids("<|im_end|>"),
            "pad_token_id": ids("<|endoftext|>"),
        },
        vision_config={
            "depth": vision_depth,
            "hidden_size": vision_hidden,
            "intermediate_size": vision_hidden * 2,
            "num_heads": vision_heads,
            "out_hidden_size": hidden_size,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "window_size": 112,
            "fullatt_block_indexes": [vision_depth - 1],
        },
        image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config)
    if attention_scale != 1.0:
        with torch.no_grad():
            for layer in model.model.language_model.layers:
                layer.self_attn.q_proj.weight.mul_(attention_scale)
                layer.self_attn.k_proj.weight.mul_(attention_scale)
    model.generation_config.eos_token_id = ids("<|im_end|>")
    model.generation_config.pad_token_id = ids("<|endoftext|>")
    return model.eval()


def build_qwen_image_processor() -> Any:
    """Qwen2-VL's image processor (the PIL backend: torchvision is not needed)."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    return Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=28 * 28 * 1280)


def build_clip(seed: int = 0) -> tuple[Any, Any, Any]:
    """A tiny random-weight CLIP model, tokenizer and image processor."""
    import torch
    from transformers import CLIPConfig, CLIPModel
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    tokenizer = build_bpe_tokenizer(
        ["<|startoftext|>", "<|endoftext|>"],
        bos_token="<|startoftext|>",
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
    )
    config = CLIPConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 77,
            "eos_token_id": tokenizer.convert_tokens_to_ids("<|endoftext|>"),
            "bos_token_id": tokenizer.convert_tokens_to_ids("<|startoftext|>"),
            "pad_token_id": tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    torch.manual_seed(seed)
    model = CLIPModel(config).eval()
    processor = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    return model, tokenizer, processor


def build_siglip(seed: int = 0) -> tuple[Any, Any, Any]:
    """A tiny random-weight SigLIP model, tokenizer and image processor."""
    import torch
    from transformers import SiglipConfig, SiglipModel
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    tokenizer = build_bpe_tokenizer(["<pad>", "</s>", "<unk>"], eos_token="</s>", pad_token="<pad>", unk_token="<unk>")
    config = SiglipConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 16,
            "pad_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
    )
    torch.manual_seed(seed)
    model = SiglipModel(config).eval()
    processor = SiglipImageProcessorPil(size={"height": 32, "width": 32})
    return model, tokenizer, processor
