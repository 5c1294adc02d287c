"""GenS by default: with no sampler named, GenS runs when it can (here: a tiny GenS-3B in the Hugging Face
cache); otherwise uniform sampling runs and says so everywhere — in the selection, as a warning, on the
command line's stderr, and in the text an agent reads. Long videos go hybrid when the strategy says so."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, ClassVar

import pytest

from gens_tools import FallbackWarning, FrameSampler, Window, WindowScores, sample_frames
from gens_tools.agent import VideoFramesTool, describe_selection
from gens_tools.cli import main
from gens_tools.errors import ModelUnavailableError
from gens_tools.options import SamplingOptions
from gens_tools.pipeline import _sample
from gens_tools.samplers._default import GENS_3B_ID, HOW_TO_GET_GENS
from gens_tools.samplers._parser import format_gens_output, parse_gens_output
from gens_tools.samplers.auto import AutoSampler
from gens_tools.samplers.hybrid import HybridSampler
from gens_tools.synthetic import read_time_code

QUESTION = "When does the red ball appear?"


def test_without_gens_the_default_is_uniform_and_says_why_everywhere(
    video_40s: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.warns(FallbackWarning, match="uniform sampling") as caught:
        selection = sample_frames(video_40s, QUESTION, k=4)
    assert selection.sampler == "uniform"
    (notice,) = selection.notices
    assert notice == str(caught[0].message)
    assert notice.startswith("uniform sampling (the question is ignored)")
    assert "HF_HUB_OFFLINE" in notice
    assert HOW_TO_GET_GENS in notice
    assert json.loads(selection.to_json())["notices"] == [notice]
    # The text an agent reads says it too.
    assert notice in describe_selection(selection)
    # The command line: one plain line on stderr, no Python warning, exit 0.
    assert main(["sample", str(video_40s), QUESTION, "-k", "4", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"gens-tools: note: {notice}"]


def test_the_agent_tool_tells_the_model_about_the_fallback(video_40s: Path) -> None:
    from gens_tools import AccessPolicy

    tool = VideoFramesTool(policy=AccessPolicy.allow([video_40s.parent]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        result = tool.run({"video": str(video_40s), "question": QUESTION, "k": 3})
    assert "uniform sampling (the question is ignored)" in result.text


def _cache_tiny_gens_3b(cache: Path) -> None:
    """A tiny random-weight GenS-3B saved where the Hugging Face cache keeps ``yaolily/GenS-qwen2d5-vl-3b``."""
    from gens_tools.samplers.gens_3b import GenS3BSampler
    from gens_tools.testing import tiny_qwen

    tokenizer = tiny_qwen.build_qwen_tokenizer()
    sampler = GenS3BSampler.from_components(
        tiny_qwen.build_qwen_model(tokenizer), tokenizer, tiny_qwen.build_qwen_image_processor()
    )
    repo = cache / ("models--" + GENS_3B_ID.replace("/", "--"))
    commit = "a" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    sampler.save_pretrained(repo / "snapshots" / commit)


def test_with_gens_3b_in_the_hub_cache_the_default_is_gens(
    video_40s: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("transformers")
    from huggingface_hub import constants

    _cache_tiny_gens_3b(tmp_path)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error", FallbackWarning)  # no fallback may happen
        sampler = AutoSampler(device="cpu")
        try:
            selection = sample_frames(video_40s, QUESTION, sampler=sampler, k=4, strategy="windows")
        finally:
            sampler.close()
    assert selection.sampler == "gens-3b"
    assert selection.notices == []
    assert selection.windows  # GenS ran over the windows (random weights: what it answered does not matter)


class ReadsTimes(FrameSampler):
    """A stand-in GenS (``generative``): frames painted 20-22 s are relevant."""

    name: ClassVar[str] = "reads-times"
    generative = True

    def __init__(self) -> None:
        self.window_size = 16
        self.calls = 0

    def score_window(self, window: Window, question: str) -> WindowScores:
        self.calls += 1
        times = [read_time_code(f.require_image()) for f in window.frames]
        text = format_gens_output([(i, i, 5) for i, t in enumerate(times) if 20 <= t < 23])
        return parse_gens_output(text, len(window)).to_window_scores(window.index, raw_output=text)


class Near21(FrameSampler):
    """A stand-in CLIP: closeness to 21 s."""

    name: ClassVar[str] = "near-21"

    def __init__(self) -> None:
        self.window_size = 16

    def score_window(self, window: Window, question: str) -> WindowScores:
        times = [read_time_code(f.require_image()) for f in window.frames]
        return WindowScores(window.index, [max(0.0, 5 - abs(t - 21) / 4) for t in times])


def test_auto_strategy_goes_hybrid_on_a_grid_longer_than_one_window(
    video_40s: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[Any] = []

    def fake_coarse(model: str, **kw: Any) -> FrameSampler:
        asked.append(model)
        return Near21()

    monkeypatch.setattr(_sample, "coarse_sampler", fake_coarse)
    fine = ReadsTimes()
    selection = sample_frames(video_40s, QUESTION, sampler=fine, k=3, hybrid_pool=8)
    assert asked == [SamplingOptions().coarse_model]
    assert fine.calls == 1  # one GenS window of the 8 best frames, not 3 windows of 16
    assert selection.sampler == "hybrid(near-21→reads-times)"
    assert sorted(round(f.timestamp) for f in selection.frames) == [20, 21, 22]
    assert selection.timeline is not None
    assert selection.timeline.passed is not None
    assert sum(selection.timeline.passed) == 8
    # "windows" keeps the exhaustive strategy.
    fine = ReadsTimes()
    selection = sample_frames(video_40s, QUESTION, sampler=fine, k=3, strategy="windows")
    assert fine.calls == 3
    assert selection.sampler == "reads-times"


def test_without_the_similarity_model_auto_says_it_scored_every_window(
    video_40s: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(model: str, **kw: Any) -> FrameSampler:
        raise ModelUnavailableError(f"{model} is not in the Hugging Face cache")

    monkeypatch.setattr(_sample, "coarse_sampler", missing)
    fine = ReadsTimes()
    with pytest.warns(FallbackWarning, match="windows strategy instead of the hybrid"):
        selection = sample_frames(video_40s, QUESTION, sampler=fine, k=3)
    assert fine.calls == 3
    assert "GenS scored all 3 windows" in selection.notices[0]
    # Asking for the hybrid explicitly never falls back.
    with pytest.raises(ModelUnavailableError):
        sample_frames(video_40s, QUESTION, sampler=ReadsTimes(), k=3, strategy="hybrid")


def test_a_prebuilt_hybrid_sampler_is_used_as_it_is(video_40s: Path) -> None:
    fine = ReadsTimes()
    sampler = HybridSampler(fine, Near21(), pool=6)
    selection = sample_frames(video_40s, QUESTION, sampler=sampler, k=3, strategy="windows")
    assert fine.calls == 1
    assert selection.sampler.startswith("hybrid(")
