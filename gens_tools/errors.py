"""Typed errors raised by gens-tools.

Every error the library raises on bad input derives from :class:`GensToolsError`, so callers (and the CLI,
which prints one line per error) can catch them all at once. Each message is written for a person or an
LLM agent to read: it names what was wrong and, where possible, what to do instead.
"""

from __future__ import annotations


class GensToolsError(Exception):
    """Base class of every error gens-tools raises on purpose."""


class InvalidArgumentError(GensToolsError, ValueError):
    """An argument is out of range or malformed (empty question, ``k <= 0``, bad fps…)."""


class VideoError(GensToolsError):
    """Base class of errors about a video source."""


class VideoNotFoundError(VideoError, FileNotFoundError):
    """The file or folder does not exist."""


class NotAVideoError(VideoError):
    """The input exists but is not a readable video (garbage, an image, a text file…)."""


class EmptyVideoError(VideoError):
    """The container holds no video frames (zero length, audio only)."""


class UnsupportedCodecError(VideoError):
    """The video stream's codec cannot be decoded by the selected backend."""


class TimeRangeError(InvalidArgumentError):
    """The requested ``start``/``end`` lie outside the video or are reversed."""


class AccessDeniedError(GensToolsError, PermissionError):
    """A path or URL lies outside what the user allowed this tool to open."""


class BackendUnavailableError(GensToolsError, ImportError):
    """An optional dependency (decord, torch, openai…) is not installed."""


class ModelUnavailableError(GensToolsError):
    """Model weights are missing locally and cannot be downloaded (offline, or not found)."""


class SamplerError(GensToolsError):
    """A frame sampler failed in a way that is not a property of the input."""


class FrameCacheError(GensToolsError):
    """The frame cache cannot be used (its folder is not writable, the disk is full…)."""


class CacheMissError(FrameCacheError, LookupError):
    """The requested frames are not (or no longer) in the cache; decode them again."""
