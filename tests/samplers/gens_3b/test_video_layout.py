"""GenS-3B's second input layout: the window's frames as one Qwen2.5-VL video at the grid's frame rate.

What reaches the model is checked against Qwen's own processing where that can be done without torchvision:
an independent re-implementation of the video processor's patching, Qwen's image processor (a video of
doubled frames is the images' patches), the rotary positions the model derives from ``second_per_grid_ts``,
and the model's own video path (``pixel_values_videos``) versus the sampler's cached-prefix path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from gens_tools.errors import InvalidArgumentError
from gens_tools.frames import Frame
from gens_tools.samplers._base import Window
from gens_tools.samplers._local.qwen_video import seconds_to_frame_scores, video_fps
from gens_tools.samplers.gens_3b import GenS3BSampler

from .conftest import color_frames, make_window

QUESTION = "What is the man holding?"


def video_sampler(parts: tuple[Any, Any, Any], **options: Any) -> GenS3BSampler:
    model, tokenizer, image_processor = parts
    options.setdefault("max_new_tokens", 12)
    return GenS3BSampler.from_components(model, tokenizer, image_processor, input_layout="video", **options)


def qwen_video_patchify(frames: list[Image.Image], processor: Any, *, temporal: int = 2, patch: int = 14,
                        merge: int = 2) -> tuple[np.ndarray, list[int]]:
    """Qwen's video processor, re-implemented from its algorithm: rescale and normalise every (already
    112-px) frame, pad the frame count to a multiple of ``temporal`` with the last frame, then cut
    (groups, T, C, h/m, m, P, w/m, m, P) and reorder to (groups, h/m, w/m, m, m, C, T, P, P)."""
    mean = np.array(processor.image_mean, dtype=np.float32)[:, None, None]
    std = np.array(processor.image_std, dtype=np.float32)[:, None, None]
    video = np.stack([(np.asarray(f, dtype=np.float32).transpose(2, 0, 1) / 255.0 - mean) / std for f in frames])
    while len(video) % temporal:
        video = np.concatenate([video, video[-1:]])
    n, c, h, w = video.shape
    gt, gh, gw = n // temporal, h // patch, w // patch
    cut = video.reshape(gt, temporal, c, gh // merge, merge, patch, gw // merge, merge, patch)
    ordered = cut.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
    return ordered.reshape(gt * gh * gw, c * temporal * patch * patch), [gt, gh, gw]


def _frames(n: int, size: tuple[int, int] = (112, 112), seed: int = 0) -> list[Image.Image]:
    return [f.require_image().resize(size) for f in color_frames(n, seed=seed)]


@pytest.mark.parametrize("n_frames", [6, 5])  # an odd count pads the last temporal patch
def test_video_patches_are_qwens(qwen_parts: tuple[Any, Any, Any], n_frames: int) -> None:
    s = video_sampler(qwen_parts)
    frames = _frames(n_frames)
    video = s.preprocess_video(frames, fps=1.0)
    expected, grid = qwen_video_patchify(frames, qwen_parts[2])
    assert video["video_grid_thw"].tolist() == [grid] == [[(n_frames + 1) // 2, 8, 8]]
    torch.testing.assert_close(video["pixel_values_videos"], torch.from_numpy(expected), rtol=0, atol=1e-5)
    assert video["second_per_grid_ts"].tolist() == [2.0]
    assert s.preprocess_video(frames, fps=2.0)["second_per_grid_ts"].tolist() == [1.0]


def test_a_video_of_doubled_frames_is_the_image_processors_patches(qwen_parts: tuple[Any, Any, Any]) -> None:
    """Qwen's image processor writes a still as the same frame in both temporal slots: a video whose frames
    come in equal pairs must give exactly those patches."""
    s = video_sampler(qwen_parts)
    a, b = _frames(2, seed=3)
    video = s.preprocess_video([a, a, b, b], fps=1.0)
    stills = qwen_parts[2](images=[a, b], return_tensors="pt", size={"shortest_edge": 112 * 112,
                                                                     "longest_edge": 112 * 112})
    assert torch.equal(video["pixel_values_videos"], stills["pixel_values"])
    assert video["video_grid_thw"].tolist() == [[2, 8, 8]]


def test_the_prompt_holds_one_video_then_the_gens_text(qwen_parts: tuple[Any, Any, Any]) -> None:
    s = video_sampler(qwen_parts)
    prompt = s._prompt(make_window(5), QUESTION)
    tok = s.tokenizer
    video_id, image_id = (tok.convert_tokens_to_ids(t) for t in ("<|video_pad|>", "<|image_pad|>"))
    assert prompt.ids.count(video_id) == 3 * 16  # 5 frames → 3 temporal patches of 4×4 merged tokens
    assert image_id not in prompt.ids
    text = tok.decode(prompt.ids)
    assert "[0]" not in text
    assert text.endswith(
        "<|vision_end|>Question: What is the man holding?\n" + s.instruction + "<|im_end|>\n<|im_start|>assistant\n"
    )
    assert prompt.ids[prompt.prefix_len - 1] == tok.convert_tokens_to_ids("<|vision_end|>")
    assert s.video_tokens(256, s.tokens_per_frame()) == 128 * 16  # half the images layout's 256 × 16


def _window_at(fps: float, n: int = 6) -> Window:
    frames = [Frame(timestamp=10.0 + i / fps, image=f.image, index=i) for i, f in enumerate(color_frames(n))]
    return Window(index=0, frames=frames, video_key="video-a")


@pytest.mark.parametrize("fps", [1.0, 2.0, 0.5])
def test_temporal_positions_follow_the_grid_frame_rate(qwen_parts: tuple[Any, Any, Any], fps: float) -> None:
    """Each temporal patch lasts 2/fps seconds; Qwen2.5-VL spaces their rotary positions by
    tokens_per_second × that, so the model is told the real time between frames."""
    s = video_sampler(qwen_parts)
    window = _window_at(fps)
    prompt = s._prompt(window, QUESTION)
    assert prompt.fps == pytest.approx(fps)
    video = s.preprocess_video([f.require_image() for f in window.frames], prompt.fps)
    ids = torch.tensor([prompt.ids])
    positions, _ = s.model.model.get_rope_index(
        ids, mm_token_type_ids=s.mm_token_types(ids), video_grid_thw=video["video_grid_thw"],
        second_per_grid_ts=video["second_per_grid_ts"],
    )
    video_at = (ids[0] == s.tokenizer.convert_tokens_to_ids("<|video_pad|>")).nonzero().flatten()
    temporal = positions[0, 0, video_at].reshape(3, 16)  # 3 temporal patches of 16 tokens
    start = int(video_at[0])
    per_second = s.model.config.vision_config.tokens_per_second
    expected = [start + int(g * per_second * 2 / fps) for g in range(3)]
    assert temporal[:, 0].tolist() == expected
    assert (temporal == temporal[:, :1]).all()


def test_the_sampler_answers_as_the_models_own_video_path(qwen_parts: tuple[Any, Any, Any]) -> None:
    """The sampler's cached vision features and prefix give the tokens ``generate`` gives from the standard
    inputs (``pixel_values_videos``, ``video_grid_thw``, ``second_per_grid_ts``), for two questions."""
    s = video_sampler(qwen_parts, batch_size=1)
    model = s.model
    window = make_window(5)
    for question in (QUESTION, "Where is the red car parked?"):
        prompt = s._prompt(window, question)
        video = s.preprocess_video([f.require_image() for f in window.frames], prompt.fps)
        ids = torch.tensor([prompt.ids])
        video_tokens = (ids == s.tokenizer.convert_tokens_to_ids("<|video_pad|>")).int() * 2  # Qwen: video = 2
        model.model.rope_deltas = None
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                 mm_token_type_ids=video_tokens, **video, max_new_tokens=12,
                                 do_sample=False, eos_token_id=s._eos_ids)
        model.model.rope_deltas = None
        tokens = out[0, ids.shape[1] :].tolist()
        tokens = tokens[: next((i for i, t in enumerate(tokens) if t in s._eos_ids), len(tokens))]
        answer = s.score_window(window, question)
        assert answer.raw_output == s.tokenizer.decode(tokens, skip_special_tokens=True)
        assert answer.usage["completion_tokens"] >= len(tokens) > 0
    assert s.prefix_cache is not None
    assert s.prefix_cache.stats().hits == 1  # the second question reused the video's prefix


def test_prefix_reuse_gives_the_same_answers(qwen_parts: tuple[Any, Any, Any]) -> None:
    reused = video_sampler(qwen_parts)
    fresh = video_sampler(qwen_parts, prefix_cache=False, feature_cache=False)
    window = make_window(4)
    for question in (QUESTION, "Where is the red car parked?", QUESTION):
        a, b = reused.score_window(window, question), fresh.score_window(window, question)
        assert a.raw_output == b.raw_output
    assert reused.prefix_cache is not None
    assert reused.prefix_cache.stats().hits == 2


@pytest.mark.parametrize(
    ("fps", "expected"),
    [
        (1.0, [2, 0, 5, 5, 0, 0]),  # second i is frame i
        (2.0, [2, 2, 0, 0, 5, 5]),  # two frames a second; seconds 4-5 are past the video's 3 s
        (0.5, [2, 5, 0, 0, 0, 0]),  # a frame every 2 s: frame 1 spans seconds 2-3
    ],
)
def test_answers_in_seconds_are_read_back_onto_frames(qwen_parts: tuple[Any, Any, Any], fps: float,
                                                      expected: list[float]) -> None:
    s = video_sampler(qwen_parts)
    parsed = s.read_answer('{"2-3": 5, "0": 2}', 6, fps)
    assert parsed.scores == expected
    images = GenS3BSampler.from_components(*qwen_parts)
    assert images.read_answer('{"2-3": 5, "0": 2}', 6, fps).scores == [2, 0, 5, 5, 0, 0]  # labels, not seconds


def test_frame_rate_and_seconds_helpers() -> None:
    assert video_fps([10.0, 11.0, 12.0, 13.0]) == 1.0
    assert video_fps([0.0, 0.5, 1.0, 2.0]) == 2.0  # the median spacing
    assert video_fps([5.0]) == 1.0
    assert seconds_to_frame_scores([0, 4], 4, 4.0) == [0, 0, 0, 0]
    assert seconds_to_frame_scores([0, 4], 8, 4.0) == [0, 0, 0, 0, 4, 4, 4, 4]


def test_the_layout_is_a_checked_option_with_a_flag(tmp_path: Path) -> None:
    option = next(o for o in GenS3BSampler.describe_options() if o.name == "input_layout")
    assert option.default == "images"
    assert option.choices == ("images", "video")
    assert option.flag == "--input-layout"
    assert "video" in option.help
    with pytest.raises(InvalidArgumentError, match="input_layout"):
        GenS3BSampler(tmp_path / "never-loaded", input_layout="frames")


def test_frames_of_different_sizes_cannot_be_one_video(qwen_parts: tuple[Any, Any, Any]) -> None:
    s = video_sampler(qwen_parts, frame_size=None)
    frames = [f.require_image() for f in color_frames(2)]
    with pytest.raises(InvalidArgumentError, match="same size"):
        s.preprocess_video([frames[0], frames[1].resize((320, 180))], fps=1.0)
