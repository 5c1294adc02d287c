"""One entry point for every video source: a file, a folder of frames or an http(s) URL."""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from gens_tools._redirects import resolve_redirects
from gens_tools.errors import (
    BackendUnavailableError,
    InvalidArgumentError,
)
from gens_tools.video._base import VideoReader
from gens_tools.video._guard import stat_local

__all__ = ["BACKENDS", "open_video"]

BACKENDS: tuple[Literal["auto", "pyav", "decord"], ...] = ("auto", "pyav", "decord")
"""Decoding backends :func:`open_video` accepts for video files (``"auto"`` = PyAV)."""


def _local_path(source: str | os.PathLike[str]) -> Path | None:
    """The local path ``source`` names, or ``None`` when it is an http(s) URL."""
    if isinstance(source, str):
        head = source[:16].lower()
        if "://" in head:
            parts = urlsplit(source)
            scheme = parts.scheme.lower()
            if scheme in ("http", "https"):
                if not parts.netloc:
                    raise InvalidArgumentError(f"URL {source!r} has no host")
                return None
            if scheme == "file":
                return Path(unquote(parts.path))
            raise InvalidArgumentError(
                f"unsupported URL scheme {scheme!r} in {source!r}: use an http(s) URL or a local path"
            )
    return Path(source).expanduser()


def open_video(
    source: str | os.PathLike[str],
    *,
    backend: str = "auto",
    fps: float | None = None,
    timeout: float = 30.0,
    skip_frames: bool = True,
    url_check: Callable[[str], str] | None = None,
) -> VideoReader:
    """Open a video for reading frames at chosen times.

    Args:
        source: a video file, a folder of frame images, or an http(s) URL (streamed through FFmpeg with
            range requests; not downloaded first).
        backend: decoder for video files: ``"auto"`` or ``"pyav"`` (PyAV/FFmpeg, exact timestamps,
            streaming) or ``"decord"`` (needs the optional ``decord`` package; local files only).
        fps: frame rate of a frame folder whose file names do not state seconds; not used for videos,
            whose timestamps come from the container.
        timeout: seconds to wait for a URL to connect or send data before failing.
        skip_frames: PyAV only: let the decoder skip non-reference frames that are on screen at no requested
            time (the same frames and timestamps as a full decode, less work); ``False`` decodes every frame.
        url_check: for a URL, called with every address a redirect leads to before it is followed (an access
            policy's ``check``: it returns the URL or raises :class:`~gens_tools.errors.AccessDeniedError`).

    Redirects of a URL are followed here (at most 5, each one checked with ``url_check``) and the decoder is
    given the final URL, with its own redirect following off. A local file must be a regular file that is not
    a playlist: FIFOs, sockets, devices, HLS/DASH/ffconcat/SDP files are refused before any decoder opens them.

    Returns a :class:`~gens_tools.video._base.VideoReader`; use it as a context manager. Its
    ``info.source`` is the final URL.

    Raises:
        InvalidArgumentError: unknown backend, bad timeout or fps, unsupported URL scheme.
        VideoNotFoundError: the path does not exist (or the URL answers 404).
        NotAVideoError: a FIFO, socket, device or playlist.
        AccessDeniedError: a redirect ``url_check`` refuses.
        VideoError: the source cannot be opened (see the reader classes for the specific subclasses).
        BackendUnavailableError: ``backend="decord"`` without decord installed.
    """
    if not isinstance(backend, str) or backend.lower() not in BACKENDS:
        raise InvalidArgumentError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    backend = backend.lower()
    if not isinstance(skip_frames, bool):
        raise InvalidArgumentError(f"skip_frames must be True or False, got {skip_frames!r}")
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not (math.isfinite(timeout) and timeout > 0)
    ):
        raise InvalidArgumentError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if not isinstance(source, str | os.PathLike) or (isinstance(source, str) and not source.strip()):
        raise InvalidArgumentError(f"video source must be a path or an http(s) URL, got {source!r}")

    path = _local_path(source)
    if path is None:
        if backend == "decord":
            raise InvalidArgumentError("the decord backend reads local files only; use backend='pyav' for URLs")
        from gens_tools.video._pyav import PyAVReader

        final = resolve_redirects(str(source), url_check, timeout=float(timeout))
        return PyAVReader(final, timeout=float(timeout), skip_frames=skip_frames)

    if stat.S_ISDIR(stat_local(path).st_mode):
        from gens_tools.video._folder import FolderReader

        return FolderReader(path, fps=fps)
    if backend == "decord":
        try:
            from gens_tools.video._decord import DecordReader
        except ImportError as exc:
            if isinstance(exc, BackendUnavailableError):
                raise
            raise BackendUnavailableError(
                "the decord backend is not available; install it with `pip install 'gens-tools[decord]'` "
                "or use backend='pyav'"
            ) from exc
        return DecordReader(path)
    from gens_tools.video._pyav import PyAVReader

    return PyAVReader(path, timeout=float(timeout), skip_frames=skip_frames)
