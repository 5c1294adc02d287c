"""The slow (sentencepiece) tokenizer the official GenS code loads, on a tokenizer trained here with
sentencepiece: its GenS prompt ids match an independent sentencepiece tokenisation and the fast tokenizer's,
answers decode to the same text, and the sampler uses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sentencepiece")

import sentencepiece as spm

from gens_tools.errors import ModelUnavailableError
from gens_tools.samplers.gens_aria import GenSAriaSampler
from gens_tools.samplers.gens_aria import _tokenizer as tokenizer_mod
from gens_tools.samplers.gens_aria._inputs import build_window_ids, window_text
from gens_tools.samplers.gens_aria._tokenizer import load_tokenizer
from gens_tools.testing import tiny_aria

QUESTIONS = ["What is the man holding?", "When does the dog jump into the pool?", "Where is the red car parked?"]
ANSWER = '{"11-12": 5, "16-21": 4,\n "33": 2}'


@pytest.fixture(scope="module", params=[True, False, None], ids=["legacy", "non-legacy", "legacy-unset"])
def sp_folder(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_aria.write_sentencepiece_tokenizer(tmp_path_factory.mktemp("sp") / "tok", legacy=request.param)


def _official_ids(model_file: Path, text: str, specials: dict[str, int], image_token: str) -> list[int]:
    """The legacy slow Llama tokenisation of the official GenS code, from sentencepiece itself: the text is
    split at each image token and every piece tokenised on its own (BOS only at the very start); within a
    piece, special tokens are cut out and every stretch between them goes through sentencepiece whole
    (which adds its word-boundary marker to each)."""
    sp = spm.SentencePieceProcessor(model_file=str(model_file))
    ids = [sp.bos_id()]
    for n, piece in enumerate(text.split(image_token)):
        if n:
            ids.append(specials[image_token])
        rest = piece
        while rest:
            cut = min(((rest.find(s), s) for s in specials if s in rest), default=None)
            head, special = (rest[: cut[0]], cut[1]) if cut else (rest, None)
            if head:
                ids.extend(sp.encode(head))
            if special is None:
                break
            ids.append(specials[special])
            rest = rest[cut[0] + len(special) :] if cut else ""
    return ids


def test_the_slow_tokenizer_is_loaded_when_sentencepiece_is_there(sp_folder: Path) -> None:
    slow = load_tokenizer(sp_folder)
    assert type(slow).__name__ == "SlowLlamaTokenizer"
    assert not slow.is_fast
    assert slow.convert_tokens_to_ids("<|img|>") == 9
    assert slow.pad_token == "<pad>"


@pytest.mark.parametrize("legacy", [True, False], ids=["legacy", "non-legacy"])
@pytest.mark.parametrize("n_frames", [1, 3])
def test_prompt_ids_match_between_slow_and_fast(tmp_path: Path, legacy: bool, n_frames: int) -> None:
    """With ``legacy`` stated, the fast tokenizer transformers builds from ``tokenizer.model`` agrees with the
    slow one. (With it unset they differ: transformers 4's slow tokenizer, the official one, took unset as
    legacy, transformers 5's fast one takes it as non-legacy; the next test checks the slow one there.)"""
    from transformers import AutoTokenizer

    folder = tiny_aria.write_sentencepiece_tokenizer(tmp_path / "tok", legacy=legacy)
    slow = load_tokenizer(folder)
    fast = AutoTokenizer.from_pretrained(str(folder))  # converted from tokenizer.model
    assert fast.is_fast
    for question in QUESTIONS:
        ids = build_window_ids(slow, n_frames, question, tokens_per_image=1).input_ids
        assert ids == build_window_ids(fast, n_frames, question, tokens_per_image=1).input_ids
    answer = slow(ANSWER).input_ids
    assert answer == fast(ANSWER).input_ids
    assert slow.decode(answer, skip_special_tokens=True) == ANSWER == fast.decode(answer, skip_special_tokens=True)


@pytest.mark.parametrize("legacy", [True, None], ids=["legacy", "legacy-unset"])
def test_prompt_ids_match_sentencepiece_itself(tmp_path: Path, legacy: bool | None) -> None:
    """The legacy scheme (also what an unset ``legacy`` meant) against sentencepiece directly."""
    folder = tiny_aria.write_sentencepiece_tokenizer(tmp_path / "tok", legacy=legacy)
    slow = load_tokenizer(folder)
    specials = {token: i for i, token in enumerate(tiny_aria.SPECIAL_TOKENS) if i >= 4}
    for question in QUESTIONS:
        ours = build_window_ids(slow, 3, question, tokens_per_image=1)
        text = window_text(slow, 3, question)  # the chat-templated prompt, one <|img|> per frame
        assert ours.input_ids == _official_ids(folder / "tokenizer.model", text, specials, "<|img|>")


def test_without_sentencepiece_the_fast_tokenizer_is_used_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tiny_aria.write_sentencepiece_tokenizer(tmp_path / "tok", legacy=True)
    monkeypatch.setattr(tokenizer_mod, "sentencepiece_installed", lambda: False)
    with pytest.warns(UserWarning, match="sentencepiece package is not installed"):
        fast = load_tokenizer(folder)
    assert fast.is_fast
    with pytest.raises(ModelUnavailableError, match="sentencepiece is not installed"):
        load_tokenizer(folder, slow=True)


def test_a_folder_without_a_sentencepiece_model_loads_the_fast_tokenizer_silently(
    tmp_path: Path, tokenizer: Any, recwarn: pytest.WarningsRecorder
) -> None:
    tokenizer.save_pretrained(str(tmp_path))
    loaded = load_tokenizer(tmp_path)
    assert loaded.is_fast
    assert not [w for w in recwarn if "sentencepiece" in str(w.message)]
    with pytest.raises(ModelUnavailableError, match=r"no tokenizer\.model"):
        load_tokenizer(tmp_path, slow=True)


def test_the_sampler_reads_windows_through_the_slow_tokenizer(tmp_path: Path) -> None:
    folder = tmp_path / "GenS"
    tokenizer = load_tokenizer(tiny_aria.write_sentencepiece_tokenizer(tmp_path / "tok", legacy=True))
    cfg = tiny_aria.yi_vl_config(len(tokenizer))
    tiny_aria.write_yi_vl_checkpoint(folder, cfg, tiny_aria.yi_vl_state_dict(cfg), tokenizer)
    tiny_aria.write_sentencepiece_tokenizer(folder, legacy=True)  # the checkpoint's own tokenizer files
    sampler = GenSAriaSampler(str(folder), device="cpu", max_new_tokens=3)
    assert type(sampler.tokenizer).__name__ == "SlowLlamaTokenizer"
    ids = sampler._window_ids(tiny_aria.window(2), QUESTIONS[0]).input_ids
    assert ids == build_window_ids(tokenizer, 2, QUESTIONS[0], tokens_per_image=sampler.tokens_per_image).input_ids
    assert sampler.score_window(tiny_aria.window(2), QUESTIONS[0]).usage["completion_tokens"] > 0
