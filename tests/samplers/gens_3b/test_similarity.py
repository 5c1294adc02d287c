"""The CLIP/SigLIP similarity baseline on tiny random-weight models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from gens_tools.errors import InvalidArgumentError, ModelUnavailableError
from gens_tools.samplers.similarity import DEFAULT_MODEL_ID, SimilaritySampler
from tests.samplers.gens_3b.conftest import make_window

QUESTION = "Where is the red car parked?"


def reference_logits(parts: tuple[Any, Any, Any], images: list[Any], question: str, *, siglip: bool) -> torch.Tensor:
    """The model's own image–text logits from one plain forward pass (what CLIP/SigLIP users compute)."""
    model, tokenizer, processor = parts
    max_len = model.config.text_config.max_position_embeddings
    text = tokenizer(
        [question], padding="max_length" if siglip else True, truncation=True, max_length=max_len, return_tensors="pt"
    )
    inputs = {"input_ids": text["input_ids"]}
    if not siglip:
        inputs["attention_mask"] = text["attention_mask"]
    with torch.inference_mode():
        out = model(**inputs, **processor(images=images, return_tensors="pt"))
    return out.logits_per_image[:, 0]


def test_siglip_scores_are_five_times_the_models_match_probability(siglip_parts: tuple[Any, Any, Any]) -> None:
    model, tokenizer, processor = siglip_parts
    s = SimilaritySampler.from_components(model, tokenizer, processor, batch_size=4)
    window = make_window(10)
    result = s.score_window(window, QUESTION)
    logits = reference_logits(siglip_parts, [f.require_image() for f in window.frames], QUESTION, siglip=True)
    expected = (5 * torch.sigmoid(logits)).tolist()
    assert result.scores is not None
    assert len(result.scores) == 10
    assert result.scores == pytest.approx(expected, abs=1e-4)
    assert all(0 <= v <= 5 for v in result.scores)


def test_clip_ranks_frames_like_its_own_logits(clip_parts: tuple[Any, Any, Any]) -> None:
    model, tokenizer, processor = clip_parts
    s = SimilaritySampler.from_components(model, tokenizer, processor, batch_size=3)
    window = make_window(9, seed=3)
    scores = s.score_window(window, QUESTION).scores
    logits = reference_logits(clip_parts, [f.require_image() for f in window.frames], QUESTION, siglip=False)
    assert scores is not None
    assert sorted(range(9), key=lambda i: -scores[i]) == sorted(range(9), key=lambda i: -float(logits[i]))
    # the documented mapping: 5·σ(scale·(cos − 0.2)) with CLIP's own scale
    cosine = logits / model.logit_scale.detach().exp()
    assert scores == pytest.approx((5 * torch.sigmoid(s.scale * (cosine - 0.2))).tolist(), abs=1e-4)


def test_frame_embeddings_are_reused_by_later_questions(siglip_parts: tuple[Any, Any, Any]) -> None:
    model, tokenizer, processor = siglip_parts
    s = SimilaritySampler.from_components(model, tokenizer, processor)
    runs: list[int] = []
    handle = model.vision_model.register_forward_hook(lambda *_: runs.append(1))
    try:
        window = make_window(6)
        first = s.score_window(window, QUESTION)
        assert len(runs) == 1
        second = s.score_window(window, "Who opens the door?")
        assert len(runs) == 1  # the frames were not embedded again
        assert first.scores != second.scores  # …but the new question was scored
        s.score_window(make_window(6, video_key="other-video"), QUESTION)
        assert len(runs) == 2
    finally:
        handle.remove()


def test_min_score_zeroes_low_scores(siglip_parts: tuple[Any, Any, Any]) -> None:
    model, tokenizer, processor = siglip_parts
    plain = SimilaritySampler.from_components(model, tokenizer, processor).score_window(make_window(8), QUESTION)
    assert plain.scores is not None
    cut = sorted(plain.scores)[4]
    floored = SimilaritySampler.from_components(model, tokenizer, processor, min_score=cut)
    scores = floored.score_window(make_window(8), QUESTION).scores
    assert scores == [v if v >= cut else 0.0 for v in plain.scores]
    assert scores is not None
    assert scores.count(0.0) == 4


def test_bad_options_and_models_are_typed_errors(
    siglip_parts: tuple[Any, Any, Any], qwen_parts: tuple[Any, Any, Any]
) -> None:
    model, tokenizer, processor = siglip_parts
    with pytest.raises(InvalidArgumentError, match="batch_size"):
        SimilaritySampler.from_components(model, tokenizer, processor, batch_size=0)
    with pytest.raises(InvalidArgumentError, match="min_score"):
        SimilaritySampler.from_components(model, tokenizer, processor, min_score=9)
    with pytest.raises(InvalidArgumentError, match="center must be a finite number"):
        SimilaritySampler.from_components(model, tokenizer, processor, center=float("nan"))
    with pytest.raises(InvalidArgumentError, match="scale must be a positive number"):
        SimilaritySampler.from_components(model, tokenizer, processor, scale=0)
    with pytest.raises(InvalidArgumentError, match="unknown option"):
        SimilaritySampler.from_components(model, tokenizer, processor, batchsize=9)
    qwen_model, qwen_tokenizer, qwen_processor = qwen_parts
    with pytest.raises(InvalidArgumentError, match="not an image–text model"):
        SimilaritySampler.from_components(qwen_model.model.language_model, qwen_tokenizer, qwen_processor)
    s = SimilaritySampler.from_components(model, tokenizer, processor, window_size=4)
    with pytest.raises(InvalidArgumentError, match="at most 4"):
        s.score_window(make_window(5), QUESTION)


def test_offline_without_weights_names_the_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelUnavailableError, match=DEFAULT_MODEL_ID):
        SimilaritySampler(device="cpu")


def test_save_then_load_from_a_local_folder(siglip_parts: tuple[Any, Any, Any], tmp_path: Path) -> None:
    model, tokenizer, processor = siglip_parts
    for part in siglip_parts:
        part.save_pretrained(tmp_path)
    loaded = SimilaritySampler(tmp_path, device="cpu")
    original = SimilaritySampler.from_components(model, tokenizer, processor)
    window = make_window(5, seed=2)
    assert loaded.score_window(window, QUESTION).scores == pytest.approx(
        original.score_window(window, QUESTION).scores, abs=1e-5
    )
