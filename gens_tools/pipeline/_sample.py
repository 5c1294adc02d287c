"""The one entry point: video + question → relevant, timestamped frames.

``sample_frames`` opens the video, lays a sampling grid (default 1 fps) over the requested range, streams the
decoded frames window by window through the sampler (never holding the whole video in memory), merges the
window scores and picks K frames. Decoded frames go to the on-disk frame cache as they stream, so the chosen
ones are read back from disk and a second question about the same video decodes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gens_tools.errors import (
    BackendUnavailableError,
    FallbackWarning,
    InvalidArgumentError,
    ModelUnavailableError,
    TimeRangeError,
)
from gens_tools.frames import Frame, FrameSelection, Timeline, WindowReport, spans_from_scores
from gens_tools.options import SamplingOptions
from gens_tools.pipeline._selection import select_indices
from gens_tools.progress import ProgressCallback, emit
from gens_tools.samplers._base import FrameSampler, Window, WindowScores
from gens_tools.samplers._prompt import validate_question
from gens_tools.samplers._registry import make_sampler
from gens_tools.samplers._windows import merge_window_scores, plan_windows
from gens_tools.samplers.hybrid import HybridSampler, coarse_sampler
from gens_tools.video import open_video, sampling_grid
from gens_tools.video._base import VideoReader
from gens_tools.video._cache import CacheMissError, FrameCache

if TYPE_CHECKING:
    from gens_tools.agent._access import AccessPolicy

#: Largest K accepted (GenS's own downstream budgets top out at 256 frames).
MAX_K = 1024
#: The sampler used when none is named: GenS when it can run here, uniform sampling otherwise (said).
DEFAULT_SAMPLER = "auto"


def _validate_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, int):
        raise InvalidArgumentError(f"k must be a positive integer, got {k!r}")
    if k <= 0:
        raise InvalidArgumentError(f"k must be a positive integer, got {k}")
    if k > MAX_K:
        raise InvalidArgumentError(f"k={k} is larger than the maximum of {MAX_K}")
    return k


def _resolve_sampler(sampler: FrameSampler | str | None) -> FrameSampler:
    if sampler is None:
        return make_sampler(DEFAULT_SAMPLER)
    if isinstance(sampler, str):
        return make_sampler(sampler)
    if not isinstance(sampler, FrameSampler):
        raise InvalidArgumentError(f"sampler must be a FrameSampler or a sampler name, got {sampler!r}")
    return sampler


def _with_strategy(sampler: FrameSampler, opts: SamplingOptions, n: int, notices: list[str]) -> FrameSampler:
    """``sampler`` as the options' strategy runs it over ``n`` grid frames: a GenS sampler goes hybrid when asked
    to (or, with ``"auto"``, when the grid is longer than one window); anything else runs as it is."""
    if not sampler.generative or isinstance(sampler, HybridSampler) or opts.strategy == "windows":
        return sampler
    if opts.strategy == "auto" and n <= sampler.window_size:
        return sampler
    inner = getattr(sampler, "inner", sampler)  # auto: the GenS sampler it runs
    device = getattr(inner, "device", None)
    try:
        coarse = coarse_sampler(opts.coarse_model, device=None if device is None else str(device))
    except (ModelUnavailableError, BackendUnavailableError) as exc:
        if opts.strategy == "hybrid":
            raise
        windows = math.ceil(n / sampler.window_size)
        notices.append(
            f"windows strategy instead of the hybrid: the similarity model {opts.coarse_model} is not available "
            f"({exc}), so GenS scored all {windows} windows of this video instead of its best "
            f"{min(opts.hybrid_pool, sampler.window_size)} frames"
        )
        return sampler
    return HybridSampler(sampler, coarse, pool=min(opts.hybrid_pool, sampler.window_size))


def _announce(notices: Sequence[str]) -> None:
    """Every notice is also a :class:`~gens_tools.errors.FallbackWarning` (the selection's ``notices`` keep it
    for every call; Python's warning filters decide how often it is shown)."""
    for text in notices:
        warnings.warn(text, FallbackWarning, stacklevel=3)


class _Clock:
    """Accumulates the seconds spent inside decoding and inside scoring while they interleave."""

    def __init__(self) -> None:
        self.decode = 0.0

    def timed(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        while True:
            t0 = time.perf_counter()
            try:
                frame = next(frames)
            except StopIteration:
                self.decode += time.perf_counter() - t0
                return
            self.decode += time.perf_counter() - t0
            yield frame


def _decode_progress(
    frames: Iterator[Frame], total: int, progress: ProgressCallback | None
) -> Iterator[Frame]:
    for done, frame in enumerate(frames, start=1):
        emit(progress, "decode", done, total)
        yield frame


def _windows_from_stream(
    frames: Iterator[Frame], plan: Sequence[range], video_key: str
) -> Iterator[tuple[list[int], Window]]:
    """Group streamed frames (``Frame.index`` = grid position) into the planned windows; frames that could
    not be decoded are simply absent, so a window may come out shorter (or be skipped when empty)."""
    pending: Frame | None = None
    w_index = 0
    for rng in plan:
        members: list[Frame] = []
        if pending is not None and pending.index is not None and pending.index in rng:
            members.append(pending)
            pending = None
        if pending is None:
            for frame in frames:
                assert frame.index is not None
                if frame.index < rng.stop:
                    members.append(frame)
                else:
                    pending = frame
                    break
        if members:
            window = Window(index=w_index, frames=members, video_key=video_key)
            yield [f.index for f in members if f.index is not None], window
            # Drop this window's pictures before the next window fills up: only the window in flight holds any.
            del window, members
            w_index += 1


@dataclass(slots=True)
class _Scored:
    """Per-grid-position scores and what scoring them took."""

    scores: list[float | None]
    reports: list[WindowReport] = field(default_factory=list)
    available: list[bool] | None = None  # grid positions that decoded (None: all)
    timings: dict[str, float] = field(default_factory=dict)
    coarse: list[float | None] | None = None  # a two-stage sampler's first-stage score per position
    passed: list[bool] | None = None  # whether a position went on to its second stage


def _coarse_stage(
    n: int, positions: Sequence[Sequence[int]], results: Sequence[WindowScores]
) -> tuple[list[float | None] | None, list[bool] | None]:
    """What a two-stage (hybrid) sampler's coarse model saw, per grid position (``None`` when it has none)."""
    if not any(r.coarse is not None or r.passed is not None for r in results):
        return None, None
    coarse: list[float | None] = [None] * n
    passed = [False] * n
    for pos, res in zip(positions, results, strict=True):
        for j, p in enumerate(pos):
            if res.coarse is not None and j < len(res.coarse):
                coarse[p] = res.coarse[j]
            if res.passed is not None and j < len(res.passed):
                passed[p] = res.passed[j]
    return coarse, passed


def _score_timestamps(
    sampler: FrameSampler, question: str, grid: Sequence[float], key: str, progress: ProgressCallback | None
) -> _Scored:
    """Score windows that carry only timestamps (samplers that need no pictures, e.g. uniform)."""
    t0 = time.perf_counter()
    plan = plan_windows(len(grid), sampler.window_size)
    windows = [
        Window(i, [Frame(timestamp=grid[p], index=p) for p in rng], video_key=key) for i, rng in enumerate(plan)
    ]
    results = list(sampler.score_windows(windows, question, total=len(windows), progress=progress))
    return _Scored(
        scores=merge_window_scores(len(grid), ((list(r), res) for r, res in zip(plan, results, strict=True))),
        reports=[_report(w, res, len(w)) for w, res in zip(windows, results, strict=True)],
        timings={"score": time.perf_counter() - t0},
    )


def _score_streamed(
    sampler: FrameSampler,
    question: str,
    frames: Iterator[Frame],
    n: int,
    key: str,
    progress: ProgressCallback | None,
) -> _Scored:
    """Score decoded frames window by window as they stream; only the windows in flight hold pictures."""
    plan = plan_windows(n, sampler.window_size)
    clock = _Clock()
    t0 = time.perf_counter()
    stream = clock.timed(frames)
    positions: list[list[int]] = []
    shapes: list[Window] = []  # the windows without their pictures, for the report

    def windows_iter() -> Iterator[Window]:
        for pos, window in _windows_from_stream(stream, plan, key):
            positions.append(pos)
            shapes.append(Window(window.index, [Frame(window.start), Frame(window.end)]))
            yield window
            del window  # not held while the next one decodes

    results = list(sampler.score_windows(windows_iter(), question, total=len(plan), progress=progress))
    elapsed = time.perf_counter() - t0
    seen = {p for pos in positions for p in pos}
    coarse, passed = _coarse_stage(n, positions, results)
    return _Scored(
        scores=merge_window_scores(n, zip(positions, results, strict=True)),
        reports=[_report(w, res, len(pos)) for w, res, pos in zip(shapes, results, positions, strict=True)],
        available=[i in seen for i in range(n)],
        timings={"decode": clock.decode, "score": max(0.0, elapsed - clock.decode)},
        coarse=coarse,
        passed=passed,
    )


def sample_frames(
    video: str | os.PathLike[str],
    question: str,
    *,
    sampler: FrameSampler | str | None = None,
    k: int = 16,
    start: float | None = None,
    end: float | None = None,
    options: SamplingOptions | None = None,
    progress: ProgressCallback | None = None,
    policy: AccessPolicy | None = None,
    **settings: Any,
) -> FrameSelection:
    """Choose the ``k`` frames of ``video`` most relevant to ``question``.

    Args:
        video: a video file, a folder of frame images, or an http(s) URL.
        question: what the frames should help answer (must not be empty).
        sampler: a :class:`FrameSampler` or a registered name (``"auto"``, ``"gens-3b"``, ``"gens"``,
            ``"remote"``, ``"similarity"``, ``"uniform"``…); default ``"auto"``: GenS when it can run here,
            else uniform sampling, with the reason in the selection's ``notices`` and a
            :class:`~gens_tools.errors.FallbackWarning`.
        k: how many frames to return.
        start, end: optional time range in seconds.
        options: how to sample (:class:`~gens_tools.SamplingOptions`: grid rate, frame size, minimum gap,
            decoder, frame cache, frame-folder rate, the windows/hybrid strategy for long videos).
        progress: called with :class:`~gens_tools.progress.ProgressEvent` s while decoding and scoring.
        policy: when given, ``video``, ``k`` and the duration are checked against it first.
        **settings: single :class:`~gens_tools.SamplingOptions` fields (``fps=2``, ``cache=False``…),
            overriding those of ``options``.

    Returns:
        A :class:`FrameSelection` with the chosen frames (images loaded) sorted by time.

    Raises:
        TypeError: a keyword argument that is not a sampling option.
    """
    t_start = time.perf_counter()
    opts = SamplingOptions.build(options, **settings)
    question = validate_question(question)
    k = _validate_k(k)
    source = os.fspath(video)
    if policy is not None:
        source = policy.check(source)
        checked_k = policy.check_k(k)
        assert checked_k is not None
        k = checked_k
    sampler_obj = _resolve_sampler(sampler)
    notices = [sampler_obj.notice] if sampler_obj.notice else []
    fps, frame_rate = opts.fps, opts.frame_rate

    with contextlib.ExitStack() as stack:
        if isinstance(sampler, str):
            stack.callback(sampler_obj.close)  # built here from its name, so released here
        if isinstance(opts.cache, FrameCache):
            store = opts.cache
        elif opts.cache:
            store = FrameCache()
        else:
            store = stack.enter_context(FrameCache.temporary())
        emit(progress, "open", 0, None, source)
        reader: VideoReader = stack.enter_context(
            open_video(source, backend=opts.backend, fps=frame_rate, skip_frames=opts.skip_frames)
        )
        info = reader.info
        grid = sampling_grid(info, fps, start, end)
        if policy is not None and policy.max_duration is not None:
            span = (grid[-1] - grid[0]) + 1.0 / fps
            if span > policy.max_duration + 1e-6:
                raise TimeRangeError(
                    f"the requested range is {span:.0f}s long; this tool processes at most "
                    f"{policy.max_duration:.0f}s per call: pass start/end to narrow it"
                )
        n = len(grid)
        if n > k:
            sampler_obj = _with_strategy(sampler_obj, opts, n, notices)
        side = opts.frame_side(sampler_obj.preferred_max_side)
        key = store.key(source, fps=fps, max_side=side, start=start, end=end, frame_rate=frame_rate)
        if n <= k:
            # Nothing to choose: every grid frame is returned and the sampler is not run.
            t0 = time.perf_counter()
            chosen_frames = list(_decode_progress(store.frames(reader, grid, key=key), n, progress))
            scored = _Scored(scores=[None] * n, timings={"decode": time.perf_counter() - t0})
        else:
            if sampler_obj.needs_images:
                frames = _decode_progress(store.frames(reader, grid, key=key), n, progress)
                scored = _score_streamed(sampler_obj, question, frames, n, key, progress)
            else:
                scored = _score_timestamps(sampler_obj, question, grid, key, progress)
            t0 = time.perf_counter()
            chosen = select_indices(
                scored.scores, k, min_gap_frames=opts.min_gap_frames(), available=scored.available
            )
            scored.timings["select"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            # Frames streamed through the sampler are in the store already (no decode progress to report).
            chosen_frames = _chosen_frames(
                store, key, reader, grid, chosen, side, None if sampler_obj.needs_images else progress
            )
            scored.timings["decode"] = scored.timings.get("decode", 0.0) + time.perf_counter() - t0
        scores, timings = scored.scores, scored.timings

        lost_spans = list(reader.lost_spans)
        if not lost_spans and (entry := store.lookup(key)) is not None:
            lost_spans = [tuple(span) for span in entry.lost_spans]  # type: ignore[misc]
        everything = n <= k
        for frame in chosen_frames:
            if frame.index is not None and frame.index < n:
                frame.score = scores[frame.index]
            frame.origin = "all" if everything else ("scored" if (frame.score or 0) > 0 else "fill")
        chosen_frames.sort(key=lambda f: (f.timestamp, f.index or 0))
        timings["total"] = time.perf_counter() - t_start
        emit(progress, "select", len(chosen_frames), k)
        _announce(notices)
        step = 1.0 / fps
        return FrameSelection(
            video=source,
            question=question,
            frames=chosen_frames,
            spans=spans_from_scores(grid, scores, step),
            sampler=sampler_obj.label,
            fps=fps,
            duration=info.duration,
            start=start,
            end=end,
            timings=timings,
            windows=scored.reports,
            lost_spans=lost_spans,
            n_candidates=n if scored.available is None else sum(scored.available),
            k=k,
            notices=notices,
            timeline=Timeline(
                start=grid[0],
                step=step,
                scores=tuple(scores),
                decoded=None if scored.available is None else tuple(scored.available),
                coarse_scores=None if scored.coarse is None else tuple(scored.coarse),
                passed=None if scored.passed is None else tuple(scored.passed),
            ),
        )


def _chosen_frames(
    store: FrameCache,
    key: str,
    reader: VideoReader,
    grid: Sequence[float],
    chosen: Sequence[int],
    side: int,
    progress: ProgressCallback | None,
) -> list[Frame]:
    """The chosen grid positions as frames with images: from the frame cache when it holds them, else
    decoded (only those frames; the reader seeks when they are sparse)."""
    if store.lookup(key) is not None:
        try:
            return store.load(key, chosen)
        except CacheMissError:
            pass  # the entry was damaged and removed: decode just the chosen frames instead
    targets = [grid[i] for i in chosen]
    out: list[Frame] = []
    for frame in _decode_progress(reader.iter_frames(targets, max_side=side), len(targets), progress):
        assert frame.index is not None
        frame.index = chosen[frame.index]
        out.append(frame)
    return out


def _report(window: Window, result: WindowScores, n_frames: int) -> WindowReport:
    return WindowReport(
        index=window.index,
        start=window.start,
        end=window.end,
        n_frames=n_frames,
        scored=result.scores is not None,
        repaired=result.repaired,
        issues=tuple(result.issues),
    )


async def asample_frames(video: str | os.PathLike[str], question: str, **kwargs: Any) -> FrameSelection:
    """Async form of :func:`sample_frames` (runs it in a worker thread; same arguments)."""
    return await asyncio.to_thread(sample_frames, video, question, **kwargs)
