"""GenS-3B (Qwen2.5-VL) in-process: preprocessing, prompt layout, generation → parser → scores, prefix reuse,
batching, save/load, and errors — on a tiny random-weight model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from gens_tools.errors import InvalidArgumentError, ModelUnavailableError, SamplerError
from gens_tools.progress import ProgressEvent
from gens_tools.samplers._base import Window
from gens_tools.samplers._local.prefix_cache import PrefixCache
from gens_tools.samplers._prompt import GENS_INSTRUCTION
from gens_tools.samplers._registry import make_sampler
from gens_tools.samplers.gens_3b import GenS3BSampler, default_max_new_tokens
from tests.samplers.gens_3b.conftest import make_window

QUESTION = "What is the man holding?"


def sampler(parts: tuple[Any, Any, Any], **options: Any) -> GenS3BSampler:
    model, tokenizer, image_processor = parts
    options.setdefault("max_new_tokens", 16)
    return GenS3BSampler.from_components(model, tokenizer, image_processor, **options)


def force_answer(monkeypatch: pytest.MonkeyPatch, s: GenS3BSampler, answer: str) -> list[dict[str, Any]]:
    """Make the model 'answer' ``answer`` (then <|im_end|>) for every row; returns the generate() calls seen."""
    calls: list[dict[str, Any]] = []
    answer_ids = s.tokenizer(answer, add_special_tokens=False)["input_ids"] + [s._eos_ids[0]]

    def fake_generate(**kwargs: Any) -> torch.Tensor:
        calls.append(kwargs)
        ids = kwargs["input_ids"]
        tail = torch.tensor([answer_ids] * ids.shape[0], dtype=ids.dtype)
        return torch.cat([ids, tail], dim=1)

    monkeypatch.setattr(s.model, "generate", fake_generate)
    return calls


# ----------------------------------------------------------------------------------------- preprocessing
def test_frames_become_112px_patches_with_16_tokens_each(qwen_parts: tuple[Any, Any, Any]) -> None:
    s = sampler(qwen_parts)
    window = make_window(5)  # 160×90 frames
    pixels = s.preprocess([f.require_image() for f in window.frames])
    # 112×112 → an 8×8 grid of 14-px patches per frame; each patch row holds 3 channels × 2 (temporal) × 14²
    assert pixels["image_grid_thw"].tolist() == [[1, 8, 8]] * 5
    assert tuple(pixels["pixel_values"].shape) == (5 * 64, 3 * 2 * 14 * 14)
    assert s.tokens_per_frame() == 16


def test_native_resolution_when_frame_size_is_none(qwen_parts: tuple[Any, Any, Any]) -> None:
    s = sampler(qwen_parts, frame_size=None)
    image = make_window(1).frames[0].require_image()  # 160×90
    pixels = s.preprocess([image])
    t, h, w = pixels["image_grid_thw"][0].tolist()
    assert (t, h, w) != (1, 8, 8)
    assert s.tokens_per_frame(image) == h * w // 4


def test_frame_size_must_fit_the_patch_grid(qwen_parts: tuple[Any, Any, Any]) -> None:
    with pytest.raises(InvalidArgumentError, match="multiples of 28"):
        sampler(qwen_parts, frame_size=(100, 100))


# ---------------------------------------------------------------------------------------- prompt layout
def test_prompt_tokens_hold_labels_image_runs_question_and_instruction(qwen_parts: tuple[Any, Any, Any]) -> None:
    s = sampler(qwen_parts)
    window = make_window(4)
    prompt = s._prompt(window, QUESTION)
    ids = prompt.ids
    tok = s.tokenizer
    start_id, end_id = tok.convert_tokens_to_ids("<|vision_start|>"), tok.convert_tokens_to_ids("<|vision_end|>")
    pad_id = tok.convert_tokens_to_ids("<|image_pad|>")
    starts = [i for i, t in enumerate(ids) if t == start_id]
    ends = [i for i, t in enumerate(ids) if t == end_id]
    assert len(starts) == len(ends) == 4
    for a, b in zip(starts, ends, strict=True):
        assert ids[a + 1 : b] == [pad_id] * 16  # exactly the frame's 16 visual tokens, nothing else
    assert ids.count(pad_id) == 4 * 16
    # Text around the images: ChatML turns, a [i] label right before each frame, then question + instruction.
    text = tok.decode(ids)
    assert text.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n[0]")
    for i in range(4):
        label = tok.decode(ids[starts[i] - 3 : starts[i]])
        assert label.endswith(f"[{i}]")
    assert text.endswith(f"\nQuestion: {QUESTION}\n{GENS_INSTRUCTION}<|im_end|>\n<|im_start|>assistant\n")
    # The reusable prefix ends with the last frame; everything after it is the question part.
    assert prompt.prefix_len == ends[-1] + 1
    assert tok.decode(ids[prompt.prefix_len :]).startswith("\nQuestion:")


def test_prefix_is_identical_for_different_questions(qwen_parts: tuple[Any, Any, Any]) -> None:
    s = sampler(qwen_parts)
    window = make_window(3)
    p1, p2 = s._prompt(window, "Who opens the door?"), s._prompt(window, "Where is the red car parked?")
    assert p1.prefix_len == p2.prefix_len
    assert p1.ids[: p1.prefix_len] == p2.ids[: p2.prefix_len]
    assert p1.ids[p1.prefix_len :] != p2.ids[p2.prefix_len :]
    assert p1.key == p2.key


def test_system_prompt_and_instruction_are_configurable(qwen_parts: tuple[Any, Any, Any]) -> None:
    s = sampler(qwen_parts, system_prompt=None, instruction="Rate the frames.")
    text = s.build_prompt(2, QUESTION, 1)
    assert text.startswith("<|im_start|>user\n[0]<|vision_start|><|image_pad|><|vision_end|>\n[1]")
    assert text.endswith("Question: What is the man holding?\nRate the frames.<|im_end|>\n<|im_start|>assistant\n")


# ------------------------------------------------------------------------------- generation → scores
def test_random_weights_give_garbage_and_the_window_comes_back_unscored(qwen_parts: tuple[Any, Any, Any]) -> None:
    s = sampler(qwen_parts)
    result = s.score_window(make_window(6), QUESTION)
    assert result.raw_output  # the model did generate text…
    assert result.scores is None  # …but nothing usable: unscored, never all-relevant
    assert result.issues
    assert result.usage["completion_tokens"] > 0


def test_a_known_answer_maps_onto_frame_scores(
    qwen_parts: tuple[Any, Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    s = sampler(qwen_parts)
    calls = force_answer(monkeypatch, s, '{"1-2": 5, "4": 3, "9": 4}')
    window = make_window(6, index=2)
    result = s.score_window(window, QUESTION)
    assert result.window_index == 2
    assert result.scores == [0, 5, 5, 0, 3, 0]  # index 9 is past the window: dropped, and said so
    assert any("9" in issue for issue in result.issues)
    # generate() continued from the cached frame prefix: the cache already held the prefix tokens.
    (call,) = calls
    prompt = s._prompt(window, QUESTION)
    assert call["cache"].get_seq_length() == prompt.prefix_len  # transformers >= 5.24 names it `cache`
    assert call["input_ids"][0].tolist() == prompt.ids
    assert call["do_sample"] is False
    assert call["max_new_tokens"] == 16


def test_answer_budget_grows_with_the_window(qwen_parts: tuple[Any, Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    s = sampler(qwen_parts, max_new_tokens=None)
    calls = force_answer(monkeypatch, s, "{}")
    assert s.score_window(make_window(3), QUESTION).scores == [0, 0, 0]  # "{}": valid, nothing relevant
    assert calls[0]["max_new_tokens"] == default_max_new_tokens(3)
    assert default_max_new_tokens(3) < default_max_new_tokens(100) < default_max_new_tokens(256) == 1024


# ------------------------------------------------------------------------------------------ prefix reuse
def test_answers_are_identical_with_and_without_prefix_reuse(qwen_parts: tuple[Any, Any, Any]) -> None:
    questions = ["What is the man holding?", "Who opens the door?", "Where is the red car parked?"]
    windows = [make_window(6, index=0, seed=1), make_window(4, index=1, seed=2)]
    reuse = sampler(qwen_parts, max_new_tokens=24)
    fresh = sampler(qwen_parts, max_new_tokens=24, prefix_cache=False)
    for q_index, question in enumerate(questions):
        for window in windows:
            with_reuse = reuse.score_window(window, question)
            without = fresh.score_window(window, question)
            assert with_reuse.raw_output == without.raw_output
            assert with_reuse.usage["prefix_reused"] is (q_index > 0)
            assert without.usage["prefix_reused"] is False
    assert reuse.prefix_cache is not None
    assert len(reuse.prefix_cache) == 2
    # The cached KV was copied before generating: it still holds exactly the prefix.
    for key in reuse.prefix_cache:
        state = reuse.prefix_cache.get(key)
        assert state.past_key_values.get_seq_length() == state.length


def test_prefix_path_matches_plain_generate_on_the_full_prompt(qwen_parts: tuple[Any, Any, Any]) -> None:
    """The reference: transformers' own generate() over the whole prompt with the pixels, no cache tricks."""
    s = sampler(qwen_parts, max_new_tokens=24)
    window = make_window(5, seed=7)
    for question in ("Who opens the door?", "What happens after the speaker shows the chart?"):
        ours = s.score_window(window, question)
        prompt = s._prompt(window, question)
        pixels = s.preprocess([f.require_image() for f in window.frames])
        ids = torch.tensor([prompt.ids])
        s.model.model.rope_deltas = None
        with torch.inference_mode():
            out = s.model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                pixel_values=pixels["pixel_values"],
                image_grid_thw=pixels["image_grid_thw"],
                mm_token_type_ids=(ids == s.model.config.image_token_id).int(),
                max_new_tokens=24,
                do_sample=False,
                eos_token_id=s._eos_ids,
                pad_token_id=s._pad_id,
            )
        reference = s.tokenizer.decode(
            [t for t in out[0, ids.shape[1] :].tolist() if t not in s._eos_ids], skip_special_tokens=True
        )
        assert ours.raw_output == reference


def test_the_prefix_is_keyed_by_video_window_and_frames(qwen_parts: tuple[Any, Any, Any]) -> None:
    cache = PrefixCache()
    s = sampler(qwen_parts, prefix_cache=cache, max_new_tokens=2)
    s.score_window(make_window(3, video_key="video-a"), QUESTION)
    s.score_window(make_window(3, video_key="video-b"), QUESTION)  # another video: not a hit
    s.score_window(make_window(4, video_key="video-a"), QUESTION)  # the window came out longer: not a hit
    assert cache.stats().hits == 0
    assert len(cache) == 3
    result = s.score_window(make_window(3, video_key="video-a"), "Who opens the door?")
    assert result.usage["prefix_reused"] is True
    # Without a video key the pictures themselves identify the window.
    s.score_window(make_window(3, video_key=None, seed=9), QUESTION)
    again = s.score_window(make_window(3, video_key=None, seed=9), "Who opens the door?")
    assert again.usage["prefix_reused"] is True


def test_the_prefix_cache_stays_within_its_bound(qwen_parts: tuple[Any, Any, Any]) -> None:
    s = sampler(qwen_parts, prefix_cache=PrefixCache(max_entries=2), max_new_tokens=2)
    for i in range(4):
        s.score_window(make_window(2, index=i, seed=i), QUESTION)
    assert s.prefix_cache is not None
    assert len(s.prefix_cache) == 2
    assert s.score_window(make_window(2, index=0, seed=0), QUESTION).usage["prefix_reused"] is False
    assert s.score_window(make_window(2, index=3, seed=3), QUESTION).usage["prefix_reused"] is True


def test_vision_features_outlive_an_evicted_kv_prefix(qwen_parts: tuple[Any, Any, Any]) -> None:
    s = sampler(qwen_parts, prefix_cache=PrefixCache(max_entries=1), max_new_tokens=20)
    reference = sampler(qwen_parts, prefix_cache=False, feature_cache=False, max_new_tokens=20)
    runs: list[int] = []
    handle = s.model.model.visual.register_forward_hook(lambda *_: runs.append(1))
    try:
        window_a, window_b = make_window(4, index=0, seed=1), make_window(4, index=1, seed=2)
        s.score_window(window_a, QUESTION)
        s.score_window(window_b, QUESTION)  # evicts window a's KV prefix (one entry allowed)
        assert len(runs) == 2
        again = s.score_window(window_a, "Who opens the door?")
        assert again.usage["prefix_reused"] is False  # the KV prefix was recomputed…
        assert len(runs) == 2  # …from the cached vision features: the vision tower did not run again
        assert again.raw_output == reference.score_window(window_a, "Who opens the door?").raw_output
        assert len(runs) == 3  # (the reference, with no caches, did run it)
    finally:
        handle.remove()


# ---------------------------------------------------------------------------------------------- batching
def test_batched_windows_give_the_same_answers_as_one_at_a_time(qwen_parts: tuple[Any, Any, Any]) -> None:
    windows = [make_window(6, index=0, seed=1), make_window(3, index=1, seed=2), make_window(5, index=2, seed=3)]
    single = sampler(qwen_parts, batch_size=1, max_new_tokens=20)
    batched = sampler(qwen_parts, batch_size=3, max_new_tokens=20)
    one = list(single.score_windows(windows, QUESTION))
    many = list(batched.score_windows(windows, QUESTION))
    assert [r.window_index for r in many] == [0, 1, 2]
    assert [r.raw_output for r in many] == [r.raw_output for r in one]
    assert all(r.usage["batch_size"] == 3 for r in many)


def test_score_windows_is_lazy_and_reports_progress_per_window(qwen_parts: tuple[Any, Any, Any]) -> None:
    s = sampler(qwen_parts, batch_size=1, max_new_tokens=2)
    pulled: list[int] = []

    def windows() -> Iterator[Window]:
        for i in range(3):
            pulled.append(i)
            yield make_window(2, index=i, seed=i)

    events: list[ProgressEvent] = []
    results = s.score_windows(windows(), QUESTION, total=3, progress=events.append)
    first = next(results)
    assert first.window_index == 0
    assert pulled == [0]
    rest = list(results)
    assert [r.window_index for r in rest] == [1, 2]
    finished = [(e.stage, e.done, e.total) for e in events if not e.message]
    assert finished == [("score", 1, 3), ("score", 2, 3), ("score", 3, 3)]
    # while a window's frames are encoded, a heartbeat repeats the finished count with a message
    assert [(e.done, e.message) for e in events if e.message] == [
        (0, "window 0: frames encoded"),
        (1, "window 1: frames encoded"),
        (2, "window 2: frames encoded"),
    ]


# ------------------------------------------------------------------------------------------------ errors
def test_bad_windows_and_questions_are_typed_errors(qwen_parts: tuple[Any, Any, Any]) -> None:
    s = sampler(qwen_parts, window_size=4)
    with pytest.raises(InvalidArgumentError, match="at most 4"):
        s.score_window(make_window(5), QUESTION)
    with pytest.raises(InvalidArgumentError, match="question is empty"):
        s.score_window(make_window(2), "   ")
    with pytest.raises(InvalidArgumentError, match="max_new_tokens"):
        sampler(qwen_parts, max_new_tokens=0)


def test_unknown_options_are_refused_before_loading(qwen_parts: tuple[Any, Any, Any], tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match=r"unknown option.*window_szie"):
        sampler(qwen_parts, window_szie=8)
    with pytest.raises(InvalidArgumentError, match="window_szie"):
        GenS3BSampler(tmp_path / "not-even-looked-at", window_szie=8)


def test_auto_batch_size_follows_free_memory(qwen_parts: tuple[Any, Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from gens_tools.samplers import gens_3b as qwen_gens

    s = sampler(qwen_parts)
    assert 1 < s.auto_batch_size() <= qwen_gens.MAX_AUTO_BATCH  # a tiny model: many windows fit
    monkeypatch.setattr(qwen_gens, "free_memory", lambda device: 10_000)
    assert s.auto_batch_size() == 1
    assert sampler(qwen_parts, batch_size=3).auto_batch_size() == 3


def test_out_of_memory_says_which_window_size_to_try(
    qwen_parts: tuple[Any, Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    s = sampler(qwen_parts, prefix_cache=False)

    def oom(**kwargs: Any) -> torch.Tensor:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(s.model, "generate", oom)
    with pytest.raises(SamplerError, match="try window_size=4"):
        s.score_window(make_window(8), QUESTION)


def test_offline_without_weights_names_the_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelUnavailableError, match="yaolily/GenS-qwen2d5-vl-3b"):
        GenS3BSampler(device="cpu")  # the default model id, not downloaded here
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        make_sampler("gens-3b", model=str(tmp_path / "missing-folder"))


def test_save_then_load_from_a_local_folder(qwen_parts: tuple[Any, Any, Any], tmp_path: Path) -> None:
    original = sampler(qwen_parts, max_new_tokens=20)
    folder = original.save_pretrained(tmp_path / "gens-3b-tiny")
    loaded = GenS3BSampler(folder, device="cpu", max_new_tokens=20)
    # What was loaded is what was saved: same weights, tokenizer and image-processor settings…
    assert loaded.model.dtype == torch.float32
    assert loaded.model.config._attn_implementation == "sdpa"
    for name, tensor in original.model.state_dict().items():
        assert torch.equal(tensor, loaded.model.state_dict()[name]), name
    sample = "[3]<|vision_start|><|image_pad|><|vision_end|>\nQuestion: x"
    assert loaded.tokenizer(sample)["input_ids"] == original.tokenizer(sample)["input_ids"]
    assert loaded.image_processor.to_dict() == original.image_processor.to_dict()
    assert json.loads((folder / "preprocessor_config.json").read_text())["merge_size"] == 2
    # …so it answers the same.
    window = make_window(5, seed=4)
    assert loaded.score_window(window, QUESTION).raw_output == original.score_window(window, QUESTION).raw_output


def test_a_model_of_another_architecture_is_refused(clip_parts: tuple[Any, Any, Any], tmp_path: Path) -> None:
    model, _, _ = clip_parts
    model.save_pretrained(tmp_path)
    with pytest.raises(InvalidArgumentError, match=r"not Qwen2\.5-VL"):
        GenS3BSampler(tmp_path, device="cpu")


def test_closed_sampler_refuses_work(qwen_parts: tuple[Any, Any, Any]) -> None:
    s = sampler(qwen_parts)
    s.close()
    s.close()  # twice is fine
    with pytest.raises(SamplerError, match="closed"):
        s.score_window(make_window(2), QUESTION)


# ------------------------------------------------------------------------------------- through the pipeline
def test_sample_frames_with_gens_3b_end_to_end(
    qwen_parts: tuple[Any, Any, Any], monkeypatch: pytest.MonkeyPatch, video_40s: Path
) -> None:
    from gens_tools.pipeline._sample import sample_frames

    s = sampler(qwen_parts, window_size=16)
    force_answer(monkeypatch, s, '{"3-5": 5, "7": 2}')
    events: list[ProgressEvent] = []
    selection = sample_frames(video_40s, QUESTION, sampler=s, k=4, progress=events.append)
    # 40 s at 1 fps → three windows of at most 16 frames, each answering its local frames 3-5 (score 5) and
    # 7 (score 2): the four chosen frames are among the score-5 ones, at their real times.
    assert len(selection.windows) == 3
    assert sum(w.n_frames for w in selection.windows) == 40
    assert all(w.scored for w in selection.windows)
    assert [e.done for e in events if e.stage == "score" and not e.message] == [1, 2, 3]
    best = {round(w.start) + i for w in selection.windows for i in (3, 4, 5)}
    chosen = [round(f.timestamp) for f in selection.frames]
    assert len(chosen) == 4
    assert set(chosen) <= best
    assert all(f.score == 5 for f in selection.frames)
    # A second question about the same video reuses every window's frame prefix.
    assert s.prefix_cache is not None
    hits_before = s.prefix_cache.stats().hits
    sample_frames(video_40s, "Who opens the door?", sampler=s, k=4)
    assert s.prefix_cache.stats().hits - hits_before == 3


def test_unparseable_answers_leave_windows_unscored_in_the_selection(
    qwen_parts: tuple[Any, Any, Any], video_40s: Path
) -> None:
    from gens_tools.pipeline._sample import sample_frames

    s = sampler(qwen_parts, window_size=16, max_new_tokens=8)
    selection = sample_frames(video_40s, QUESTION, sampler=s, k=4)
    assert [w.scored for w in selection.windows] == [False, False, False]
    assert all(w.issues for w in selection.windows)
    assert len(selection.frames) == 4
    assert not any(f.score for f in selection.frames)  # nothing was called relevant
