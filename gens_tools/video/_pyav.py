"""Read frames at chosen times from a video file or an http(s) URL with PyAV (FFmpeg).

The reader decodes in background threads and turns into pictures only the frames that are on screen at a
requested time, shrinking them while converting; the caller's own work (writing the frame cache, scoring)
overlaps with decoding.

* **Only what a target needs is decoded** (``skip_frames=True``, the default): every packet is looked at
  before it is decoded, with a few packets read ahead to know when its frame leaves the screen; a frame that
  is on screen at no requested time and that no other frame refers to (a non-reference frame) is skipped by
  the decoder (FFmpeg's ``skip_frame``). Reference frames are always decoded, so the frames returned are
  exactly those of a full decode, with the same timestamps; on typical H.264 with B-frames about 40 % of
  the frames are skipped at 1 fps. ``skip_frames=False`` decodes every frame.
* **Local videos are decoded by several workers at once** (``threads`` ≥ 2): the requested times are cut
  into segments that start at keyframes, which workers take in turn, each with its own single-threaded
  decoder that seeks to its segment's keyframe (so no frame is decoded twice); frames come out in time
  order. Independent segments keep every core busy, where one frame-threaded decoder waits on the frames it
  depends on. A video whose keyframes are too far apart to split at, large pictures and a URL get one worker
  with FFmpeg's frame threads.
* When two consecutive requested times are far apart (longer than ``seek_threshold`` seconds), a worker
  seeks to the keyframe before the next time instead of decoding everything in between, unless that
  keyframe is behind its decoder already; every path returns the same frames.

Memory does not grow with the length of the video: each worker holds a few decoded frames and at most about
12 MB of finished pictures waiting to be taken.

Damaged input is read as far as it goes: every decodable frame is returned, and time spans that could not
be decoded (a cut-off tail, a run of corrupt packets) are recorded in :attr:`PyAVReader.lost_spans`.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import os
import queue
import threading
from collections import deque
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NamedTuple

from PIL import Image

from gens_tools._cores import available_cores
from gens_tools._imaging import fit_within
from gens_tools._sources import is_http_url, normalize_http_url
from gens_tools.errors import (
    EmptyVideoError,
    InvalidArgumentError,
    NotAVideoError,
    UnsupportedCodecError,
    VideoError,
    VideoNotFoundError,
)
from gens_tools.frames import Frame
from gens_tools.video._base import ReaderBase, VideoInfo
from gens_tools.video._guard import check_local_video, demuxer_whitelist

__all__ = ["PyAVReader", "ReadStats"]

_EPS = 1e-6
#: Packets read ahead of the decoder to learn when each packet's frame leaves the screen (frames arrive in
#: decoding order; H.264 and HEVC reorder at most 16).
_LOOKAHEAD = 24
#: Bytes of finished pictures one worker may hold for the consumer (bounds memory and segment length).
_WORKER_BUFFER_BYTES = 12 * 2**20
#: Fewest targets in a segment (with fewer pictures of room per worker, one worker decodes everything).
_MIN_SEGMENT_TARGETS = 8
# Demuxers FFmpeg uses for single pictures and text: such inputs are not videos.
#: Demuxers that read other files or URLs named inside the input.
_PLAYLIST_FORMATS = frozenset({"hls", "dash", "concat", "ffconcat"})
_NOT_VIDEO_FORMATS = {"image2", "tty", "lrc", "srt", "webvtt", "ass"}
_TRANSPOSE = {
    90: Image.Transpose.ROTATE_90,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_270,
}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(slots=True)
class ReadStats:
    """Work done by a reader so far (for benchmarks and diagnostics)."""

    decoded: int = 0
    """Frames decoded."""
    converted: int = 0
    """Frames converted to pictures (only the chosen ones)."""
    seeks: int = 0
    """Seeks made on the sparse path."""
    decode_errors: int = 0
    """Packets the decoder rejected (corrupt or cut-off data)."""
    workers: int = 0
    """Decoding threads of the last :meth:`~PyAVReader.iter_frames` pass (one decoder each)."""
    segments: int = 0
    """Segments the last pass was cut into (1: one sequential pass)."""


class _Decoded(NamedTuple):
    time: float  # seconds from the first frame
    end: float  # when the next frame is due (time + frame duration)
    frame: Any  # av.VideoFrame


def _map_open_error(source: str, exc: BaseException) -> VideoError:
    import av

    if isinstance(exc, av.error.FileNotFoundError | av.error.HTTPNotFoundError):
        return VideoNotFoundError(f"video not found: {source}")
    if isinstance(exc, av.error.HTTPError):
        return VideoError(f"could not fetch {source}: {exc}")
    if isinstance(exc, av.error.ConnectionRefusedError):
        return VideoError(f"could not connect to {source}: connection refused")
    if isinstance(exc, av.error.ExitError | av.error.TimeoutError):
        return VideoError(f"timed out opening {source}")
    if isinstance(exc, av.error.PermissionError):
        return VideoError(f"permission denied reading {source}")
    if isinstance(exc, av.error.InvalidDataError):
        return NotAVideoError(f"{source} is not a readable video (FFmpeg found no known container format)")
    if isinstance(exc, av.error.FFmpegError | OSError):
        return VideoError(f"could not open {source}: {exc}")
    return VideoError(f"could not open {source}: {type(exc).__name__}: {exc}")


def _mp4_index_after_data(head: bytes) -> bool | None:
    """From the first bytes of an MP4 file: whether its top-level ``mdat`` box (the data) comes before the
    ``moov`` box (the index); ``None`` when those bytes do not tell."""
    pos = 0
    while pos + 8 <= len(head):
        size = int.from_bytes(head[pos : pos + 4], "big")
        kind = head[pos + 4 : pos + 8]
        if kind == b"moov":
            return False
        if kind == b"mdat":
            return True
        if size == 1 and pos + 16 <= len(head):
            size = int.from_bytes(head[pos + 8 : pos + 16], "big")
        if size < 8:
            return None
        pos += size
    return None


def _http_mp4_layout(url: str, timeout: float | None) -> tuple[bool | None, bool | None]:
    """``(the server honours range requests, the MP4 index comes after the data)`` from one request for the
    first 64 KiB of ``url`` (only those are read, whatever the server sends); ``None`` where unknown."""
    from gens_tools._redirects import fetch_start

    try:  # redirects are not followed: `url` is the final one open_video checked
        status, _, head = fetch_start(url, 65535, timeout or 30.0)
    except VideoError:
        return None, None
    if status >= 300:
        return None, None
    return status == 206, _mp4_index_after_data(head[:65536])


class PyAVReader(ReaderBase):
    """A :class:`~gens_tools.video._base.VideoReader` backed by PyAV.

    Args:
        source: path of a video file, or an http(s) URL (streamed by FFmpeg, not downloaded first).
        threads: decoder threads (FFmpeg's ``thread_count``; 0 = as many as the cores available, see ``_cores``).
        thread_type: FFmpeg threading mode, ``"FRAME"``, ``"SLICE"`` or ``"AUTO"``.
        timeout: seconds to wait for data from a URL (connect and each read) before giving up.
        seek_threshold: seek instead of decoding on when the next requested time is more than this many
            seconds ahead of the decoder (``math.inf`` = always decode sequentially, with one worker).
        options: extra FFmpeg demuxer/protocol options.
        skip_frames: let the decoder skip non-reference frames that are on screen at no requested time
            (same frames and timestamps as a full decode, less work); ``False`` decodes every frame.

    Raises:
        VideoNotFoundError: the file does not exist (or the URL answers 404).
        NotAVideoError: the input is not a video (garbage bytes, text, a still image).
        EmptyVideoError: the input is empty or holds no video frames (e.g. audio only).
        UnsupportedCodecError: FFmpeg has no decoder for the video's codec.
        VideoError: any other failure to open (connection refused, timeout…).
    """

    def __init__(
        self,
        source: str | os.PathLike[str],
        *,
        threads: int = 2,
        thread_type: str = "FRAME",
        timeout: float | None = 30.0,
        seek_threshold: float = 20.0,
        options: Mapping[str, str] | None = None,
        skip_frames: bool = True,
    ) -> None:
        if not isinstance(skip_frames, bool):
            raise InvalidArgumentError(f"skip_frames must be True or False, got {skip_frames!r}")
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
            raise InvalidArgumentError(f"threads must be an integer >= 0, got {threads!r}")
        if not isinstance(thread_type, str) or thread_type.upper() not in ("FRAME", "SLICE", "AUTO", "NONE"):
            raise InvalidArgumentError(f"thread_type must be FRAME, SLICE, AUTO or NONE, got {thread_type!r}")
        if timeout is not None and not (_is_number(timeout) and math.isfinite(timeout) and timeout > 0):
            raise InvalidArgumentError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if not (_is_number(seek_threshold) and seek_threshold > 0):
            raise InvalidArgumentError(f"seek_threshold must be > 0 seconds, got {seek_threshold!r}")
        if not (isinstance(source, str | os.PathLike)) or (isinstance(source, str) and not source):
            raise InvalidArgumentError(f"source must be a file path or an http(s) URL, got {source!r}")
        path = os.fspath(source)
        self.source = normalize_http_url(path) if is_http_url(path) else path
        self.threads = threads
        self.thread_type = thread_type.upper()
        self.timeout = timeout
        self.seek_threshold = float(seek_threshold)
        self._options = dict(options or {})
        self.lost_spans: list[tuple[float, float]] = []
        self.skip_frames = skip_frames
        self.stats = ReadStats()
        self._closed = False
        self._lock = threading.Lock()
        self._passes: set[_Pass] = set()
        self._is_url = is_http_url(self.source)
        if not self._is_url:
            # A regular file that is not a playlist, looked at before FFmpeg opens anything (a FIFO would hang
            # it, a playlist would make it read other files).
            if check_local_video(self.source):
                raise NotAVideoError(f"{self.source} is a folder; open it with FolderReader or open_video()")
            if os.path.getsize(self.source) == 0:
                raise EmptyVideoError(f"video file is empty (0 bytes): {self.source}")
        self._data_end: float | None = None
        self.info = self._probe()
        if self._data_end is not None and self.info.duration - self._data_end > max(60.0, self._data_end):
            # The metadata claims far more than the data holds (a duration lie: 10 s of video claiming 10 hours):
            # nothing can be decoded past the last packet, so that tail is lost from the start. Smaller gaps (a
            # cut-off file, an inexact end seen through a byte-based seek) are found while decoding.
            self._add_lost(self._data_end, self.info.duration)

    # --- opening -----------------------------------------------------------------------------------------

    def _open_container(self) -> Any:
        import av

        options = dict(self._options)
        # Only the protocols a plain file or URL needs, and no demuxer that reads other files or devices: a
        # playlist or crafted container must not make FFmpeg reach other hosts or other local files than the
        # one the caller (and its AccessPolicy) allowed. Redirects are not followed: open_video resolves them
        # first, checking every hop, and hands over the final URL.
        options.setdefault("protocol_whitelist", "http,https,tls,tcp" if self._is_url else "file")
        options.setdefault("format_whitelist", demuxer_whitelist())
        kwargs: dict[str, Any] = {}
        if self._is_url:
            options.setdefault("max_redirects", "0")
            if self.timeout is not None:
                options.setdefault("rw_timeout", str(int(self.timeout * 1_000_000)))
        if self.timeout is not None:
            # Opening (probing) and each read end within the timeout, for files too (a hostile file must not
            # keep FFmpeg probing).
            kwargs["timeout"] = (self.timeout, self.timeout)
        try:
            return av.open(self.source, "r", options=options, **kwargs)
        except Exception as exc:
            raise _map_open_error(str(self.source), exc) from exc

    def _video_stream(self, container: Any) -> Any:
        import av

        fmt = container.format.name
        if fmt in _PLAYLIST_FORMATS:
            raise NotAVideoError(
                f"{self.source} is a playlist ({fmt}), which gens-tools does not open: it would read other "
                "files or URLs than the one given; pass the video file or URL itself"
            )
        if fmt in _NOT_VIDEO_FORMATS or fmt.endswith("_pipe"):
            raise NotAVideoError(f"{self.source} is not a video (FFmpeg reads it as {fmt!r}: a picture or text)")
        streams = [
            s
            for s in container.streams.video
            if not (s.disposition & av.stream.Disposition.attached_pic)  # cover art of an audio file
        ]
        if not streams:
            kinds = sorted({s.type for s in container.streams}) or ["nothing"]
            raise EmptyVideoError(f"{self.source} holds no video stream (it has: {', '.join(kinds)})")
        stream = max(streams, key=lambda s: ((s.disposition & av.stream.Disposition.default) != 0, s.frames))
        if stream.codec_context is None:
            raise UnsupportedCodecError(
                f"{self.source}: FFmpeg in this PyAV build cannot decode the video stream: its codec is unknown "
                "to it, or the file is damaged (cut off before the stream was described?)"
            )
        return stream

    def _rewind(self, container: Any, stream: Any) -> None:
        """Over http(s), seek to the first packet before reading: FFmpeg's MP4 demuxer, after fetching an
        index stored at the end of the file, sometimes resumes one packet late (with a wrong timestamp)
        unless told where to start. Local files do not need this."""
        import av

        if not self._is_url:
            return
        with contextlib.suppress(av.error.FFmpegError, OSError):  # not seekable: read on from the start
            container.seek(stream.start_time or 0, backward=True, any_frame=False, stream=stream)

    def _configure(self, stream: Any, threads: int | None = None) -> None:
        ctx = stream.codec_context
        n = self.threads if threads is None else threads
        if self.thread_type != "NONE" and n != 1:
            ctx.thread_type = self.thread_type
            ctx.thread_count = n
        else:
            ctx.thread_count = 1

    def _probe(self) -> VideoInfo:
        """Open the input, check it holds decodable video and read its properties (decodes one frame)."""
        container = self._open_container()
        try:
            stream = self._video_stream(container)
            self._configure(stream)
            self._rewind(container, stream)
            tb: Fraction = stream.time_base or Fraction(1, 1000)
            self._time_base = tb
            self._tb = float(tb)
            self._nominal = 1.0 / 30
            first = None
            # Frames without any timestamp before the first timestamped one are pre-roll FFmpeg gives no time
            # (a container's negative timestamps): they are not shown. A stream without timestamps at all is
            # timed from its first frame.
            self._preroll = False
            frames = self._raw_frames(container, stream, count=False)
            for n, frame in enumerate(frames):
                if first is None:
                    first = frame
                if frame is None or frame.pts is not None or frame.dts is not None:
                    if frame is not None and first is not frame:
                        first, self._preroll = frame, True
                    break
                if n >= 64:
                    break
            frames.close()
            if first is None:
                if self._is_url and "mp4" in container.format.name:
                    self._explain_unstreamable_mp4()
                raise EmptyVideoError(f"{self.source} holds no decodable video frames")
            self._start_pts = self._frame_pts(first, None)
            rotation = round(first.rotation) % 360 if first.rotation else 0
            if rotation not in _TRANSPOSE:
                rotation = 0  # only quarter turns are applied
            self._rotation = rotation
            sar = stream.sample_aspect_ratio
            self._sar = Fraction(sar) if sar and sar > 0 else Fraction(1)
            coded_w, coded_h = first.width, first.height
            shown_w = max(1, round(coded_w * self._sar))
            width, height = (coded_h, shown_w) if rotation in (90, 270) else (shown_w, coded_h)
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            fps = float(rate) if rate else None
            self._nominal = 1.0 / fps if fps and 0 < fps < 1000 else 1.0 / 30
            duration = self._duration(container, stream)
            if duration is None:
                raise VideoError(f"cannot tell the duration of {self.source} (a live stream?)")
            n_frames = stream.frames or None
            codec = stream.codec_context.name
            extra: dict[str, object] = {
                "start_time": float(self._start_pts * tb),
                "time_base": str(tb),
                "has_b_frames": bool(getattr(stream.codec_context, "has_b_frames", False)),
                "sample_aspect_ratio": str(self._sar),
                "coded_size": [coded_w, coded_h],
            }
            if container.bit_rate:
                extra["bit_rate"] = int(container.bit_rate)
            return VideoInfo(
                source=str(self.source),
                duration=duration,
                fps=fps,
                width=width,
                height=height,
                codec=codec,
                rotation=rotation,
                n_frames=n_frames,
                container=container.format.name,
                extra=extra,
            )
        except VideoError:
            raise
        except Exception as exc:
            raise _map_open_error(str(self.source), exc) from exc
        finally:
            container.close()

    def _explain_unstreamable_mp4(self) -> None:
        """Raise a :class:`VideoError` that says what to do when an MP4 URL gave no frames because its index
        comes after the data and the server cannot send the data again (no range requests)."""
        ranges, index_last = _http_mp4_layout(str(self.source), self.timeout)
        if ranges is False and index_last is not False:
            raise VideoError(
                f"cannot stream {self.source}: it is an MP4 whose index (the 'moov' box) comes after the video "
                "data, and the server does not support HTTP range requests, so the frames cannot be reached "
                "without downloading the whole file first. Download it and pass the local file, serve it from a "
                "server with range requests, or move the index to the front once with "
                "`ffmpeg -i in.mp4 -c copy -movflags +faststart out.mp4`"
            )

    def _duration(self, container: Any, stream: Any) -> float | None:
        """Seconds from the first frame to the end of the video: the later of what the container's metadata
        says and where the last packets end (read after seeking to the last keyframe, without decoding).

        The metadata keeps a cut-off file's full length (so the lost tail is reported); the packet scan
        corrects metadata that stops short (variable frame rate, a first frame after time 0).
        """
        start = float(self._start_pts * self._time_base)
        meta = self._metadata_end(container, stream)
        scanned = self._scan_end(container, stream, meta)
        self._data_end = None if scanned is None else scanned - start
        ends = [e for e in (meta, scanned) if e is not None and e - start > 0]
        if not ends:
            return None
        return max(max(ends) - start, self._nominal if scanned is not None else 0.0)

    def _metadata_end(self, container: Any, stream: Any) -> float | None:
        tb = self._time_base
        if stream.duration and stream.duration > 0:
            s0 = stream.start_time if stream.start_time is not None else self._start_pts
            return float((s0 + stream.duration) * tb)
        if container.duration and container.duration > 0:
            if "matroska" in container.format.name:
                # FFmpeg gives a Matroska segment's duration counted from time 0, not from the first frame.
                return float(container.duration / 1_000_000)
            return float(((container.start_time or 0) + container.duration) / 1_000_000)
        return None

    def _scan_end(self, container: Any, stream: Any, meta_end: float | None) -> float | None:
        import av

        limit = 20_000 if self._is_url else None  # never download a whole remote video just for this
        if meta_end is not None:
            try:
                container.seek(int(meta_end / self._time_base), backward=True, any_frame=False, stream=stream)
            except (av.error.FFmpegError, OSError):
                return None
        elif self._is_url:
            return None
        last: tuple[int, int] | None = None  # (pts, duration) of the packet shown last
        try:
            for n, packet in enumerate(container.demux(stream)):
                if limit is not None and n > limit:
                    return None
                ts = packet.pts if packet.pts is not None else packet.dts
                if ts is None or packet.size == 0:
                    continue
                if last is None or ts >= last[0]:
                    last = (ts, packet.duration or 0)
        except av.error.FFmpegError:
            pass
        if last is None:
            return None
        tail = float(last[1] * self._time_base) if last[1] else self._nominal
        return float(last[0] * self._time_base) + tail

    # --- decoding ----------------------------------------------------------------------------------------

    def _frame_pts(self, frame: Any, previous: int | None) -> int:
        if frame.pts is not None:
            return int(frame.pts)
        if frame.dts is not None:
            return int(frame.dts)
        step = max(1, round(self._nominal / float(self._time_base)))
        return 0 if previous is None else previous + step

    def _count(self, name: str, n: int = 1) -> None:
        """Add ``n`` to one of :attr:`stats` (workers run in several threads)."""
        with self._lock:
            setattr(self.stats, name, getattr(self.stats, name) + n)

    def _add_lost(self, start: float, end: float) -> None:
        with self._lock:
            super()._add_lost(start, end)

    def _raw_frames(
        self, container: Any, stream: Any, *, count: bool = True, wanted: _Wanted | None = None
    ) -> Generator[Any, None, None]:
        """Yield each decoded frame, then ``None`` if the pass ended on an error rather than a clean end of
        file. Decode errors are never raised: with ``count``, the span of each rejected packet is recorded
        in :attr:`lost_spans` and counted in :attr:`stats`.

        With ``wanted``, packets are read :data:`_LOOKAHEAD` ahead and the decoder may skip a non-reference
        frame unless it is on screen at one of the wanted times."""
        import av

        ctx = stream.codec_context
        depth = _LOOKAHEAD if wanted is not None else 1
        broken = False
        ended = False  # the demuxer is exhausted (or failed)
        demux = container.demux(stream)
        ahead: deque[Any] = deque()
        behind: deque[int] = deque(maxlen=_LOOKAHEAD)  # pts of the packets sent last
        skipping = False
        if wanted is not None:
            ctx.skip_frame = "DEFAULT"  # a stopped earlier pass over this decoder may have left it skipping
        while True:
            while not ended and len(ahead) < depth:
                try:
                    ahead.append(next(demux))
                except StopIteration:
                    ended = True
                except av.error.FFmpegError:
                    ended = broken = True
            if not ahead:
                break
            packet = ahead.popleft()
            if wanted is not None:
                skip = not self._on_screen_when_wanted(packet, ahead, behind, ended, wanted)
                if skip != skipping:
                    ctx.skip_frame = "NONREF" if skip else "DEFAULT"
                    skipping = skip
                if packet.pts is not None:
                    behind.append(packet.pts)
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                if count:
                    self._count("decode_errors")
                    self._lose_packet(packet)
                if packet.size == 0:  # the error came while draining the decoder at the end
                    broken = True
                continue
            for frame in frames:
                if count:
                    self._count("decoded")
                yield frame
        if skipping:
            ctx.skip_frame = "DEFAULT"
        if broken:
            yield None

    def _on_screen_when_wanted(
        self, packet: Any, ahead: deque[Any], behind: deque[int], ended: bool, wanted: _Wanted
    ) -> bool:
        """Whether the frame of ``packet`` may be on screen at a wanted time: from its presentation time to
        the next presentation time among the packets around it (the demuxer's reordering is bounded). When
        that cannot be told (no timestamps, the next frame not in sight), the answer is yes."""
        pts = packet.pts
        if pts is None or packet.size == 0:
            return True
        following: int | None = None
        for p in ahead:
            q = p.pts
            if q is None:
                return True
            if q > pts and (following is None or q < following):
                following = q
        for q in behind:
            if q > pts and (following is None or q < following):
                following = q
        if following is None and not ended:
            return True
        tb = self._tb
        start = (pts - self._start_pts) * tb
        end = math.inf if following is None else (following - self._start_pts) * tb
        return wanted.any_between(start - 2 * _EPS, end + _EPS)

    def _lose_packet(self, packet: Any) -> None:
        ts = packet.pts if packet.pts is not None else packet.dts
        if ts is None or packet.size == 0:
            return
        start = float((ts - self._start_pts) * self._time_base)
        dur = float(packet.duration * self._time_base) if packet.duration else self._nominal
        self._add_lost(max(0.0, start), max(0.0, start + dur))

    def _output_size(self, max_side: int | None) -> tuple[int, int]:
        """Width and height of the pictures :meth:`iter_frames` yields for ``max_side``."""
        return fit_within(self.info.width, self.info.height, max_side)

    def _picture(self, frame: Any, max_side: int | None) -> Image.Image:
        coded_w, coded_h = frame.width, frame.height
        shown_w = max(1, round(coded_w * self._sar))
        out_w, out_h = fit_within(shown_w, coded_h, max_side)
        self._count("converted")
        # One scaler thread: the workers are the parallelism (FFmpeg would start a thread per core for each).
        interpolation = "AREA" if out_w <= coded_w and out_h <= coded_h else "BICUBIC"
        rgb = frame.reformat(width=out_w, height=out_h, format="rgb24", interpolation=interpolation, threads=1)
        plane = rgb.planes[0]
        image: Image.Image
        if plane.line_size > 0:
            # One copy, rows of line_size bytes, into Pillow's own buffer (to_image makes three).
            image = Image.frombuffer("RGB", (rgb.width, rgb.height), plane, "raw", "RGB", plane.line_size, 1)
        else:  # rows stored bottom-up
            image = rgb.to_image()
        if self._rotation:
            image = image.transpose(_TRANSPOSE[self._rotation])
        return image

    def iter_frames(self, targets: Sequence[float], *, max_side: int | None = None) -> Iterator[Frame]:
        """Yield, for each target time (seconds from the first frame), the frame on screen at that time.

        Frames come in ascending time order (ties in the order given); ``Frame.index`` is the target's
        position in ``targets`` and ``Frame.timestamp`` the frame's real presentation time. Targets past the
        end of the video or inside a lost span yield nothing. Several targets on the same frame share one
        converted picture.

        Decoding starts at the first ``next()`` and runs in background threads, ahead of the caller by at
        most a bounded number of pictures; closing the iterator (or the reader) stops them.
        """
        pairs, max_side = self._check_request(targets, max_side)
        if not pairs:
            return iter(())
        return self._iter(pairs, max_side)

    def _plan(self, pairs: list[tuple[float, int]], max_side: int | None) -> tuple[list[_Segment], int]:
        """Cut the sorted ``(time, position)`` pairs into segments for parallel workers; returns the
        segments and the number of workers (one segment and one worker: a sequential pass).

        Segments start at keyframes (found by seeking a demuxer of its own, without decoding): the worker of
        a segment seeks to its keyframe and decodes from there, so no frame is decoded by two workers. They
        hold about as many targets as the pictures a worker may keep (:data:`_WORKER_BUFFER_BYTES`), and at
        least four segments go to each worker when the video is short, for balance."""
        workers = self._worker_count()
        room = self._pictures_per_worker(max_side)
        if workers < 2 or self._is_url or not math.isfinite(self.seek_threshold) or room < _MIN_SEGMENT_TARGETS:
            return [_Segment(None, pairs)], 1
        per = max(_MIN_SEGMENT_TARGETS, min(room, math.ceil(len(pairs) / (4 * workers))))
        keyframes = self._keyframe_times([pairs[i][0] for i in range(per, len(pairs), per)])
        bounds: list[float] = []
        for k in keyframes:
            if k is not None and k > pairs[0][0] + _EPS and (not bounds or k > bounds[-1] + _EPS):
                bounds.append(k)
        segments: list[_Segment] = []
        current: list[tuple[float, int]] = []
        keyframe: float | None = None
        b = 0
        for t, index in pairs:
            while b < len(bounds) and t >= bounds[b] - _EPS:  # the keyframe (or a later frame) is on screen at t
                if current:
                    segments.append(_Segment(keyframe, current))
                    current = []
                keyframe = bounds[b]
                b += 1
            current.append((t, index))
        segments.append(_Segment(keyframe, current))
        if len(segments) < 2:
            return [_Segment(None, pairs)], 1  # keyframes too far apart to split at
        return segments, min(workers, len(segments))

    def _keyframe_times(self, times: Sequence[float]) -> list[float | None]:
        """For each time, the presentation time of the keyframe a seek to it lands on (``None`` where that
        is not a keyframe or the seek fails), from a demuxer of its own, closed before returning."""
        import av

        out: list[float | None] = []
        try:
            container = self._open_container()
        except VideoError:
            return [None] * len(times)
        try:
            stream = self._video_stream(container)
            for t in times:
                found: float | None = None
                try:
                    container.seek(
                        self._start_pts + int(t / self._time_base), backward=True, any_frame=False, stream=stream
                    )
                    for packet in container.demux(stream):
                        if packet.pts is not None and packet.size:
                            if packet.is_keyframe:
                                found = (packet.pts - self._start_pts) * self._tb
                            break
                except (av.error.FFmpegError, OSError):
                    found = None
                out.append(found)
        except VideoError:
            out = [None] * len(times)
        finally:
            container.close()
        return out

    def _pictures_per_worker(self, max_side: int | None) -> int:
        """How many finished pictures one worker may hold for the consumer (:data:`_WORKER_BUFFER_BYTES`)."""
        width, height = self._output_size(max_side)
        return max(2, _WORKER_BUFFER_BYTES // max(1, width * height * 4))  # Pillow keeps RGB in 4 bytes a pixel

    def _worker_count(self) -> int:
        """How many parallel single-threaded decoders ``threads`` allows on this machine."""
        if self.thread_type == "NONE":
            return 1
        cores = available_cores()
        return min(self.threads or cores, cores)

    def _iter(self, pairs: list[tuple[float, int]], max_side: int | None) -> Iterator[Frame]:
        segments, workers = self._plan(pairs, max_side)
        # Cores for this pass from the process-wide budget: parallel workers (one single-threaded decoder
        # each), or the frame threads of one sequential decoder. Concurrent passes share the machine's cores
        # instead of each starting one decoder per core.
        wanted = workers if workers > 1 else (1 if self.thread_type == "NONE" else self._worker_count())
        granted = DECODER_BUDGET.take(wanted)
        try:
            if workers > 1:
                workers, decoder_threads = granted, 1
            else:
                decoder_threads = granted
            with self._lock:
                self.stats.workers = workers
                self.stats.segments = len(segments)
            run = _Pass(self, segments, workers, max_side, decoder_threads)
            self._passes.add(run)
            try:
                run.start()
                yield from run.frames()
            finally:
                run.stop()
                self._passes.discard(run)
        finally:
            DECODER_BUDGET.give_back(granted)

    # --- lifecycle ---------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the reader: stop the decoding threads of unfinished :meth:`iter_frames` passes and release
        their decoders; later calls to :meth:`iter_frames` raise :class:`VideoError`."""
        super().close()
        for run in list(self._passes):
            run.stop()
        self._passes.clear()

    def __repr__(self) -> str:
        i = self.info
        return f"PyAVReader({str(self.source)!r}, {i.width}x{i.height}, {i.duration:.3f}s, {i.codec})"


class _Segment(NamedTuple):
    keyframe: float | None  # where its worker starts decoding (None: wherever the decoder is)
    pairs: list[tuple[float, int]]  # (target time, position), sorted


class _Wanted:
    """The sorted target times (seconds) whose frames a decoding pass must not skip."""

    def __init__(self, times: Sequence[float]) -> None:
        self.times = sorted(times)

    def any_between(self, lo: float, hi: float) -> bool:
        """Whether a wanted time lies in ``[lo, hi)``."""
        i = bisect.bisect_left(self.times, lo)
        return i < len(self.times) and self.times[i] < hi


class _Stopped(Exception):
    """Internal: the pass was stopped while a worker was decoding."""


class _Failure(NamedTuple):
    error: BaseException


_END = object()  # a worker finished one segment


class DecoderBudget:
    """The decoding threads all readers of this process may run at once: as many as the cores available
    (:func:`~gens_tools._cores.available_cores`). A pass takes what it wants of what is free, and always at least
    one, so a pass never waits for another; the budget only bounds how many decoders concurrent passes add."""

    def __init__(self, cores: int | None = None) -> None:
        self._cores = cores
        self._in_use = 0
        self._lock = threading.Lock()

    @property
    def in_use(self) -> int:
        """Threads taken by passes now running."""
        with self._lock:
            return self._in_use

    def take(self, wanted: int) -> int:
        """Take up to ``wanted`` threads (at least 1) and return how many were taken."""
        with self._lock:
            cores = self._cores if self._cores is not None else available_cores()
            granted = max(1, min(wanted, cores - self._in_use))
            self._in_use += granted
            return granted

    def give_back(self, taken: int) -> None:
        """Return what :meth:`take` gave."""
        with self._lock:
            self._in_use -= taken


#: The budget every :class:`PyAVReader` of this process decodes within.
DECODER_BUDGET = DecoderBudget()


class _Pass:
    """One :meth:`PyAVReader.iter_frames` pass: worker threads decode their segments (segment ``s`` goes to
    worker ``s % workers``) into bounded queues; :meth:`frames` yields from them in segment order."""

    def __init__(
        self, reader: PyAVReader, segments: list[_Segment], workers: int, max_side: int | None, decoder_threads: int
    ) -> None:
        self.reader = reader
        self.segments = segments
        self.max_side = max_side
        self.halt = threading.Event()
        # Room for a whole segment (segments are cut to fit the bound), so that a worker ahead of the
        # consumer finishes its segment without waiting; one worker waits when the bound is reached.
        room = min(max(len(seg.pairs) for seg in segments), reader._pictures_per_worker(max_side)) + 1
        self.queues: list[queue.Queue[Any]] = [queue.Queue(maxsize=room) for _ in range(workers)]
        # One worker: FFmpeg's frame threads; several: one single-threaded decoder each.
        self.decoder_threads = decoder_threads
        self.threads = [
            threading.Thread(target=self._work, args=(w,), name=f"gens-tools-decode-{w}", daemon=True)
            for w in range(workers)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def frames(self) -> Iterator[Frame]:
        workers = len(self.queues)
        for s in range(len(self.segments)):  # in time order: segment s is worker s % workers's
            q = self.queues[s % workers]
            while True:
                try:
                    item = q.get(timeout=0.1)
                except queue.Empty:
                    if self.halt.is_set():
                        return  # stopped (the reader was closed): end quietly
                    continue
                if self.halt.is_set():
                    return
                if item is _END:
                    break
                if isinstance(item, _Failure):
                    raise item.error
                yield item

    def stop(self) -> None:
        """Stop the workers and wait until they have released their decoders."""
        self.halt.set()
        for q in self.queues:
            with contextlib.suppress(queue.Empty):
                while True:
                    q.get_nowait()
        for thread in self.threads:
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join()
        for q in self.queues:  # what a worker put while stopping
            with contextlib.suppress(queue.Empty):
                while True:
                    q.get_nowait()

    def _put(self, w: int, item: object) -> bool:
        q = self.queues[w]
        while not self.halt.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _work(self, w: int) -> None:
        r = self.reader
        mine = self.segments[w :: len(self.queues)]
        cursor: _Cursor | None = None
        try:
            wanted = _Wanted([t for seg in mine for t, _ in seg.pairs]) if r.skip_frames else None
            cursor = _Cursor(r, threads=self.decoder_threads, wanted=wanted, halt=self.halt)
            for seg in mine:
                if seg.keyframe is not None and cursor.can_seek and seg.keyframe > cursor.position() + _EPS:
                    cursor.seek_to(seg.keyframe)  # the other workers decode what lies in between
                converted: tuple[Any, Image.Image] | None = None  # (decoded frame, its picture), to reuse
                for t, index in seg.pairs:
                    if self.halt.is_set():
                        return
                    if t > r.info.duration + r._nominal:
                        break  # past the end: nothing is on screen
                    if cursor.should_seek(t):
                        cursor.seek_to(t)
                    shown = cursor.shown_at(t)
                    if shown is None:
                        continue
                    if converted is None or converted[0] is not shown.frame:
                        converted = (shown.frame, r._picture(shown.frame, self.max_side))
                    if not self._put(w, Frame(timestamp=round(shown.time, 6), image=converted[1], index=index)):
                        return
                if not self._put(w, _END):
                    return
        except _Stopped:
            return
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(w, _Failure(exc))
        finally:
            if cursor is not None:
                cursor.close()


class _Cursor:
    """One decoder's pass over the video: the frame on screen (``cur``) and the next one (``ahead``)."""

    def __init__(
        self,
        reader: PyAVReader,
        *,
        threads: int,
        wanted: _Wanted | None = None,
        halt: threading.Event | None = None,
    ) -> None:
        self.r = reader
        self.threads = threads
        self.wanted = wanted
        self.halt = halt
        self.container, self.stream = self._open()
        self.can_seek = math.isfinite(reader.seek_threshold)
        self.tail_retried = False
        self._probe: tuple[Any, Any] | None = None  # a demuxer of its own to find keyframes without decoding
        self._reset()

    def _open(self) -> tuple[Any, Any]:
        container = self.r._open_container()
        try:
            stream = self.r._video_stream(container)
            self.r._configure(stream, threads=self.threads)
            self.r._rewind(container, stream)
        except BaseException:
            container.close()
            raise
        return container, stream

    def _reset(self) -> None:
        """Start a new frame sequence at the container's current position, forgetting cur/ahead."""
        self.frames = self.r._raw_frames(self.container, self.stream, wanted=self.wanted)
        self.cur: _Decoded | None = None
        self.ahead: _Decoded | None = None
        self.done = False
        self.broken = False  # the pass ended on an error, not a clean end of file
        self.skip_until: float | None = None
        self.last_time: float | None = None
        self._last_pts: int | None = None

    def close(self) -> None:
        self.frames.close()
        self.container.close()
        if self._probe is not None:
            self._probe[0].close()
            self._probe = None

    def _pull(self) -> _Decoded | None:
        r = self.r
        while True:
            for frame in self.frames:
                if self.halt is not None and self.halt.is_set():
                    raise _Stopped
                if frame is None:
                    self.broken = True
                    break
                if r._preroll and self._last_pts is None and frame.pts is None and frame.dts is None:
                    continue  # pre-roll without a time (see _probe)
                pts = r._frame_pts(frame, self._last_pts)
                if self._last_pts is not None and (pts - r._start_pts) * r._tb > r.info.duration + 1.0:
                    # A time past the end of the video (a clock that wrapped, a bad splice) is a timestamp error:
                    # such a frame is timed as the next one after its predecessor, as players do.
                    pts = self._last_pts + max(1, round(r._nominal / float(r._time_base)))
                self._last_pts = pts
                t = float((pts - r._start_pts) * r._time_base)
                if self.skip_until is not None and t <= self.skip_until + _EPS:
                    continue
                self.skip_until = None
                self.last_time = t
                dur = float(frame.duration * r._time_base) if frame.duration else r._nominal
                return _Decoded(t, t + dur, frame)
            if self.broken and self.threads != 1 and not self.tail_retried and self.last_time is not None:
                # A frame-threaded decoder drops the frames in flight when the data ends in an error; decode
                # the tail again on one thread to get every decodable frame.
                self.tail_retried = True
                self._retry_tail(self.last_time)
                continue
            self.done = True
            return None

    def _retry_tail(self, last_time: float) -> None:
        self.frames.close()
        self.container.close()
        self.threads = 1
        self.container, self.stream = self._open()
        self.frames = self.r._raw_frames(self.container, self.stream, wanted=self.wanted)
        self.broken = False
        self._last_pts = None
        if self._seek_container(last_time):
            self.frames = self.r._raw_frames(self.container, self.stream, wanted=self.wanted)
        self.skip_until = last_time

    def position(self) -> float:
        """Time of the newest decoded frame (0 before the first)."""
        if self.ahead is not None:
            return self.ahead.time
        return self.cur.time if self.cur is not None else 0.0

    def should_seek(self, t: float) -> bool:
        """Whether ``t`` is so far ahead that seeking beats decoding on: farther than the reader's
        ``seek_threshold``, and the keyframe a seek would land on is ahead of the decoder (with keyframes
        far apart, decoding on from here is cheaper than decoding again from an earlier keyframe)."""
        if not (self.can_seek and not self.done and t - self.position() > self.r.seek_threshold):
            return False
        keyframe = self._keyframe_before(t)
        return keyframe is None or keyframe > self.position() + _EPS

    def _keyframe_before(self, t: float) -> float | None:
        """Time of the keyframe a seek to ``t`` lands on, found by a demuxer of its own (no decoding);
        ``None`` when unknown (URLs are not probed: every request costs a round trip)."""
        import av

        r = self.r
        if r._is_url:
            return None
        try:
            if self._probe is None:
                container = r._open_container()
                self._probe = (container, r._video_stream(container))
            container, stream = self._probe
            container.seek(r._start_pts + int(t / r._time_base), backward=True, any_frame=False, stream=stream)
            for packet in container.demux(stream):
                if packet.pts is not None and packet.size:
                    return float((packet.pts - r._start_pts) * r._time_base)
        except (av.error.FFmpegError, OSError, VideoError):
            return None
        return None

    def _advance(self, t: float) -> None:
        while True:
            if self.ahead is None and not self.done:
                self.ahead = self._pull()
            if self.ahead is None or self.ahead.time > t + _EPS:
                return
            if self.cur is not None:
                self._lost_between(self.cur, self.ahead)
            self.cur, self.ahead = self.ahead, None

    def _lost_between(self, before: _Decoded, after: _Decoded) -> None:
        """If data was lost between two decoded frames, nothing is known from the loss to ``after``."""
        for a, _ in self.r.lost_spans:
            if before.time + _EPS < a < after.time:
                self.r._add_lost(a, after.time)
                return

    def shown_at(self, t: float) -> _Decoded | None:
        """The frame on screen at ``t`` (decoding forward as needed), or ``None`` if that part was lost."""
        self._advance(t)
        cur = self.cur
        if cur is None:
            return None
        if self.ahead is None:
            # The decoder is exhausted: was that the real end of the video?
            r = self.r
            if self.broken or r.info.duration - cur.end > 3 * r._nominal + 0.05:
                r._add_lost(cur.end, max(r.info.duration, cur.end))
                if t >= cur.end - _EPS:
                    return None  # after the last decodable frame of a cut-off video
        for a, _ in self.r.lost_spans:
            if cur.time + _EPS < a <= t + _EPS:
                return None  # a frame after `cur` and at or before `t` was lost: `cur` is not on screen at t
        return cur

    def seek_to(self, t: float) -> None:
        """Jump to the keyframe before ``t`` (then decode forward to it), keeping exact-frame semantics."""
        anchor = self.cur.time if self.cur is not None else 0.0
        back = 0.0
        while True:
            goal = max(0.0, t - back)
            if not self._seek(goal):
                if back > 0.0 and not self._seek(anchor):
                    self._reopen()
                self.can_seek = False  # not seekable (e.g. a server without range requests): decode on
                return
            self.r._count("seeks")
            self.ahead = self._pull()
            if self.ahead is None:
                # Nothing decodable from there on (cut-off file): go back and decode forward to find the end.
                self.can_seek = False
                if not self._seek(anchor):
                    self._reopen()
                return
            if self.ahead.time <= t + _EPS or goal <= 0.0:
                return
            back = max(1.0, back * 4)  # landed after t (inexact index, open GOP): seek further back

    def _seek_container(self, seconds: float) -> bool:
        import av

        pts = self.r._start_pts + int(seconds / self.r._time_base)
        try:
            self.container.seek(pts, backward=True, any_frame=False, stream=self.stream)
        except (av.error.FFmpegError, OSError):
            return False
        return True

    def _seek(self, seconds: float) -> bool:
        if not self._seek_container(seconds):
            return False
        self.frames.close()
        self._reset()
        return True

    def _reopen(self) -> None:
        self.frames.close()
        self.container.close()
        self.container, self.stream = self._open()
        self._reset()
