"""Generated inputs for the video reader tests: time-coded videos, broken files and a local HTTP server.

Every video frame shows its own presentation time (``gens_tools.synthetic``), so a test can read back which
frame a reader returned and compare it with the frame that really is on screen at the requested time.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from gens_tools.synthetic import make_test_video, read_time_code
from gens_tools.testing import FakeVideoHost


@dataclass(frozen=True)
class Clip:
    """A generated video and the presentation times of its frames (seconds, ascending)."""

    path: Path
    times: tuple[float, ...]

    @property
    def duration(self) -> float:
        return self.times[-1] + (self.times[-1] - self.times[-2])


def cfr_times(duration: float, fps: float) -> tuple[float, ...]:
    return tuple(i / fps for i in range(round(duration * fps)))


def on_screen(times: tuple[float, ...] | list[float], t: float) -> float:
    """The time of the frame on screen at ``t``: the last frame starting at or before ``t``."""
    return max(x for x in times if x <= t + 1e-6)  # the readers treat times within 1 µs as equal


def check_frame(frame: object, times: tuple[float, ...] | list[float], t: float, *, offset: float = 0.0) -> None:
    """Assert that ``frame`` (a gens_tools Frame) is the one on screen at ``t``: by its painted code and by
    its reported timestamp (``offset`` = time of the first frame, subtracted by the reader)."""
    expected = on_screen(times, t + offset)
    painted = read_time_code(frame.image)  # type: ignore[attr-defined]
    assert painted == pytest.approx(expected, abs=1.5e-3), f"target {t}: got the frame painted {painted}"
    assert frame.timestamp == pytest.approx(expected - offset, abs=1.5e-3)  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("videos")


def _clip(video_dir: Path, name: str, **kwargs: object) -> Clip:
    path = make_test_video(video_dir / name, **kwargs)  # type: ignore[arg-type]
    pts = kwargs.get("pts")
    times = tuple(pts) if pts is not None else cfr_times(kwargs["duration"], kwargs["fps"])  # type: ignore[arg-type]
    if path.suffix in (".mkv", ".webm"):
        times = tuple(round(t, 3) for t in times)  # Matroska keeps whole milliseconds
    return Clip(path, times)


@pytest.fixture(scope="session")
def h264_clip(video_dir: Path) -> Clip:
    """6 s of H.264 at 30 fps with B-frames (decode order differs from display order), 1 s GOP."""
    return _clip(video_dir, "h264.mp4", duration=6.0, fps=30.0, gop=30)


@pytest.fixture(scope="session")
def long_clip(video_dir: Path) -> Clip:
    """30 s of small H.264 at 10 fps with a keyframe every second: long enough to take the seek path."""
    return _clip(video_dir, "long.mp4", duration=30.0, fps=10.0, gop=10, size=(160, 90))


@pytest.fixture(scope="session")
def container_clips(video_dir: Path) -> dict[str, Clip]:
    """The same kind of content in other containers and codecs."""
    return {
        "vp9.webm": _clip(video_dir, "vp9.webm", duration=3.0, fps=15.0, codec="vp9"),
        "h264.mkv": _clip(video_dir, "h264.mkv", duration=3.0, fps=10.0),
        "h264.mov": _clip(video_dir, "h264.mov", duration=3.0, fps=10.0),
        "mpeg4.avi": _clip(video_dir, "mpeg4.avi", duration=3.0, fps=10.0, codec="mpeg4"),
        "noB.mp4": _clip(video_dir, "noB.mp4", duration=3.0, fps=25.0, bframes=False),
        "hevc.mp4": _clip(video_dir, "hevc.mp4", duration=2.0, fps=10.0, codec="hevc"),
    }


VFR_PTS = (0.0, 0.1, 0.5, 0.55, 1.7, 2.0, 3.3, 3.31, 3.9, 4.6)


@pytest.fixture(scope="session")
def vfr_clips(video_dir: Path) -> dict[str, Clip]:
    """Variable frame rate: irregular gaps from 10 ms to 1.3 s."""
    return {ext: _clip(video_dir, f"vfr.{ext}", pts=VFR_PTS, fps=10.0) for ext in ("mp4", "mkv")}


@pytest.fixture(scope="session")
def rotated_clips(video_dir: Path) -> dict[int, Clip]:
    """Display-matrix rotation, as phones write it; stored frames are 320×180."""
    return {rot: _clip(video_dir, f"rot{rot}.mp4", duration=2.0, fps=10.0, rotation=rot) for rot in (90, 180, 270)}


def cut_file(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


@pytest.fixture(scope="session")
def bad_files(video_dir: Path) -> dict[str, Path]:
    """Inputs that are not (readable) videos."""
    d = video_dir / "bad"
    d.mkdir()
    out: dict[str, Path] = {}
    out["garbage"] = d / "garbage.mp4"
    out["garbage"].write_bytes(np.random.default_rng(0).bytes(50_000))
    out["text"] = d / "notes.txt"
    out["text"].write_text("this is not a video\n" * 200)
    out["png"] = d / "picture.png"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out["png"])
    out["jpg"] = d / "picture.jpg"
    Image.new("RGB", (64, 48), (30, 30, 200)).save(out["jpg"])
    out["empty"] = d / "empty.mp4"
    out["empty"].write_bytes(b"")
    out["wav"] = _audio_file(d / "tone.wav", "pcm_s16le", "s16", np.int16)
    out["m4a"] = _audio_file(d / "tone.m4a", "aac", "fltp", np.float32)
    # An AVI whose video stream is tagged with a FourCC no decoder knows.
    avi = make_test_video(d / "src.avi", duration=1.0, fps=10.0, codec="mpeg4")
    data = avi.read_bytes()
    assert b"FMP4" in data
    out["unknown_codec"] = d / "unknown_codec.avi"
    out["unknown_codec"].write_bytes(data.replace(b"FMP4", b"QQZZ"))
    return out


def _audio_file(path: Path, codec: str, fmt: str, dtype: type) -> Path:
    rate = 8000
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        samples = (np.sin(np.arange(rate) / 10) * (0.3 if dtype is np.float32 else 9000)).astype(dtype)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format=fmt, layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


# --- a local HTTP server ------------------------------------------------------------------------------


@pytest.fixture
def http_server(video_dir: Path) -> Iterator[FakeVideoHost]:
    """Serves ``video_dir`` with range requests (what CDNs and object stores do)."""
    with FakeVideoHost(video_dir) as host:
        yield host


@pytest.fixture
def plain_http_server(video_dir: Path) -> Iterator[FakeVideoHost]:
    """Serves ``video_dir`` without range requests: the stream can only be read from the start."""
    with FakeVideoHost(video_dir, ranges=False) as host:
        yield host


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture
def closed_port() -> int:
    """A localhost port nothing listens on (connections are refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
