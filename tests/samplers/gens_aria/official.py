"""An independent re-implementation of the official GenS forward pass, written from its algorithm (the
authors' yi_vl / NaViT SigLIP / resampler / DeepSeek-V1 MoE code) directly over the published state dict's
names, in plain torch functions. It imports nothing from gens-tools' model code, so comparing native Aria
(as gens-tools loads it) with it checks the mapping, not the mapping against itself.

Order of operations follows the official code: the vision tower over every patch (no mask, no
post-layernorm), the ``vision_feature_select_strategy`` slice (``default`` drops patch 0), the resampler, each
image token of the prompt replaced by that frame's features, then the DeepSeek decoder. Greedy decoding
recomputes the whole sequence at every step, with transformers' repetition penalty rule when asked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

Tensor = torch.Tensor
StateDict = dict[str, Tensor]


def _layer_norm(x: Tensor, sd: StateDict, name: str, eps: float = 1e-5) -> Tensor:
    return F.layer_norm(x, x.shape[-1:], sd[name + ".weight"], sd[name + ".bias"], eps)


def _heads(x: Tensor, n: int) -> Tensor:
    """(B, L, n·d) → (B, n, L, d)."""
    b, length, width = x.shape
    return x.view(b, length, n, width // n).transpose(1, 2)


def _attend(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None) -> Tensor:
    """Softmax attention (B, n, L, d), computed in float32 as the eager implementations do; → (B, L, n·d)."""
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    out = scores.float().softmax(dim=-1).to(q.dtype) @ v
    return out.transpose(1, 2).reshape(q.shape[0], q.shape[2], -1)


# ------------------------------------------------------------------------------------------ vision


def siglip_position_ids(side: int) -> Tensor:
    """The NaViT embedding's position ids for a frame with every patch real: fractional patch coordinates
    bucketed into the ``side`` × ``side`` position table."""
    boundaries = torch.arange(1 / side, 1.0, 1 / side)
    coords = torch.arange(0, 1 - 1e-6, 1 / side)
    bucket = torch.bucketize(coords, boundaries, right=True)
    return (bucket[:, None] * side + bucket).flatten()


def siglip_tower(pixels: Tensor, sd: StateDict, cfg: dict[str, Any]) -> Tensor:
    """Last hidden state of the NaViT SigLIP tower (no post-layernorm), ``(frames, patches, hidden)``."""
    v = cfg["vision_config"]
    pre = "vision_tower.vision_model."
    patch, heads, eps = v["patch_size"], v["num_attention_heads"], v["layer_norm_eps"]
    x = F.conv2d(
        pixels, sd[pre + "embeddings.patch_embedding.weight"], sd[pre + "embeddings.patch_embedding.bias"], stride=patch
    )
    x = x.flatten(2).transpose(1, 2)
    x = x + sd[pre + "embeddings.position_embedding.weight"][siglip_position_ids(v["image_size"] // patch)]
    for i in range(v["num_hidden_layers"]):
        p = f"{pre}encoder.layers.{i}."
        h = _layer_norm(x, sd, p + "layer_norm1", eps)
        q, k, val = (
            F.linear(h, sd[f"{p}self_attn.{n}.weight"], sd[f"{p}self_attn.{n}.bias"])
            for n in ("q_proj", "k_proj", "v_proj")
        )
        attn = _attend(_heads(q, heads), _heads(k, heads), _heads(val, heads))
        x = x + F.linear(attn, sd[p + "self_attn.out_proj.weight"], sd[p + "self_attn.out_proj.bias"])
        h = _layer_norm(x, sd, p + "layer_norm2", eps)
        h = F.gelu(F.linear(h, sd[p + "mlp.fc1.weight"], sd[p + "mlp.fc1.bias"]), approximate="tanh")
        x = x + F.linear(h, sd[p + "mlp.fc2.weight"], sd[p + "mlp.fc2.bias"])
    return x


def resampler(x: Tensor, sd: StateDict, heads: int) -> Tensor:
    """The published cross-attention resampler: learned queries attend over all given patches, then an FFN."""
    p = "multi_modal_projector."
    query = F.linear(_layer_norm(sd[p + "query"], sd, p + "cross_attn.layer_norm"), sd[p + "cross_attn.q_proj.weight"])
    kv = _layer_norm(x, sd, p + "cross_attn.ln_kv")
    key = F.linear(kv, sd[p + "cross_attn.k_proj.weight"])
    value = F.linear(kv, sd[p + "cross_attn.v_proj.weight"])
    batch = x.shape[0]
    attn, _ = F.multi_head_attention_forward(
        query.unsqueeze(1).expand(-1, batch, -1),
        key.transpose(0, 1),
        value.transpose(0, 1),
        query.shape[-1],
        heads,
        sd[p + "cross_attn.multihead_attn.in_proj_weight"],
        sd[p + "cross_attn.multihead_attn.in_proj_bias"],
        None,
        None,
        False,
        0.0,
        sd[p + "cross_attn.multihead_attn.out_proj.weight"],
        sd[p + "cross_attn.multihead_attn.out_proj.bias"],
        training=False,
        need_weights=False,
    )
    out = F.linear(attn.transpose(0, 1), sd[p + "cross_attn.linear.weight"], sd[p + "cross_attn.linear.bias"])
    hidden = F.gelu(F.linear(_layer_norm(out, sd, p + "ln_ffn"), sd[p + "ffn.linear_in.weight"]), approximate="tanh")
    return F.linear(hidden, sd[p + "ffn.linear_out.weight"])


def frame_features(pixels: Tensor, sd: StateDict, cfg: dict[str, Any]) -> Tensor:
    """``(frames, queries, text hidden)``: the tower, the strategy's slice (``default`` when the key is
    absent, as in the official config class), the resampler."""
    features = siglip_tower(pixels, sd, cfg)
    strategy = cfg.get("vision_feature_select_strategy", "default")
    if strategy == "default":
        features = features[:, 1:]
    elif strategy != "full":
        raise ValueError(f"the official code refuses strategy {strategy!r}")
    return resampler(features, sd, cfg["vision_config"]["num_attention_heads"])


# -------------------------------------------------------------------------------------------- text


def deepseek_moe(x: Tensor, sd: StateDict, layer: int, cfg: dict[str, Any]) -> Tensor:
    """DeepSeek-V1 MoE as the published decoder computes it, for ``(tokens, hidden)``: softmax over experts,
    top-k, weights renormalised (norm_topk_prob), SiLU-gated experts, plus the shared experts."""
    t = cfg["text_config"]
    p = f"language_model.model.layers.{layer}.mlp."

    def mlp(v: Tensor, name: str) -> Tensor:
        gate, up, down = (sd[f"{p}{name}.{k}_proj.weight"] for k in ("gate", "up", "down"))
        return F.linear(F.silu(F.linear(v, gate)) * F.linear(v, up), down)

    scores = F.linear(x, sd[p + "gate.weight"]).softmax(dim=-1)
    weights, chosen = torch.topk(scores, t["num_experts_per_tok"], dim=-1)
    weights = weights / weights.sum(dim=-1, keepdim=True)
    out = torch.zeros_like(x)
    for row in range(x.shape[0]):
        for w, e in zip(weights[row], chosen[row], strict=True):
            out[row] += w * mlp(x[row], f"experts.{int(e)}")
    return out + mlp(x, "shared_experts")


def _rms_norm(x: Tensor, weight: Tensor, eps: float) -> Tensor:
    h = x.float()
    return weight * (h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


def _rope(x: Tensor, theta: float) -> Tensor:
    """Rotary embedding (rotate-half form) over positions 0…L-1 of ``(B, n, L, d)``."""
    d, length = x.shape[-1], x.shape[-2]
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    freqs = torch.outer(torch.arange(length, dtype=torch.float32), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    half = torch.cat((-x[..., d // 2 :], x[..., : d // 2]), dim=-1)
    return x * emb.cos() + half * emb.sin()


def decoder_logits(embeds: Tensor, sd: StateDict, cfg: dict[str, Any]) -> Tensor:
    """The DeepSeek decoder over ``(1, L, hidden)`` input embeddings → ``(1, L, vocab)`` logits."""
    t = cfg["text_config"]
    heads, eps, theta = t["num_attention_heads"], t["rms_norm_eps"], t["rope_theta"]
    causal = torch.ones(embeds.shape[1], embeds.shape[1], dtype=torch.bool).tril()
    x = embeds
    for i in range(t["num_hidden_layers"]):
        p = f"language_model.model.layers.{i}."
        h = _rms_norm(x, sd[p + "input_layernorm.weight"], eps)
        q, k, v = (_heads(F.linear(h, sd[f"{p}self_attn.{n}.weight"]), heads) for n in ("q_proj", "k_proj", "v_proj"))
        attn = _attend(_rope(q, theta), _rope(k, theta), v, causal)
        x = x + F.linear(attn, sd[p + "self_attn.o_proj.weight"])
        h = _rms_norm(x, sd[p + "post_attention_layernorm.weight"], eps)
        x = x + deepseek_moe(h[0], sd, i, cfg).unsqueeze(0)
    x = _rms_norm(x, sd["language_model.model.norm.weight"], eps)
    return F.linear(x, sd["language_model.lm_head.weight"])


# ----------------------------------------------------------------------------------------- whole model


def official_logits(ids: Sequence[int], pixels: Tensor, sd: StateDict, cfg: dict[str, Any]) -> Tensor:
    """Logits ``(1, L', vocab)`` of a prompt holding one image token per frame; each image token is replaced
    by its frame's features, so ``L'`` is the expanded length."""
    features = frame_features(pixels, sd, cfg)
    table = sd["language_model.model.embed_tokens.weight"]
    image_token = cfg.get("image_token_index", 9)
    pieces, frame = [], 0
    for tok in ids:
        if tok == image_token and frame < pixels.shape[0]:  # a generated image token is only a token
            pieces.append(features[frame])
            frame += 1
        else:
            pieces.append(table[tok].unsqueeze(0))
    if frame != pixels.shape[0]:
        raise ValueError(f"{frame} image tokens for {pixels.shape[0]} frames")
    return decoder_logits(torch.cat(pieces).unsqueeze(0), sd, cfg)


def official_greedy(
    ids: Sequence[int],
    pixels: Tensor,
    sd: StateDict,
    cfg: dict[str, Any],
    *,
    steps: int,
    stop: Sequence[int] = (),
    repetition_penalty: float = 1.0,
) -> list[int]:
    """Greedy continuation of ``ids`` (up to ``steps`` tokens, ending at a ``stop`` token, which is not
    returned). A repetition penalty divides positive logits and multiplies negative ones of every token id
    already in the sequence, prompt included."""
    seq, new = list(ids), []
    for _ in range(steps):
        logits = official_logits(seq, pixels, sd, cfg)[0, -1]
        if repetition_penalty != 1.0:
            seen = torch.tensor(sorted(set(seq)))
            picked = logits[seen]
            logits[seen] = torch.where(picked > 0, picked / repetition_penalty, picked * repetition_penalty)
        tok = int(logits.argmax())
        if tok in stop:
            break
        seq.append(tok)
        new.append(tok)
    return new
