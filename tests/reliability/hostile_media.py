"""A corpus of hostile media, generated at test time: truncations, corrupted middles, zero and random bytes, audio
only, one frame, huge and odd sizes, variable frame rates, held frames, non-monotonic, negative and wrapping
timestamps, containers that lie about their duration, six codecs, images passed as videos, frame folders with a
corrupt image, a decompression bomb or 10,000 images, and FIFOs, sockets, symlinks and playlists in an allowed
folder.

Each :class:`Case` builds its input in a folder of its own (``<case>/allowed/``, with ``<case>/outside/`` for
what must never be opened) and says what a correct outcome is: frames, a typed error, or either. The runner
(``media_runner.py``) opens every case the way a tool does and records what happened.
"""

from __future__ import annotations

import os
import random
import socket
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from gens_tools.synthetic import make_test_video, paint_time_code

#: Codecs of the corpus: (name, encoder, container suffix); a codec is skipped, with the reason, only when the
#: bundled FFmpeg has no encoder for it.
CODECS = [
    ("h264", "libx264", ".mp4"),
    ("hevc", "libx265", ".mkv"),
    ("vp9", "libvpx-vp9", ".webm"),
    ("av1", "libsvtav1", ".mkv"),
    ("mpeg4", "mpeg4", ".avi"),
    ("mjpeg", "mjpeg", ".mkv"),
]


@dataclass(frozen=True)
class Case:
    """One hostile input and what a correct outcome is.

    Attributes:
        name: the case's id.
        make: builds the input under the case's ``allowed`` folder (its argument) and returns the video argument.
        expect: ``"frames"`` (a selection must come back), ``"error"`` (a typed error must), or ``"either"``.
        errors: names of the :mod:`gens_tools.errors` classes an error may be (any ``GensToolsError`` if empty).
        coded: the frames show their own time (:func:`paint_time_code`), so each one returned is checked.
        backend: the decoder (``"pyav"`` or ``"decord"``).
        policy: open it through an :class:`AccessPolicy` allowing only the ``allowed`` folder.
        max_duration: the policy's cap (with ``policy``).
        frame_rate: the frame rate of a folder of frames.
        witnesses: FIFOs (relative to the case folder) that must never be opened.
        skip: why the case cannot run here (no encoder), or ``None``.
    """

    name: str
    make: Callable[[Path], str]
    expect: str = "either"
    errors: tuple[str, ...] = ()
    coded: bool = True
    backend: str = "pyav"
    policy: bool = True
    max_duration: float | None = None
    frame_rate: float | None = None
    witnesses: tuple[str, ...] = ()
    skip: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)


# --- building blocks ---------------------------------------------------------------------------------------


def _has_encoder(name: str) -> bool:
    import av

    try:
        av.Codec(name, "w")
    except Exception:
        return False
    return True


def _encode(
    path: Path,
    items: list[tuple[float, float, float]],
    *,
    size: tuple[int, int] = (160, 90),
    codec: str = "libx264",
    fmt: str | None = None,
    pix_fmt: str = "yuv420p",
    options: dict[str, str] | None = None,
) -> Path:
    """A video of ``items`` = ``(pts, shown_time, duration)`` seconds: each frame painted with ``shown_time``."""
    import av

    tb = Fraction(1, 1000)
    with av.open(str(path), "w", format=fmt, options=options or {}) as container:
        stream: Any = container.add_stream(codec, rate=10)
        stream.width, stream.height = size
        stream.pix_fmt = pix_fmt
        stream.time_base = tb
        stream.codec_context.time_base = tb
        if codec == "libx264":
            stream.codec_context.options = {"preset": "ultrafast", "x264-params": "bframes=0"}
        durations: dict[int, int] = {}
        for pts, shown, duration in items:
            if min(size) >= 16:
                picture = np.asarray(paint_time_code(shown, size))
            else:  # too small for a time code: a plain colour that changes with time
                picture = np.full((size[1], size[0], 3), int(shown * 40) % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = round(pts * 1000)
            frame.time_base = tb
            durations[frame.pts] = round(duration * 1000)
            for packet in stream.encode(frame):
                packet.duration = durations.get(packet.pts or 0, packet.duration)
                container.mux(packet)
        for packet in stream.encode(None):
            packet.duration = durations.get(packet.pts or 0, packet.duration)
            container.mux(packet)
    return path


def _clip(folder: Path, name: str = "clip.mkv", duration: float = 10.0, **kw: Any) -> Path:
    return make_test_video(folder / name, duration=duration, fps=kw.pop("fps", 5.0), size=(160, 90), **kw)


def _truncated(suffix: str, fraction: float) -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        clip = _clip(folder, "whole" + suffix, duration=20.0)
        data = clip.read_bytes()
        out = folder / ("cut" + suffix)
        out.write_bytes(data[: max(1, int(len(data) * fraction))])
        clip.unlink()
        return str(out)

    return make


def _corrupted_middle(folder: Path) -> str:
    clip = _clip(folder, duration=20.0)
    data = bytearray(clip.read_bytes())
    rng = random.Random(7)
    start, end = int(len(data) * 0.4), int(len(data) * 0.6)
    data[start:end] = rng.randbytes(end - start)
    clip.write_bytes(bytes(data))
    return str(clip)


def _bytes(content: Callable[[], bytes], name: str = "clip.mp4") -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        (folder / name).write_bytes(content())
        return str(folder / name)

    return make


def _audio_only(folder: Path) -> str:
    import av

    path = folder / "sound.mkv"
    with av.open(str(path), "w") as container:
        stream: Any = container.add_stream("aac", rate=16000)
        stream.layout = "mono"
        samples = (np.sin(np.arange(16000 * 3) / 10) * 3000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return str(path)


def _one_frame(folder: Path) -> str:
    return str(_encode(folder / "one.mp4", [(0.0, 0.0, 0.1)]))


def _huge(folder: Path) -> str:
    return str(_encode(folder / "huge.mp4", [(0.0, 0.0, 0.5), (0.5, 0.5, 0.5)], size=(7680, 4320)))


def _odd(size: tuple[int, int]) -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        items = [(t / 5, t / 5, 0.2) for t in range(25)]
        return str(_encode(folder / "odd.mkv", items, size=size, codec="ffv1", pix_fmt="yuv444p"))

    return make


def _vfr(folder: Path) -> str:
    rng = random.Random(3)
    t, items = 0.0, []
    while t < 20.0:
        step = rng.choice([0.04, 0.1, 0.5, 1.5])
        items.append((t, t, step))
        t += step
    return str(_encode(folder / "vfr.mp4", items))


def _held_last_frame(folder: Path) -> str:
    # 5 s at 5 fps, then the last picture held for 20 s (an editor's freeze frame): 25 s long.
    items = [(i / 5, i / 5, 0.2) for i in range(25)] + [(5.0, 5.0, 20.0)]
    return str(_encode(folder / "held.mp4", items))


def _ts_pts(data: bytes, remap: Callable[[int], int]) -> bytes:
    """``data`` (MPEG-TS) with each video PES packet's PTS (and DTS) replaced by ``remap(pts)``."""
    out = bytearray(data)
    at = out.find(b"\x00\x00\x01\xe0")
    while at >= 0 and at + 14 <= len(out):
        flags = out[at + 7] >> 6
        if flags & 2:
            pts = _read_ts(out[at + 9 : at + 14])
            new = remap(pts) % (1 << 33)
            out[at + 9 : at + 14] = _write_ts(new, 0b0011 if flags == 3 else 0b0010)
            if flags == 3:
                out[at + 14 : at + 19] = _write_ts(new, 0b0001)
        at = out.find(b"\x00\x00\x01\xe0", at + 4)
    return bytes(out)


def _read_ts(b: bytes | bytearray) -> int:
    return ((b[0] >> 1) & 0x07) << 30 | b[1] << 22 | (b[2] >> 1) << 15 | b[3] << 7 | b[4] >> 1


def _write_ts(v: int, prefix: int) -> bytes:
    return bytes(
        [
            (prefix << 4) | ((v >> 29) & 0x0E) | 1,
            (v >> 22) & 0xFF,
            ((v >> 14) & 0xFE) | 1,
            (v >> 7) & 0xFF,
            ((v << 1) & 0xFE) | 1,
        ]
    )


def _as_ts(folder: Path, remap: Callable[[int], int], name: str) -> str:
    import av

    clip = _clip(folder, "src.mkv", duration=10.0, bframes=False)
    ts = folder / name
    with av.open(str(clip)) as src, av.open(str(ts), "w", format="mpegts") as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is None:
                continue
            packet.stream = stream
            dst.mux(packet)
    clip.unlink()
    ts.write_bytes(_ts_pts(ts.read_bytes(), remap))
    return str(ts)


def _non_monotonic(folder: Path) -> str:
    # Every tenth frame jumps back two seconds (90 kHz clock), as in a badly spliced capture.
    first: list[int] = []

    def remap(pts: int) -> int:
        if not first:
            first.append(pts)
        n = round((pts - first[0]) / 18000)
        return pts - 180000 if n % 10 == 9 else pts

    return _as_ts(folder, remap, "jumps.ts")


def _wrapping(folder: Path) -> str:
    # Timestamps that start 2 s before the 33-bit clock wraps around (26.5 hours), as in broadcast captures.
    first: list[int] = []

    def remap(pts: int) -> int:
        if not first:
            first.append(pts)
        return pts - first[0] + (1 << 33) - 180000

    return _as_ts(folder, remap, "wrap.ts")


def _negative_start(folder: Path) -> str:
    items = [(i / 5 - 2.0, i / 5, 0.2) for i in range(50)]
    return str(_encode(folder / "neg.mkv", items, options={"avoid_negative_ts": "disabled"}))


def _mkv_claims(seconds: float, real: float = 10.0) -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        clip = _clip(folder, "lie.mkv", duration=real)
        data = bytearray(clip.read_bytes())
        at = data.find(b"\x44\x89\x88")  # Segment Info's Duration: an 8-byte float, in milliseconds
        if at < 0:
            raise RuntimeError("no 8-byte Duration element in the MKV")
        data[at + 3 : at + 11] = struct.pack(">d", seconds * 1000.0)
        clip.write_bytes(bytes(data))
        return str(clip)

    return make


def _mp4_claims(folder: Path) -> str:
    clip = _clip(folder, "lie.mp4", duration=10.0)
    data = bytearray(clip.read_bytes())
    at = data.find(b"mvhd")
    if at < 0 or data[at + 4] != 0:
        raise RuntimeError("no version-0 mvhd box")
    data[at + 20 : at + 24] = struct.pack(">I", 0xFFFFFFF0)  # duration, in the movie's time scale
    clip.write_bytes(bytes(data))
    return str(clip)


def _codec(encoder: str, suffix: str, codec: str) -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        return str(make_test_video(folder / f"clip{suffix}", duration=6.0, fps=5.0, size=(160, 90), codec=codec))

    return make


def _gif(folder: Path) -> str:
    frames = [paint_time_code(i / 5, (160, 90)).convert("P", palette=0) for i in range(30)]
    path = folder / "clip.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=200, loop=0)
    return str(path)


def _image(fmt: str) -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        path = folder / f"still.{fmt.lower()}"
        paint_time_code(3.0, (160, 90)).save(path, fmt)
        return str(path)

    return make


def _frame_folder(folder: Path, n: int, size: tuple[int, int] = (64, 36)) -> Path:
    frames = folder / "frames"
    frames.mkdir()
    for i in range(n):
        paint_time_code(float(i), size).save(frames / f"{i:05d}.jpg", quality=80)
    return frames


def _folder_with_corrupt_image(folder: Path) -> str:
    frames = _frame_folder(folder, 20, (160, 90))
    good = (frames / "00007.jpg").read_bytes()
    (frames / "00007.jpg").write_bytes(good[: len(good) // 3])
    (frames / "00011.jpg").write_bytes(b"not a picture at all")
    return str(frames)


def _png_bomb() -> bytes:
    """A valid PNG header claiming 40,000 × 40,000 pixels (1.6 gigapixels) with almost no data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 40_000, 40_000, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )


def _folder_with_bomb(folder: Path) -> str:
    frames = _frame_folder(folder, 10, (160, 90))
    (frames / "00004.jpg").unlink()
    (frames / "00004.png").write_bytes(_png_bomb())  # in the place of second 4
    return str(frames)


def _bomb_as_video(folder: Path) -> str:
    (folder / "bomb.png").write_bytes(_png_bomb())
    return str(folder / "bomb.png")


def _ten_thousand(folder: Path) -> str:
    """10,000 different 16 × 16 BMP pictures (the first pixels spell the file's number), written fast."""
    import io

    from PIL import Image

    frames = folder / "frames"
    frames.mkdir()
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (40, 90, 160)).save(buffer, "BMP")
    blob = bytearray(buffer.getvalue())
    pixels = struct.unpack_from("<I", blob, 10)[0]  # offset of the pixel data
    for i in range(10_000):
        blob[pixels : pixels + 3] = bytes([i % 256, (i // 256) % 256, 200])
        (frames / f"{i:05d}.bmp").write_bytes(blob)
    return str(frames)


def _fifo(folder: Path) -> str:
    path = folder / "clip.mp4"
    os.mkfifo(path)
    return str(path)


def _socket_file(folder: Path) -> str:
    path = folder / "clip.mp4"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()  # the socket file stays
    return str(path)


def _device_link(folder: Path) -> str:
    (folder / "zero.mp4").symlink_to("/dev/zero")
    return str(folder / "zero.mp4")


def _symlink_out(folder: Path) -> str:
    outside = folder.parent / "outside"
    clip = _clip(outside, "secret.mkv", duration=4.0)
    (folder / "innocent.mkv").symlink_to(clip)
    return str(folder / "innocent.mkv")


def _symlink_in(folder: Path) -> str:
    clip = _clip(folder, "real.mkv", duration=6.0)
    (folder / "alias.mkv").symlink_to(clip)
    return str(folder / "alias.mkv")


def _playlist(kind: str) -> Callable[[Path], str]:
    """An HLS playlist in the allowed folder whose segments lie outside it (absolute, ``../``) or are a FIFO;
    the outside ones are FIFOs too, so opening one is seen (and would hang)."""

    def make(folder: Path) -> str:
        outside = folder.parent / "outside"
        os.mkfifo(outside / "seg-abs.ts")
        os.mkfifo(outside / "seg-rel.ts")
        os.mkfifo(folder / "seg-fifo.ts")
        segments = {
            "absolute": str(outside / "seg-abs.ts"),
            "dotdot": "../outside/seg-rel.ts",
            "fifo": "seg-fifo.ts",
        }
        if kind == "hls":
            body = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"
            body += "".join(f"#EXTINF:2.0,\n{s}\n" for s in segments.values()) + "#EXT-X-ENDLIST\n"
            path = folder / "clip.m3u8"
        elif kind == "hls-renamed":
            body = "\ufeff  #EXTM3U\n" + "".join(f"#EXTINF:2.0,\n{s}\n" for s in segments.values())
            path = folder / "clip.mp4"
        elif kind == "ffconcat":
            body = "ffconcat version 1.0\n" + "".join(f"file '{s}'\n" for s in segments.values())
            path = folder / "clip.mkv"
        elif kind == "dash":
            body = (
                '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static">'
                f'<Period><AdaptationSet><Representation id="1"><BaseURL>{segments["absolute"]}</BaseURL>'
                "</Representation></AdaptationSet></Period></MPD>"
            )
            path = folder / "clip.mpd"
        else:
            raise ValueError(kind)
        path.write_text(body, encoding="utf-8")
        return str(path)

    return make


WITNESSES = ("outside/seg-abs.ts", "outside/seg-rel.ts", "allowed/seg-fifo.ts")


def cases() -> list[Case]:
    """The corpus."""
    out: list[Case] = []
    for suffix in (".mkv", ".mp4"):
        for fraction in (0.01, 0.1, 0.5, 0.9):
            out.append(Case(f"truncated{suffix}-{int(fraction * 100)}%", _truncated(suffix, fraction)))
    out += [
        Case("truncated.mkv-1%-decord", _truncated(".mkv", 0.01), backend="decord"),
        # Random bytes in a one-GOP video: what FFmpeg decodes from damaged data it cannot flag is returned as
        # decoded (the pictures are damaged, the times right), so the time codes are not checked.
        Case("corrupted-middle", _corrupted_middle, coded=False),
        Case("corrupted-middle-decord", _corrupted_middle, coded=False, backend="decord"),
        Case("empty", _bytes(lambda: b""), "error", ("EmptyVideoError", "NotAVideoError")),
        Case("zeros", _bytes(lambda: b"\x00" * 1_000_000), "error", ("NotAVideoError",)),
        Case("random", _bytes(lambda: random.Random(1).randbytes(1_000_000)), "error", ("NotAVideoError",)),
        Case("audio-only", _audio_only, "error", ("EmptyVideoError", "NotAVideoError")),
        Case("one-frame", _one_frame, "frames"),
        Case("huge-8k", _huge, "frames"),
        Case("odd-161x91", _odd((161, 91)), "frames"),
        Case("odd-2x2", _odd((2, 2)), "either", coded=False),
        Case("vfr", _vfr, "frames"),
        Case("held-last-frame", _held_last_frame, "frames", notes={"held_from": 5.0}),
        Case("non-monotonic-ts", _non_monotonic),
        Case("wrapping-ts", _wrapping),
        # FFmpeg gives the frames before time 0 no timestamps (pre-roll, not shown): the video starts at the
        # frame painted 2.0 s.
        Case("negative-start", _negative_start, notes={"offset": 2.0}),
        Case("claims-1e9s-capped", _mkv_claims(1e9), max_duration=600.0),
        Case("claims-1e7s-capped", _mkv_claims(1e7), max_duration=600.0),
        Case("claims-10h", _mkv_claims(36_000.0)),
        Case("claims-10h-decord", _mkv_claims(36_000.0), backend="decord"),
        Case("mp4-claims-50-days", _mp4_claims),
    ]
    for codec, encoder, suffix in CODECS:
        skip = None if _has_encoder(encoder) else f"this FFmpeg build has no {encoder} encoder"
        out.append(Case(f"codec-{codec}", _codec(encoder, suffix, codec), "frames", skip=skip))
    out += [
        Case("codec-gif", _gif, "frames"),
        Case("image-jpeg", _image("JPEG")),
        Case("image-png", _image("PNG")),
        Case("png-bomb-as-video", _bomb_as_video, "error"),
        Case("folder-corrupt-image", _folder_with_corrupt_image, frame_rate=1.0),
        Case("folder-png-bomb", _folder_with_bomb, frame_rate=1.0),
        Case("folder-10000-images", _ten_thousand, "frames", coded=False, frame_rate=10.0),
        Case("fifo", _fifo, "error", ("NotAVideoError",)),
        Case("fifo-no-policy", _fifo, "error", ("NotAVideoError",), policy=False),
        Case("socket", _socket_file, "error", ("NotAVideoError",)),
        Case("device-link-no-policy", _device_link, "error", ("NotAVideoError",), policy=False),
        Case("symlink-out", _symlink_out, "error", ("AccessDeniedError",)),
        Case("symlink-in", _symlink_in, "frames"),
    ]
    for kind in ("hls", "hls-renamed", "ffconcat", "dash"):
        out.append(Case(f"playlist-{kind}", _playlist(kind), "error", ("NotAVideoError",), witnesses=WITNESSES))
        out.append(
            Case(
                f"playlist-{kind}-no-policy",
                _playlist(kind),
                "error",
                ("NotAVideoError",),
                policy=False,
                witnesses=WITNESSES,
            )
        )
    return out
