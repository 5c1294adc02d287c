"""What a local video path is, checked before any decoder opens it.

A decoder must never open something that is not a plain file: opening a FIFO blocks until someone writes to it
(a hung call), a device can be read forever (``/dev/zero``) or be a camera, a socket is not data. And a plain
file must not be a playlist or a list of other files (HLS ``.m3u8``, DASH ``.mpd``, ``ffconcat``, SDP…): FFmpeg
would open what it names — files outside the allowed folder, FIFOs — before gens-tools could refuse it. So
:func:`check_local_video` looks at the file's type (without following it into a FIFO) and at its first bytes,
and :func:`demuxer_whitelist` keeps FFmpeg off the demuxers that read other files or devices even when a
disguised input gets past the first look.
"""

from __future__ import annotations

import errno
import functools
import os
import stat

from gens_tools.errors import NotAVideoError, VideoError, VideoNotFoundError

#: Bytes read from the start of a file to recognise a playlist.
SNIFF_BYTES = 4096

#: Demuxers FFmpeg is never allowed to use: they read other files or URLs named inside the input (playlists,
#: lists, session descriptions, subtitle sidecars), generate input from filter graphs, or read devices.
BLOCKED_DEMUXERS = frozenset(
    {
        "hls",
        "dash",
        "webm_dash_manifest",
        "concat",
        "imf",
        "sdp",
        "rtp",
        "rtsp",
        "sap",
        "vobsub",
        "lavfi",
        "avisynth",
        "vapoursynth",
        "alsa",
        "fbdev",
        "kmsgrab",
        "oss",
        "pulse",
        "jack",
        "v4l2",
        "video4linux2",
        "x11grab",
        "xcbgrab",
    }
)

#: How playlists and lists of files start (after a byte-order mark and white space, compared in lower case).
_PLAYLIST_HEADS = (
    (b"#extm3u", "an HLS/M3U playlist"),
    (b"#ext-x-", "an HLS playlist"),
    (b"#extinf", "an M3U playlist"),
    (b"[playlist]", "a PLS playlist"),
    (b"ffconcat version", "an ffconcat list"),
    (b"<mpd", "a DASH manifest"),
    (b"<smil", "a SMIL playlist"),
    (b"<asx", "an ASX playlist"),
    (b"v=0", "an SDP session description"),
)


def _kind(mode: int) -> str | None:
    """What a file of ``mode`` is, when it is not a regular file or a folder."""
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return "not a regular file"
    return None


def stat_local(path: str | os.PathLike[str]) -> os.stat_result:
    """``os.stat(path)`` (following symlinks), with the failures as typed errors.

    Raises:
        VideoNotFoundError: no such file, or a name that cannot exist (over 255 bytes).
        VideoError: any other reason the path cannot be looked at (no permission…).
    """
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise VideoNotFoundError(f"video not found: {_brief(path)}") from None
    except NotADirectoryError:
        raise VideoNotFoundError(f"video not found: {_brief(path)} (a part of the path is not a folder)") from None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise VideoNotFoundError(f"video not found: {_brief(path)} (a name in it is too long to exist)") from None
        raise VideoError(f"cannot open {_brief(path)}: {exc.strerror or exc}") from None


def check_local_video(path: str | os.PathLike[str]) -> bool:
    """Check a local video path before anything opens it; returns whether it is a folder (of frames).

    A file is opened without blocking (a FIFO swapped in after the first look cannot hang it), its type is
    checked on the open file, and its first :data:`SNIFF_BYTES` bytes must not be a playlist or a list of
    other files.

    Raises:
        VideoNotFoundError: the path does not exist (or cannot: a name over 255 bytes).
        NotAVideoError: a FIFO, socket or device, or a playlist / list of files.
        VideoError: it cannot be read (no permission…).
    """
    st = stat_local(path)
    if stat.S_ISDIR(st.st_mode):
        return True
    kind = _kind(st.st_mode)
    if kind is not None:
        raise NotAVideoError(f"{_brief(path)} is {kind}, not a video file; gens-tools opens only regular files")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise VideoError(f"cannot open {_brief(path)}: {exc.strerror or exc}") from None
    try:
        kind = _kind(os.fstat(fd).st_mode)
        if kind is not None:  # swapped since the first look
            raise NotAVideoError(f"{_brief(path)} is {kind}, not a video file; gens-tools opens only regular files")
        head = os.read(fd, SNIFF_BYTES)
    except OSError as exc:
        raise VideoError(f"cannot read {_brief(path)}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    what = playlist_kind(head)
    if what is not None:
        raise NotAVideoError(
            f"{_brief(path)} is {what}, which gens-tools does not open: it names other files or addresses to "
            "read; pass the video file itself"
        )
    return False


def playlist_kind(head: bytes) -> str | None:
    """What kind of playlist or list of files ``head`` (a file's first bytes) starts, or ``None``."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip().lower()
    for start, what in _PLAYLIST_HEADS:
        if text.startswith(start):
            return what
    if text.startswith(b"<?xml") and (b"<mpd" in text or b"<smil" in text):
        return "a DASH manifest" if b"<mpd" in text else "a SMIL playlist"
    return None


@functools.cache
def demuxer_whitelist() -> str:
    """FFmpeg's ``format_whitelist``: every input format of this build except :data:`BLOCKED_DEMUXERS`."""
    import av

    names: set[str] = set()
    for entry in av.formats_available:
        parts = entry.split(",")
        if any(p in BLOCKED_DEMUXERS for p in parts):
            continue
        try:
            if not av.ContainerFormat(entry).is_input:
                continue
        except (ValueError, av.error.FFmpegError):
            continue
        names.update(parts)
    return ",".join(sorted(names))


def _brief(path: str | os.PathLike[str]) -> str:
    text = os.fspath(path)
    text = text if isinstance(text, str) else os.fsdecode(text)
    return text if len(text) <= 160 else text[:80] + "…" + text[-60:]
