"""The GenS-Aria input: prompt token layout, image token expansion, 490-px preprocessing, answer extraction."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image

from gens_tools.errors import InvalidArgumentError
from gens_tools.samplers._prompt import GENS_INSTRUCTION
from gens_tools.samplers.gens_aria._inputs import (
    answer_text,
    build_window_ids,
    build_window_inputs,
    make_image_processor,
    preprocess_frames,
)
from gens_tools.testing import tiny_aria

QUESTION = "What is the man holding?"


def _runs(ids: list[int], token: int) -> list[tuple[int, int]]:
    """(start, length) of each maximal run of ``token`` in ``ids``."""
    runs, i = [], 0
    while i < len(ids):
        if ids[i] == token:
            j = i
            while j < len(ids) and ids[j] == token:
                j += 1
            runs.append((i, j - i))
            i = j
        else:
            i += 1
    return runs


@pytest.mark.parametrize("n_frames", [1, 3])
def test_prompt_token_layout(tokenizer: Any, n_frames: int) -> None:
    q = tiny_aria.QUERIES
    w = build_window_ids(tokenizer, n_frames, QUESTION, tokens_per_image=q)
    ids = w.input_ids
    tid = tokenizer.convert_tokens_to_ids

    # BOS once, at the start; one run of `q` image tokens (id 9) per frame, wrapped in <fim_prefix>/<fim_suffix>
    assert ids[0] == tokenizer.bos_token_id
    assert ids.count(tokenizer.bos_token_id) == 1
    runs = _runs(ids, 9)
    assert [length for _, length in runs] == [q] * n_frames
    for start, length in runs:
        assert ids[start - 1] == tid("<fim_prefix>")
        assert ids[start + length] == tid("<fim_suffix>")

    # the label [i] right before frame i, the question and the instruction after the last frame, ChatML around
    text_before = [tokenizer.decode(ids[(runs[i - 1][0] + q if i else 0) : start]) for i, (start, _) in enumerate(runs)]
    assert text_before[0] == "<s><|im_start|>user\n[0]<fim_prefix>"
    for i in range(1, n_frames):
        assert text_before[i] == f"<fim_suffix>\n[{i}]<fim_prefix>"
    tail = tokenizer.decode(ids[runs[-1][0] + q :])
    assert tail == (f"<fim_suffix>\nQuestion: {QUESTION}\n{GENS_INSTRUCTION}<|im_end|>\n<|im_start|>assistant\n")
    # the reusable prefix ends right after the last frame's image tokens
    assert w.prefix_length == runs[-1][0] + q
    assert ids[w.prefix_length] == tid("<fim_suffix>")


def test_prefix_does_not_depend_on_the_question(tokenizer: Any) -> None:
    a = build_window_ids(tokenizer, 4, "What is the man holding?", tokens_per_image=3)
    b = build_window_ids(tokenizer, 4, "Where is the red car parked?", tokens_per_image=3)
    assert a.prefix_ids == b.prefix_ids
    assert a.input_ids != b.input_ids


def test_pieces_are_tokenised_separately(tokenizer: Any) -> None:
    """Tokens never straddle an image: each piece between images decodes on its own."""
    w = build_window_ids(tokenizer, 2, QUESTION, tokens_per_image=1)
    ids = w.input_ids
    cut = ids.index(9)
    assert ids[1:cut] == tokenizer("<|im_start|>user\n[0]<fim_prefix>", add_special_tokens=False).input_ids


def test_tokenizer_without_bos() -> None:
    tok = tiny_aria.build_tokenizer(add_bos=False)
    ids = build_window_ids(tok, 2, QUESTION, tokens_per_image=5).input_ids
    assert tok.bos_token_id not in ids
    assert ids[0] == tok.convert_tokens_to_ids("<|im_start|>")
    assert ids.count(9) == 10


def test_plain_image_token_when_start_end_off(tokenizer: Any) -> None:
    ids = build_window_ids(tokenizer, 2, QUESTION, tokens_per_image=2, use_image_start_end=False).input_ids
    assert tokenizer.convert_tokens_to_ids("<fim_prefix>") not in ids
    start, _ = _runs(ids, 9)[0]
    assert tokenizer.decode(ids[:start]).endswith("[0]")


def test_real_gens_config_gives_128_tokens_per_frame(tokenizer: Any) -> None:
    """With the published sizes, a 490-px frame is 1225 patches → 128 projector queries → 128 image tokens."""
    from transformers import AriaProcessor

    from gens_tools.samplers.gens_aria._convert import aria_config_from_yi_vl, convert_config
    from gens_tools.samplers.gens_aria._loading import tokens_per_image

    real = tiny_aria.real_gens_config()
    assert convert_config(real)["projector_patch_to_query_dict"] == {"1225": 128}
    config = aria_config_from_yi_vl(real)
    assert tokens_per_image(config) == 128
    # transformers' own Aria processor agrees: a 490-px image is 128 tokens
    fresh = tiny_aria.build_tokenizer()
    fresh.image_token, fresh.image_token_id = "<|img|>", 9
    assert AriaProcessor(image_processor=make_image_processor(), tokenizer=fresh).size_conversion[490] == 128

    w = build_window_ids(tokenizer, 256, QUESTION, tokens_per_image=128)
    assert [n for _, n in _runs(w.input_ids, 9)] == [128] * 256
    per_frame = (w.prefix_length - _runs(w.input_ids, 9)[0][0]) / 255.5
    assert 128 < per_frame < 140  # ~134 tokens a frame
    assert len(w.input_ids) < real["text_config"]["max_position_embeddings"]


def _reference_pixels(img: Image.Image) -> tuple[np.ndarray, tuple[int, int]]:
    """The official preprocessing written out with Pillow and numpy: shrink above 490, keep-ratio bicubic
    resize to long side 490 (short side ≥ 336), pad right/bottom with 0, scale to [0,1], (x-0.5)/0.5."""
    img = img.convert("RGB")
    w, h = img.size
    if w > 490 or h > 490:
        r = min(490 / w, 490 / h)
        img = img.resize((int(w * r), int(h * r)), Image.Resampling.BICUBIC)
    w, h = img.size
    s = 490 / max(w, h)
    size = (490, max(int(h * s), 336)) if w >= h else (max(int(w * s), 336), 490)
    img = img.resize(size, Image.Resampling.BICUBIC)
    canvas = np.zeros((490, 490, 3), dtype=np.float32)
    canvas[: size[1], : size[0]] = np.asarray(img, dtype=np.float32)
    return ((canvas / 255.0 - 0.5) / 0.5).transpose(2, 0, 1), size


@pytest.mark.parametrize("size", [(1280, 720), (360, 640), (100, 50), (490, 490), (700, 700)])
def test_preprocessing_matches_the_official_steps(size: tuple[int, int]) -> None:
    img = tiny_aria.picture(7, size=size)
    pixels, mask = preprocess_frames([img], return_pixel_mask=True)
    assert tuple(pixels.shape) == (1, 3, 490, 490)
    expected, (w, h) = _reference_pixels(img)
    np.testing.assert_allclose(pixels[0].numpy(), expected, atol=1e-6)
    # the padding is exactly zero pixels normalised (-1), and the mask marks the real pixels
    assert (pixels[0, :, h:, :] == -1).all()
    assert (pixels[0, :, :, w:] == -1).all()
    assert int(mask[0].sum()) == w * h
    assert min(w, h) >= 336
    assert max(w, h) == 490


def test_window_inputs_have_pixels_for_each_frame(tokenizer: Any) -> None:
    images = [tiny_aria.picture(i) for i in range(3)]
    inputs = build_window_inputs(tokenizer, images, QUESTION, tokens_per_image=4)
    assert inputs.pixel_values is not None
    assert tuple(inputs.pixel_values.shape) == (3, 3, 490, 490)
    assert inputs.input_ids.count(9) == 12


@pytest.mark.parametrize("question", ["", "   ", "look at <|img|> here", "what about <image1>?"])
def test_bad_questions_are_refused(tokenizer: Any, question: str) -> None:
    with pytest.raises(InvalidArgumentError):
        build_window_ids(tokenizer, 2, question, tokens_per_image=2)


def test_no_frames_is_refused(tokenizer: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        build_window_ids(tokenizer, 0, QUESTION, tokens_per_image=2)
    with pytest.raises(InvalidArgumentError):
        preprocess_frames([])


def test_answer_extraction() -> None:
    assert answer_text('{"1-2": 5}<|im_end|>\n<|im_start|>user') == '{"1-2": 5}'
    assert answer_text('user\n...assistant\n {"3": 4}') == '{"3": 4}'
    assert answer_text("") == ""
