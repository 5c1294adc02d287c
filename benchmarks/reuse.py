"""Prefix (KV) reuse benchmark: five questions about one hour-long video with the GenS-3B sampler.

A multi-step agent asks many questions about the same video. In the GenS prompt the frames come before the
question, so each window's frame prefix (vision encoder + prefill of ~4 K tokens) is computed for the first
question and reused by the later ones, which only run their question tokens and the answer.

Setup (CPU, no weights needed): a random-weight model shaped like Qwen2.5-VL — the same classes, mRoPE,
windowed vision tower with 2×2 patch merge, ChatML and vision special tokens, and the real 3B model's
per-layer proportions (head_dim 128 with mrope sections [16, 24, 24], 8 query heads per KV head, MLP 5.375×
hidden) at half the width (hidden 1024) and 2 of its 36 layers (a vision tower of width 512, 2 blocks), so that
it runs on a laptop CPU; depth scales prefill and decoding alike, and the smaller width makes the prefix
relatively cheaper than in the real model, so the speed-up here is conservative — a locally trained tokenizer
(which splits the GenS instruction into ~2× more tokens than Qwen's, again making later questions slower), and
the windows of an hour at 1 fps: 3600 frames of 112×112 (16 visual tokens each) in 15 windows of 240. Frames
are generated window by window (seeded, so every question sees the same pictures) and never held all at once,
as in the pipeline. Random weights would ramble up to the token limit, so every answer is held at
``--answer-tokens`` tokens (default 48: about what a real GenS answer such as
``{"11-12": 5, "16-21": 4, "28-30": 4, "46-49": 4, "22-27": 3, "33": 2}`` takes with Qwen's tokenizer).
Windows are answered in batches as the sampler's ``batch_size="auto"`` chooses.

Printed: the first question's time (prefixes computed and cached), each later question's time (prefixes
reused), the same later question with all reuse switched off (the baseline, measured in the same run) and with
only the vision features cached (what a window whose KV prefix was evicted costs), and the ratios. Target:
later questions ≥ 5× faster than the first.

Run from the repository root::

    python benchmarks/reuse.py               # 15 windows, 5 questions (~15-25 minutes on 2 busy cores)
    python benchmarks/reuse.py --windows 3   # a quick smoke run
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUESTIONS = [
    "What is the man holding?",
    "When does the dog jump into the pool?",
    "Where is the red car parked?",
    "Who opens the door?",
    "What happens after the speaker shows the chart?",
]


def _frames(window_index: int, n: int, start: int) -> list:
    import numpy as np
    from PIL import Image

    from gens_tools.frames import Frame

    rng = np.random.default_rng(window_index)
    frames = []
    for i in range(n):
        pixels = np.kron(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8), np.ones((28, 28, 1), dtype=np.uint8))
        frames.append(Frame(timestamp=float(start + i), image=Image.fromarray(pixels), index=start + i))
    return frames


def windows(plan: list[range]) -> Iterator:
    """The hour's windows, generated one at a time."""
    from gens_tools.samplers._base import Window

    for index, rng in enumerate(plan):
        yield Window(index=index, frames=_frames(index, len(rng), rng.start), video_key="bench-hour-video")


def run_question(sampler, plan: list[range], question: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    results = list(sampler.score_windows(windows(plan), question, total=len(plan)))
    elapsed = time.perf_counter() - t0
    return elapsed, sum(1 for r in results if r.usage.get("prefix_reused"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3600, help="frames in the video (1 fps; default an hour)")
    parser.add_argument("--windows", type=int, default=None, help="score only the first N windows")
    parser.add_argument("--questions", type=int, default=5, help="questions to ask (2-5)")
    parser.add_argument("--answer-tokens", type=int, default=48, help="tokens generated per window")
    parser.add_argument("--hidden", type=int, default=1024, help="text hidden size of the model (3B: 2048)")
    parser.add_argument("--layers", type=int, default=2, help="text layers of the model (3B: 36)")
    parser.add_argument("--batch-size", default="auto", help="windows answered together (default auto)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the runs with reuse switched off")
    args = parser.parse_args()

    import torch

    from gens_tools.samplers._windows import plan_windows
    from gens_tools.samplers.gens_3b import GenS3BSampler
    from gens_tools.testing import tiny_qwen as tiny

    tokenizer = tiny.build_qwen_tokenizer()
    model = tiny.build_qwen_model(
        tokenizer,
        hidden_size=args.hidden,
        layers=args.layers,
        heads=args.hidden // 128,
        kv_heads=max(1, args.hidden // 1024),
        intermediate_size=round(args.hidden * 5.375),
        vision_hidden=args.hidden // 2,
        vision_depth=2,
        vision_heads=max(1, args.hidden // 128),
    )
    processor = tiny.build_qwen_image_processor()
    plan = plan_windows(args.frames, 256)
    if args.windows:
        plan = plan[: args.windows]
    n_questions = max(2, min(len(QUESTIONS), args.questions))
    batch = args.batch_size if args.batch_size == "auto" else int(args.batch_size)
    # Every answer is exactly --answer-tokens long (min = max), whatever the random weights say.
    options = {
        "max_new_tokens": args.answer_tokens,
        "batch_size": batch,
        "generate_kwargs": {"min_new_tokens": args.answer_tokens},
        "model_id": "bench",
    }
    reuse = GenS3BSampler.from_components(model, tokenizer, processor, **options)
    fresh = GenS3BSampler.from_components(
        model, tokenizer, processor, prefix_cache=False, feature_cache=False, **options
    )
    features_only = GenS3BSampler.from_components(model, tokenizer, processor, prefix_cache=False, **options)

    n_params = sum(p.numel() for p in model.parameters())
    prompt = reuse._prompt(next(windows(plan)), QUESTIONS[0])
    print(
        f"# prefix reuse benchmark — {platform.platform()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"# model: Qwen2.5-VL-shaped, {n_params / 1e6:.1f} M params (hidden {args.hidden}, {args.layers} layers), "
        f"float32 CPU"
    )
    print(
        f"# video: {args.frames} frames at 1 fps → {len(plan)} windows of ≤{max(len(r) for r in plan)} frames; "
        f"window prompt {len(prompt.ids)} tokens, of which {prompt.prefix_len} reusable prefix; "
        f"{args.answer_tokens} answer tokens; batch size {reuse.auto_batch_size()}"
    )

    # warm up kernels and allocators on a small window so the first question is not charged for it
    fresh.score_window(next(windows([range(0, 8)])), QUESTIONS[0])

    width = 86
    print(f"\n{'run':<{width}}  {'seconds':>8}  {'reused':>6}  {'vs Q1':>6}", flush=True)

    def report(label: str, seconds: float, hits: int, first: float) -> None:
        print(f"{label:<{width}}  {seconds:8.2f}  {hits:>3}/{len(plan):<2}  {first / seconds:5.1f}×", flush=True)

    first, hits = run_question(reuse, plan, QUESTIONS[0])
    report(f"Q1 (prefixes computed, cached) {QUESTIONS[0]!r}", first, hits, first)
    later = []
    for q in QUESTIONS[1:n_questions]:
        t, hits = run_question(reuse, plan, q)
        later.append(t)
        report(f"Q{len(later) + 1} (prefixes reused) {q!r}", t, hits, first)
    baseline = None
    if not args.no_baseline:
        baseline, hits = run_question(fresh, plan, QUESTIONS[1])
        report(f"Q2 again, all reuse off (baseline) {QUESTIONS[1]!r}", baseline, hits, first)
        # Only the vision features cached (what is left when KV prefixes were evicted): fill, then measure.
        run_question(features_only, plan, QUESTIONS[0])
        t, hits = run_question(features_only, plan, QUESTIONS[1])
        report(f"Q2 again, KV reuse off, vision features cached {QUESTIONS[1]!r}", t, hits, first)

    mean_later = sum(later) / len(later)
    print(
        f"\nfirst question: {first:.2f} s; later questions: mean {mean_later:.2f} s "
        f"(min {min(later):.2f}, max {max(later):.2f})"
    )
    versus = f", {baseline / mean_later:.1f}× vs the same question without reuse" if baseline else ""
    print(f"speed-up of later questions: {first / mean_later:.1f}× vs the first question{versus} (target ≥ 5×)")
    stats = reuse.prefix_cache.stats() if reuse.prefix_cache else None
    if stats:
        print(
            f"prefix cache: {stats.entries} entries, {stats.bytes / 2**20:.1f} MiB, {stats.hits} hits, "
            f"{stats.evictions} evictions; load {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
