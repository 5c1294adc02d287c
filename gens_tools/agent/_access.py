"""What an LLM-driven tool may open: local roots and URL prefixes the user allowed.

Tools called by a model take untrusted arguments. :class:`AccessPolicy` decides whether a video argument
(a path or a URL) may be opened; anything else is refused with an
:class:`~gens_tools.errors.AccessDeniedError` whose message an agent can read and act on. Integrations
(LangChain, LlamaIndex) share this one policy.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from gens_tools._checks import positive_int
from gens_tools._sources import HTTP_SCHEMES, is_url, normalize_http_url
from gens_tools.errors import AccessDeniedError, InvalidArgumentError, VideoNotFoundError

#: Longest file name and path (bytes) that can exist (Linux, macOS and Windows file systems).
NAME_MAX = 255
PATH_MAX = 4096


def _brief(text: str) -> str:
    """``repr(text)``, cut in the middle when long (an agent may send a 100k-character path)."""
    return repr(text) if len(text) <= 120 else repr(text[:60] + "…" + text[-40:])


@dataclass(frozen=True)
class AccessPolicy:
    """Allowed local roots and URL prefixes.

    Args:
        roots: directories whose files (recursively, after resolving symlinks and ``..``) may be opened.
        url_prefixes: URL prefixes that may be opened, e.g. ``"https://cdn.example.com/videos/"``. Only
            http(s) URLs are ever allowed. A prefix must include the scheme and host.
        max_duration: longest video (seconds) a tool call may process, or ``None``.
        max_k: most frames a tool call may request.
    """

    roots: tuple[Path, ...] = ()
    url_prefixes: tuple[str, ...] = ()
    max_duration: float | None = None
    max_k: int = 64
    _resolved_roots: tuple[Path, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        resolved = tuple(Path(os.path.expanduser(str(r))).resolve() for r in self.roots)
        object.__setattr__(self, "_resolved_roots", resolved)
        for prefix in self.url_prefixes:
            parts = urlsplit(prefix)
            if parts.scheme not in HTTP_SCHEMES or not parts.netloc:
                raise InvalidArgumentError(
                    f"URL prefix {prefix!r} must be an http(s) URL with a host, e.g. 'https://host/path/'"
                )
        if self.max_k <= 0:
            raise InvalidArgumentError("max_k must be positive")

    @classmethod
    def allow(
        cls,
        roots: Iterable[str | os.PathLike[str]] = (),
        url_prefixes: Sequence[str] = (),
        *,
        max_duration: float | None = None,
        max_k: int = 64,
    ) -> AccessPolicy:
        """Build a policy from plain strings or paths."""
        return cls(
            roots=tuple(Path(r) for r in roots),
            url_prefixes=tuple(url_prefixes),
            max_duration=max_duration,
            max_k=max_k,
        )

    def check(self, video: str) -> str:
        """Return the normalised source (a resolved path or the URL) if allowed; raise
        :class:`AccessDeniedError` otherwise."""
        if not isinstance(video, str) or not video.strip():
            raise AccessDeniedError("video must be a non-empty path or URL string")
        video = video.strip()
        if "\x00" in video:
            raise AccessDeniedError("video path contains a NUL character")
        if is_url(video):
            return self._check_url(video)
        return str(self._check_path(video))

    def _check_url(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme.lower() not in HTTP_SCHEMES:
            raise AccessDeniedError(f"URL scheme {parts.scheme!r} is not allowed; only http(s) URLs can be opened")
        if parts.username or parts.password:
            raise AccessDeniedError("URLs with embedded credentials are not allowed")
        if not self.url_prefixes:
            raise AccessDeniedError("opening URLs is not allowed by this tool's configuration")
        normalized = parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()).geturl()
        for prefix in self.url_prefixes:
            pp = urlsplit(prefix)
            p_norm = pp._replace(scheme=pp.scheme.lower(), netloc=pp.netloc.lower()).geturl()
            if normalized.startswith(p_norm) and ".." not in unquote(parts.path).split("/"):
                # Prefix must end at a path boundary so that "https://a.com/v" does not allow "https://a.com/v2".
                rest = normalized[len(p_norm) :]
                if p_norm.endswith("/") or rest == "" or rest[0] in "/?#":
                    return normalize_http_url(url)
        raise AccessDeniedError(
            f"URL {_brief(url)} is not under an allowed prefix; allowed: {', '.join(self.url_prefixes)}"
        )

    def _check_path(self, video: str) -> Path:
        if not self._resolved_roots:
            raise AccessDeniedError("opening local files is not allowed by this tool's configuration")
        too_long = [part for part in Path(video).parts if len(os.fsencode(part)) > NAME_MAX]
        if too_long or len(os.fsencode(video)) > PATH_MAX:
            raise VideoNotFoundError(
                f"video not found: {_brief(video)} cannot exist (a file name has at most {NAME_MAX} bytes, a path "
                f"{PATH_MAX})"
            )
        candidate = Path(video).expanduser()
        if not candidate.is_absolute():
            # Relative paths are taken relative to the first allowed root, never to the working directory.
            candidate = self._resolved_roots[0] / candidate
        resolved = candidate.resolve()
        for root in self._resolved_roots:
            if resolved == root or resolved.is_relative_to(root):
                return resolved
        allowed = ", ".join(str(r) for r in self._resolved_roots)
        raise AccessDeniedError(f"{_brief(video)} is outside the allowed folders ({allowed})")

    def check_k(self, k: int | None) -> int | None:
        """Validate a requested frame count against ``max_k``."""
        if k is None:
            return None
        k = positive_int("k", k)
        if k > self.max_k:
            raise InvalidArgumentError(f"k={k} is more than this tool allows ({self.max_k})")
        return k
