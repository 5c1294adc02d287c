"""GenSAriaSampler: generation → parser → selection, prefix reuse, batching, loading and errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from gens_tools.errors import InvalidArgumentError, ModelUnavailableError, SamplerError
from gens_tools.pipeline._selection import select_indices
from gens_tools.progress import ProgressEvent
from gens_tools.samplers._local.prefix_cache import PrefixCache
from gens_tools.samplers._registry import sampler_class
from gens_tools.samplers._windows import merge_window_scores, plan_windows
from gens_tools.samplers.gens_aria._sampler import GenSAriaSampler, default_max_new_tokens
from gens_tools.testing import tiny_aria
from gens_tools.testing.tiny_aria import window

Q1 = "What is the man holding?"
Q2 = "Where is the red car parked?"


@pytest.fixture(scope="module")
def scripted() -> tuple[Any, Any]:
    """(model, tokenizer) of a tiny Aria that always answers {"1-2": 5, "0": 3}."""
    return tiny_aria.scripted_parts(['{"1-2": 5', ', "0": 3}'])


def test_generation_parser_selection_end_to_end(scripted: tuple[Any, Any]) -> None:
    """Ten frames in windows of four: every window says its frames 1–2 score 5 and frame 0 scores 3; the
    merged scores map those local labels back onto the video and the top three frames are chosen."""
    sampler = GenSAriaSampler.from_components(*scripted, window_size=4)
    plan = plan_windows(10, sampler.window_size)
    assert [len(r) for r in plan] == [4, 3, 3]
    windows = [window(len(r), index=i, start=float(r.start), seed=i) for i, r in enumerate(plan)]
    events: list[ProgressEvent] = []
    results = list(sampler.score_windows(iter(windows), Q1, total=len(windows), progress=events.append))

    assert [(e.stage, e.done, e.total) for e in events] == [("score", i, 3) for i in (1, 2, 3)]
    for res, w in zip(results, windows, strict=True):
        assert res.window_index == w.index
        assert res.raw_output == '{"1-2": 5, "0": 3}'
        assert not res.repaired
        assert res.issues == []
        assert res.scores == [3.0, 5.0, 5.0] + [0.0] * (len(w) - 3)
        assert res.usage["prompt_tokens"] > len(w) * tiny_aria.QUERIES
        assert res.usage["completion_tokens"] > 0

    merged = merge_window_scores(10, ((list(r), res) for r, res in zip(plan, results, strict=True)))
    assert merged == [3, 5, 5, 0, 3, 5, 5, 3, 5, 5]
    chosen = select_indices(merged, 3)
    assert chosen == [1, 5, 8]  # one frame from each of the three score-5 spans
    assert [windows[0].frames[1].timestamp, windows[0].frames[2].timestamp, windows[1].frames[1].timestamp] == [
        1.0,
        2.0,
        5.0,
    ]


def test_truncated_answer_is_recovered(scripted: tuple[Any, Any]) -> None:
    """Cut at the token limit, the JSON is not closed: the parser still reads the complete pairs."""
    sampler = GenSAriaSampler.from_components(*scripted, max_new_tokens=1)
    res = sampler.score_window(window(4), Q1)
    assert res.raw_output == '{"1-2": 5'
    assert res.repaired
    assert res.scores == [0.0, 5.0, 5.0, 0.0]
    assert any("truncated" in issue or "not valid JSON" in issue for issue in res.issues)


def test_unreadable_answer_leaves_the_window_unscored() -> None:
    model, tokenizer = tiny_aria.scripted_parts(["no", " idea"])
    res = GenSAriaSampler.from_components(model, tokenizer).score_window(window(3), Q1)
    assert res.scores is None
    assert res.raw_output == "no idea"
    assert res.repaired


@pytest.fixture
def random_model(aria_model: Any) -> Any:
    """The tiny GenS with its random (converted) weights."""
    return aria_model


def test_prefix_reuse_gives_identical_answers(random_model: Any, tokenizer: Any) -> None:
    """The same questions with and without the cached frame prefix: same tokens out, and the cache is hit
    from the second question on (the frames' KV state is computed once)."""
    w = window(2, video_key="video-a")
    with_reuse = GenSAriaSampler.from_components(random_model, tokenizer, max_new_tokens=6)
    without = GenSAriaSampler.from_components(random_model, tokenizer, max_new_tokens=6, reuse_prefix=False)
    reused = [with_reuse.score_window(w, q) for q in (Q1, Q2, Q1)]
    plain = [without.score_window(w, q) for q in (Q1, Q2)]
    for a, b in zip(reused, [*plain, plain[0]], strict=True):
        assert a.raw_output == b.raw_output
        assert a.usage["completion_tokens"] == b.usage["completion_tokens"] > 0
        assert a.scores == b.scores
    assert [r.usage["prefix_reused"] for r in reused] == [False, True, True]
    assert not any(r.usage["prefix_reused"] for r in plain)
    stats = with_reuse.prefix_cache.stats()
    assert (stats.hits, stats.misses, stats.entries) == (2, 1, 1)
    # other frames at the same window position of another video: a miss, never a stale reuse
    other = with_reuse.score_window(window(2, video_key="video-b", seed=5), Q1)
    assert not other.usage["prefix_reused"]
    assert with_reuse.prefix_cache.stats().entries == 2


@torch.no_grad()
def test_prefix_cache_continuation_matches_full_forward(random_model: Any, tokenizer: Any) -> None:
    """Logits of the question tokens computed on top of the cached frame prefix equal a full forward."""
    from transformers import DynamicCache

    sampler = GenSAriaSampler.from_components(random_model, tokenizer)
    w = window(2)
    inputs = sampler._window_ids(w, Q2)
    state = sampler._compute_prefix(w, inputs)
    pixels, _ = sampler._pixels(w)
    ids = torch.tensor([inputs.input_ids])
    full = random_model(input_ids=ids, pixel_values=pixels).logits[0, inputs.prefix_length :]
    cache = DynamicCache(ddp_cache_data=[(layer.keys, layer.values) for layer in state.past_key_values.layers])
    rest = random_model(input_ids=ids[:, inputs.prefix_length :], cache=cache).logits[0]
    torch.testing.assert_close(rest, full, rtol=1e-4, atol=1e-5)


def test_prefix_cache_is_bounded(random_model: Any, tokenizer: Any) -> None:
    w0, w1 = window(2, index=0), window(2, index=1, start=2.0, seed=1)
    sampler = GenSAriaSampler.from_components(random_model, tokenizer, max_new_tokens=1)
    one = sampler._kv_bytes(sampler._window_ids(w0, Q1).prefix_length)
    bounded = GenSAriaSampler.from_components(random_model, tokenizer, max_new_tokens=1, prefix_cache=one + 1)
    for w in (w0, w1, w0):
        bounded.score_window(w, Q1)
    stats = bounded.prefix_cache.stats()
    assert stats.entries == 1
    assert stats.evictions == 2
    assert stats.bytes <= one + 1
    tiny = GenSAriaSampler.from_components(random_model, tokenizer, max_new_tokens=1, prefix_cache=one - 1)
    assert not tiny.score_window(w0, Q1).usage["prefix_reused"]
    assert len(tiny.prefix_cache) == 0
    shared = PrefixCache(max_bytes=10 * one)
    a = GenSAriaSampler.from_components(random_model, tokenizer, max_new_tokens=1, prefix_cache=shared)
    a.score_window(w0, Q1)
    assert len(shared) == 1


def test_without_a_video_key_nothing_is_cached(random_model: Any, tokenizer: Any) -> None:
    sampler = GenSAriaSampler.from_components(random_model, tokenizer, max_new_tokens=1)
    sampler.score_window(window(2, video_key=None), Q1)
    assert len(sampler.prefix_cache) == 0


def test_batched_windows_match_one_by_one(random_model: Any, tokenizer: Any) -> None:
    """Windows of different lengths generated together (left-padded) answer as they do alone."""
    windows = [window(3, index=0), window(2, index=1, start=3.0, seed=1), window(2, index=2, start=5.0, seed=2)]
    one = GenSAriaSampler.from_components(random_model, tokenizer, max_new_tokens=6, reuse_prefix=False)
    batched = GenSAriaSampler.from_components(
        random_model, tokenizer, max_new_tokens=6, reuse_prefix=False, batch_size=2
    )
    events: list[ProgressEvent] = []
    together = list(batched.score_windows(iter(windows), Q1, total=3, progress=events.append))
    alone = [one.score_window(w, Q1) for w in windows]
    assert [r.raw_output for r in together] == [r.raw_output for r in alone]
    assert [r.window_index for r in together] == [0, 1, 2]
    assert [r.usage.get("batch_size", 1) for r in together] == [2, 2, 1]
    assert [e.done for e in events] == [1, 2, 3]


def test_loads_the_published_layout_and_a_converted_folder(
    yi_vl_dir: Path, tmp_path: Path, random_model: Any, tokenizer: Any
) -> None:
    """By path: the yi_vl folder is remapped while loading; converted and other native folders load as they
    are; all answer like the in-memory model."""
    from gens_tools.samplers.gens_aria._convert import convert_checkpoint

    w = window(2)
    expected = GenSAriaSampler.from_components(random_model, tokenizer, max_new_tokens=4).score_window(w, Q1)
    native = convert_checkpoint(yi_vl_dir, tmp_path / "native")
    # a native Aria folder from elsewhere (no conversion marker) goes through from_pretrained
    foreign = tmp_path / "foreign"
    shutil.copytree(native, foreign)
    config = json.loads((foreign / "config.json").read_text())
    del config["gens_tools_conversion"]
    (foreign / "config.json").write_text(json.dumps(config))
    for folder in (yi_vl_dir, native, foreign):
        sampler = GenSAriaSampler(str(folder), device="cpu", max_new_tokens=4)
        assert sampler.tokens_per_image == tiny_aria.QUERIES
        assert sampler.model.dtype == torch.float32
        assert sampler.score_window(w, Q1).raw_output == expected.raw_output
        sampler.close()
        sampler.close()
        with pytest.raises(SamplerError, match="closed"):  # as every in-process sampler says it
            sampler.score_window(w, Q1)


def test_registered_as_gens() -> None:
    assert sampler_class("gens") is GenSAriaSampler
    assert GenSAriaSampler.name == "gens"
    assert GenSAriaSampler.DEFAULT_MODEL_ID == "yaolily/GenS"
    assert GenSAriaSampler.preferred_max_side == 490
    assert GenSAriaSampler.window_size == 256


def test_missing_weights_name_the_model_and_how_to_get_them(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match=r"yaolily/GenS.*(hf download|huggingface-cli)"):
        GenSAriaSampler("yaolily/GenS", device="cpu")
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        GenSAriaSampler(str(tmp_path / "no-such-folder"), device="cpu")


def test_out_of_memory_names_a_window_size_to_try(
    random_model: Any, tokenizer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sampler = GenSAriaSampler.from_components(random_model, tokenizer, reuse_prefix=False)

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(random_model, "generate", boom)
    with pytest.raises(SamplerError, match="window_size=2"):
        sampler.score_window(window(4), Q1)


def test_out_of_memory_while_loading_says_what_is_needed(yi_vl_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gens_tools.samplers.gens_aria._loading as aria_gens

    def boom(*args: Any, **kwargs: Any) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(aria_gens, "_fill_model", boom)
    with pytest.raises(SamplerError, match="51 GB"):
        GenSAriaSampler(str(yi_vl_dir), device="cpu")


def test_bad_windows_and_options_are_refused(random_model: Any, tokenizer: Any) -> None:
    sampler = GenSAriaSampler.from_components(random_model, tokenizer, window_size=3)
    with pytest.raises(InvalidArgumentError, match="at most 3"):
        sampler.score_window(window(4), Q1)
    no_images = window(2)
    for frame in no_images.frames:
        frame.image = None
    with pytest.raises(InvalidArgumentError, match="needs the frame images"):
        sampler.score_window(no_images, Q1)
    with pytest.raises(InvalidArgumentError):
        sampler.score_window(window(2), "  ")
    for bad in ({"window_size": 0}, {"window_size": 300}, {"batch_size": 0}, {"max_new_tokens": -1}):
        with pytest.raises(InvalidArgumentError):
            GenSAriaSampler.from_components(random_model, tokenizer, **bad)


def test_generation_budget_grows_with_the_window() -> None:
    assert default_max_new_tokens(10) == 256
    assert default_max_new_tokens(256) == 896
    assert default_max_new_tokens(100) < default_max_new_tokens(200) <= 1024


def test_sample_frames_with_gens_end_to_end(scripted: tuple[Any, Any], video_40s: Path) -> None:
    """A user's call: 40 s of video at 1 fps in windows of 16 → GenS scores → the top frames with their real
    timestamps. A second question about the same video reuses every window's frame prefix."""
    from gens_tools.pipeline._sample import sample_frames

    sampler = GenSAriaSampler.from_components(*scripted, window_size=16)
    selection = sample_frames(video_40s, Q1, sampler=sampler, k=4)
    assert selection.sampler == "gens"
    assert [w.n_frames for w in selection.windows] == [14, 13, 13]
    assert all(w.scored for w in selection.windows)
    # Each window scored its frames 1-2 as 5: one frame from each of the three spans first, then a second.
    assert [round(f.timestamp, 1) for f in selection.frames] == [1.0, 2.0, 15.0, 28.0]
    assert [f.score for f in selection.frames] == [5.0] * 4
    assert all(f.image is not None and f.image.size == (160, 90) for f in selection.frames)

    assert sampler.prefix_cache.stats().misses == 3
    again = sample_frames(video_40s, Q2, sampler=sampler, k=4)
    assert [f.timestamp for f in again.frames] == [f.timestamp for f in selection.frames]
    assert sampler.prefix_cache.stats().hits == 3
