"""A :class:`~gens_tools.video.base.VideoReader` on top of decord (optional backend; PyAV is the default).

decord is fast at random access within one file but, for gens-tools' use (a whole video at 1 fps), it is
slower than PyAV's sequential decode and needs more memory, and it has known correctness problems: on some
files it returns the wrong frame while reporting the requested time (measured here: 207 of 600 one-per-second
targets 4 frames late on an open-GOP HEVC file; errors reported on variable-frame-rate and B-frame files),
and it cannot open truncated files at all. Its last release is from 2021 and there are no wheels for aarch64
or macOS on Apple silicon. Use it only when you have checked it on your own files.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from PIL import Image

from gens_tools.access import is_url
from gens_tools.errors import (
    BackendUnavailableError,
    EmptyVideoError,
    InvalidArgumentError,
    NotAVideoError,
    UnsupportedCodecError,
    VideoError,
    VideoNotFoundError,
)
from gens_tools.frames import Frame
from gens_tools.video.base import VideoInfo

__all__ = ["DEFAULT_CHUNK", "DecordReader"]

#: Frames fetched per ``get_batch`` call: bounds the memory of one batch (32 frames at 448×252 ≈ 11 MB).
DEFAULT_CHUNK = 32
_INSTALL_HINT = "pip install 'gens-tools[decord]' (x86_64 only), or use backend='pyav'"


def _import_decord() -> Any:
    try:
        import decord
    except ImportError as exc:
        raise BackendUnavailableError(f"the decord backend needs the decord package: {_INSTALL_HINT}") from exc
    return decord


def _probe(path: Path) -> tuple[str, int, int, int, str | None]:
    """Codec name, coded width and height, display rotation (counter-clockwise degrees, 0..359) and container
    name, read with PyAV."""
    import av

    try:
        container = av.open(str(path))
    except av.error.FileNotFoundError:
        raise VideoNotFoundError(f"no such file: {path}") from None
    except (av.error.InvalidDataError, av.error.ValueError, av.error.EOFError) as exc:
        raise NotAVideoError(f"{path} is not a readable video ({exc})") from None
    except av.error.FFmpegError as exc:
        raise NotAVideoError(f"cannot open {path} as a video: {exc}") from None
    with container:
        if not container.streams.video:
            raise EmptyVideoError(f"{path} has no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        codec = ctx.name if ctx is not None else "unknown"
        width = int(ctx.width or 0) if ctx is not None else 0
        height = int(ctx.height or 0) if ctx is not None else 0
        rotation = 0
        try:
            for frame in container.decode(stream):
                rotation = round(frame.rotation or 0) % 360
                width, height = frame.width, frame.height
                break
        except av.error.FFmpegError as exc:
            raise UnsupportedCodecError(f"cannot decode the {codec} video stream of {path}: {exc}") from None
        return codec, width, height, rotation, container.format.name if container.format else None


class DecordReader:
    """Frames at chosen presentation times, decoded by decord.

    Each target time is mapped to the last frame whose presentation time is <= the target (decord's frame
    timestamp table, read with ``get_frame_timestamp``); frames are fetched with ``get_batch`` in chunks of
    ``chunk_size`` (memory stays bounded), shrunk by decord itself (``width``/``height``; aspect kept, never
    enlarged) and turned upright by decord from the rotation metadata (which is also probed with PyAV for
    :attr:`info`). Frames that decord fails to decode are skipped and reported in :attr:`lost_spans`.

    Warning: decord returns wrong frames on some files (open-GOP HEVC, variable frame rate, B-frames) while
    reporting the requested time, and cannot open truncated files; PyAV (the default backend) does not have
    these problems. Timestamps come from decord's float32 table (rounded to the millisecond).

    Args:
        path: a local video file.
        num_threads: decoder threads (0: decord's default).
        chunk_size: frames per ``get_batch`` call.

    Raises:
        BackendUnavailableError: decord is not installed.
        VideoNotFoundError, NotAVideoError, EmptyVideoError, UnsupportedCodecError, VideoError: the file
            cannot be read.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, num_threads: int = 0, chunk_size: int = DEFAULT_CHUNK
    ) -> None:
        source = os.fspath(path)
        if not isinstance(source, str) or not source:
            raise InvalidArgumentError(f"path must be a non-empty file path, got {path!r}")
        if is_url(source):
            raise InvalidArgumentError("the decord backend reads local files only; use backend='pyav' for URLs")
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise InvalidArgumentError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        self._decord = _import_decord()
        file = Path(source).expanduser()
        if not file.exists():
            raise VideoNotFoundError(f"no such file: {source}")
        if file.is_dir():
            raise NotAVideoError(f"{source} is a folder, not a video file")
        self.path = file
        self.lost_spans: list[tuple[float, float]] = []
        self._num_threads = int(num_threads)
        self._chunk = chunk_size
        self._readers: dict[tuple[int, int], Any] = {}
        self._closed = False

        codec, coded_w, coded_h, rotation, container = _probe(file)
        vr = self._open((-1, -1))
        n = len(vr)
        if n <= 0:
            raise EmptyVideoError(f"{source} has no video frames")
        table = np.asarray(vr.get_frame_timestamp(range(n)), dtype=np.float64).reshape(n, 2)
        starts = table[:, 0]
        if np.any(np.diff(starts) <= 0):
            raise VideoError(f"decord's frame table for {source} is not in presentation order; use backend='pyav'")
        self._t0 = float(starts[0])
        self._starts = starts - self._t0
        self._starts32 = (table[:, 0] - self._t0).astype(np.float32)
        stops = table[:, 1] - self._t0
        fps = float(vr.get_avg_fps() or 0) or None
        last_stop = float(stops[-1])
        if not last_stop > self._starts[-1]:
            last_stop = float(self._starts[-1]) + (1.0 / fps if fps else 0.0)
        self._stops = np.minimum(stops, np.append(self._starts[1:], last_stop))
        display_w, display_h = (coded_h, coded_w) if rotation in (90, 270) else (coded_w, coded_h)
        self.info = VideoInfo(
            source=str(file),
            duration=round(max(last_stop, 1e-6), 6),
            fps=fps,
            width=display_w,
            height=display_h,
            codec=codec,
            rotation=rotation,
            n_frames=n,
            container=container,
            extra={"backend": "decord"},
        )

    # ------------------------------------------------------------------ helpers

    def _open(self, size: tuple[int, int]) -> Any:
        if self._closed:
            raise InvalidArgumentError("this DecordReader is closed")
        vr = self._readers.get(size)
        if vr is not None:
            return vr
        # one decord reader at a time (each holds a decoder and the whole frame table)
        self._readers.clear()
        width, height = size
        try:
            vr = self._decord.VideoReader(
                str(self.path), ctx=self._decord.cpu(0), width=width, height=height, num_threads=self._num_threads
            )
        except self._decord.DECORDError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise VideoError(
                f"decord cannot read {self.path} (truncated or damaged?): {first[:300]}; use backend='pyav'"
            ) from None
        except RuntimeError as exc:
            raise NotAVideoError(f"decord cannot open {self.path}: {exc}") from None
        self._readers[size] = vr
        return vr

    def output_size(self, max_side: int | None) -> tuple[int, int]:
        """Width and height of the frames :meth:`iter_frames` yields for ``max_side`` (never enlarged)."""
        w, h = self.info.width, self.info.height
        if max_side is None or max(w, h) <= max_side:
            return w, h
        scale = max_side / max(w, h)
        return max(1, round(w * scale)), max(1, round(h * scale))

    def frame_positions(self, targets: Sequence[float]) -> list[int]:
        """For each target time, the position (in presentation order) of the last frame starting at or
        before it."""
        t = np.asarray(targets, dtype=np.float64).astype(np.float32)
        # decord's table is float32: allow one float32 step of slack so a frame exactly at t is not missed
        idx = np.searchsorted(self._starts32, t + np.spacing(np.abs(t)), side="right") - 1
        return np.clip(idx, 0, len(self._starts32) - 1).astype(int).tolist()

    def _add_lost(self, pos: int) -> None:
        span = (round(float(self._starts[pos]), 6), round(float(self._stops[pos]), 6))
        if self.lost_spans and abs(self.lost_spans[-1][1] - span[0]) < 1e-6:
            self.lost_spans[-1] = (self.lost_spans[-1][0], span[1])
        elif span not in self.lost_spans:
            self.lost_spans.append(span)

    def _fetch(self, vr: Any, positions: list[int]) -> dict[int, np.ndarray]:
        """Decode ``positions``; a failing batch is retried frame by frame and failing frames are lost."""
        try:
            batch = vr.get_batch(positions).asnumpy()
            return {p: batch[i] for i, p in enumerate(positions)}
        except self._decord.DECORDError:
            pass
        out: dict[int, np.ndarray] = {}
        for p in positions:
            try:
                out[p] = vr.get_batch([p]).asnumpy()[0]
            except self._decord.DECORDError:
                self._add_lost(p)
        return out

    # ------------------------------------------------------------------ protocol

    def iter_frames(self, targets: Sequence[float], *, max_side: int | None = None) -> Iterator[Frame]:
        """Yield the frame on screen at each target time (seconds, ascending); see
        :meth:`gens_tools.video.base.VideoReader.iter_frames`."""
        if max_side is not None and (isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < 1):
            raise InvalidArgumentError(f"max_side must be a positive integer or None, got {max_side!r}")
        times = [float(t) for t in targets]
        for a, b in itertools.pairwise(times):
            if not b >= a:
                raise InvalidArgumentError("target times must be in ascending order")
        if any(not math.isfinite(t) or t < 0 for t in times):
            raise InvalidArgumentError("target times must be finite numbers of seconds >= 0")
        if not times:
            return
        size = self.output_size(max_side)
        vr = self._open((-1, -1) if size == (self.info.width, self.info.height) else size)
        positions = self.frame_positions(times)
        start = 0
        while start < len(times):
            # the targets whose frames fall in the next `chunk` distinct positions
            unique: list[int] = []
            end = start
            while end < len(times):
                if not unique or unique[-1] != positions[end]:
                    if len(unique) == self._chunk:
                        break
                    unique.append(positions[end])
                end += 1
            pixels = self._fetch(vr, unique)
            for i in range(start, end):
                arr = pixels.get(positions[i])
                if arr is None:
                    continue
                yield Frame(
                    timestamp=round(float(self._starts[positions[i]]), 3),
                    image=Image.fromarray(arr, "RGB"),
                    index=i,
                )
            start = end

    def close(self) -> None:
        """Release decord's readers."""
        self._readers.clear()
        self._closed = True

    def __enter__(self) -> DecordReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DecordReader({str(self.path)!r})"
