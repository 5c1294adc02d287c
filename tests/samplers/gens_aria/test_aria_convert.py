"""yi_vl GenS → native Aria: config conditions, key mapping checked against reference forwards of the
published modules, and the streamed checkpoint conversion (same logits in memory, on the fly and on disk)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from gens_tools.errors import InvalidArgumentError, SamplerError
from gens_tools.samplers.gens_aria._convert import (
    UnsupportedCheckpointError,
    check_gens_config,
    convert_checkpoint,
    convert_config,
    convert_state_dict,
    gens_config_violations,
    patches_per_frame,
)
from gens_tools.samplers.gens_aria._inputs import build_window_inputs
from gens_tools.samplers.gens_aria._loading import load_gens_model
from gens_tools.testing import tiny_aria

from .official import deepseek_moe, resampler

# --------------------------------------------------------------------------------------------- config


def test_published_layout_passes(yi_cfg: dict[str, Any]) -> None:
    check_gens_config(yi_cfg)
    assert gens_config_violations(tiny_aria.real_gens_config()) == []


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"text__norm_topk_prob": False}, "norm_topk_prob"),
        ({"text__first_k_dense_replace": 1}, "first_k_dense_replace"),
        ({"text__moe_layer_freq": 2}, "moe_layer_freq"),
        ({"text__n_routed_experts": None}, "n_routed_experts"),
        ({"text__num_experts_per_tok": 1}, "num_experts_per_tok"),
        ({"text__scoring_func": "sigmoid"}, "scoring_func"),
        ({"text__n_shared_experts": None}, "n_shared_experts"),
        ({"text__hidden_act": "gelu"}, "hidden_act"),
        ({"text__rope_scaling": {"type": "linear", "factor": 2.0}}, "rope_scaling"),
        ({"vision_feature_select_strategy": "cls_patch"}, "vision_feature_select_strategy"),
        ({"vision_feature_select_strategy": None}, "vision_feature_select_strategy"),
        ({"mm_projector": "mlp"}, "mm_projector"),
        ({"tokens_per_image": [64, 128]}, "tokens_per_image"),
        ({"image_token_index": 32000}, "image_token_index"),
        ({"vision__patch_size": 16}, "patch_size"),
        ({"vision__hidden_size": None}, "hidden_size"),
        ({"model_type": "llava"}, "model_type"),
    ],
)
def test_each_broken_condition_is_refused(tokenizer: Any, change: dict[str, Any], words: str) -> None:
    cfg = tiny_aria.yi_vl_config(len(tokenizer), **change)
    with pytest.raises(UnsupportedCheckpointError, match=words) as info:
        check_gens_config(cfg)
    assert isinstance(info.value, SamplerError)
    assert isinstance(info.value, InvalidArgumentError)
    with pytest.raises(UnsupportedCheckpointError):
        convert_config(cfg)


def test_every_broken_condition_is_listed_at_once(tokenizer: Any) -> None:
    cfg = tiny_aria.yi_vl_config(
        len(tokenizer),
        text__norm_topk_prob=False,
        text__first_k_dense_replace=1,
        vision_feature_select_strategy="full_patches",
    )
    with pytest.raises(UnsupportedCheckpointError, match="3 problems") as info:
        check_gens_config(cfg)
    message = str(info.value)
    for words in ("norm_topk_prob", "first_k_dense_replace", "vision_feature_select_strategy"):
        assert words in message


def test_converted_config_carries_the_sizes(yi_cfg: dict[str, Any]) -> None:
    native = convert_config(yi_cfg)
    text, vision = native["text_config"], native["vision_config"]
    assert native["model_type"] == "aria"
    assert native["architectures"] == ["AriaForConditionalGeneration"]
    assert text["intermediate_size"] == yi_cfg["text_config"]["moe_intermediate_size"]
    assert (text["moe_num_experts"], text["moe_topk"], text["moe_num_shared_experts"]) == (4, 2, 2)
    assert vision["model_type"] == "idefics3_vision"
    assert vision["hidden_size"] == 32
    assert native["projector_patch_to_query_dict"] == {"196": tiny_aria.QUERIES}
    assert native["vision_feature_layer"] == -1
    assert native["image_token_index"] == 9
    json.dumps(native)  # writable as config.json


# ------------------------------------------------------------------------ mapping vs reference modules


@torch.no_grad()
def test_moe_layers_match_the_deepseek_reference(
    yi_cfg: dict[str, Any], yi_sd: dict[str, Any], aria_model: Any
) -> None:
    x = torch.randn(7, yi_cfg["text_config"]["hidden_size"], generator=torch.Generator().manual_seed(1))
    for layer in range(yi_cfg["text_config"]["num_hidden_layers"]):
        native = aria_model.model.language_model.layers[layer].mlp(x.unsqueeze(0))[0]
        torch.testing.assert_close(native, deepseek_moe(x, yi_sd, layer, yi_cfg), rtol=1e-4, atol=1e-5)


@torch.no_grad()
def test_projector_matches_the_resampler_reference(
    yi_cfg: dict[str, Any], yi_sd: dict[str, Any], aria_model: Any
) -> None:
    patches = patches_per_frame(yi_cfg["vision_config"]["patch_size"])
    x = torch.randn(2, patches, yi_cfg["vision_config"]["hidden_size"], generator=torch.Generator().manual_seed(2))
    native = aria_model.model.multi_modal_projector(x)
    expected = resampler(x, yi_sd, yi_cfg["vision_config"]["num_attention_heads"])
    assert native.shape == (2, tiny_aria.QUERIES, yi_cfg["text_config"]["hidden_size"])
    torch.testing.assert_close(native, expected, rtol=1e-4, atol=1e-5)


def test_vision_and_text_weights_are_renamed_not_changed(yi_cfg: dict[str, Any], yi_sd: dict[str, Any]) -> None:
    native = convert_state_dict(yi_sd, yi_cfg)
    pairs = {
        "vision_tower.vision_model.encoder.layers.1.mlp.fc2.weight": (
            "model.vision_tower.encoder.layers.1.mlp.fc2.weight"
        ),
        "language_model.model.layers.0.mlp.gate.weight": "model.language_model.layers.0.mlp.router.weight",
        "language_model.lm_head.weight": "lm_head.weight",
        "multi_modal_projector.ffn.linear_in.weight": "model.multi_modal_projector.feed_forward.linear_in.weight",
    }
    for old, new in pairs.items():
        assert torch.equal(native[new], yi_sd[old])
    # the identity post-layernorm native Aria expects (and never applies to the features it uses)
    assert torch.equal(native["model.vision_tower.post_layernorm.weight"], torch.ones(32))
    gate_up = native["model.language_model.layers.1.mlp.experts.gate_up_proj"]
    assert gate_up.shape == (4, 32, 32)
    assert torch.equal(gate_up[3, :, 16:], yi_sd["language_model.model.layers.1.mlp.experts.3.up_proj.weight"].t())


def test_weights_without_a_native_place_are_refused(yi_cfg: dict[str, Any], yi_sd: dict[str, Any]) -> None:
    extra = dict(yi_sd)
    extra["multi_modal_projector.self_attn.q_proj.weight"] = torch.zeros(32, 32)
    with pytest.raises(UnsupportedCheckpointError, match="self_attn"):
        convert_state_dict(extra, yi_cfg)
    missing = {k: v for k, v in yi_sd.items() if "experts.2.down_proj" not in k}
    with pytest.raises(UnsupportedCheckpointError, match="routed-expert weights"):
        convert_state_dict(missing, yi_cfg)


# ------------------------------------------------------------------------------- checkpoint round trip


def _source_layer_spans_shards(folder: Path) -> bool:
    weight_map = json.loads((folder / "model.safetensors.index.json").read_text())["weight_map"]
    files = {f for k, f in weight_map.items() if k.startswith("language_model.model.layers.0.mlp.experts.")}
    return len(files) > 1


@torch.no_grad()
def test_round_trip_same_logits(tmp_path: Path, yi_vl_dir: Path, aria_model: Any, tokenizer: Any) -> None:
    """In-memory conversion, on-the-fly loading of the yi_vl folder and the converted checkpoint on disk all
    give the same logits for a real window input."""
    from transformers import AriaForConditionalGeneration

    assert _source_layer_spans_shards(yi_vl_dir)  # the streaming must carry experts across shards
    events: list[Any] = []
    out = convert_checkpoint(yi_vl_dir, tmp_path / "native", progress=events.append, max_shard_bytes=100_000)

    files = sorted(p.name for p in out.iterdir())
    shards = [f for f in files if f.endswith(".safetensors")]
    assert len(shards) > 1
    assert all(f.startswith("model-") and f"-of-{len(shards):05d}" in f for f in shards)
    for needed in (
        "config.json",
        "model.safetensors.index.json",
        "preprocessor_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ):
        assert needed in files
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    assert [e.stage for e in events] == ["write"] * len(events)
    assert events[-1].done == events[-1].total

    on_disk = AriaForConditionalGeneration.from_pretrained(str(out), dtype=torch.float32).eval()
    on_the_fly, facts = load_gens_model(yi_vl_dir, device=torch.device("cpu"), dtype=torch.float32)
    assert facts == {"kind": "yi_vl", "use_image_start_end": True, "vision_feature_select_strategy": "full"}

    inputs = build_window_inputs(
        tokenizer,
        [tiny_aria.picture(i) for i in range(2)],
        "What is the man holding?",
        tokens_per_image=tiny_aria.QUERIES,
    )
    ids = torch.tensor([inputs.input_ids])
    reference = aria_model(input_ids=ids, pixel_values=inputs.pixel_values).logits
    for model in (on_disk, on_the_fly):
        torch.testing.assert_close(model(input_ids=ids, pixel_values=inputs.pixel_values).logits, reference)
    # and the images matter: other pictures give other logits
    other = build_window_inputs(
        tokenizer,
        [tiny_aria.picture(9 + i) for i in range(2)],
        "What is the man holding?",
        tokens_per_image=tiny_aria.QUERIES,
    )
    assert not torch.allclose(aria_model(input_ids=ids, pixel_values=other.pixel_values).logits, reference)


def test_convert_refuses_a_non_empty_destination(tmp_path: Path, yi_vl_dir: Path) -> None:
    dst = tmp_path / "taken"
    dst.mkdir()
    (dst / "keep.txt").write_text("mine")
    with pytest.raises(InvalidArgumentError, match="not empty"):
        convert_checkpoint(yi_vl_dir, dst)
    assert (dst / "keep.txt").read_text() == "mine"


@torch.no_grad()
def test_on_the_fly_loading_in_bfloat16(yi_vl_dir: Path, tmp_path: Path) -> None:
    """The dtype used on GPUs: remapping while loading in bf16 gives exactly what transformers loads from the
    converted checkpoint in bf16."""
    from transformers import AriaForConditionalGeneration

    model, _ = load_gens_model(yi_vl_dir, device=torch.device("cpu"), dtype=torch.bfloat16)
    assert model.dtype == torch.bfloat16
    assert model.model.language_model.rotary_emb.inv_freq.dtype == torch.float32
    native = convert_checkpoint(yi_vl_dir, tmp_path / "native")
    reference = AriaForConditionalGeneration.from_pretrained(str(native), dtype=torch.bfloat16)
    ids = torch.tensor([[1, 20, 30, 40, 50, 60]])
    assert torch.equal(model(input_ids=ids).logits, reference(input_ids=ids).logits)
