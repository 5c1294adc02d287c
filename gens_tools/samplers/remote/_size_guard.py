"""The request-size guard: fits a window's frames into request bodies the server accepts, by recompressing,
then shrinking, then splitting them, and learns a lower limit when the server answers HTTP 413."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from gens_tools.samplers._windows import plan_windows
from gens_tools.samplers.remote._request import RequestFormat, images_in_body, jpeg_data_urls

#: The smallest request-size limit accepted, set or learnt from HTTP 413.
MIN_REQUEST_BYTES = 4096
#: JPEG qualities tried, in turn, before frames are shrunk.
RECOMPRESS_QUALITIES = (70, 50)


@dataclass(slots=True)
class Part:
    """One request's worth of a window: frames ``offset … offset+n-1``, as the serialized request body."""

    offset: int
    n: int
    body: bytes
    side: int
    quality: int

    @property
    def body_bytes(self) -> int:
        """Size of the request body."""
        return len(self.body)


class TooLarge(Exception):
    """A single frame does not fit in the request-size limit."""


class SizeGuard:
    """Encodes frames into request bodies of at most :attr:`limit` bytes and ``max_images`` images.

    Frames are sent at ``max_side`` (``None``: as given) and ``jpeg_quality``; a body over the limit is
    recompressed (:data:`RECOMPRESS_QUALITIES`), then shrunk (not below ``min_side``), then split in halves,
    each part labelled from ``[0]`` (the caller maps them back by :attr:`Part.offset`). Thread-safe.
    """

    def __init__(
        self,
        request: RequestFormat,
        *,
        limit: int,
        max_side: int | None,
        min_side: int,
        jpeg_quality: int,
        max_images: int,
    ) -> None:
        self.request = request
        self.max_side = max_side
        self.min_side = min_side
        self.jpeg_quality = jpeg_quality
        self.max_images = max_images
        self._limit = limit
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        """The largest body to send now (lowered by :meth:`lower`)."""
        return self._limit

    def lower(self, limit: int) -> None:
        """Send at most ``limit`` bytes from now on (the server refused a bigger request)."""
        with self._lock:
            self._limit = min(self._limit, limit)

    def fit(self, images: Sequence[Image.Image], question: str, limit: int) -> tuple[list[Part], list[str]]:
        """Encode ``images`` into parts of at most ``limit`` bytes; also returns notes on what had to be done.
        Raises :class:`TooLarge` when a single frame cannot fit."""
        parts: list[Part] = []
        notes: list[str] = []
        for rng in plan_windows(len(images), self.max_images):
            parts += self._fit_range(images, rng.start, rng.stop, question, limit, notes)
        return parts, notes

    def refit(self, part: Part, question: str, limit: int) -> tuple[list[Part], list[str]]:
        """Fit a part the server refused again, under a lower limit, from the JPEGs already in its body (the
        frames themselves were released once the window was encoded)."""
        parts, notes = self.fit(images_in_body(part.body), question, limit)
        for p in parts:
            p.offset += part.offset
        return parts, notes

    def _fit_range(
        self,
        images: Sequence[Image.Image],
        start: int,
        stop: int,
        question: str,
        limit: int,
        notes: list[str],
    ) -> list[Part]:
        sub = images[start:stop]
        native = max(max(im.size) for im in sub)
        side = native if self.max_side is None else min(native, self.max_side)
        quality = self.jpeg_quality

        def attempt() -> Part:
            body = self.request.body(jpeg_data_urls(sub, side, quality), question)
            return Part(start, stop - start, body, side, quality)

        part = attempt()
        if part.body_bytes <= limit:
            return [part]
        for q in RECOMPRESS_QUALITIES:
            if q >= quality:
                continue
            quality = q
            part = attempt()
            if part.body_bytes <= limit:
                notes.append(f"frames {start}-{stop - 1} recompressed (JPEG quality {quality}) to fit {limit} bytes")
                return [part]
        floor = min(self.min_side, side)
        while side > floor:
            side = max(floor, min(side - 1, int(side * math.sqrt(limit / part.body_bytes) * 0.95)))
            part = attempt()
            if part.body_bytes <= limit:
                notes.append(
                    f"frames {start}-{stop - 1} shrunk to {side} px (JPEG quality {quality}) to fit {limit} bytes"
                )
                return [part]
        if stop - start == 1:
            raise TooLarge(
                f"frame {start} alone makes a {part.body_bytes}-byte request, over the {limit}-byte limit "
                f"even at {side} px"
            )
        mid = (start + stop) // 2
        notes.append(f"frames {start}-{stop - 1} split at {mid} to fit {limit} bytes")
        return self._fit_range(images, start, mid, question, limit, notes) + self._fit_range(
            images, mid, stop, question, limit, notes
        )
