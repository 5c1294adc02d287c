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


def qwen_video_patchify(
    frames: list[Image.Image], processor: Any, *, temporal: int = 2, patch: int = 14, merge: int = 2
) -> tuple[np.ndarray, list[int]]:
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
    stills = qwen_parts[2](
        images=[a, b], return_tensors="pt", size={"shortest_edge": 112 * 112, "longest_edge": 112 * 112}
    )
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


def released_qwen_positions(
    ids: list[int], video_id: int, grid: list[int], second_per_grid: float, tokens_per_second: int, merge: int = 2
) -> torch.Tensor:
    """Qwen2.5-VL's rotary positions as released (its original ``get_rope_index``), for one video: text
    counts up; each video token takes (start + ⌊g·s·tps⌋, start + row, start + col); the text after resumes
    one past the largest position so far."""
    groups, rows, cols = grid[0], grid[1] // merge, grid[2] // merge
    out: list[tuple[int, int, int]] = []
    i = 0
    while i < len(ids):
        nxt = max(max(p) for p in out) + 1 if out else 0
        if ids[i] != video_id:
            out.append((nxt, nxt, nxt))
            i += 1
            continue
        for g in range(groups):
            for r in range(rows):
                for c in range(cols):
                    out.append((nxt + int(g * second_per_grid * tokens_per_second), nxt + r, nxt + c))
        i += groups * rows * cols
    return torch.tensor(out).T


@pytest.mark.parametrize("fps", [1.0, 2.0, 0.5])
def test_temporal_positions_follow_the_grid_frame_rate(qwen_parts: tuple[Any, Any, Any], fps: float) -> None:
    """Each temporal patch lasts 2/fps seconds, and the rotary positions say so: the video's time axis steps
    by tokens_per_second × 2/fps, and the question after the video starts after its last position (as
    Qwen2.5-VL was released; transformers 5.24 would restart it inside the video's time span)."""
    s = video_sampler(qwen_parts)
    window = _window_at(fps)
    prompt = s._prompt(window, QUESTION)
    assert prompt.fps == pytest.approx(fps)
    features = s._vision_features(window, prompt)
    assert features.second_per_grid is not None
    assert features.second_per_grid.tolist() == [2 / fps]
    positions, delta = s.video_position_ids(prompt.ids, features)
    tps = s.model.config.vision_config.tokens_per_second
    video_id = s.tokenizer.convert_tokens_to_ids("<|video_pad|>")
    expected = released_qwen_positions(prompt.ids, video_id, [3, 8, 8], 2 / fps, tps)
    assert torch.equal(positions, expected)
    assert delta == int(expected.max()) + 1 - len(prompt.ids)
    # the video part is what transformers' own rope index gives too
    ids = torch.tensor([prompt.ids])
    theirs, _ = s.model.model.get_rope_index(
        ids,
        mm_token_type_ids=s.mm_token_types(ids),
        video_grid_thw=features.grid,
        second_per_grid_ts=features.second_per_grid,
    )
    last_video = max(i for i, t in enumerate(prompt.ids) if t == video_id)
    assert torch.equal(theirs[:, 0, : last_video + 1], expected[:, : last_video + 1])


@pytest.fixture(scope="module")
def sharp_parts(qwen_parts: tuple[Any, Any, Any]) -> tuple[Any, Any, Any]:
    """A tiny Qwen2.5-VL whose answers depend on rotary positions (small theta, peaked attention)."""
    from gens_tools.testing import tiny_qwen

    _model, tokenizer, processor = qwen_parts
    return tiny_qwen.build_qwen_model(tokenizer, rope_theta=10.0, attention_scale=20.0), tokenizer, processor


def _greedy(
    model: Any,
    seq: list[int],
    video: dict[str, torch.Tensor],
    video_id: int,
    stops: list[int],
    positions_of: Any,
    steps: int = 12,
) -> list[int]:
    """Greedy decoding by full forwards over the standard video inputs, with the given rotary positions."""
    seq, tokens = list(seq), []
    with torch.inference_mode():
        for _ in range(steps):
            ids = torch.tensor([seq])
            model.model.rope_deltas = None
            logits = model(
                input_ids=ids,
                mm_token_type_ids=(ids == video_id).int() * 2,
                position_ids=positions_of(seq).unsqueeze(1),
                **video,
            ).logits
            tok = int(logits[0, -1].argmax())
            if tok in stops:
                break
            tokens.append(tok)
            seq.append(tok)
    model.model.rope_deltas = None
    return tokens


def test_the_sampler_answers_as_the_model_reads_the_video_whole(sharp_parts: tuple[Any, Any, Any]) -> None:
    """The sampler (cached vision features, cached prefix, batched decoding) gives the tokens of a plain greedy
    loop over full forwards with the standard video inputs (``pixel_values_videos``, ``video_grid_thw``,
    ``second_per_grid_ts``) and the released rotary positions, for two questions; on a model whose answers
    change when the text after the video is placed inside its time span instead."""
    s = video_sampler(sharp_parts, batch_size=1)
    window = make_window(9)
    video_id = s.tokenizer.convert_tokens_to_ids("<|video_pad|>")
    tps = s.model.config.vision_config.tokens_per_second
    grid = [5, 8, 8]

    def released(seq: list[int]) -> torch.Tensor:
        return released_qwen_positions(seq, video_id, grid, 2.0, tps)

    def text_inside_video(seq: list[int]) -> torch.Tensor:
        positions = released(seq)
        after = max(i for i, t in enumerate(seq) if t == video_id) + 1
        start = seq.index(video_id)
        positions[:, after:] = torch.arange(len(seq) - after) + start + 4  # after the 4×4 spatial extent
        return positions

    for question in (QUESTION, "Where is the red car parked?"):
        prompt = s._prompt(window, question)
        video = s.preprocess_video([f.require_image() for f in window.frames], prompt.fps)
        expected = _greedy(s.model, prompt.ids, video, video_id, s._eos_ids, released)
        assert expected
        assert expected != _greedy(s.model, prompt.ids, video, video_id, s._eos_ids, text_inside_video)
        answer = s.score_window(window, question)
        assert answer.raw_output == s.tokenizer.decode(expected, skip_special_tokens=True)
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
def test_answers_in_seconds_are_read_back_onto_frames(
    qwen_parts: tuple[Any, Any, Any], fps: float, expected: list[float]
) -> None:
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
