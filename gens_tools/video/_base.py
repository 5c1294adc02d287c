"""The video reader interface shared by every decoding backend."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from gens_tools._checks import image_side
from gens_tools.errors import InvalidArgumentError, TimeRangeError, VideoError
from gens_tools.frames import Frame

#: Times closer than this (seconds) are the same time: lost spans are kept to the microsecond.
_SPAN_EPS = 1e-6


@dataclass(slots=True)
class VideoInfo:
    """What we know about a video before decoding it.

    ``duration`` is in seconds from the first frame's presentation time (which is time 0 for every
    timestamp gens-tools reports). ``fps`` is the container's average frame rate (``None`` for a frame folder
    without a rate). ``rotation`` is the display rotation in degrees (counter-clockwise, as in the display
    matrix) that decoded frames are corrected for; ``width``/``height`` are the displayed size (after
    rotation).
    """

    source: str
    duration: float
    fps: float | None
    width: int
    height: int
    codec: str
    rotation: int = 0
    n_frames: int | None = None
    container: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


@runtime_checkable
class VideoReader(Protocol):
    """A source of frames at chosen presentation times.

    Implementations stream: ``iter_frames`` decodes lazily and never holds the whole video in memory.
    ``lost_spans`` lists time spans (seconds) that could not be decoded (truncated or corrupt data); frames
    for targets inside them are not yielded.
    """

    info: VideoInfo
    lost_spans: list[tuple[float, float]]

    def iter_frames(self, targets: Sequence[float], *, max_side: int | None = None) -> Iterator[Frame]:
        """Yield, for each target time (seconds, ascending), the frame on screen at that time: the last frame
        whose presentation time is <= target. ``Frame.timestamp`` is that frame's real presentation time,
        ``Frame.index`` the target's position in ``targets``. Frames are RGB, shrunk so the longer side is at
        most ``max_side`` (never enlarged), with rotation metadata applied."""
        ...

    def close(self) -> None:
        """Release the decoder and file handles."""
        ...

    def __enter__(self) -> VideoReader: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


#: Most target times one sampling grid may hold (about 5.8 days at 1 fps): a longer range is refused with a
#: clear error before any list of that size is built.
MAX_GRID_POINTS = 500_000


def sampling_range(info: VideoInfo, start: float | None = None, end: float | None = None) -> tuple[float, float]:
    """The checked ``(start, end)`` of a request over ``info`` in seconds (default: the whole video), computed
    without laying a grid.

    Raises :class:`TimeRangeError` when the range is reversed, empty or outside the video.
    """
    duration = info.duration
    s = 0.0 if start is None else float(start)
    e = duration if end is None else float(end)
    if not (math.isfinite(s) and math.isfinite(e)):
        raise TimeRangeError(f"start and end must be finite numbers of seconds, got start={start!r}, end={end!r}")
    if s < 0:
        raise TimeRangeError(f"start={s:g}s is negative; the video runs from 0 to {duration:.3f}s")
    if s >= duration:
        raise TimeRangeError(f"start={s:g}s is at or past the end of the video ({duration:.3f}s)")
    if e <= s:
        raise TimeRangeError(f"end={e:g}s must be after start={s:g}s")
    if e > duration + 1e-6:
        if end is not None:
            raise TimeRangeError(f"end={e:g}s is past the end of the video ({duration:.3f}s)")
        e = duration
    return s, e


def grid_length(start: float, end: float, fps: float) -> int:
    """How many target times ``start, start + 1/fps, …`` lie strictly before ``end`` (at least one)."""
    return max(1, math.ceil((end - start) * fps - 1e-9))


def sampling_grid(
    info: VideoInfo, fps: float = 1.0, start: float | None = None, end: float | None = None
) -> list[float]:
    """Target times ``start, start + 1/fps, …`` strictly before ``end`` (default: the whole video).

    The grid's length is checked before it is built: a video that *claims* a huge duration cannot make this
    allocate a list proportional to the claim.

    Raises :class:`TimeRangeError` when the range is reversed, empty or outside the video, or would hold more
    than :data:`MAX_GRID_POINTS` times.
    """
    if not (isinstance(fps, int | float) and not isinstance(fps, bool) and math.isfinite(fps) and fps > 0):
        raise InvalidArgumentError(f"fps must be a positive number, got {fps!r}")
    s, e = sampling_range(info, start, end)
    n = grid_length(s, e, fps)
    if n > MAX_GRID_POINTS:
        raise TimeRangeError(
            f"{s:g}-{e:g}s at {fps:g} fps is {n:,} frames to look at, more than the {MAX_GRID_POINTS:,} one call "
            "takes: pass start/end to narrow it, or a lower fps"
        )
    step = 1.0 / fps
    return [round(s + i * step, 6) for i in range(n)]


def validate_targets(targets: Sequence[float]) -> list[tuple[float, int]]:
    """Check target times (finite, >= 0) and return ``(time, position)`` pairs sorted by time."""
    if isinstance(targets, str | bytes) or not isinstance(targets, Sequence):
        raise InvalidArgumentError(f"targets must be a sequence of times in seconds, got {type(targets).__name__}")
    pairs: list[tuple[float, int]] = []
    for i, t in enumerate(targets):
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t < 0:
            raise InvalidArgumentError(f"target times must be finite numbers of seconds >= 0; targets[{i}] = {t!r}")
        pairs.append((float(t), i))
    pairs.sort()
    return pairs


def add_lost_span(spans: Sequence[tuple[float, float]], start: float, end: float) -> list[tuple[float, float]]:
    """``spans`` with the span ``start``-``end`` (seconds) added: sorted, with overlapping or touching spans
    merged and times rounded to the microsecond. An empty span leaves ``spans`` as they are."""
    if end - start <= _SPAN_EPS:
        return list(spans)
    merged: list[tuple[float, float]] = []
    for a, b in sorted([*spans, (round(start, 6), round(end, 6))]):
        if merged and a <= merged[-1][1] + _SPAN_EPS:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


class ReaderBase:
    """What the readers share besides decoding: the lost-span record, the checks at the start of
    :meth:`~VideoReader.iter_frames`, closing and the context manager.

    A subclass sets :attr:`info`, ``lost_spans = []`` and ``_closed = False`` in its ``__init__`` and
    extends :meth:`close` to release what it holds.
    """

    info: VideoInfo
    lost_spans: list[tuple[float, float]]
    _closed: bool

    def _add_lost(self, start: float, end: float) -> None:
        """Record that ``start``-``end`` (seconds) could not be decoded."""
        self.lost_spans = add_lost_span(self.lost_spans, start, end)

    def _check_request(
        self, targets: Sequence[float], max_side: int | None
    ) -> tuple[list[tuple[float, int]], int | None]:
        """The checked arguments of ``iter_frames``: ``(time, position)`` pairs sorted by time, and
        ``max_side``. Raises :class:`VideoError` once the reader is closed."""
        self._ensure_open()
        return validate_targets(targets), image_side("max_side", max_side)

    def _ensure_open(self) -> None:
        """Raise :class:`VideoError` if the reader was closed."""
        if self._closed:
            raise VideoError(f"reader for {self.info.source} is closed")

    def close(self) -> None:
        """Close the reader; later calls to ``iter_frames`` raise :class:`VideoError`."""
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
