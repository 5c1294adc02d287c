"""Synthetic videos for tests and demos, written with PyAV only (no ffmpeg command line needed).

Every frame made by :func:`make_test_video` and :func:`make_frame_folder` carries its own presentation time,
painted as a grid of large black and white blocks (the millisecond time in binary, a fixed sync row and a
check field) above a band with the time as text. :func:`read_time_code` reads that time back from a decoded
picture, even after lossy compression, downscaling to about 64 px and the reader's rotation fix-up, so a test
can tell exactly which frame a reader returned. A picture that is not upright (rotation metadata ignored) or
carries no code makes :func:`read_time_code` raise :class:`ValueError` instead of returning a wrong time.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gens_tools.errors import InvalidArgumentError

__all__ = [
    "CODE_BITS",
    "NEEDLE_COLOURS",
    "Needle",
    "make_demo_video",
    "make_frame_folder",
    "make_needle_benchmark",
    "make_needle_video",
    "make_test_video",
    "needle_answer",
    "paint_needle_frame",
    "paint_time_code",
    "read_needle",
    "read_time_code",
]

# --- the painted time code -------------------------------------------------------------------------------

_COLS = 8
_ROWS = 5  # row 0: sync pattern; rows 1-4: 26 time bits + 6 check bits
_CODE_FRACTION = 0.8  # the code grid fills the top 80 % of the picture; the text band the rest
_SYNC = (1, 1, 0, 1, 0, 0, 1, 0)  # not a palindrome, so mirrored/flipped pictures fail the check
CODE_BITS = 26
"""Bits of the millisecond time: codes run up to 2**26 ms (about 18.6 hours)."""
_CHECK_BITS = 6
_MAX_MS = (1 << CODE_BITS) - 1


def _check_field(ms: int) -> int:
    """A 6-bit check of the 26 time bits: each 6-bit chunk rotated by its position, XOR-ed together."""
    check = 0
    for i in range(0, CODE_BITS, _CHECK_BITS):
        chunk = (ms >> i) & 0x3F
        r = (i // _CHECK_BITS) % _CHECK_BITS
        check ^= ((chunk << r) | (chunk >> (_CHECK_BITS - r))) & 0x3F
    return check


def _code_bits(ms: int) -> list[int]:
    """The 40 cell values (row-major) that encode ``ms``."""
    data = [(ms >> (CODE_BITS - 1 - i)) & 1 for i in range(CODE_BITS)]
    check = _check_field(ms)
    chk = [(check >> (_CHECK_BITS - 1 - i)) & 1 for i in range(_CHECK_BITS)]
    return [*_SYNC, *data, *chk]


@functools.lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=max(8, size))
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def paint_time_code(
    seconds: float,
    size: tuple[int, int] = (320, 180),
    *,
    progress: float | None = None,
    label: str | None = None,
) -> Image.Image:
    """Paint a frame (RGB, ``size`` = width, height) that encodes ``seconds`` (rounded to the millisecond).

    The top 80 % is an 8×5 grid of black/white blocks: a sync row, then the time in milliseconds (26 bits,
    most significant first) and a 6-bit check. The bottom band shows the time as text, an optional progress
    bar (``progress`` in 0..1) and an optional ``label``.
    """
    width, height = int(size[0]), int(size[1])
    if width < 16 or height < 16:
        raise InvalidArgumentError(f"frame size must be at least 16x16 to hold a time code, got {size!r}")
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidArgumentError(f"time code must be a finite number of seconds >= 0, got {seconds!r}")
    ms = round(seconds * 1000)
    if ms > _MAX_MS:
        raise InvalidArgumentError(f"time code {seconds:g}s is past the largest encodable time ({_MAX_MS / 1000:g}s)")

    bits = np.array(_code_bits(ms), dtype=np.uint8).reshape(_ROWS, _COLS) * 255
    code_h = round(height * _CODE_FRACTION)
    ys = np.minimum((np.arange(code_h) * _ROWS) // code_h, _ROWS - 1)
    xs = np.minimum((np.arange(width) * _COLS) // width, _COLS - 1)
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[:code_h] = bits[ys][:, xs][:, :, None]
    frame[code_h:] = (40, 40, 64)
    image = Image.fromarray(frame, "RGB")

    band_h = height - code_h
    draw = ImageDraw.Draw(image)
    if progress is not None:
        p = min(max(float(progress), 0.0), 1.0)
        draw.rectangle((0, height - max(2, band_h // 6), round(p * (width - 1)), height - 1), fill=(230, 120, 20))
    text = f"{ms / 1000:.3f}s" + (f"  {label}" if label else "")
    draw.text((4, code_h + 1), text, fill=(255, 255, 255), font=_font(round(band_h * 0.6)))
    return image


def read_time_code(image: Image.Image) -> float:
    """Read the time (seconds) painted by :func:`paint_time_code` from a decoded, possibly shrunk picture.

    Raises :class:`ValueError` when the picture holds no valid code (not a test frame, not upright, or too
    damaged): a wrong time is never returned silently for a sideways or flipped picture.
    """
    gray = np.asarray(image.convert("L"), dtype=np.float32)
    height, width = gray.shape
    if width < _COLS * 2 or height < _ROWS * 2:
        raise ValueError(f"picture {width}x{height} is too small to hold a time code")
    code_h = height * _CODE_FRACTION
    cells = np.empty((_ROWS, _COLS), dtype=np.float32)
    for r in range(_ROWS):
        y0 = (r + 0.3) * code_h / _ROWS
        y1 = (r + 0.7) * code_h / _ROWS
        ya, yb = math.floor(y0), max(math.ceil(y1), math.floor(y0) + 1)
        for c in range(_COLS):
            x0 = (c + 0.3) * width / _COLS
            x1 = (c + 0.7) * width / _COLS
            xa, xb = math.floor(x0), max(math.ceil(x1), math.floor(x0) + 1)
            cells[r, c] = gray[ya:yb, xa:xb].mean()
    sync = np.array(_SYNC, dtype=bool)
    white = float(cells[0][sync].mean())
    black = float(cells[0][~sync].mean())
    if white - black < 60:
        raise ValueError("no time code found (the sync row has no contrast)")
    values = (cells > (white + black) / 2).astype(int).ravel().tolist()
    if tuple(values[:_COLS]) != _SYNC:
        raise ValueError("no time code found (sync row does not match; is the picture rotated or flipped?)")
    data = values[_COLS : _COLS + CODE_BITS]
    chk = values[_COLS + CODE_BITS : _COLS + CODE_BITS + _CHECK_BITS]
    ms = 0
    for bit in data:
        ms = (ms << 1) | bit
    check = 0
    for bit in chk:
        check = (check << 1) | bit
    if check != _check_field(ms):
        raise ValueError("time code check failed (picture too damaged or not a test frame)")
    return ms / 1000


# --- video writing ---------------------------------------------------------------------------------------

_ENCODERS: dict[str, tuple[str, ...]] = {
    "h264": ("libx264", "h264"),
    "hevc": ("libx265", "hevc"),
    "h265": ("libx265", "hevc"),
    "vp9": ("libvpx-vp9", "vp9"),
    "vp8": ("libvpx", "vp8"),
    "av1": ("libsvtav1", "libaom-av1", "av1"),
    "mpeg4": ("mpeg4",),
    "mjpeg": ("mjpeg",),
}

_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}


def _pick_encoder(codec: str) -> str:
    import av

    candidates = _ENCODERS.get(codec.lower(), (codec,))
    for name in candidates:
        try:
            av.Codec(name, "w")
        except Exception:
            continue
        return name
    raise InvalidArgumentError(f"no encoder for codec {codec!r} in this PyAV build (tried {', '.join(candidates)})")


def _encoder_options(encoder: str, bframes: bool, gop: int | None) -> dict[str, str]:
    if encoder == "libx264":
        # ultrafast keeps test videos quick to write; a fixed B-frame pattern with B-pyramid makes decode
        # order differ from presentation order on most frames.
        params = ["bframes=3", "b-adapt=0", "b-pyramid=normal"] if bframes else ["bframes=0"]
        if gop is not None:
            params += [f"keyint={gop}", f"min-keyint={min(gop, 25)}", "scenecut=0"]
        return {"preset": "ultrafast", "crf": "18", "x264-params": ":".join(params)}
    if encoder == "libx265":
        params = ["log-level=error"] + ([] if bframes else ["bframes=0"])
        if gop is not None:
            params += [f"keyint={gop}", f"min-keyint={min(gop, 25)}", "scenecut=0"]
        return {"preset": "ultrafast", "crf": "20", "x265-params": ":".join(params)}
    if encoder in ("libvpx-vp9", "libvpx"):
        return {"deadline": "realtime", "cpu-used": "8", "crf": "10", "b": "2M"}
    if encoder == "libsvtav1":
        return {"preset": "12", "crf": "30"}
    return {}


def _rational(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)


def make_test_video(
    path: str | os.PathLike[str],
    *,
    duration: float = 10.0,
    fps: float = 30.0,
    size: tuple[int, int] = (320, 180),
    codec: str = "h264",
    gop: int | None = None,
    pts: Sequence[float] | None = None,
    rotation: int = 0,
    bframes: bool = True,
    faststart: bool = True,
) -> Path:
    """Write a video whose every frame shows its own presentation time (see :func:`read_time_code`).

    Args:
        path: output file; the container comes from the suffix (.mp4 .m4v .mov .mkv .webm .avi).
        duration: length in seconds (constant frame rate ``fps``); ignored when ``pts`` is given.
        fps: frame rate; with ``pts`` it is only the nominal rate given to the encoder.
        size: stored (coded) frame size, width × height, both even. With ``rotation`` 90 or 270 the video
            is displayed with width and height swapped (portrait, like a phone video).
        codec: ``h264`` (default), ``hevc``, ``vp9``, ``vp8``, ``av1``, ``mpeg4``, ``mjpeg`` or an encoder
            name known to PyAV.
        gop: keyframe interval in frames (encoder default when ``None``).
        pts: explicit presentation times in seconds, strictly increasing (variable frame rate).
        rotation: display-matrix rotation, counter-clockwise degrees (0, 90, 180, 270). The pictures are
            painted so they read correctly once a player applies that rotation.
        bframes: allow B-frames (frames stored out of presentation order) where the codec has them.
        faststart: for .mp4/.mov, put the index before the data (needed to stream or read a cut file).

    Returns the path written. The file appears there only once complete (an interrupted call leaves none).
    """
    import av

    out = Path(path)
    fmt = _FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise InvalidArgumentError(f"unknown video suffix {out.suffix!r}; use one of {', '.join(_FORMATS)}")
    if rotation % 90 != 0:
        raise InvalidArgumentError(f"rotation must be a multiple of 90 degrees, got {rotation!r}")
    rotation %= 360
    width, height = int(size[0]), int(size[1])
    if width % 2 or height % 2 or width < 16 or height < 16:
        raise InvalidArgumentError(f"size must be even and at least 16x16, got {size!r}")
    if not (math.isfinite(fps) and fps > 0):
        raise InvalidArgumentError(f"fps must be positive, got {fps!r}")
    if pts is None:
        if not (math.isfinite(duration) and duration > 0):
            raise InvalidArgumentError(f"duration must be positive, got {duration!r}")
        n = max(1, round(duration * fps))
        times = [i / fps for i in range(n)]
        total = n / fps
    else:
        times = [float(t) for t in pts]
        if not times or any(not math.isfinite(t) or t < 0 for t in times):
            raise InvalidArgumentError("pts must be a non-empty list of finite times >= 0")
        if any(b <= a for a, b in itertools.pairwise(times)):
            raise InvalidArgumentError("pts must be strictly increasing")
        if fmt == "avi":
            raise InvalidArgumentError("AVI cannot store a variable frame rate; use .mp4, .mkv or .mov")
        total = times[-1] + (times[-1] - times[-2] if len(times) > 1 else 1 / fps)

    encoder = _pick_encoder(codec)
    rate = _rational(fps)
    # AVI stores one frame per tick of 1/fps; other containers get a fine clock that holds any time.
    time_base = 1 / rate if fmt == "avi" else Fraction(1, 90000)
    ticks = list(range(len(times))) if fmt == "avi" else [round(t / time_base) for t in times]
    if len(set(ticks)) != len(ticks):
        raise InvalidArgumentError("pts are closer together than the container clock can tell apart")

    out.parent.mkdir(parents=True, exist_ok=True)
    options = {"movflags": "+faststart"} if faststart and fmt in ("mp4", "mov") else {}
    disp_w, disp_h = (height, width) if rotation in (90, 270) else (width, height)
    # Written under a temporary name and renamed when complete: an interrupted run leaves no half video at `out`.
    partial = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        with av.open(str(partial), "w", format=fmt, options=options) as container:
            stream: Any = container.add_stream(encoder, rate=rate, options=_encoder_options(encoder, bframes, gop))
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuvj420p" if encoder == "mjpeg" else "yuv420p"
            stream.time_base = time_base
            stream.codec_context.time_base = time_base
            if gop is not None:
                stream.codec_context.gop_size = int(gop)
            if encoder == "mpeg4":
                stream.codec_context.bit_rate = 3_000_000
                stream.codec_context.max_b_frames = 2 if bframes else 0
            elif not bframes:
                stream.codec_context.max_b_frames = 0
            if encoder == "mjpeg":
                stream.codec_context.qscale = 3
            if rotation:
                stream.set_display_rotation(rotation)
            default_step = ticks[-1] - ticks[-2] if len(ticks) > 1 else max(1, round(1 / (rate * time_base)))
            durations = {tick: nxt - tick for tick, nxt in itertools.pairwise(ticks)} | {ticks[-1]: default_step}
            for t, tick in zip(times, ticks, strict=True):
                picture = np.asarray(paint_time_code(t, (disp_w, disp_h), progress=t / total))
                if rotation:
                    # The player turns the stored picture counter-clockwise by `rotation`; store it turned back.
                    picture = np.ascontiguousarray(np.rot90(picture, k=-(rotation // 90)))
                frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
                frame.pts = tick
                frame.time_base = time_base
                frame.duration = durations[tick]
                for packet in stream.encode(frame):
                    _mux(container, packet, durations)
            for packet in stream.encode(None):
                _mux(container, packet, durations)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def _mux(container: Any, packet: Any, durations: dict[int, int]) -> None:
    """Mux ``packet`` with the display duration of its frame (encoders guess 1/fps, wrong for VFR)."""
    if packet.pts is not None and packet.pts in durations:
        packet.duration = durations[packet.pts]
    container.mux(packet)


# --- demo video ------------------------------------------------------------------------------------------

_DEMO_SCENES: tuple[tuple[float, str, tuple[int, int, int]], ...] = (
    (0.00, "A quiet blue room", (40, 70, 160)),
    (0.25, "A red ball bounces", (235, 235, 225)),
    (0.45, "A green field with a yellow sign", (60, 150, 70)),
    (0.70, "Night: a white car drives by", (15, 15, 35)),
)


def _demo_frame(t: float, duration: float, size: tuple[int, int]) -> Image.Image:
    width, height = size
    frac = t / duration
    scene = max(i for i, (start, _, _) in enumerate(_DEMO_SCENES) if frac >= start)
    start, caption, color = _DEMO_SCENES[scene]
    end = _DEMO_SCENES[scene + 1][0] if scene + 1 < len(_DEMO_SCENES) else 1.0
    local = (frac - start) / (end - start)
    image = Image.new("RGB", (width, height), color)
    draw = ImageDraw.Draw(image)
    if scene == 0:  # a slowly moving grey square
        x = round(20 + local * (width - 80))
        draw.rectangle((x, height // 3, x + 40, height // 3 + 40), fill=(150, 150, 170))
    elif scene == 1:  # a red ball bouncing from left to right
        r = height // 8
        x = round(r + local * (width - 2 * r))
        y = round(height * 0.75 - abs(math.sin(local * math.pi * 6)) * height * 0.45)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(220, 20, 20))
        draw.line((0, round(height * 0.75) + r, width, round(height * 0.75) + r), fill=(90, 90, 90), width=2)
    elif scene == 2:  # a yellow diamond sign on a post
        cx, cy, s = width // 2, height // 2 - 10, height // 5
        draw.rectangle((cx - 3, cy, cx + 3, height - 10), fill=(90, 70, 40))
        draw.polygon([(cx, cy - s), (cx + s, cy), (cx, cy + s), (cx - s, cy)], fill=(245, 210, 0))
        draw.text((cx - s // 2, cy - 8), "SLOW", fill=(0, 0, 0), font=_font(max(10, s // 3)))
    else:  # a white car crossing the night, stars above
        rng = np.random.default_rng(7)
        for sx, sy in zip(rng.integers(0, width, 30), rng.integers(0, height // 2, 30), strict=True):
            draw.point((int(sx), int(sy)), fill=(255, 255, 200))
        x = round(-80 + local * (width + 80))
        y = round(height * 0.65)
        draw.rectangle((x, y, x + 70, y + 22), fill=(240, 240, 240))
        draw.rectangle((x + 12, y - 14, x + 52, y), fill=(220, 220, 220))
        draw.ellipse((x + 8, y + 16, x + 22, y + 30), fill=(50, 50, 50))
        draw.ellipse((x + 48, y + 16, x + 62, y + 30), fill=(50, 50, 50))
    text_color = (0, 0, 0) if scene == 1 else (255, 255, 255)
    font = _font(max(10, height // 14))
    draw.text((6, 4), caption, fill=text_color, font=font)
    minutes, secs = divmod(int(t), 60)
    draw.text((width - 60, height - height // 10 - 4), f"{minutes:02d}:{secs:02d}", fill=text_color, font=font)
    return image


def make_demo_video(
    path: str | os.PathLike[str],
    duration: float = 180.0,
    *,
    fps: float = 10.0,
    size: tuple[int, int] = (480, 270),
) -> Path:
    """Write a demo video with four visually distinct scenes, each captioned in the picture.

    Scenes (as fractions of ``duration``): 0–25 % a blue room with a grey square, 25–45 % a red ball
    bouncing on a light background, 45–70 % a green field with a yellow "SLOW" sign, 70–100 % a white car
    crossing a starry night. With the default 180 s: the red ball is on screen from 45 s to 81 s.
    """
    import av

    out = Path(path)
    fmt = _FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise InvalidArgumentError(f"unknown video suffix {out.suffix!r}; use one of {', '.join(_FORMATS)}")
    if not (math.isfinite(duration) and duration > 0):
        raise InvalidArgumentError(f"duration must be positive, got {duration!r}")
    encoder = _pick_encoder("h264" if fmt != "webm" else "vp9")
    rate = _rational(fps)
    n = max(1, round(duration * fps))
    out.parent.mkdir(parents=True, exist_ok=True)
    options = {"movflags": "+faststart"} if fmt in ("mp4", "mov") else {}
    with av.open(str(out), "w", format=fmt, options=options) as container:
        stream: Any = container.add_stream(encoder, rate=rate, options=_encoder_options(encoder, True, None))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(n):
            frame = av.VideoFrame.from_image(_demo_frame(i / float(rate), duration, size))
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out


# --- frame folders ---------------------------------------------------------------------------------------


def make_frame_folder(
    directory: str | os.PathLike[str],
    n: int,
    *,
    fps: float = 1.0,
    size: tuple[int, int] = (320, 180),
    ext: str = "jpg",
    name: str = "frame_{index:06d}",
    start_index: int = 0,
    times: Sequence[float] | None = None,
) -> Path:
    """Write ``n`` time-coded frame images into ``directory`` and return it.

    Frame ``i`` shows time ``times[i]`` (default ``i / fps``). ``name`` is a format string for the file
    stem with the fields ``index`` (``start_index + i``), ``time`` (seconds, float), ``ms`` (int) and
    ``sec`` (whole seconds), e.g. ``"frame_{index:06d}"``, ``"sec{sec:03d}"`` or ``"t_{time:g}s"``.
    """
    if n < 1:
        raise InvalidArgumentError(f"n must be >= 1, got {n!r}")
    if times is None:
        if not (math.isfinite(fps) and fps > 0):
            raise InvalidArgumentError(f"fps must be positive, got {fps!r}")
        times = [i / fps for i in range(n)]
    elif len(times) != n:
        raise InvalidArgumentError(f"times has {len(times)} entries, expected n={n}")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    suffix = ext.lower().lstrip(".")
    for i, t in enumerate(times):
        stem = name.format(index=start_index + i, time=t, ms=round(t * 1000), sec=int(t))
        image = paint_time_code(t, size)
        target = out / f"{stem}.{suffix}"
        if suffix in ("jpg", "jpeg"):
            image.save(target, quality=92)
        else:
            image.save(target)
    return out


# --- a synthetic benchmark: planted "needles" ---------------------------------------------------------------

#: The needle colours (name → RGB), far apart from each other and from the time-code band's background.
NEEDLE_COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 170, 60),
    "blue": (40, 80, 235),
    "yellow": (240, 220, 30),
    "magenta": (210, 40, 210),
    "cyan": (30, 210, 220),
}
_NEEDLE_X = (0.55, 0.97)  # the needle block's horizontal extent in the text band (fractions of the width)
_NEEDLE_MATCH = 70.0  # largest RGB distance at which a patch still reads as a needle colour


@dataclass(frozen=True, slots=True)
class Needle:
    """A coloured block shown in a generated video from ``start`` up to (not including) ``end`` seconds."""

    colour: str
    start: float
    end: float


def paint_needle_frame(seconds: float, size: tuple[int, int] = (320, 180), colour: str | None = None) -> Image.Image:
    """A time-coded frame (:func:`paint_time_code`) with, when ``colour`` is given, a block of that needle
    colour in the right part of the bottom band."""
    image = paint_time_code(seconds, size)
    if colour is not None:
        if colour not in NEEDLE_COLOURS:
            raise InvalidArgumentError(f"unknown needle colour {colour!r}; use one of {', '.join(NEEDLE_COLOURS)}")
        width, height = image.size
        top = round(height * _CODE_FRACTION) + 1
        box = (round(width * _NEEDLE_X[0]), top, round(width * _NEEDLE_X[1]), height - 1)
        ImageDraw.Draw(image).rectangle(box, fill=NEEDLE_COLOURS[colour])
    return image


def read_needle(image: Image.Image) -> str | None:
    """The needle colour shown in a frame painted by :func:`paint_needle_frame`, or ``None`` (no needle):
    the mean colour of the block's middle, matched to the nearest needle colour."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    height, width = rgb.shape[:2]
    code_h = height * _CODE_FRACTION
    y0 = math.floor(code_h + (height - code_h) * 0.3)
    y1 = max(math.ceil(code_h + (height - code_h) * 0.7), y0 + 1)
    x0 = math.floor(width * (_NEEDLE_X[0] + 0.1))
    x1 = max(math.ceil(width * (_NEEDLE_X[1] - 0.1)), x0 + 1)
    mean = rgb[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0)
    name, dist = min(
        ((n, float(np.linalg.norm(mean - np.array(c, dtype=np.float32)))) for n, c in NEEDLE_COLOURS.items()),
        key=lambda pair: pair[1],
    )
    return name if dist <= _NEEDLE_MATCH else None


def make_needle_video(
    path: str | os.PathLike[str],
    duration: float,
    needles: Sequence[Needle],
    *,
    fps: float = 1.0,
    size: tuple[int, int] = (320, 180),
) -> Path:
    """Write an H.264 video (constant ``fps``) whose frames carry their time code (:func:`read_time_code`) and,
    while a needle is shown, its colour block (:func:`read_needle`). Needles must not overlap."""
    import av

    out = Path(path)
    if out.suffix.lower() not in (".mp4", ".mkv", ".mov"):
        raise InvalidArgumentError(f"needle videos are written as .mp4, .mkv or .mov, not {out.suffix!r}")
    if not (math.isfinite(duration) and duration > 0) or not (math.isfinite(fps) and fps > 0):
        raise InvalidArgumentError("duration and fps must be positive")
    ordered = sorted(needles, key=lambda n: n.start)
    for a, b in itertools.pairwise(ordered):
        if b.start < a.end:
            raise InvalidArgumentError(f"needles overlap: {a} and {b}")
    rate = _rational(fps)
    n = max(1, round(duration * fps))
    out.parent.mkdir(parents=True, exist_ok=True)
    encoder = _pick_encoder("h264")
    options = {"movflags": "+faststart"} if out.suffix.lower() in (".mp4", ".mov") else {}
    with av.open(str(out), "w", format=_FORMATS[out.suffix.lower()], options=options) as container:
        stream: Any = container.add_stream(encoder, rate=rate, options=_encoder_options(encoder, False, None))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(n):
            t = i / float(rate)
            shown = next((nd.colour for nd in ordered if nd.start <= t < nd.end), None)
            frame = av.VideoFrame.from_image(paint_needle_frame(t, size, shown))
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out


def _needle_items(video: Path, duration: float, needles: list[Needle], rng: random.Random, tag: str) -> list[Any]:
    from gens_tools.eval import EvalItem

    present = [n.colour for n in needles]
    absent = [c for c in NEEDLE_COLOURS if c not in present]
    bucket = "short" if duration < 600 else "long"
    items = []
    for needle in needles:
        options = [needle.colour, *rng.sample(absent, 3)]
        rng.shuffle(options)
        items.append(
            EvalItem(
                id=f"{tag}/seen-{needle.colour}",
                video=str(video),
                question="A coloured block appears for a few seconds in the bottom band. Which colour is it?"
                if len(needles) == 1
                else "Coloured blocks appear in the bottom band, one at a time. Which of these colours is one of them?",
                options=tuple(options),
                answer="ABCD"[options.index(needle.colour)],
                category="needle",
                duration_bucket=bucket,
                duration=duration,
                relevant_spans=((needle.start, needle.end),),
                benchmark="synthetic-needles",
            )
        )
    if len(needles) >= 2:
        first, second = needles[0], needles[1]
        options = [first.colour, second.colour, *rng.sample(absent, 2)]
        rng.shuffle(options)
        items.append(
            EvalItem(
                id=f"{tag}/first",
                video=str(video),
                question="Coloured blocks appear in the bottom band, one at a time. "
                "Which of these colours appears first?",
                options=tuple(options),
                answer="ABCD"[options.index(first.colour)],
                category="order",
                duration_bucket=bucket,
                duration=duration,
                relevant_spans=((first.start, first.end), (second.start, second.end)),
                benchmark="synthetic-needles",
            )
        )
    return items


def make_needle_benchmark(
    directory: str | os.PathLike[str],
    *,
    videos: int = 4,
    durations: Sequence[float] = (300.0, 900.0),
    needles_per_video: int = 2,
    needle_seconds: float = 4.0,
    fps: float = 1.0,
    size: tuple[int, int] = (320, 180),
    seed: int = 0,
) -> Path:
    """Write a small multiple-choice benchmark of long videos with planted needles, and return its items file.

    Each video (durations taken in turn from ``durations``) shows ``needles_per_video`` coloured blocks
    (:data:`NEEDLE_COLOURS`, all different) for ``needle_seconds`` each, at random times. Questions: for each
    needle, "which of these colours is one of them?" (category ``needle``, its span annotated); with two or
    more needles, "which colour appears first?" (category ``order``, both spans annotated). Four options,
    the answer's letter random; duration bucket ``short`` (< 10 min) or ``long``.

    The items are written as gens-tools' JSON lines (``items.jsonl``, read by
    :func:`gens_tools.eval.read_items`), the videos beside it as ``needles_NN.mp4``.
    """
    from gens_tools.eval import write_items

    if videos < 1 or not durations or not 1 <= needles_per_video <= 3:
        raise InvalidArgumentError("need at least one video and duration, and 1 to 3 needles per video")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    items: list[Any] = []
    for v in range(videos):
        duration = float(durations[v % len(durations)])
        slots = int(duration // (needle_seconds * 2))
        if slots < needles_per_video:
            raise InvalidArgumentError(f"a {duration:g}s video cannot hold {needles_per_video} needles")
        picked = sorted(rng.sample(range(1, slots), needles_per_video))
        colours = rng.sample(list(NEEDLE_COLOURS), needles_per_video)
        needles = [
            Needle(c, s * needle_seconds * 2, s * needle_seconds * 2 + needle_seconds)
            for c, s in zip(colours, picked, strict=True)
        ]
        video = make_needle_video(out / f"needles_{v:02d}.mp4", duration, needles, fps=fps, size=size)
        items += _needle_items(video, duration, needles, rng, f"v{v:02d}")
    return Path(write_items(items, out / "items.jsonl"))


_OPTION_LINE = re.compile(r"^([A-Z])\. (.+)$", re.M)


def needle_answer(prompt: str, images: Sequence[tuple[str | None, Image.Image]]) -> str:
    """A scripted assistant for the needle benchmark that answers only from what the frames show.

    It reads each image's needle colour (:func:`read_needle`) and time code, then picks the option naming a
    colour it saw (for "which appears first", the one seen earliest). Seeing none of the options' colours,
    it says so and guesses ``A``. Use it as :class:`gens_tools.testing.FakeOpenAI`'s ``answer`` hook.
    """
    options = {m.group(2).strip(): m.group(1) for m in _OPTION_LINE.finditer(prompt)}
    seen: list[tuple[float, str]] = []
    for _label, image in images:
        colour = read_needle(image)
        if colour is None:
            continue
        try:
            t = read_time_code(image)
        except ValueError:
            continue
        seen.append((t, colour))
    seen.sort()
    candidates = [(t, c) for t, c in seen if c in options]
    if not candidates:
        return "I cannot see any of these colours in the frames, so this is a guess. Answer: A"
    t, colour = candidates[0]
    return f"The {colour} block is visible at {format_time(t)}. The answer is {options[colour]}."


def format_time(seconds: float) -> str:
    """``[hh:mm:ss]``, as assistants cite frames."""
    whole = int(seconds)
    return f"[{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}]"
