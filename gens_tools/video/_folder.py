"""Read a folder of frame images (jpg, png, webp…) as a video.

Files are ordered by natural sort (``frame_2`` before ``frame_10``). Each frame's time comes from:

* its name, when the name states seconds: ``sec012.png``, ``t_12.5s.jpg``, ``12.5s.png``, ``000012.500s.jpg``;
* otherwise ``fps``: the trailing number in each name is a frame number (``frame_000123.jpg`` is frame 123,
  at ``(123 - first number) / fps``), or, in names without numbers, the position in sorted order.

Times are counted from the first frame, like a video's (the first frame's own time is kept in
``info.extra["time_offset"]``). Only the pictures that are needed are opened, one at a time.
"""

from __future__ import annotations

import bisect
import itertools
import math
import os
import re
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from natsort import natsorted
from PIL import Image, ImageOps, UnidentifiedImageError

from gens_tools._imaging import fit_within
from gens_tools.errors import (
    EmptyVideoError,
    InvalidArgumentError,
    NotAVideoError,
)
from gens_tools.frames import Frame
from gens_tools.video._base import ReaderBase, VideoInfo
from gens_tools.video._guard import stat_local

__all__ = ["IMAGE_SUFFIXES", "FolderReader", "parse_frame_name"]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"})
"""File suffixes read as frames (case-insensitive); other files in the folder are ignored."""

_NUMBER = r"(\d+(?:\.\d+)?)"
# Names that state seconds: "sec012", "sec_12.5", "t_12.5s", "t12s", "12.5s", "frame_12.5sec".
_SECONDS_PATTERNS = (
    re.compile(rf"(?:^|[^a-z])sec(?:onds?)?[_\-]?{_NUMBER}$", re.IGNORECASE),
    re.compile(rf"(?:^|[^0-9.]){_NUMBER}\s?(?:s|sec|secs|seconds)$", re.IGNORECASE),
)
_TRAILING_INT = re.compile(r"(\d+)$")


#: Largest picture (pixels) read as a frame: 64 megapixels, an 8K × 8K image (Pillow's own warning starts at
#: about 89 megapixels); a larger one, or a decompression bomb claiming billions, is not decoded.
MAX_FRAME_PIXELS = 8192 * 8192


def _check_pixels(img: Image.Image) -> None:
    """Refuse, before decoding, a picture larger than :data:`MAX_FRAME_PIXELS`."""
    width, height = img.size
    if width * height > MAX_FRAME_PIXELS:
        raise ValueError(f"the image is {width}x{height} pixels, more than a frame may have ({MAX_FRAME_PIXELS:,})")


def parse_frame_name(stem: str) -> tuple[str, float] | None:
    """Read what a frame file's name (without suffix) says about its time.

    Returns ``("seconds", value)`` for names that state seconds (``sec012``, ``t_12.5s``),
    ``("index", n)`` for names ending in a frame number (``frame_000123``), or ``None``.
    """
    for pattern in _SECONDS_PATTERNS:
        m = pattern.search(stem)
        if m:
            return "seconds", float(m.group(1))
    m = _TRAILING_INT.search(stem)
    if m:
        return "index", float(m.group(1))
    return None


class FolderReader(ReaderBase):
    """A :class:`~gens_tools.video._base.VideoReader` over a folder of frame images.

    Args:
        directory: the folder.
        fps: frames per second, needed unless the names state seconds.

    Raises:
        VideoNotFoundError: the folder does not exist.
        EmptyVideoError: it holds no image files.
        InvalidArgumentError: the frames' times cannot be told (no ``fps`` and no seconds in the names),
            or ``fps`` is not a positive number.
        NotAVideoError: the first image cannot be read.
    """

    def __init__(self, directory: str | os.PathLike[str], *, fps: float | None = None) -> None:
        if fps is not None and (
            isinstance(fps, bool) or not isinstance(fps, int | float) or not math.isfinite(fps) or fps <= 0
        ):
            raise InvalidArgumentError(f"fps must be a positive number of frames per second, got {fps!r}")
        self.directory = Path(directory).expanduser()
        if not stat.S_ISDIR(stat_local(self.directory).st_mode):
            raise NotAVideoError(f"{self.directory} is not a folder")
        files = natsorted(self._images(), key=lambda p: p.name)
        if not files:
            raise EmptyVideoError(
                f"frame folder {self.directory} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})"
            )
        times = self._times(files, fps)
        order = sorted(range(len(files)), key=lambda i: times[i])
        self._files = [files[i] for i in order]
        offset = times[order[0]]
        self._times_rel = [round(times[i] - offset, 6) for i in order]
        if any(b <= a for a, b in itertools.pairwise(self._times_rel)):
            raise InvalidArgumentError(f"two frames in {self.directory} have the same time; check the file names")
        self.lost_spans: list[tuple[float, float]] = []
        self._closed = False
        gaps = [b - a for a, b in itertools.pairwise(self._times_rel)]
        step = 1 / fps if fps else (sorted(gaps)[len(gaps) // 2] if gaps else 1.0)
        self._step = step
        first = self._files[0]
        try:
            with Image.open(first) as img:
                _check_pixels(img)
                codec = (img.format or first.suffix.lstrip(".")).lower()
                width, height = ImageOps.exif_transpose(img).size
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
            raise NotAVideoError(f"cannot read the first frame image {first}: {exc}") from None
        even = bool(gaps) and max(gaps) - min(gaps) < 1e-3
        self.info = VideoInfo(
            source=str(self.directory),
            duration=round(self._times_rel[-1] + step, 6),
            fps=fps if fps else (round(1 / step, 6) if even and step > 0 else None),
            width=width,
            height=height,
            codec=codec,
            rotation=0,
            n_frames=len(self._files),
            container="folder",
            extra={"time_offset": offset, "first_file": first.name},
        )

    def _images(self) -> list[Path]:
        """The folder's own image files: regular files (a FIFO or device among them is never opened), and no
        symlink that leads out of the folder (a frame folder inside an allowed folder must not show files
        from elsewhere)."""
        home = self.directory.resolve()
        out: list[Path] = []
        for p in self.directory.iterdir():
            if p.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                if not stat.S_ISREG(p.stat().st_mode):
                    continue
                if p.is_symlink() and not p.resolve().is_relative_to(home):
                    continue
            except OSError:
                continue
            out.append(p)
        return out

    def _times(self, files: Sequence[Path], fps: float | None) -> list[float]:
        parsed = [parse_frame_name(p.stem) for p in files]
        if all(p is not None and p[0] == "seconds" for p in parsed):
            return [p[1] for p in parsed if p is not None]
        if fps is None:
            raise InvalidArgumentError(
                f"cannot tell the times of the frames in {self.directory}: give its frame rate (--frame-rate FPS "
                "on the command line, frame_rate=… to sample_frames or SamplingOptions, fps=… to open_video), "
                "or name the files with their seconds, like sec012.png or t_12.5s.jpg"
            )
        if all(p is not None for p in parsed):
            numbers = [p[1] for p in parsed if p is not None]
            if len(set(numbers)) == len(numbers):
                return [n / fps for n in numbers]
        return [i / fps for i in range(len(files))]

    def iter_frames(self, targets: Sequence[float], *, max_side: int | None = None) -> Iterator[Frame]:
        """Yield, for each target time, the frame image whose time is the last one <= target.

        Frames come in ascending time order; ``Frame.index`` is the target's position in ``targets``.
        Targets past the end of the folder (last frame time + one frame interval) yield nothing; an image
        that cannot be read is skipped and its span recorded in :attr:`lost_spans`.
        """
        pairs, max_side = self._check_request(targets, max_side)
        return self._iter(pairs, max_side)

    def _iter(self, pairs: list[tuple[float, int]], max_side: int | None) -> Iterator[Frame]:
        cached: tuple[int, Image.Image | None] | None = None
        for t, index in pairs:
            if t >= self.info.duration - 1e-9:
                break
            pos = bisect.bisect_right(self._times_rel, t + 1e-6) - 1
            if pos < 0:
                continue
            if cached is None or cached[0] != pos:
                cached = (pos, self._load(pos, max_side))
            if cached[1] is None:
                continue
            yield Frame(timestamp=self._times_rel[pos], image=cached[1], index=index)

    def _load(self, pos: int, max_side: int | None) -> Image.Image | None:
        path = self._files[pos]
        try:
            with Image.open(path) as img:
                _check_pixels(img)
                if max_side is not None:
                    img.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale when possible
                image = ImageOps.exif_transpose(img).convert("RGB")
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            end = self._times_rel[pos + 1] if pos + 1 < len(self._times_rel) else self.info.duration
            self._add_lost(self._times_rel[pos], end)
            return None
        size = fit_within(image.width, image.height, max_side)
        if size != image.size:
            image = image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
        return image

    def __repr__(self) -> str:
        return f"FolderReader({str(self.directory)!r}, {self.info.n_frames} frames, {self.info.duration:.3f}s)"
