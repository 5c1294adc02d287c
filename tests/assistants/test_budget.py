"""The budget planner: published image prices, and choosing frames/size/detail that fit a model's limits."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from gens_tools.assistants import (
    UNKNOWN_MODEL,
    estimate_image_tokens,
    plan_frames,
    resolve_limits,
    suggest_frame_count,
)
from gens_tools.errors import InvalidArgumentError
from gens_tools.frames import Frame, FrameSelection

from .conftest import make_selection


@pytest.mark.parametrize(
    ("model", "size", "detail", "tokens"),
    [
        # gpt-4o: the figures from OpenAI's vision pricing description.
        ("gpt-4o", (512, 288), "high", 255),
        ("gpt-4o", (1280, 720), "high", 1105),
        ("gpt-4o", (1280, 720), "low", 85),
        ("gpt-4o", (640, 360), "high", 425),
        ("gpt-4o", (1024, 1024), "high", 765),
        ("gpt-4o", (4096, 2048), "high", 1105),  # fit in 2048², short side to 768: 1536×768 → 3×2 tiles
        ("gpt-4o-2024-08-06", (1280, 720), None, 1105),  # dated names, no detail = priced as high
        ("gpt-4o", (1280, 720), "auto", 1105),
        ("gpt-4o-mini", (512, 512), "low", 2833),
        ("gpt-4.1", (1280, 720), "high", 1105),
        # patch-priced models: 1024² = 1024 patches; 1800×2400 is scaled to 1452 patches (documented example)
        ("gpt-4.1-mini", (1024, 1024), None, 1659),  # ceil(1024 × 1.62)
        ("gpt-4.1-mini", (1800, 2400), None, 2353),  # ceil(1452 × 1.62)
        ("gpt-4.1-nano", (1024, 1024), None, 2520),  # ceil(1024 × 2.46)
    ],
)
def test_openai_image_prices(model: str, size: tuple[int, int], detail: str | None, tokens: int) -> None:
    assert estimate_image_tokens(model, *size, detail) == tokens


@pytest.mark.parametrize(
    ("model", "size", "level", "tokens"),
    [
        ("gemini-2.5-flash", (384, 384), None, 258),
        ("gemini-2.5-flash", (384, 216), None, 258),
        ("gemini-2.0-flash", (100, 50), None, 258),
        ("gemini-2.5-pro", (1280, 720), None, 516),  # two 768-px tiles
        ("gemini-1.5-pro", (768, 768), None, 258),
        ("gemini-3-flash-preview", (1280, 720), None, 1120),  # Gemini 3: the API's default (high) level
        ("gemini-3-flash-preview", (1280, 720), "low", 280),
        ("gemini-3.8-flash", (64, 64), "medium", 560),
        ("gemini-flash-latest", (640, 360), "ultra_high", 2240),
    ],
)
def test_gemini_image_prices(model: str, size: tuple[int, int], level: str | None, tokens: int) -> None:
    assert estimate_image_tokens(model, *size, media_resolution=level) == tokens


def test_model_table_lookup_longest_prefix_and_unknown_default() -> None:
    assert resolve_limits("gpt-4o").family == "gpt-4o"
    assert resolve_limits("gpt-4o-mini-2024-07-18").family == "gpt-4o-mini"
    assert resolve_limits("models/gemini-2.5-flash").family == "gemini-2"
    assert resolve_limits("gpt-4o").context_window == 128_000
    assert resolve_limits("gpt-4o").max_images == 500
    assert resolve_limits("gpt-4o").max_total_image_bytes == 50_000_000
    assert resolve_limits("gemini-2.5-flash").max_request_bytes == 20_000_000
    unknown = resolve_limits("Qwen2.5-VL-72B-Instruct")
    assert unknown == UNKNOWN_MODEL
    # The unknown default is conservative: smaller context and fewer images than any listed family.
    assert unknown.context_window <= min(resolve_limits(m).context_window for m in ("gpt-4o", "gemini-2.5-pro"))
    tuned = resolve_limits("Qwen2.5-VL-72B-Instruct", {"context_window": 131_072, "max_images": 256})
    assert (tuned.context_window, tuned.max_images, tuned.family) == (131_072, 256, "unknown")


@pytest.mark.parametrize(
    "overrides",
    [
        {"context_window": 0},
        {"max_images": -1},
        {"output_reserve": 10**9},
        {"no_such_field": 1},
        {"image_rule": "magic"},
    ],
)
def test_bad_overrides_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError):
        resolve_limits("gpt-4o", overrides)


def _scores(plan_frames_list: list[Frame]) -> list[float]:
    return [f.score or 0.0 for f in plan_frames_list]


def test_highest_scores_kept_then_time_order() -> None:
    times = [float(t) for t in range(0, 200, 10)]
    scores: list[float | None] = [float((i * 7) % 5) for i in range(len(times))]
    sel = make_selection(times, scores, size=(320, 180))
    plan = plan_frames(sel, "gpt-4o", max_frames=6)
    kept = plan.frames
    assert len(kept) == 6
    assert [f.timestamp for f in kept] == sorted(f.timestamp for f in kept)
    assert min(_scores(kept)) >= max(_scores(plan.dropped))
    assert len(plan.dropped) == len(times) - 6
    # The images are encoded JPEGs of the planned size, labelled with their own times.
    for im in plan.images:
        with Image.open(__import__("io").BytesIO(im.jpeg)) as img:
            assert img.format == "JPEG"
            assert img.size == (im.width, im.height)
        assert im.label == im.frame.label[:8]


def test_unscored_frames_are_thinned_evenly_over_time() -> None:
    times = [float(t) for t in range(64)]
    sel = make_selection(times, None, size=(64, 36))
    plan = plan_frames(sel, "gpt-4o", max_frames=8)
    kept = [f.timestamp for f in plan.frames]
    assert len(kept) == 8
    gaps = np.diff(kept)
    assert kept[0] <= 8
    assert kept[-1] >= 48
    assert gaps.max() <= 16  # …without big holes (even spacing would be 8)


def _budgeted(budget: int, n: int = 16) -> tuple[FrameSelection, dict[str, int]]:
    sel = make_selection([float(t) for t in range(0, 30 * n, 30)], [float(i % 4) for i in range(n)])
    return sel, {"context_window": budget + 1000, "output_reserve": 1000}


def test_roomy_budget_sends_everything_at_the_best_setting() -> None:
    sel, overrides = _budgeted(100_000)
    plan = plan_frames(sel, "gpt-4o", overrides=overrides)
    assert len(plan.images) == 16
    assert not plan.dropped
    assert plan.detail == "high"
    assert {(im.width, im.height) for im in plan.images} == {(640, 360)}  # under the 768-px default: as is
    assert plan.image_tokens == 16 * estimate_image_tokens("gpt-4o", 640, 360, "high")
    assert plan.input_tokens <= plan.budget


@pytest.mark.parametrize("budget", [6000, 2500, 1200, 400])
def test_tight_budgets_lower_detail_before_dropping_frames(budget: int) -> None:
    sel, overrides = _budgeted(budget)
    plan = plan_frames(sel, "gpt-4o", overrides=overrides, question="q?")
    assert plan.input_tokens <= budget
    assert plan.budget == budget
    n = len(plan.images)
    if n < 16:
        # Frames are only dropped at the cheapest setting, and the lowest scores go first.
        assert plan.detail == "low"
        assert min(_scores(plan.frames)) >= max(_scores(plan.dropped))
        assert any("dropped" in note for note in plan.notes)
    per_image = {im.tokens for im in plan.images}
    assert len(per_image) == 1
    # The planner took the best setting that fits: the next better one would not have.
    better = {(640, 360, "high"): None, (512, 288, "high"): (640, 360, "high"), (512, 288, "low"): (512, 288, "high")}
    current = (plan.images[0].width, plan.images[0].height, plan.detail)
    prev = better[current]
    if prev is not None and n == 16:
        cost = estimate_image_tokens("gpt-4o", prev[0], prev[1], prev[2])
        assert plan.text_tokens + 16 * cost > budget
    if current != (640, 360, "high"):
        assert any("lowered" in note for note in plan.notes)


def test_gemini3_levels() -> None:
    sel, _overrides = _budgeted(100_000)
    roomy = plan_frames(sel, "gemini-3-flash-preview")
    # Video frames start at the "low" level (280 tokens), sent explicitly.
    assert roomy.media_resolution == "low"
    assert len(roomy.images) == 16
    assert roomy.image_tokens == 16 * 280
    forced = plan_frames(sel, "gemini-3-flash-preview", media_resolution="high")
    assert forced.image_tokens == 16 * 1120
    assert {im.media_resolution for im in forced.images} == {"high"}
    # Starting higher, a tight budget steps the level down before dropping frames.
    tight = plan_frames(
        sel,
        "gemini-3-flash-preview",
        overrides={"start_level": "high", "context_window": 16 * 600 + 1000, "output_reserve": 1000},
    )
    assert len(tight.images) == 16
    assert tight.media_resolution == "medium"
    assert tight.input_tokens <= tight.budget
    with pytest.raises(InvalidArgumentError, match="start_level"):
        resolve_limits("gemini-3-flash-preview", {"start_level": "huge"})


def test_max_images_and_max_frames_cap_the_count() -> None:
    sel = make_selection([float(t) for t in range(20)], None, size=(64, 36))
    assert len(plan_frames(sel, "gpt-4o", overrides={"max_images": 3}).images) == 3
    assert len(plan_frames(sel, "gpt-4o", max_frames=5).images) == 5
    assert len(plan_frames(sel, "some-local-model").images) == 20  # unknown default allows 50


def _noisy_selection(n: int, size: tuple[int, int] = (640, 360)) -> FrameSelection:
    rng = np.random.default_rng(0)
    frames = [
        Frame(
            timestamp=float(i),
            image=Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)),
            score=float(n - i),
        )
        for i in range(n)
    ]
    return FrameSelection(video="noise.mp4", question="q", frames=frames)


def test_byte_limits_lower_quality_then_drop_frames() -> None:
    sel = _noisy_selection(8)
    free = plan_frames(sel, "gpt-4o")
    limit = free.image_bytes // 3
    plan = plan_frames(sel, "gpt-4o", overrides={"max_total_image_bytes": limit})
    assert plan.image_bytes <= limit
    assert plan.jpeg_quality < free.jpeg_quality
    assert sum(len(im.jpeg) for im in plan.images) == plan.image_bytes
    # Gemini: the whole request (base64 included) must stay under its limit.
    g_limit = free.request_bytes // 4
    g = plan_frames(sel, "gemini-2.5-flash", overrides={"max_request_bytes": g_limit})
    assert g.request_bytes <= g_limit
    assert len(g.images) < 8
    assert min(_scores(g.frames)) >= max(_scores(g.dropped))


def test_labels_get_tenths_only_when_needed() -> None:
    whole = plan_frames(make_selection([1.0, 2.0, 3.4], None, size=(64, 36)), "gpt-4o")
    assert [im.label for im in whole.images] == ["00:00:01", "00:00:02", "00:00:03"]
    halves = plan_frames(make_selection([1.0, 1.5, 2.0], None, size=(64, 36)), "gpt-4o")
    assert [im.label for im in halves.images] == ["00:00:01.0", "00:00:01.5", "00:00:02.0"]


def test_planner_refuses_what_cannot_work() -> None:
    sel = make_selection([1.0, 2.0], None, size=(64, 36))
    with pytest.raises(InvalidArgumentError, match="detail"):
        plan_frames(sel, "gpt-4o", detail="medium")
    with pytest.raises(InvalidArgumentError, match="media_resolution"):
        plan_frames(sel, "gpt-4o", media_resolution="low")
    with pytest.raises(InvalidArgumentError, match="no frame with an image"):
        plan_frames(FrameSelection(video="v", question="q", frames=[Frame(1.0)]), "gpt-4o")
    with pytest.raises(InvalidArgumentError, match="not even one frame fits"):
        plan_frames(sel, "gpt-4o", question="word " * 3000, overrides={"context_window": 3000, "output_reserve": 100})


def test_suggested_frame_count_respects_defaults_and_context() -> None:
    assert suggest_frame_count("gpt-4o") == 32
    assert suggest_frame_count("gemini-2.5-flash") == 64
    small = suggest_frame_count("gpt-4o", overrides={"context_window": 6000, "output_reserve": 1000})
    per_frame = estimate_image_tokens("gpt-4o", 768, 432, "high")
    assert 1 <= small <= 5000 // per_frame
