"""The one entry point: video + question → relevant, timestamped frames.

``sample_frames`` opens the video, lays a sampling grid (default 1 fps) over the requested range, streams the
decoded frames window by window through the sampler (never holding the whole video in memory), merges the
window scores and picks K frames. Decoded frames go to the on-disk frame cache as they stream, so the chosen
ones are read back from disk and a second question about the same video decodes nothing.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import hashlib
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
    VideoError,
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
from gens_tools.video._base import VideoReader, grid_length, sampling_range
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


def _decode_progress(frames: Iterator[Frame], total: int, progress: ProgressCallback | None) -> Iterator[Frame]:
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
    frame_times: dict[int, float] | None = None  # the decoded frame's own time per position (when streamed)


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
    windows = [Window(i, [Frame(timestamp=grid[p], index=p) for p in rng], video_key=key) for i, rng in enumerate(plan)]
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
    frame_times: dict[int, float] = {}

    def noted(frames: Iterator[Frame]) -> Iterator[Frame]:
        for frame in frames:
            if frame.index is not None:
                frame_times[frame.index] = frame.timestamp
            yield frame

    stream = clock.timed(noted(frames))
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
        frame_times=frame_times,
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
            open_video(
                source,
                backend=opts.backend,
                fps=frame_rate,
                skip_frames=opts.skip_frames,
                url_check=None if policy is None else policy.check,
            )
        )
        info = reader.info
        # The range is checked, clipped to what the video's data holds and capped before any grid is laid: a
        # file that only claims a huge duration costs nothing.
        range_start, range_end = sampling_range(info, start, end)
        range_end = _decodable_end(reader, range_start, range_end, notices)
        if policy is not None and policy.max_duration is not None:
            span = grid_length(range_start, range_end, fps) / fps
            if span > policy.max_duration + 1e-6:
                raise TimeRangeError(
                    f"the requested range is {span:.0f}s long; this tool processes at most "
                    f"{policy.max_duration:.0f}s per call: pass start/end to narrow it"
                )
        grid = sampling_grid(info, fps, range_start, range_end)
        n = len(grid)
        if n > k:
            sampler_obj = _with_strategy(sampler_obj, opts, n, notices)
        side = opts.frame_side(sampler_obj.preferred_max_side)
        # Keyed on the source the reader opened: for a URL, the final address its redirects led to.
        key = store.key(reader.info.source, fps=fps, max_side=side, start=start, end=end, frame_rate=frame_rate)
        if n <= k:
            # Nothing to choose: every grid frame is returned (each distinct picture once) and the sampler is
            # not run.
            t0 = time.perf_counter()
            decoded = list(_decode_progress(store.frames(reader, grid, key=key), n, progress))
            chosen_frames = _distinct(decoded)
            scored = _Scored(scores=[None] * n, timings={"decode": time.perf_counter() - t0})
            repeats = len(decoded) - len(chosen_frames)
        else:
            if sampler_obj.needs_images:
                frames = _decode_progress(store.frames(reader, grid, key=key), n, progress)
                scored = _score_streamed(sampler_obj, question, frames, n, key, progress)
            else:
                scored = _score_timestamps(sampler_obj, question, grid, key, progress)
            # Frames streamed through the sampler are in the store already (no decode progress to report).
            chosen_frames, repeats = _choose(
                store,
                key,
                reader,
                grid,
                scored,
                k,
                opts.min_gap_frames(),
                side,
                None if sampler_obj.needs_images else progress,
            )
        scores, timings = scored.scores, scored.timings

        lost_spans = list(reader.lost_spans)
        if not lost_spans and (entry := store.lookup(key)) is not None:
            lost_spans = [tuple(span) for span in entry.lost_spans]  # type: ignore[misc]
        if len(chosen_frames) < k:
            in_range = [(a, b) for a, b in lost_spans if b > grid[0] and a < grid[-1] + 1.0 / fps]
            notices.append(_fewer_frames(len(chosen_frames), k, n, fps, in_range, repeats))
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


#: Rounds of choosing again when chosen frames turn out undecodable or repeated.
_REPLAN_ROUNDS = 4


def _decodable_end(reader: VideoReader, start: float, end: float, notices: list[str]) -> float:
    """``end``, moved back to where the video's data ends when the reader knows from opening it that the
    rest is lost (its metadata claims more than its data holds); says so in ``notices``.

    Raises:
        VideoError: the whole range lies past the data.
    """
    duration = reader.info.duration
    tail = next((a for a, b in reader.lost_spans if b >= duration - 1e-6), None)
    if tail is None or end <= tail:
        return end
    if start >= tail:
        raise VideoError(
            f"nothing from {start:g}s to {end:g}s can be decoded: the video's data ends at {tail:.1f}s although "
            f"its metadata says it is {duration:.1f}s long"
        )
    notices.append(
        f"the video's metadata says it is {duration:.1f}s long but its data ends at {tail:.1f}s: "
        f"frames were chosen from {start:g}-{tail:.1f}s"
    )
    return tail


def _lost_positions(available: list[bool], grid: Sequence[float], spans: Sequence[tuple[float, float]]) -> None:
    """Mark unavailable the grid positions whose time lies in a lost span."""
    for a, b in spans:
        lo = bisect.bisect_left(grid, a - 1e-6)
        hi = bisect.bisect_left(grid, b - 1e-6)
        for p in range(lo, hi):
            available[p] = False


def _repeated_positions(available: list[bool], times: dict[int, float], scores: Sequence[float | None]) -> int:
    """Where several grid positions show the same frame (a held frame, a frame rate below the grid's), keep
    only the best-scored of them available (ties: the earliest); returns how many were set aside."""
    best: dict[float, int] = {}
    dropped = 0
    for p in sorted(times):
        if not available[p]:
            continue
        t = times[p]
        q = best.get(t)
        if q is None:
            best[t] = p
            continue
        keep, drop = (p, q) if (scores[p] or -1.0) > (scores[q] or -1.0) else (q, p)
        best[t] = keep
        available[drop] = False
        dropped += 1
    return dropped


def _picture_digest(frame: Frame) -> bytes | None:
    """A digest of a frame's pixels (``None`` without a picture): two frames with the same digest look the same."""
    if frame.image is None:
        return None
    return hashlib.blake2b(frame.image.tobytes(), digest_size=16).digest()


class _Pictures:
    """The pictures got so far: the same presentation time, or the very same pixels (a decoder repeating its
    last picture, a frozen screen), is the same picture."""

    def __init__(self) -> None:
        self._times: dict[float, int] = {}
        self._digests: dict[bytes, int] = {}

    def repeat_of(self, frame: Frame, position: int) -> int | None:
        """The position already holding ``frame``'s picture, or ``None`` (and ``frame`` is recorded)."""
        digest = _picture_digest(frame)
        same_time = self._times.get(frame.timestamp)
        same_pixels = None if digest is None else self._digests.get(digest)
        for first in (same_time, same_pixels):
            if first is not None and first != position:
                return first
        self._times[frame.timestamp] = position
        if digest is not None:
            self._digests[digest] = position
        return None


def _distinct(frames: Sequence[Frame]) -> list[Frame]:
    """``frames`` with each picture once (see :class:`_Pictures`)."""
    pictures = _Pictures()
    return [f for i, f in enumerate(frames) if pictures.repeat_of(f, i) is None]


def _choose(
    store: FrameCache,
    key: str,
    reader: VideoReader,
    grid: Sequence[float],
    scored: _Scored,
    k: int,
    min_gap: int,
    side: int,
    progress: ProgressCallback | None,
) -> tuple[list[Frame], int]:
    """Choose K grid positions and get their frames, choosing again (a few rounds) in place of those that turn
    out undecodable or a picture already chosen; returns the frames and how many positions were set aside as
    repeats of another's picture."""
    n = len(grid)
    available = list(scored.available) if scored.available is not None else [True] * n
    _lost_positions(available, grid, reader.lost_spans)
    repeats = 0
    if scored.frame_times is not None:
        repeats = _repeated_positions(available, scored.frame_times, scored.scores)
    got: dict[int, Frame] = {}
    pictures = _Pictures()
    chosen: list[int] = []
    for _ in range(_REPLAN_ROUNDS):
        t0 = time.perf_counter()
        chosen = select_indices(scored.scores, k, min_gap_frames=min_gap, available=available)
        scored.timings["select"] = scored.timings.get("select", 0.0) + time.perf_counter() - t0
        todo = [p for p in chosen if p not in got]
        if not todo:
            break
        t0 = time.perf_counter()
        for frame in _chosen_frames(store, key, reader, grid, todo, side, progress):
            p = frame.index
            assert p is not None
            if pictures.repeat_of(frame, p) is not None:
                available[p] = False  # the same picture as a frame already got
                repeats += 1
                continue
            got[p] = frame
        scored.timings["decode"] = scored.timings.get("decode", 0.0) + time.perf_counter() - t0
        for p in todo:
            if p not in got and available[p]:
                available[p] = False  # could not be decoded
        _lost_positions(available, grid, reader.lost_spans)
    frames = [got[p] for p in chosen if p in got]
    return frames, repeats


def _fewer_frames(m: int, k: int, n: int, fps: float, lost: Sequence[tuple[float, float]], repeats: int) -> str:
    """Why a selection holds ``m`` frames where ``k`` were asked for."""
    reasons = []
    if n < k:
        reasons.append(f"the range holds only {n} sampled times at {fps:g} fps")
    if lost:
        shown = ", ".join(f"{a:.1f}-{b:.1f}s" for a, b in lost[:3]) + (", …" if len(lost) > 3 else "")
        reasons.append(f"the video could not be decoded at {shown}")
    if repeats:
        reasons.append("the same picture is on screen at several sampled times (a held or repeated frame)")
    if not reasons:
        reasons.append(
            "no frame could be decoded at some sampled times (damaged or out-of-order data), or no other frame "
            "fits the minimum gap between frames"
        )
    return f"{m} of the {k} frames asked for: " + "; ".join(reasons)


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
