"""Hybrid vs windows: how much GenS work the authors' coarse-to-fine recipe saves on an hour-long video.

Both strategies run on the same generated 60-minute video (1 fps grid: 3600 frames) in one process, with
GenS-3B's code path on a tiny random-weight Qwen2.5-VL (CPU) and, for the hybrid's coarse stage, a tiny
random-weight SigLIP:

* ``windows``: GenS scores every window (15 windows of 240 frames);
* ``hybrid``: SigLIP scores all 3600 frames, GenS scores the best 256 in one window.

Printed per strategy: frames decoded, frames GenS scored, GenS calls, seconds inside GenS (model time),
seconds in the coarse stage, and the ratio hybrid / windows of GenS frames and GenS seconds (target ≤ 1/10).
Random weights make the answers meaningless; the work done is what is measured. Each strategy runs after a
warm-up question (so both read decoded frames from the same frame cache), several times; medians are quoted.

Run from the repository root (needs the ``local`` extra)::

    python benchmarks/hybrid.py            # 60 minutes, 3 repeats
    python benchmarks/hybrid.py --quick    # 10 minutes, 1 repeat (a smoke run)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from gens_tools import FrameSampler, SamplingOptions, Window, WindowScores, sample_frames
from gens_tools.progress import ProgressCallback
from gens_tools.samplers.hybrid import HybridSampler
from gens_tools.synthetic import make_test_video
from gens_tools.video import FrameCache

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"


class Timed(FrameSampler):
    """Wraps a sampler, counting frames, calls and seconds spent inside it."""

    name: ClassVar[str] = "timed"

    def __init__(self, inner: FrameSampler) -> None:
        self.inner = inner
        self.window_size = inner.window_size
        self.preferred_max_side = inner.preferred_max_side
        self.frames = 0
        self.calls = 0
        self.seconds = 0.0

    def score_window(self, window: Window, question: str) -> WindowScores:
        t0 = time.perf_counter()
        try:
            return self.inner.score_window(window, question)
        finally:
            self.seconds += time.perf_counter() - t0
            self.frames += len(window)
            self.calls += 1

    def score_windows(
        self,
        windows: Iterable[Window],
        question: str,
        *,
        total: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Iterator[WindowScores]:
        for window in windows:
            yield self.score_window(window, question)


def _samplers() -> tuple[Any, Any]:
    from gens_tools.samplers.gens_3b import GenS3BSampler
    from gens_tools.samplers.similarity import SimilaritySampler
    from gens_tools.testing import tiny_qwen

    tokenizer = tiny_qwen.build_qwen_tokenizer()
    gens = GenS3BSampler.from_components(
        tiny_qwen.build_qwen_model(tokenizer),
        tokenizer,
        tiny_qwen.build_qwen_image_processor(),
        prefix_cache=False,
        max_new_tokens=16,
    )
    siglip = SimilaritySampler.from_components(*tiny_qwen.build_siglip(), embedding_cache=False)
    return gens, siglip


def _run(video: Path, strategy: str, gens: Any, siglip: Any, cache: FrameCache) -> dict[str, float]:
    fine = Timed(gens)
    coarse = Timed(siglip)
    sampler: FrameSampler = fine if strategy == "windows" else HybridSampler(fine, coarse, pool=256)
    t0 = time.perf_counter()
    selection = sample_frames(
        video, "When does the red ball appear?", sampler=sampler, k=16, options=SamplingOptions(cache=cache)
    )
    return {
        "wall": time.perf_counter() - t0,
        "decoded": selection.n_candidates,
        "gens_frames": fine.frames,
        "gens_calls": fine.calls,
        "gens_seconds": fine.seconds,
        "coarse_frames": coarse.frames,
        "coarse_seconds": coarse.seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10-minute video, one repeat")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    minutes = 10 if args.quick else 60
    repeats = args.repeats or (1 if args.quick else 3)
    DATA.mkdir(parents=True, exist_ok=True)
    video = DATA / f"hybrid-{minutes}min-448.mp4"
    if not video.exists():
        make_test_video(video, duration=60.0 * minutes, fps=1.0, size=(448, 252), gop=60)
    print(f"load average before: {os.getloadavg()}", file=sys.stderr)
    gens, siglip = _samplers()
    with tempfile.TemporaryDirectory() as tmp:
        cache = FrameCache(tmp, max_bytes=None)
        _run(video, "windows", gens, siglip, cache)  # warm-up: decode once into the cache
        rows: dict[str, list[dict[str, float]]] = {"windows": [], "hybrid": []}
        for _ in range(repeats):
            for strategy in rows:
                rows[strategy].append(_run(video, strategy, gens, siglip, cache))
    print(f"load average after: {os.getloadavg()}", file=sys.stderr)

    def med(strategy: str, key: str) -> float:
        return statistics.median(r[key] for r in rows[strategy])

    print(f"{minutes}-minute video, 1 fps grid, median of {repeats} run(s) each, tiny GenS-3B + tiny SigLIP on CPU\n")
    print("| strategy | frames decoded | GenS frames | GenS calls | GenS s | coarse frames | coarse s | total s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for strategy in rows:
        print(
            f"| {strategy} | {med(strategy, 'decoded'):.0f} | {med(strategy, 'gens_frames'):.0f} | "
            f"{med(strategy, 'gens_calls'):.0f} | {med(strategy, 'gens_seconds'):.2f} | "
            f"{med(strategy, 'coarse_frames'):.0f} | {med(strategy, 'coarse_seconds'):.2f} | "
            f"{med(strategy, 'wall'):.2f} |"
        )
    frame_ratio = med("hybrid", "gens_frames") / med("windows", "gens_frames")
    pairs = zip(rows["hybrid"], rows["windows"], strict=True)
    second_ratios = [h["gens_seconds"] / w["gens_seconds"] for h, w in pairs]
    print(f"\nhybrid / windows, GenS frames: {frame_ratio:.3f} (target <= 0.100)")
    print(f"hybrid / windows, GenS seconds (median of same-run ratios): {statistics.median(second_ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
