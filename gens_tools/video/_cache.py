"""The on-disk frame cache: decode a video's sampling grid once, answer every later question from disk.

Each entry holds the frames of one (video, rate, frame size, time range) as JPEG files plus a manifest
(``manifest.json``: the video, timestamps, grid positions, byte sizes and CRC-32 checksums, lost spans).
Frames are stored at the size the sampler reads them (the key carries it) as JPEG at quality
:data:`JPEG_QUALITY` (80, 4:2:0): on the benchmark's hard-to-compress synthetic video that is half the bytes
of quality 95 at 31.8 dB PSNR against the decoded frame (36.0 dB at 95), and 42.8 dB on simple graphics.
JPEG is encoded in a background writer thread (at most :data:`_WRITE_AHEAD` frames waiting), so writing the
cache overlaps with decoding and scoring. An entry is
written into a private temporary folder while the frames stream past and becomes visible only when the
iteration finishes, by one atomic ``rename``; a stopped iteration leaves nothing behind, and of two processes
writing the same entry the first rename wins and the other discards its copy. Entries are checked before use
(the manifest against its own SHA-256, file sizes, checksums); a damaged or edited one is removed and decoded
again, so the cache never hands out wrong frames or wrong timestamps. Least-recently-used entries are evicted
once the cache grows past ``max_bytes``. A writer holds a lock on its temporary folder while it writes; the
folder of a writer that died (killed, crashed) is removed by the next run that uses the cache.

Layout under the cache root::

    <key>/manifest.json   the entry's manifest
    <key>/stamp.json      its size in bytes; its mtime records the last use (for eviction)
    <key>/<index>.jpg     one JPEG per decoded grid position
    .tmp-<key>-*/         entries being written (``.writer.lock`` inside, locked while its writer lives)
    .trash-*/             entries being deleted
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import logging
import os
import queue
import re
import shutil
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from PIL import Image, UnidentifiedImageError

from gens_tools import _checks as checks
from gens_tools._imaging import encode_jpeg
from gens_tools._sources import is_url
from gens_tools.errors import CacheMissError, FrameCacheError, InvalidArgumentError, VideoNotFoundError
from gens_tools.frames import Frame
from gens_tools.video._base import VideoReader

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: dead writers are found by age only
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_MAX_BYTES",
    "ENV_CACHE_DIR",
    "CacheEntry",
    "CacheMissError",
    "FrameCache",
    "FrameCacheError",
    "default_cache_dir",
]

log = logging.getLogger(__name__)

#: Environment variable naming gens-tools' cache folder; frames go to its ``frames`` subfolder.
ENV_CACHE_DIR = "GENS_TOOLS_CACHE_DIR"
#: Default size bound of a cache (bytes of JPEG data and manifests).
DEFAULT_MAX_BYTES = 2 * 1024**3
#: JPEG quality of cached frames (see the module docstring for what it costs in fidelity).
JPEG_QUALITY = 80

_FORMAT = 3  # 2: manifests name their video; quality 80. 3: manifests carry their own checksum
#: Frames handed to the background JPEG writer and not yet written (bounds its memory).
_WRITE_AHEAD = 32
_MANIFEST = "manifest.json"
_STAMP = "stamp.json"
_TMP_PREFIX = ".tmp-"
_TRASH_PREFIX = ".trash-"
#: A temporary folder without a writer lock untouched for this long belongs to a writer that died (where locks
#: cannot be taken; elsewhere a dead writer's folder is removed at once); it is swept on the next run.
_STALE_TMP_SECONDS = 6 * 3600
#: The lock a writer holds in its temporary folder while it lives (released by the system when it dies).
_WRITER_LOCK = ".writer.lock"
_CHECKSUM = "checksum"
_KEY_RE = re.compile(r"^[0-9a-f]{32}-(?:full|[1-9][0-9]*)$")


class _CorruptEntry(Exception):
    """Internal: an entry failed a check."""


class _OtherFormat(_CorruptEntry):
    """Internal: an entry written by another version of gens-tools (rebuilt, without a warning)."""


def default_cache_dir() -> Path:
    """The frame cache folder: ``$GENS_TOOLS_CACHE_DIR/frames`` if that variable is set, else
    ``platformdirs.user_cache_dir("gens-tools")/frames``."""
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return Path(env).expanduser() / "frames"
    import platformdirs

    return Path(platformdirs.user_cache_dir("gens-tools")) / "frames"


@dataclass(frozen=True, slots=True)
class _Record:
    index: int
    timestamp: float
    file: str
    size: int
    crc32: int


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A complete cache entry, as described by its manifest.

    Attributes:
        key: the entry's key (see :meth:`FrameCache.key`).
        path: the entry's folder.
        timestamps: presentation time (seconds) of each stored frame, in grid order.
        indices: grid position (``Frame.index``) of each stored frame; positions inside lost spans are absent.
        lost_spans: time spans (seconds) the reader could not decode.
        n_targets: length of the sampling grid the entry was decoded for.
        max_side: longer side the frames were decoded at (``None``: full size).
        n_bytes: disk space the entry takes.
        source: the video the frames come from, as it was given (``None`` if unknown).
        fps: the sampling rate of the grid (``None`` if unknown).
        last_used: when the entry was last read or written (seconds since the epoch).
    """

    key: str
    path: Path
    timestamps: tuple[float, ...]
    indices: tuple[int, ...]
    lost_spans: tuple[tuple[float, float], ...]
    n_targets: int
    max_side: int | None
    n_bytes: int
    source: str | None = None
    fps: float | None = None
    last_used: float = 0.0


@dataclass(slots=True)
class _Loaded:
    entry: CacheEntry
    records: list[_Record]
    targets_digest: str
    identity: dict[str, Any] | None


def _same_video(identity: dict[str, Any] | None, other: dict[str, Any]) -> bool:
    """Whether two source identities name the same file, folder or URL (whatever its version)."""
    if identity is None:
        return False
    return any(k in other and identity.get(k) == other[k] for k in ("file", "folder", "url"))


class _Writer:
    """Encodes and writes an entry's JPEG files in a background thread, in the order given.

    :meth:`put` waits while :data:`_WRITE_AHEAD` frames are pending; an error in the thread (disk full…)
    is raised by the next :meth:`put` or by :meth:`finish`.
    """

    def __init__(self, folder: Path, quality: int, root: Path) -> None:
        self.folder = folder
        self.quality = quality
        self.root = root
        self.records: list[dict[str, Any]] = []
        self.n_bytes = 0
        self.error: BaseException | None = None
        self._queue: queue.Queue[Frame | None] = queue.Queue(maxsize=_WRITE_AHEAD)
        self._thread = threading.Thread(target=self._run, name="gens-tools-cache-writer", daemon=True)
        self._thread.start()

    def put(self, frame: Frame) -> None:
        self._raise()
        while True:
            try:
                self._queue.put(frame, timeout=0.1)
                return
            except queue.Full:
                self._raise()
                if not self._thread.is_alive():
                    raise FrameCacheError("the frame cache writer stopped") from self.error

    def finish(self) -> tuple[list[dict[str, Any]], int]:
        """Wait for every pending frame to be written; the records and bytes written."""
        self._stop()
        self._raise()
        return self.records, self.n_bytes

    def abort(self) -> None:
        """Stop without waiting for pending frames (their files are discarded with the folder)."""
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        self._stop()

    def _stop(self) -> None:
        if self._thread.is_alive():
            while self._thread.is_alive():
                try:
                    self._queue.put(None, timeout=0.1)
                    break
                except queue.Full:
                    continue
            self._thread.join()

    def _raise(self) -> None:
        if self.error is not None:
            if isinstance(self.error, FrameCacheError):
                raise self.error
            raise FrameCacheError(f"cannot write the frame cache in {self.root}: {self.error}") from self.error

    def _run(self) -> None:
        while True:
            frame = self._queue.get()
            if frame is None or self.error is not None:
                if frame is None:
                    return
                continue  # failed: drain until told to stop
            try:
                assert frame.image is not None
                assert frame.index is not None
                data = encode_jpeg(frame.image, quality=self.quality)
                name = f"{frame.index:06d}.jpg"
                try:
                    (self.folder / name).write_bytes(data)
                except OSError as exc:
                    raise FrameCacheError(
                        f"cannot write the frame cache in {self.root}: {exc.strerror or exc}"
                    ) from None
                self.n_bytes += len(data)
                self.records.append(
                    {
                        "index": frame.index,
                        "timestamp": frame.timestamp,
                        "file": name,
                        "bytes": len(data),
                        "crc32": zlib.crc32(data),
                    }
                )
            except BaseException as exc:  # reported to the decoding side by put() / finish()
                self.error = exc


def _manifest_checksum(manifest: dict[str, Any]) -> str:
    """SHA-256 of a manifest's content (without its ``checksum`` field), independent of JSON formatting."""
    body = {k: v for k, v in manifest.items() if k != _CHECKSUM}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class _WriterLock:
    """An exclusive lock on a writer's temporary folder, held while the writer lives (``flock``: the system
    releases it when the process dies, even by ``kill -9``). Where ``fcntl`` is missing it only marks the
    folder, and dead writers' folders are left to the age rule."""

    def __init__(self, folder: Path) -> None:
        self._fd: int | None = None
        # Locked under a name no sweeper opens, then renamed into place: a concurrent sweep never finds the
        # lock file unlocked (it would take that for a dead writer and delete a live writer's folder).
        fresh = folder / (_WRITER_LOCK + ".new")
        try:
            fd = os.open(fresh, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            return
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            os.rename(fresh, folder / _WRITER_LOCK)
        except OSError:
            os.close(fd)
            return
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    @staticmethod
    def abandoned(folder: Path) -> bool | None:
        """Whether the writer of ``folder`` died (its lock can be taken); ``None`` when that cannot be told
        (no lock file, or no ``fcntl``)."""
        if fcntl is None:
            return None
        try:
            fd = os.open(folder / _WRITER_LOCK, os.O_RDWR)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # held: its writer is alive
        finally:
            os.close(fd)  # closing releases a lock we took
        return True


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not _KEY_RE.match(key):
        raise InvalidArgumentError(f"not a frame cache key: {key!r} (make one with FrameCache.key)")
    return key


def _max_side_of(key: str) -> int | None:
    suffix = key.rsplit("-", 1)[1]
    return None if suffix == "full" else int(suffix)


def _targets_digest(targets: Sequence[float]) -> str:
    h = hashlib.sha256()
    for t in targets:
        h.update(f"{float(t):.6f},".encode())
    return h.hexdigest()


def _source_identity(source: str) -> dict[str, Any]:
    """What identifies the content of ``source``: an http(s) URL itself; a file's (also a ``file://`` URL's)
    resolved path, size, mtime and inode; a folder's resolved path and the names, sizes and mtimes of every
    file below it."""
    if is_url(source):
        parts = urlsplit(source)
        if parts.scheme.lower() != "file":
            return {"url": source}
        source = unquote(parts.path)  # a local file named by URL: identify the file itself
    path = Path(source).expanduser()
    try:
        resolved = path.resolve(strict=True)
        st = resolved.stat()
    except FileNotFoundError:
        raise VideoNotFoundError(f"no such file or folder: {source}") from None
    except OSError as exc:
        raise VideoNotFoundError(f"cannot read {source}: {exc.strerror or exc}") from None
    if resolved.is_dir():
        h = hashlib.sha256()
        for dirpath, dirnames, filenames in os.walk(resolved):
            dirnames.sort()
            rel = os.path.relpath(dirpath, resolved)
            for name in sorted(filenames):
                try:
                    fst = os.stat(os.path.join(dirpath, name))
                except OSError:
                    continue
                h.update(f"{rel}/{name}\0{fst.st_size}\0{fst.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
        return {"folder": str(resolved), "listing": h.hexdigest()}
    return {
        "file": str(resolved),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "inode": st.st_ino,
        "device": st.st_dev,
    }


def _remove_tree(path: Path) -> None:
    """Delete a folder: first renamed aside (atomic, so readers never see half of it), then removed."""
    trash = path.parent / f"{_TRASH_PREFIX}{uuid.uuid4().hex}"
    try:
        os.rename(path, trash)
    except FileNotFoundError:
        return
    except OSError:
        trash = path
    shutil.rmtree(trash, ignore_errors=True)


class FrameCache:
    """Decoded frames on disk, keyed by video identity, rate, frame size and time range.

    Args:
        root: the cache folder (default :func:`default_cache_dir`). Created on first write.
        max_bytes: size bound; after each new entry the least recently used other entries are deleted until
            the cache fits (an entry larger than the bound on its own is kept until the next one arrives).
            ``None``: unbounded.
        jpeg_quality: quality of the stored JPEGs (default :data:`JPEG_QUALITY`).

    Frames read from the cache are the JPEG-compressed versions of the decoded ones (quality 80 by default);
    frames yielded while an entry is being written are the decoder's own. Frames loaded from disk carry the
    ``path`` of their file, except from a :meth:`temporary` cache (deleted on exit).
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        max_bytes: int | None = DEFAULT_MAX_BYTES,
        jpeg_quality: int = JPEG_QUALITY,
    ) -> None:
        checks.optional_positive_int("max_bytes", max_bytes)
        checks.jpeg_quality("jpeg_quality", jpeg_quality)
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        self.max_bytes = max_bytes
        self.jpeg_quality = jpeg_quality
        self._ephemeral = False  # a temporary() cache: its files vanish, so frames do not point at them

    def __repr__(self) -> str:
        return f"FrameCache(root={str(self.root)!r}, max_bytes={self.max_bytes!r})"

    @classmethod
    @contextlib.contextmanager
    def temporary(cls) -> Iterator[FrameCache]:
        """A cache in a fresh temporary folder (unbounded), deleted with everything in it on exit.

        Used when caching is turned off: frames still go to disk while they stream, so that the chosen ones
        can be read back afterwards without holding every decoded frame in memory.
        """
        folder = tempfile.mkdtemp(prefix="gens-tools-frames-")
        try:
            cache = cls(folder, max_bytes=None)
            cache._ephemeral = True
            yield cache
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # ------------------------------------------------------------------ keys

    @staticmethod
    def key(
        source: str | os.PathLike[str],
        *,
        fps: float,
        max_side: int | None,
        start: float | None,
        end: float | None,
        frame_rate: float | None = None,
    ) -> str:
        """The cache key of ``source`` sampled at ``fps`` with frames shrunk to ``max_side`` px over
        ``[start, end)``.

        A file is identified by its resolved path, size, modification time (ns) and inode, so rewriting or
        touching it gives a new key; a folder of frames by its resolved path and the names, sizes and
        modification times of its files; a URL by itself. The key has the form ``<32 hex>-<max_side|full>``:
        :meth:`frames` reads the frame size to decode at from it.

        Raises:
            VideoNotFoundError: a local ``source`` does not exist.
            InvalidArgumentError: a bad rate, size or range.
        """
        src = os.fspath(source)
        if not isinstance(src, str) or not src.strip():
            raise InvalidArgumentError(f"source must be a non-empty path or URL, got {source!r}")
        rate = checks.positive_number("fps", fps)
        checks.image_side("max_side", max_side)
        lo = None if start is None else checks.non_negative_number("start", start)
        hi = None if end is None else checks.non_negative_number("end", end)
        payload = {
            "format": _FORMAT,
            "source": _source_identity(src),
            "fps": repr(rate),
            "max_side": max_side,
            "start": repr(lo or 0.0),
            "end": None if hi is None else repr(hi),
        }
        if frame_rate is not None:
            # The rate given for a frame folder decides each image's timestamp, so it is part of the identity.
            payload["frame_rate"] = repr(checks.positive_number("frame_rate", frame_rate))
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]
        return f"{digest}-{max_side if max_side is not None else 'full'}"

    # --------------------------------------------------------------- reading

    def lookup(self, key: str) -> CacheEntry | None:
        """The complete entry stored under ``key``, or ``None``.

        Checks the manifest and each file's size (not the checksums, which :meth:`frames` and :meth:`load`
        verify as they read); a damaged entry is removed and ``None`` returned. Counts as a use.
        """
        loaded = self._load_entry(_check_key(key), verify_checksums=False)
        if loaded is None:
            return None
        self._touch(loaded.entry.path)
        return loaded.entry

    def load(self, key: str, indices: Sequence[int]) -> list[Frame]:
        """The frames at grid positions ``indices`` (``Frame.index`` values), images loaded, in the order
        asked. Positions that lie in a lost span (not decodable) are skipped.

        Raises:
            CacheMissError: no complete entry under ``key``, or it turned out damaged (it is then removed;
                decode the frames again).
            InvalidArgumentError: a position outside the entry's grid.
        """
        loaded = self._load_entry(_check_key(key), verify_checksums=False)
        if loaded is None:
            raise CacheMissError(f"no complete frame cache entry for key {key}")
        by_index = {r.index: r for r in loaded.records}
        n = loaded.entry.n_targets
        out: list[Frame] = []
        for i in indices:
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < n:
                raise InvalidArgumentError(f"frame position {i!r} is outside the cached grid (0..{n - 1})")
            rec = by_index.get(i)
            if rec is None:
                continue
            try:
                out.append(self._read_frame(loaded.entry.path, rec))
            except _CorruptEntry as exc:
                log.warning("frame cache entry %s is damaged (%s); removed", key, exc)
                _remove_tree(loaded.entry.path)
                raise CacheMissError(
                    f"the frame cache entry for key {key} was damaged ({exc}) and has been removed; "
                    "decode the frames again"
                ) from None
        self._touch(loaded.entry.path)
        return out

    def frames(self, reader: VideoReader, targets: Sequence[float], *, key: str) -> Generator[Frame, None, None]:
        """Yield the frames of ``reader`` at ``targets`` (as :meth:`VideoReader.iter_frames` does), through
        the cache.

        With a complete, valid entry under ``key`` (decoded for the same targets), the frames come from disk
        and ``reader`` is not used at all. Otherwise they are decoded with
        ``reader.iter_frames(targets, max_side=<the key's max_side>)``, written to disk as they pass, and
        the entry is committed when the iteration completes (a stopped iteration commits nothing). Lost spans
        of a cached entry are in :meth:`lookup`'s result.

        Raises:
            FrameCacheError: the cache folder cannot be written.
            (and whatever ``reader`` raises)
        """
        _check_key(key)
        self._sweep_stale()  # folders of writers that died since the last run
        return self._frames(reader, [float(t) for t in targets], key)

    def _frames(self, reader: VideoReader, targets: list[float], key: str) -> Generator[Frame, None, None]:
        digest = _targets_digest(targets)
        loaded = self._load_entry(key, verify_checksums=True)
        if loaded is not None and loaded.targets_digest != digest:
            log.info("frame cache entry %s was decoded for other targets; rebuilding", key)
            _remove_tree(loaded.entry.path)
            loaded = None
        if loaded is not None:
            yield from self._replay(loaded, reader, targets)
        else:
            yield from self._decode_and_store(reader, targets, key, digest)

    # ------------------------------------------------------------- upkeep

    def clear(self, source: str | os.PathLike[str] | None = None) -> list[CacheEntry]:
        """Delete every entry (or, with ``source``, the entries of that video file, frame folder or URL, for
        every version of it), and temporary folders left by writers that died (entries being written right
        now by other processes are left to finish). Returns the entries deleted.

        Raises:
            VideoNotFoundError: a local ``source`` does not exist.
        """
        wanted = None if source is None else _source_identity(os.fspath(source))
        removed: list[CacheEntry] = []
        if not self.root.is_dir():
            return removed
        for child in list(self.root.iterdir()):
            if not (child.is_dir() and _KEY_RE.match(child.name)):
                continue
            try:
                loaded: _Loaded | None = self._check_entry(child.name, child, verify_checksums=False)
            except _CorruptEntry:
                loaded = None
            if wanted is not None and (loaded is None or not _same_video(loaded.identity, wanted)):
                continue
            if loaded is not None:
                removed.append(loaded.entry)
            _remove_tree(child)
        self._sweep_stale()
        return removed

    def entries(self) -> list[CacheEntry]:
        """The complete entries, most recently used first (damaged ones are left out)."""
        out: list[CacheEntry] = []
        if not self.root.is_dir():
            return out
        for child in self.root.iterdir():
            if child.is_dir() and _KEY_RE.match(child.name):
                with contextlib.suppress(_CorruptEntry, OSError):
                    out.append(self._check_entry(child.name, child, verify_checksums=False).entry)
        return sorted(out, key=lambda e: -e.last_used)

    def total_bytes(self) -> int:
        """Disk space taken by the complete entries."""
        return sum(size for _, size, _ in self._entries())

    def evict(self, *, keep: str | None = None) -> list[str]:
        """Delete least-recently-used entries (never ``keep``) until the cache fits ``max_bytes``; sweep
        temporary folders left by writers that died. Returns the keys deleted. Runs after every commit."""
        removed: list[str] = []
        self._sweep_stale()
        if self.max_bytes is None:
            return removed
        entries = self._entries()
        total = sum(size for _, size, _ in entries)
        for key, size, _ in sorted(entries, key=lambda e: e[2]):
            if total <= self.max_bytes:
                break
            if key == keep:
                continue
            _remove_tree(self.root / key)
            total -= size
            removed.append(key)
        return removed

    # ----------------------------------------------------------- internals

    def _entries(self) -> list[tuple[str, int, int]]:
        """(key, bytes, last use in ns) of each entry folder."""
        out: list[tuple[str, int, int]] = []
        if not self.root.is_dir():
            return out
        for child in self.root.iterdir():
            if not _KEY_RE.match(child.name):
                continue
            stamp = child / _STAMP
            try:
                size = int(json.loads(stamp.read_text(encoding="utf-8"))["bytes"])
                used = stamp.stat().st_mtime_ns
            except (OSError, ValueError, KeyError, TypeError):
                try:
                    size = sum(e.stat().st_size for e in os.scandir(child) if e.is_file())
                    used = child.stat().st_mtime_ns
                except OSError:
                    continue
            out.append((child.name, size, used))
        return out

    def _sweep_stale(self) -> None:
        """Remove what dead processes left: entries being deleted, and the temporary folders of writers that
        died (their lock is free), or, where that cannot be told, that are older than a few hours."""
        if not self.root.is_dir():
            return
        now = time.time()
        children: list[Path] = []
        with contextlib.suppress(OSError):
            children = list(self.root.iterdir())
        for child in children:
            if child.name.startswith(_TRASH_PREFIX):
                shutil.rmtree(child, ignore_errors=True)
            elif child.name.startswith(_TMP_PREFIX):
                dead = _WriterLock.abandoned(child)
                if dead:
                    log.info("frame cache: removing %s, left by a writer that died", child.name)
                    shutil.rmtree(child, ignore_errors=True)
                elif dead is None:
                    with contextlib.suppress(OSError):
                        if now - child.stat().st_mtime > _STALE_TMP_SECONDS:
                            shutil.rmtree(child, ignore_errors=True)

    @staticmethod
    def _touch(path: Path) -> None:
        now = time.time_ns()
        with contextlib.suppress(OSError):
            os.utime(path / _STAMP, ns=(now, now))

    def _load_entry(self, key: str, *, verify_checksums: bool) -> _Loaded | None:
        """The entry under ``key`` if it is complete and intact; a damaged one is removed."""
        path = self.root / key
        if not path.is_dir():
            return None
        try:
            return self._check_entry(key, path, verify_checksums=verify_checksums)
        except _CorruptEntry as exc:
            if isinstance(exc, _OtherFormat):
                log.info("frame cache entry %s was written by another version of gens-tools; rebuilding", key)
            else:
                log.warning("frame cache entry %s is damaged (%s); removing it", key, exc)
            _remove_tree(path)
            return None

    @staticmethod
    def _check_entry(key: str, path: Path, *, verify_checksums: bool) -> _Loaded:
        try:
            manifest = json.loads((path / _MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise _CorruptEntry("no manifest") from None
        except (OSError, ValueError) as exc:
            raise _CorruptEntry(f"unreadable manifest: {exc}") from None
        try:
            if manifest["format"] != _FORMAT:
                raise _OtherFormat(f"format {manifest['format']!r}")
            if manifest.get(_CHECKSUM) != _manifest_checksum(manifest):
                raise _CorruptEntry("the manifest fails its checksum (edited or damaged)")
            if manifest["key"] != key:
                raise _CorruptEntry("manifest of another key")
            n_targets = int(manifest["n_targets"])
            max_side = manifest["max_side"]
            if max_side != _max_side_of(key):
                raise _CorruptEntry("manifest frame size does not match the key")
            records = [
                _Record(int(r["index"]), float(r["timestamp"]), str(r["file"]), int(r["bytes"]), int(r["crc32"]))
                for r in manifest["frames"]
            ]
            lost = tuple((float(a), float(b)) for a, b in manifest["lost_spans"])
            digest = str(manifest["targets_sha256"])
            source = manifest.get("source")
            identity = manifest.get("identity")
            fps = manifest.get("fps")
        except _CorruptEntry:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise _CorruptEntry(f"malformed manifest: {exc!r}") from None
        previous = -1
        n_bytes = 0
        for rec in records:
            if not previous < rec.index < n_targets or "/" in rec.file or rec.file.startswith("."):
                raise _CorruptEntry("manifest lists frames out of order or out of range")
            previous = rec.index
            file = path / rec.file
            try:
                size = file.stat().st_size
            except OSError:
                raise _CorruptEntry(f"missing frame file {rec.file}") from None
            if size != rec.size:
                raise _CorruptEntry(f"frame file {rec.file} has {size} bytes, expected {rec.size}")
            if verify_checksums:
                with open(file, "rb") as fh:
                    if zlib.crc32(fh.read()) != rec.crc32:
                        raise _CorruptEntry(f"frame file {rec.file} fails its checksum")
            n_bytes += size
        try:
            last_used = (path / _STAMP).stat().st_mtime
            n_bytes += (path / _MANIFEST).stat().st_size
        except OSError:
            last_used = 0.0
        entry = CacheEntry(
            key=key,
            path=path,
            timestamps=tuple(r.timestamp for r in records),
            indices=tuple(r.index for r in records),
            lost_spans=lost,
            n_targets=n_targets,
            max_side=max_side,
            n_bytes=n_bytes,
            source=source if isinstance(source, str) else None,
            fps=float(fps) if isinstance(fps, int | float) else None,
            last_used=last_used,
        )
        return _Loaded(entry, records, digest, identity if isinstance(identity, dict) else None)

    def _read_frame(self, path: Path, rec: _Record) -> Frame:
        file = path / rec.file
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise _CorruptEntry(f"cannot read {rec.file}: {exc.strerror or exc}") from None
        if len(data) != rec.size or zlib.crc32(data) != rec.crc32:
            raise _CorruptEntry(f"frame file {rec.file} fails its checksum")
        try:
            with Image.open(io.BytesIO(data)) as img:
                image = img.convert("RGB")
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            raise _CorruptEntry(f"cannot decode {rec.file}: {exc}") from None
        return Frame(timestamp=rec.timestamp, image=image, index=rec.index, path=None if self._ephemeral else file)

    def _replay(self, loaded: _Loaded, reader: VideoReader, targets: list[float]) -> Iterator[Frame]:
        next_pos = 0
        for rec in loaded.records:
            try:
                frame = self._read_frame(loaded.entry.path, rec)
            except _CorruptEntry as exc:
                # Damaged (or deleted by another process) while we read it: drop the entry and decode the
                # rest; the next request rebuilds it.
                log.warning("frame cache entry %s is damaged (%s); decoding the rest", loaded.entry.key, exc)
                _remove_tree(loaded.entry.path)
                side = loaded.entry.max_side
                for frame in reader.iter_frames(targets[next_pos:], max_side=side):
                    if frame.index is not None:
                        frame.index += next_pos
                    yield frame
                return
            yield frame
            next_pos = rec.index + 1
        self._touch(loaded.entry.path)

    def _decode_and_store(self, reader: VideoReader, targets: list[float], key: str, digest: str) -> Iterator[Frame]:
        max_side = _max_side_of(key)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{key}-", dir=self.root))
        except OSError as exc:
            raise FrameCacheError(
                f"cannot write the frame cache in {self.root}: {exc.strerror or exc}; "
                f"pass another folder or set {ENV_CACHE_DIR}"
            ) from None
        committed = False
        lock = _WriterLock(tmp)
        writer = _Writer(tmp, self.jpeg_quality, self.root)
        decoded = reader.iter_frames(targets, max_side=max_side)
        try:
            for frame in decoded:
                if frame.image is None or frame.index is None:
                    raise FrameCacheError("the video reader yielded a frame without an image or index")
                writer.put(frame)
                yield frame
            records, n_bytes = writer.finish()
            source = reader.info.source
            try:
                identity: dict[str, Any] | None = _source_identity(source)
            except VideoNotFoundError:
                identity = None
            steps = {round(b - a, 6) for a, b in itertools.pairwise(targets)}
            step = next(iter(steps)) if len(steps) == 1 else 0.0  # an even grid: its rate
            manifest = {
                "format": _FORMAT,
                "key": key,
                "created": time.time(),
                "source": source,
                "identity": identity,
                "fps": round(1 / step, 6) if step > 0 else None,
                "jpeg_quality": self.jpeg_quality,
                "n_targets": len(targets),
                "targets_sha256": digest,
                "max_side": max_side,
                "frames": records,
                "lost_spans": [[float(a), float(b)] for a, b in reader.lost_spans],
            }
            manifest[_CHECKSUM] = _manifest_checksum(manifest)
            text = json.dumps(manifest, separators=(",", ":"))
            try:
                (tmp / _MANIFEST).write_text(text, encoding="utf-8")
                n_bytes += len(text)
                (tmp / _STAMP).write_text(json.dumps({"bytes": n_bytes}), encoding="utf-8")
            except OSError as exc:
                raise FrameCacheError(f"cannot write the frame cache in {self.root}: {exc.strerror or exc}") from None
            try:
                os.rename(tmp, self.root / key)
                committed = True
            except OSError:
                # Another writer committed the same entry first: theirs stands, ours is discarded.
                log.info("frame cache entry %s was committed by another writer", key)
            else:
                with contextlib.suppress(OSError):
                    (self.root / key / _WRITER_LOCK).unlink()
        finally:
            writer.abort()
            close = getattr(decoded, "close", None)
            if close is not None:
                close()
            if not committed:
                shutil.rmtree(tmp, ignore_errors=True)
            lock.release()
        self.evict(keep=key)
