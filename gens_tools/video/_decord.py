"""A :class:`~gens_tools.video._base.VideoReader` on top of decord (optional backend; PyAV is the default).

decord is fast at random access within one file but, for gens-tools' use (a whole video at 1 fps), it is
slower than PyAV's sequential decode and needs more memory, and it has known correctness problems: on some
files it returns the wrong frame while reporting the requested time (measured here: 207 of 600 one-per-second
targets 4 frames late on an open-GOP HEVC file; errors reported on variable-frame-rate and B-frame files),
and it cannot open truncated files at all. :class:`DecordReader` refuses the files where it can tell decord
would be wrong. Its last release is from 2021 and there are no wheels for aarch64
or macOS on Apple silicon. Use it only when you have checked it on your own files.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from gens_tools._imaging import fit_within
from gens_tools._sources import is_url
from gens_tools.errors import (
    BackendUnavailableError,
    EmptyVideoError,
    InvalidArgumentError,
    NotAVideoError,
    VideoError,
    VideoNotFoundError,
)
from gens_tools.frames import Frame
from gens_tools.video._base import ReaderBase
from gens_tools.video._pyav import PyAVReader

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


def _keyframe_positions(path: Path) -> list[int]:
    """Display-order positions of the keyframes of the first video stream (a demux pass, no decoding)."""
    import av

    pts: list[int] = []
    key_pts: list[int] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None:
                continue
            pts.append(packet.pts)
            if packet.is_keyframe:
                key_pts.append(packet.pts)
    order = np.sort(np.asarray(pts, dtype=np.int64))
    return [int(i) for i in np.searchsorted(order, np.asarray(key_pts, dtype=np.int64))]


class DecordReader(ReaderBase):
    """Frames at chosen presentation times, decoded by decord.

    Each target time is mapped to the last frame whose presentation time is <= the target (decord's frame
    timestamp table, read with ``get_frame_timestamp``); frames are fetched with ``get_batch`` in chunks of
    ``chunk_size`` (memory stays bounded), shrunk by decord itself (``width``/``height``; aspect kept, never
    enlarged) and turned upright by decord from the rotation metadata (which is also probed with PyAV for
    :attr:`info`). Frames that decord fails to decode are skipped and reported in :attr:`lost_spans`.

    Warning: decord returns wrong frames on some files (open-GOP HEVC, variable frame rate, B-frames) while
    reporting the requested time, and cannot open truncated files; PyAV (the default backend) does not have
    these problems. This reader refuses (with :class:`VideoError`) the cases it can detect: keyframes that
    decord places wrongly (it counts them in decoding order, so every frame after an open-GOP keyframe comes
    out late), and files without usable timestamps (many AVIs). Opening costs one extra demux pass (PyAV, no
    decoding) for that check. Timestamps come from decord's float32 table (rounded to the millisecond).

    Args:
        path: a local video file.
        num_threads: decoder threads (0: decord's default).
        chunk_size: frames per ``get_batch`` call.

    Raises:
        BackendUnavailableError: decord is not installed.
        VideoNotFoundError, NotAVideoError, EmptyVideoError, UnsupportedCodecError, VideoError: the file
            cannot be read.
    """

    def __init__(self, path: str | os.PathLike[str], *, num_threads: int = 0, chunk_size: int = DEFAULT_CHUNK) -> None:
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

        # Properties (rotation, displayed size, duration) as the PyAV reader sees them, so that both backends
        # lay the same sampling grid over a video; this also turns unreadable input into typed errors.
        pyav = PyAVReader(file, threads=1)
        probe = pyav.info
        self.lost_spans = list(pyav.lost_spans)  # a tail the metadata claims but the data does not hold
        vr = self._open((-1, -1))
        n = len(vr)
        if n <= 0:
            raise EmptyVideoError(f"{source} has no video frames")
        table = np.asarray(vr.get_frame_timestamp(range(n)), dtype=np.float64).reshape(n, 2)
        starts = table[:, 0] - float(table[0, 0])
        if table[0, 0] < -1e9 or np.any(np.diff(starts) <= 0):
            raise VideoError(
                f"decord cannot read the frame times of {source} (missing or repeated timestamps, as in many "
                "AVI files); use backend='pyav'"
            )
        if [int(k) for k in vr.get_key_indices()] != _keyframe_positions(file):
            # decord counts keyframes in decoding order but frames in display order; when the two differ
            # (open-GOP HEVC, …) its seeks land on the wrong frame and it silently returns later frames.
            raise VideoError(
                f"decord would return wrong frames for {source}: its keyframes are not where decord expects "
                "them (open GOP / reordered keyframes); use backend='pyav'"
            )
        self._starts = starts
        self._starts32 = starts.astype(np.float32)
        # The end of the last frame decord has: past it nothing is on screen, whatever the metadata claims
        # (decord would repeat its last picture for every later time).
        last = float(table[-1, 1] - table[0, 0])
        if last <= starts[-1]:
            last = float(starts[-1]) + (1.0 / probe.fps if probe.fps else 0.0)
        self._data_end = max(last, pyav._data_end or 0.0)  # PyAV read where the last packet ends
        stops = np.append(starts[1:], max(self._data_end, float(starts[-1])))
        self._stops = stops
        if probe.duration - self._data_end > max(60.0, self._data_end):  # a duration lie (as the PyAV reader)
            self._add_lost(self._data_end, probe.duration)
        # decord's own output size: the coded size turned by the rotation (it ignores the pixel aspect)
        natural = vr[0].shape
        self._natural = (int(natural[1]), int(natural[0]))
        self.info = replace(probe, n_frames=n, extra={**probe.extra, "backend": "decord"})

    # ------------------------------------------------------------------ helpers

    def _open(self, size: tuple[int, int]) -> Any:
        self._ensure_open()
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
        return fit_within(self.info.width, self.info.height, max_side)

    def frame_positions(self, targets: Sequence[float]) -> list[int]:
        """For each target time, the position (in presentation order) of the last frame starting at or
        before it."""
        t = np.asarray(targets, dtype=np.float64).astype(np.float32)
        # decord's table is float32: allow one float32 step of slack so a frame exactly at t is not missed
        idx = np.searchsorted(self._starts32, t + np.spacing(np.abs(t)), side="right") - 1
        return [int(i) for i in np.clip(idx, 0, len(self._starts32) - 1)]

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
                self._add_lost(float(self._starts[p]), float(self._stops[p]))
        return out

    # ------------------------------------------------------------------ protocol

    def iter_frames(self, targets: Sequence[float], *, max_side: int | None = None) -> Iterator[Frame]:
        """Yield the frame on screen at each target time (seconds, ascending); see
        :meth:`gens_tools.video._base.VideoReader.iter_frames`."""
        pairs, side = self._check_request(targets, max_side)
        # targets past the end of the frames have nothing on screen (the metadata may claim more)
        end_of_video = min(self.info.duration, self._data_end) + 1e-6
        pairs = [(t, i) for t, i in pairs if t < end_of_video]
        if not pairs:
            return iter(())
        return self._iter(pairs, side)

    def _iter(self, pairs: list[tuple[float, int]], max_side: int | None) -> Iterator[Frame]:
        size = self.output_size(max_side)
        vr = self._open((-1, -1) if size == self._natural else size)
        positions = self.frame_positions([t for t, _ in pairs])
        yielded = 0
        start = 0
        while start < len(pairs):
            # the targets whose frames fall in the next `chunk` distinct positions
            unique: list[int] = []
            end = start
            while end < len(pairs):
                if not unique or unique[-1] != positions[end]:
                    if len(unique) == self._chunk:
                        break
                    unique.append(positions[end])
                end += 1
            pixels = self._fetch(vr, unique)
            images: dict[int, Image.Image] = {}
            for k in range(start, end):
                pos = positions[k]
                arr = pixels.get(pos)
                if arr is None:
                    continue
                if pos not in images:
                    images[pos] = Image.fromarray(arr, "RGB")
                yield Frame(timestamp=round(float(self._starts[pos]), 3), image=images[pos], index=pairs[k][1])
                yielded += 1
            start = end
        if not yielded:
            # Every requested frame failed (seen with VP9 WebM): an empty result would look like a video
            # with nothing in it.
            raise VideoError(
                f"decord could not decode any of the requested frames of {self.path} "
                f"({self.info.codec} in {self.info.container}); use backend='pyav' (--backend pyav)"
            )

    def close(self) -> None:
        """Release decord's readers."""
        self._readers.clear()
        super().close()

    def __repr__(self) -> str:
        return f"DecordReader({str(self.path)!r})"
